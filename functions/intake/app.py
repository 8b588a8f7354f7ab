"""EventBridge rules invoke this: it turns CloudTrail events into per-VPC work on the FIFO queue."""

from endpoint_guard.handlers import intake as lambda_handler

__all__ = ["lambda_handler"]

"""EnsureEndpoints function: reconciles the VPCs of a batch from the FIFO work queue (one VPC at a time
per message group). The code lives in the layer."""

from endpoint_guard.handlers import ensure_endpoints as lambda_handler

__all__ = ["lambda_handler"]

"""EnsureEndpoints function: reconcile the VPC a CloudTrail event names. The code lives in the layer."""

from endpoint_guard.handlers import ensure_endpoints as lambda_handler

__all__ = ["lambda_handler"]

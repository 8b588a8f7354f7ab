"""Migration-plan workflow task. Discover: the inventory of the source VPC. The code lives in the layer."""

from endpoint_guard.steps import discover_vpc as lambda_handler

__all__ = ["lambda_handler"]

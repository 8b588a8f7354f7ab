"""Migration-plan workflow task. Target: the new VPC (CIDR, mirrored subnets, route tables, endpoints, security groups). The code lives in the layer."""

from endpoint_guard.steps import plan_target as lambda_handler

__all__ = ["lambda_handler"]

"""Migration-plan workflow task. Per service: one ECS service's cutover steps and rollbacks. The code lives in the layer."""

from endpoint_guard.steps import plan_service as lambda_handler

__all__ = ["lambda_handler"]

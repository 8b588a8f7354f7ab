"""Migration-plan workflow task. Per service: one ECS service's cutover steps and rollbacks. The code lives in the layer."""

from endpoint_guard.lambdas.migration import make_service

lambda_handler = make_service()

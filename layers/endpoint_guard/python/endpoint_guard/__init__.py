"""endpoint-guard: keep the VPC endpoints that ECS/Fargate image pulls need in every VPC."""

__version__ = "0.1.0"

MANAGED_BY_TAG = "ManagedBy"
MANAGED_BY_VALUE = "endpoint-guard"

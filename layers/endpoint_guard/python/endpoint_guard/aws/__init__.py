"""Thin AWS adapters: the only package that talks to boto3.

Every adapter takes a ``Clients`` (one account-Region, clients built on first use) or an injected
client; ClientError codes become the named errors of ``endpoint_guard.errors``. botocore's standard
retry mode handles throttling and 5xx under every call.
"""

from endpoint_guard.aws.base import Adapter, Clients, aws_error
from endpoint_guard.aws.documents import DocumentStore
from endpoint_guard.aws.ec2 import Ec2Adapter, Ec2Lookups, Ec2Reads
from endpoint_guard.aws.ecs import AutoScalingAdapter, EcsAdapter, LoadBalancingAdapter
from endpoint_guard.aws.services import Services
from endpoint_guard.aws.state import QueueAdapter, StateTable, StepFunctionsAdapter, execution_arn
from endpoint_guard.aws.telemetry import MetricsAdapter, RegistryAdapter

__all__ = [
    "Adapter",
    "AutoScalingAdapter",
    "Clients",
    "DocumentStore",
    "Ec2Adapter",
    "Ec2Lookups",
    "Ec2Reads",
    "EcsAdapter",
    "LoadBalancingAdapter",
    "MetricsAdapter",
    "QueueAdapter",
    "RegistryAdapter",
    "Services",
    "StateTable",
    "StepFunctionsAdapter",
    "aws_error",
    "execution_arn",
]

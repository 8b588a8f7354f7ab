"""One account-Region's adapters, each built on first use over one ``Clients``: the single bundle the
use cases take (instead of one bundle per feature)."""

from __future__ import annotations

from functools import cached_property

from endpoint_guard.aws.base import Clients
from endpoint_guard.aws.ec2 import Ec2Adapter, Ec2Lookups
from endpoint_guard.aws.ecs import AutoScalingAdapter, EcsAdapter, LoadBalancingAdapter
from endpoint_guard.aws.telemetry import MetricsAdapter, RegistryAdapter


class Services:
    def __init__(self, clients: Clients | None = None) -> None:
        self.clients = clients or Clients()

    @cached_property
    def ec2(self) -> Ec2Adapter:
        return Ec2Adapter(self.clients)

    @cached_property
    def lookups(self) -> Ec2Lookups:
        return Ec2Lookups(self.clients)

    @cached_property
    def ecs(self) -> EcsAdapter:
        return EcsAdapter(self.clients)

    @cached_property
    def autoscaling(self) -> AutoScalingAdapter:
        return AutoScalingAdapter(self.clients)

    @cached_property
    def elbv2(self) -> LoadBalancingAdapter:
        return LoadBalancingAdapter(self.clients)

    @cached_property
    def cloudwatch(self) -> MetricsAdapter:
        return MetricsAdapter(self.clients)

    @cached_property
    def ecr(self) -> RegistryAdapter:
        return RegistryAdapter(self.clients)

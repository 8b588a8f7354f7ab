"""Where moto does not answer as AWS does, and the tests, the demo and the benchmarks need AWS's answer
(``install`` puts every patch here in place).

``aws_cluster_counts``: moto's DescribeClusters keeps ``activeServicesCount`` and
``registeredContainerInstancesCount`` at 0 whatever the cluster holds, and counts no Fargate task it
runs. AWS counts them, and endpoint-guard reads a cluster's services, tasks and instances only when its
counts say there are some. The patch works the counts out from moto's own state each time a cluster is
described: the active services; the services' running tasks plus the standalone tasks moto runs; the
registered instances.

``aws_gateway_routes``: moto's ModifyVpcEndpoint records the route tables added to (or removed from) a
gateway endpoint but changes no route, so a later DeleteVpcEndpoints fails looking for a route that
was never made. AWS adds the prefix-list route to each added table and takes it out of each removed
one; the patch does the same.

Nothing in endpoint-guard's code changes; only the emulator's answers do."""

from __future__ import annotations

import inspect
from typing import Any

_PATCHED = "_endpoint_guard_counts"
_ROUTED = "_endpoint_guard_routes"


def install() -> None:
    """Every answer of AWS this module gives moto (idempotent)."""
    aws_cluster_counts()
    aws_gateway_routes()


def aws_cluster_counts() -> None:
    """Make moto's DescribeClusters count as AWS does (idempotent; in this process, for every backend)."""
    from moto.ecs.models import EC2ContainerServiceBackend

    if getattr(EC2ContainerServiceBackend, _PATCHED, False):
        return
    original = EC2ContainerServiceBackend.describe_clusters

    def describe_clusters(self: Any, cluster_names: list[str]) -> Any:
        clusters, failures = original(self, cluster_names)
        for cluster in clusters:
            services = [s for s in self.services.values() if s.cluster_name == cluster.name and s.status == "ACTIVE"]
            tasks = [t for t in self.tasks.get(cluster.name, {}).values() if t.desired_status == "RUNNING"]
            cluster.active_services_count = len(services)
            cluster.running_tasks_count = sum(int(s.running_count) for s in services) + len(tasks)
            cluster.registered_container_instances_count = len(self.container_instances.get(cluster.name, {}))
        return clusters, failures

    EC2ContainerServiceBackend.describe_clusters = describe_clusters  # type: ignore[method-assign]
    setattr(EC2ContainerServiceBackend, _PATCHED, True)


def aws_gateway_routes() -> None:
    """Make moto's ModifyVpcEndpoint add and remove a gateway's prefix-list routes as AWS does."""
    from moto.ec2.models.vpcs import VPCBackend

    if getattr(VPCBackend, _ROUTED, False):
        return
    original = VPCBackend.modify_vpc_endpoint
    signature = inspect.signature(original)

    def modify_vpc_endpoint(self: Any, *args: Any, **kwargs: Any) -> None:
        asked = signature.bind(self, *args, **kwargs).arguments
        endpoint = self.describe_vpc_endpoints(vpc_end_point_ids=[asked["vpc_id"]])[0]
        before = set(endpoint.route_table_ids or [])
        original(self, *args, **kwargs)
        prefix_list = getattr(endpoint, "destination_prefix_list_id", None)
        if str(endpoint.vpc_endpoint_type).lower() != "gateway" or not prefix_list:
            return
        for table in sorted(set(asked.get("remove_route_tables") or []) & before):
            self.delete_route(table, prefix_list)
        for table in sorted(set(asked.get("add_route_tables") or []) - before):
            self.create_route(table, None, gateway_id=endpoint.id, destination_prefix_list_id=prefix_list)

    VPCBackend.modify_vpc_endpoint = modify_vpc_endpoint  # type: ignore[method-assign]
    setattr(VPCBackend, _ROUTED, True)

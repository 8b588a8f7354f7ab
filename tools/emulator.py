"""Where moto does not answer as AWS does, and the tests, the demo and the benchmarks need AWS's answer.

``aws_cluster_counts``: moto's DescribeClusters keeps ``activeServicesCount`` and
``registeredContainerInstancesCount`` at 0 whatever the cluster holds, and counts no Fargate task it
runs. AWS counts them, and endpoint-guard reads a cluster's services, tasks and instances only when its
counts say there are some. The patch works the counts out from moto's own state each time a cluster is
described: the active services; the services' running tasks plus the standalone tasks moto runs; the
registered instances. Nothing in endpoint-guard's code changes; only the emulator's answer does."""

from __future__ import annotations

from typing import Any

_PATCHED = "_endpoint_guard_counts"


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

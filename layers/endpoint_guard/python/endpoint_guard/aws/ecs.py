"""ECS and what its clusters lean on (Auto Scaling groups, load balancer target groups): where a
cluster's workloads run, and what migration discovery and the traffic estimate read of its services."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from endpoint_guard.aws.base import Adapter, chunks

Raw = dict[str, Any]


class EcsAdapter(Adapter):
    """What an ECS cluster tells about the VPCs it uses."""

    service = "ecs"

    def cluster(self, cluster: str) -> Raw | None:
        """The cluster with its tags and capacity providers; None when it does not exist (or is deleted)."""
        found = self._call("describe_clusters", clusters=[cluster], include=["TAGS"]).get("clusters", [])
        return found[0] if found and found[0].get("status") != "INACTIVE" else None

    def service_subnets(self, cluster_arn: str) -> tuple[str, ...]:
        """The awsvpc subnets of every service of the cluster."""
        subnets: set[str] = set()
        for service in self.services(cluster_arn):
            awsvpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
            subnets.update(awsvpc.get("subnets", []))
        return tuple(sorted(subnets))

    def cluster_arns(self) -> list[str]:
        return self._pages("list_clusters", "clusterArns")

    def services(self, cluster_arn: str) -> list[Raw]:
        """Every service of a cluster, described."""
        described = []
        for names in chunks(self._pages("list_services", "serviceArns", cluster=cluster_arn), 10):
            described += self._call("describe_services", cluster=cluster_arn, services=names).get("services", [])
        return described

    def task_definition(self, task_definition: str) -> Raw:
        """The task definition as ECS describes it."""
        described: Raw = self._call("describe_task_definition", taskDefinition=task_definition)["taskDefinition"]
        return described

    def task_count(self, cluster_arn: str, service_name: str) -> int:
        """Tasks of a service that ECS still lists: running ones and those stopped in the last hour."""
        return sum(
            len(
                self._pages(
                    "list_tasks", "taskArns", cluster=cluster_arn, serviceName=service_name, desiredStatus=status
                )
            )
            for status in ("RUNNING", "STOPPED")
        )

    def container_instance_ids(self, cluster_arn: str) -> tuple[str, ...]:
        """The EC2 instance ids of the cluster's registered container instances."""
        instances: set[str] = set()
        arns = self._pages("list_container_instances", "containerInstanceArns", cluster=cluster_arn)
        for chunk in chunks(arns, 100):
            found = self._call("describe_container_instances", cluster=cluster_arn, containerInstances=chunk)
            instances.update(
                ci["ec2InstanceId"] for ci in found.get("containerInstances", []) if ci.get("ec2InstanceId")
            )
        return tuple(sorted(instances))

    def capacity_provider_groups(self, names: Iterable[str]) -> tuple[str, ...]:
        """The Auto Scaling groups (names or ARNs) behind capacity providers. FARGATE and FARGATE_SPOT have
        none and are not asked about."""
        wanted = sorted({n for n in names if n not in ("FARGATE", "FARGATE_SPOT")})
        if not wanted:
            return ()
        providers = self._call("describe_capacity_providers", capacityProviders=wanted).get("capacityProviders", [])
        return tuple(
            sorted(
                {
                    p["autoScalingGroupProvider"]["autoScalingGroupArn"]
                    for p in providers
                    if (p.get("autoScalingGroupProvider") or {}).get("autoScalingGroupArn")
                }
            )
        )


class AutoScalingAdapter(Adapter):
    service = "autoscaling"

    def group_subnets(self, groups: Iterable[str]) -> tuple[str, ...]:
        """The subnets Auto Scaling groups launch into. Capacity providers name their group by ARN; the API
        takes names, and the name is the ARN's last part."""
        names = sorted({g.rsplit("autoScalingGroupName/", 1)[-1] for g in groups})
        if not names:
            return ()
        found = self._pages("describe_auto_scaling_groups", "AutoScalingGroups", AutoScalingGroupNames=names)
        return tuple(
            sorted({s.strip() for g in found for s in (g.get("VPCZoneIdentifier") or "").split(",") if s.strip()})
        )


class LoadBalancingAdapter(Adapter):
    service = "elbv2"

    def target_groups(self, arns: Iterable[str]) -> list[Raw]:
        found = []
        for chunk in chunks(sorted(set(arns)), 20):
            found += self._call("describe_target_groups", TargetGroupArns=chunk).get("TargetGroups", [])
        return found


class ServiceHealth(Adapter):
    """What the maintenance window reads of the services behind a route table it changed ("cluster/name"
    each): their state, and the tasks of theirs that stopped."""

    service = "ecs"

    def described(self, services: Iterable[str]) -> list[Raw]:
        by_cluster: dict[str, list[str]] = {}
        for key in services:
            cluster, name = key.split("/", 1)
            by_cluster.setdefault(cluster, []).append(name)
        found: list[Raw] = []
        for cluster, names in sorted(by_cluster.items()):
            for chunk in chunks(sorted(names), 10):
                found += self._call("describe_services", cluster=cluster, services=chunk).get("services", [])
        return found

    def stopped(self, services: Iterable[str]) -> list[str]:
        """The ARNs of the services' stopped tasks ECS still lists (it keeps them for about an hour)."""
        arns: list[str] = []
        for key in sorted(set(services)):
            cluster, name = key.split("/", 1)
            arns += self._pages("list_tasks", "taskArns", cluster=cluster, serviceName=name, desiredStatus="STOPPED")
        return arns

    def tasks(self, arns: Iterable[str]) -> list[Raw]:
        """The tasks, described (a task's ARN names its cluster)."""
        by_cluster: dict[str, list[str]] = {}
        for arn in arns:
            cluster = arn.split(":task/", 1)[1].split("/", 1)[0] if ":task/" in arn else "default"
            by_cluster.setdefault(cluster, []).append(arn)
        return [
            t
            for cluster, listed in sorted(by_cluster.items())
            for chunk in chunks(listed, 100)
            for t in self._call("describe_tasks", cluster=cluster, tasks=chunk).get("tasks", [])
        ]


def images_of(task_definition: Raw) -> list[str]:
    return [c["image"] for c in task_definition.get("containerDefinitions", []) if c.get("image")]


def log_groups_of(task_definition: Raw, region: str) -> list[str]:
    """The CloudWatch log groups the task definition's containers send to with the awslogs driver (in
    ``region``: a group in another Region is not this VPC's logs endpoint traffic)."""
    groups = []
    for container in task_definition.get("containerDefinitions", []):
        config = container.get("logConfiguration") or {}
        options = config.get("options") or {}
        if (
            config.get("logDriver") == "awslogs"
            and options.get("awslogs-group")
            and options.get("awslogs-region", region) == region
        ):
            groups.append(str(options["awslogs-group"]))
    return sorted(set(groups))

"""What a workload needs (pure): its images and where they live, its log destinations, the sources of
its secrets, ECS Exec, and from those the endpoint services its traffic uses. Parsers take ECS's shapes
(DescribeServices, DescribeTasks, DescribeContainerInstances, DescribeTaskDefinition)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from endpoint_guard.pullpath.model import KIND_INSTANCE, KIND_SERVICE, KIND_TASK, Workload

Raw = dict[str, Any]

# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/repository[:tag|@digest]
_ECR = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repo>.+)$"
)
_DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})

# Where an image lives.
ECR_HERE = "ecr"  # this Region's ECR (any account): the endpoints carry it
ECR_OTHER_REGION = "ecr_other_region"
ECR_PUBLIC = "ecr_public"
DOCKER_HUB = "docker_hub"
OTHER_REGISTRY = "other_registry"

# The endpoint services each kind of traffic uses.
ECR_SERVICES = ("ecr.api", "ecr.dkr", "s3")
INSTANCE_SERVICES = ("ecs", "ecs-agent", "ecs-telemetry")  # an EC2 container instance's agent
EXEC_SERVICE = "ssmmessages"


@dataclass(frozen=True)
class ImageSource:
    image: str
    kind: str
    registry: str
    region: str | None = None
    account: str | None = None
    repository: str = ""


def image_source(image: str, region: str) -> ImageSource:
    """Where ``image`` is pulled from, seen from a VPC in ``region``."""
    found = _ECR.match(image)
    if found:
        here = found["region"] == region
        return ImageSource(
            image,
            ECR_HERE if here else ECR_OTHER_REGION,
            image.split("/", 1)[0],
            found["region"],
            found["account"],
            re.split(r"[:@]", found["repo"], maxsplit=1)[0],
        )
    first, _, rest = image.partition("/")
    if first == "public.ecr.aws":
        return ImageSource(image, ECR_PUBLIC, first)
    if not rest or ("." not in first and ":" not in first and first != "localhost") or first in _DOCKER_HUB_HOSTS:
        return ImageSource(image, DOCKER_HUB, "docker.io")
    return ImageSource(image, OTHER_REGISTRY, first)


def _secret_source(value_from: str) -> str:
    """secretsmanager or ssm, from a container secret's ``valueFrom`` (an ARN, or a parameter name)."""
    if value_from.startswith("arn:") and ":secretsmanager:" in value_from:
        return "secretsmanager"
    return "ssm"


def definition_needs(definition: Raw | None, region: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(images, log Regions, secret sources) of a task definition."""
    if not definition:
        return (), (), ()
    images: list[str] = []
    log_regions: set[str] = set()
    secrets: set[str] = set()
    for container in definition.get("containerDefinitions", []):
        if container.get("image"):
            images.append(str(container["image"]))
        config = container.get("logConfiguration") or {}
        if config.get("logDriver") == "awslogs":
            log_regions.add(str((config.get("options") or {}).get("awslogs-region") or region))
        for secret in container.get("secrets") or []:
            if secret.get("valueFrom"):
                secrets.add(_secret_source(str(secret["valueFrom"])))
        for option in (config.get("secretOptions") or []) if config else []:
            if option.get("valueFrom"):
                secrets.add(_secret_source(str(option["valueFrom"])))
        if (container.get("repositoryCredentials") or {}).get("credentialsParameter"):
            secrets.add("secretsmanager")  # a private registry's credentials live in Secrets Manager
    return tuple(dict.fromkeys(images)), tuple(sorted(log_regions)), tuple(sorted(secrets))


def services_needed(workload: Workload, region: str) -> tuple[str, ...]:
    """The endpoint services a workload's traffic uses in ``region``, in the catalogue's order."""
    wanted: list[str] = []
    if any(image_source(i, region).kind == ECR_HERE for i in workload.images) or workload.kind == KIND_INSTANCE:
        wanted += ECR_SERVICES
    if region in workload.log_regions:
        wanted.append("logs")
    wanted += [s for s in ("secretsmanager", "ssm") if s in workload.secrets]
    if workload.kind == KIND_INSTANCE:
        wanted += INSTANCE_SERVICES
    if workload.execute_command:
        wanted.append(EXEC_SERVICE)
    return tuple(dict.fromkeys(wanted))


def with_needs(workload: Workload, region: str) -> Workload:
    return replace(workload, needs=services_needed(workload, region))


def _awsvpc(network: Raw | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    awsvpc = (network or {}).get("awsvpcConfiguration") or {}
    return tuple(sorted(awsvpc.get("subnets", []))), tuple(sorted(awsvpc.get("securityGroups", [])))


def _launch(raw: Raw) -> str:
    if raw.get("launchType"):
        return str(raw["launchType"])
    strategy = raw.get("capacityProviderStrategy") or []
    return str(strategy[0].get("capacityProvider")) if strategy else "FARGATE"


def cluster_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def service_workload(service: Raw, definition: Raw | None, region: str) -> Workload | None:
    """An awsvpc service's workload (None for bridge/host networking: its tasks use the instance's
    network, which the container instances stand for)."""
    subnets, groups = _awsvpc(service.get("networkConfiguration"))
    if not subnets:
        return None
    images, logs, secrets = definition_needs(definition, region)
    return with_needs(
        Workload(
            kind=KIND_SERVICE,
            cluster=cluster_name(str(service.get("clusterArn", ""))),
            name=str(service.get("serviceName", "")),
            launch_type=_launch(service),
            subnet_ids=subnets,
            group_ids=groups,
            images=images,
            log_regions=logs,
            secrets=secrets,
            execute_command=bool(service.get("enableExecuteCommand")),
        ),
        region,
    )


def task_workload(
    task: Raw, definition: Raw | None, region: str, eni_groups: dict[str, tuple[str, ...]]
) -> Workload | None:
    """A standalone task (one not started by a service) with its ENI's subnet and groups."""
    if str(task.get("group", "")).startswith("service:"):
        return None
    subnets, enis = [], []
    for attachment in task.get("attachments", []):
        details = {d.get("name"): d.get("value") for d in attachment.get("details", [])}
        if details.get("subnetId"):
            subnets.append(str(details["subnetId"]))
        if details.get("networkInterfaceId"):
            enis.append(str(details["networkInterfaceId"]))
    if not subnets:
        return None
    images, logs, secrets = definition_needs(definition, region)
    groups = sorted({g for eni in enis for g in eni_groups.get(eni, ())})
    return with_needs(
        Workload(
            kind=KIND_TASK,
            cluster=cluster_name(str(task.get("clusterArn", ""))),
            name=str(task.get("taskArn", "")).rsplit("/", 1)[-1],
            launch_type=_launch(task),
            subnet_ids=tuple(sorted(set(subnets))),
            group_ids=tuple(groups),
            images=images,
            log_regions=logs,
            secrets=secrets,
            execute_command=bool(task.get("enableExecuteCommand")),
        ),
        region,
    )


def instance_workload(cluster_arn: str, instance: Raw, region: str) -> Workload | None:
    """An EC2 container instance: its agent pulls every task's image through the instance's network,
    whatever the task's network mode, and talks to ECS through ecs, ecs-agent and ecs-telemetry."""
    if not instance.get("SubnetId"):
        return None
    return with_needs(
        Workload(
            kind=KIND_INSTANCE,
            cluster=cluster_name(cluster_arn),
            name=str(instance.get("InstanceId", "")),
            launch_type="EC2",
            subnet_ids=(str(instance["SubnetId"]),),
            group_ids=tuple(sorted(g["GroupId"] for g in instance.get("SecurityGroups", []) if g.get("GroupId"))),
        ),
        region,
    )


def in_vpc(workloads: list[Workload], subnet_ids: set[str]) -> list[Workload]:
    """The workloads with a subnet among ``subnet_ids`` (a VPC's), their subnets cut to those."""
    found = []
    for w in workloads:
        mine = tuple(s for s in w.subnet_ids if s in subnet_ids)
        if mine:
            found.append(replace(w, subnet_ids=mine))
    return sorted(found, key=lambda w: (w.kind, w.cluster, w.name))

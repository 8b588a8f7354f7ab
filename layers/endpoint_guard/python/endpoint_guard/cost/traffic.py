"""How much traffic a VPC sends through NAT, from the best source available. Image pulls: the NAT
gateways' CloudWatch metrics (less the measured logs), else the sizes of the ECR images its ECS services
run times the tasks they started (from their service events), else a default. Logs: the IncomingBytes
of the log groups its task definitions send to with awslogs. Always says which source it used."""

from __future__ import annotations

from typing import Any

from endpoint_guard.aws import Services
from endpoint_guard.aws.ecs import images_of, log_groups_of
from endpoint_guard.cost.estimate import Traffic, choose_traffic, traffic_from_images, traffic_from_nat_bytes
from endpoint_guard.settings import Settings

METRIC_DAYS = 14


def measure(
    *,
    nat_gateway_ids: list[str],
    services: list[dict[str, Any]],
    region: str,
    account: str | None,
    aws: Services,
    override_gb: float | None,
    default_gb: float,
) -> tuple[Traffic, Traffic | None]:
    """The VPC's image-pull traffic, and its awslogs traffic (None: not measured, a default share is
    used). ``services``: the VPC's ECS services as the inventory lists them (cluster_arn, service,
    task_definition, tasks_started_per_month)."""
    definitions = {
        s["task_definition"]: aws.ecs.task_definition(s["task_definition"])
        for s in services
        if s.get("task_definition")
    }
    logs = _logs(definitions, region, aws)
    if override_gb is not None:
        return choose_traffic(
            override_gb=override_gb, nat_gb=None, image_gb=None, default_gb=default_gb, detail={}
        ), logs
    detail: dict[str, str] = {}
    nat_gb = None
    nat_bytes = aws.cloudwatch.nat_gateway_bytes(nat_gateway_ids, METRIC_DAYS)
    if nat_bytes is not None:
        nat_gb = traffic_from_nat_bytes(nat_bytes, METRIC_DAYS)
        detail["nat"] = (
            f"{nat_bytes / 1e9:,.1f} GB through {len(nat_gateway_ids)} NAT gateway(s) in {METRIC_DAYS} days "
            "(all of their traffic: an upper bound for image pulls"
        )
        if logs is not None:  # the log traffic goes through the NAT gateways too
            nat_gb = max(0.0, nat_gb - logs.gb_per_month)
            detail["nat"] += f", less the {logs.gb_per_month:,.1f} GB/month of logs"
        detail["nat"] += ")"
    image_gb = None
    if nat_gb is None and services:
        image_gb, detail["images"] = _pulls(services, definitions, account, region, aws)
    return (
        choose_traffic(override_gb=None, nat_gb=nat_gb, image_gb=image_gb, default_gb=default_gb, detail=detail),
        logs,
    )


def _logs(definitions: dict[str, dict[str, Any]], region: str, aws: Services) -> Traffic | None:
    """The awslogs traffic of the VPC's task definitions: their log groups' IncomingBytes."""
    groups = sorted({g for d in definitions.values() for g in log_groups_of(d, region)})
    incoming = aws.cloudwatch.log_group_bytes(groups, METRIC_DAYS) if groups else None
    if incoming is None:
        return None
    detail = f"IncomingBytes of {len(groups)} log group(s) over {METRIC_DAYS} days: {', '.join(groups[:3])}"
    return Traffic(traffic_from_nat_bytes(incoming, METRIC_DAYS), "awslogs-incoming-bytes", detail)


def _pulls(
    services: list[dict[str, Any]],
    definitions: dict[str, dict[str, Any]],
    account: str | None,
    region: str,
    aws: Services,
) -> tuple[float | None, str]:
    """GB a month from the ECR images' sizes x the tasks started (from the service events; where they say
    nothing, the tasks ECS lists now, a floor)."""
    sizes: dict[str, int] = {}
    pulls, floors = 0.0, 0
    for service in services:
        definition = definitions.get(service.get("task_definition") or "")
        found = aws.ecr.image_sizes(images_of(definition), account, region) if definition else {}
        if not found:
            continue
        sizes.update(found)
        started = service.get("tasks_started_per_month")
        if started is None:
            floors += 1
            started = aws.ecs.task_count(service["cluster_arn"], service["service"])
        pulls += started
    if not sizes:
        return None, ""
    detail = (
        f"{len(sizes)} ECR image(s), {sum(sizes.values()) / len(sizes) / 1e6:,.0f} MB on average, "
        f"x {pulls:,.0f} task start(s) a month from the service events"
        + (f" ({floors} service(s) without starts in their events: the tasks ECS lists now, a floor)" if floors else "")
    )
    return traffic_from_images(list(sizes.values()), round(pulls)), detail


def vpc_traffic(
    services: list[dict[str, Any]],
    nat_ids: list[str],
    account: str | None,
    *,
    settings: Settings,
    aws: Services,
    override_gb: float | None = None,
) -> tuple[Traffic, Traffic | None]:
    """A VPC's image-pull and log traffic (``measure``), in its Region, with the settings' default."""
    return measure(
        nat_gateway_ids=nat_ids,
        services=services,
        region=aws.ec2.region,
        account=account,
        aws=aws,
        override_gb=override_gb,
        default_gb=settings.default_gb_per_month,
    )

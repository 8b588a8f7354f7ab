"""How much image-pull traffic a VPC sends through NAT, from the best source available: the NAT
gateways' CloudWatch metrics, else the sizes of the ECR images its ECS services run times the tasks
started, else a default. Always says which source it used."""

from __future__ import annotations

from typing import Any

from endpoint_guard.aws import Services
from endpoint_guard.cost.estimate import Traffic, choose_traffic, traffic_from_images, traffic_from_nat_bytes

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
) -> Traffic:
    """``services``: the VPC's ECS services as the inventory lists them (cluster_arn, service,
    task_definition)."""
    if override_gb is not None:
        return choose_traffic(override_gb=override_gb, nat_gb=None, image_gb=None, default_gb=default_gb, detail={})
    detail: dict[str, str] = {}
    nat_gb = None
    nat_bytes = aws.cloudwatch.nat_gateway_bytes(nat_gateway_ids, METRIC_DAYS)
    if nat_bytes is not None:
        nat_gb = traffic_from_nat_bytes(nat_bytes, METRIC_DAYS)
        detail["nat"] = (
            f"{nat_bytes / 1e9:,.1f} GB through {len(nat_gateway_ids)} NAT gateway(s) in {METRIC_DAYS} days "
            "(all of their traffic: an upper bound for image pulls)"
        )
    image_gb = None
    if nat_gb is None and services:
        sizes: dict[str, int] = {}
        pulls = 0
        for service in services:
            if not service.get("task_definition"):
                continue
            images = aws.ecs.task_definition_images(service["task_definition"])
            found = aws.ecr.image_sizes(images, account, region)
            if found:
                sizes.update(found)
                pulls += aws.ecs.task_count(service["cluster_arn"], service["service"])
        if sizes:
            image_gb = traffic_from_images(list(sizes.values()), pulls)
            detail["images"] = (
                f"{len(sizes)} ECR image(s), {sum(sizes.values()) / len(sizes) / 1e6:,.0f} MB on average, "
                f"x {pulls} task(s) started (those ECS still lists: a floor)"
            )
    return choose_traffic(override_gb=None, nat_gb=nat_gb, image_gb=image_gb, default_gb=default_gb, detail=detail)

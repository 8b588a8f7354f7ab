"""What ops ask by hand: is this VPC compliant, what do its endpoints cost against the NAT they replace,
and the same for every VPC of the region. Read-only: every reconcile here is a dry run."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from endpoint_guard.aws import Services
from endpoint_guard.aws.ec2 import account_or_none
from endpoint_guard.aws.workloads import pull_path
from endpoint_guard.cost.aware import cost_aware, profile_for
from endpoint_guard.cost.estimate import Traffic, load_prices, of_result
from endpoint_guard.cost.traffic import vpc_traffic
from endpoint_guard.deferred.approval import Lookup, standing
from endpoint_guard.migration.inventory import service_summary, services_by_vpc
from endpoint_guard.model import eni_from_api, ignored, tags_of
from endpoint_guard.reconcile import ResultDocument, reconcile, workload_kind
from endpoint_guard.settings import Settings


def summaries_by_vpc(aws: Services, subnet_vpc: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The region's ECS services per VPC, summarised as the cost estimate reads them."""
    return {vpc: [service_summary(s, {}) for s in found] for vpc, found in services_by_vpc(aws.ecs, subnet_vpc).items()}


def vpc_cost(
    result: ResultDocument, measured: tuple[Traffic, Traffic | None], *, settings: Settings, aws: Services
) -> dict[str, Any]:
    """The cost object of a reconciled (or dry-run) VPC (``cost.estimate.of_result``) at its measured
    traffic, with the Transit Gateway it is attached to, if any."""
    traffic, logs = measured
    attached = aws.lookups.transit_gateway_attachments(result["vpc_id"])
    return of_result(
        result,
        traffic,
        load_prices(settings.prices_file),
        logs=logs,
        transit_gateway=next((str(a["TransitGatewayId"]) for a in attached if a.get("TransitGatewayId")), None),
    )


def running_tasks(aws: Services, vpc_id: str) -> int:
    """ECS task ENIs in use in the VPC (one call)."""
    return sum(
        1
        for raw in aws.lookups.network_interfaces(vpc_id)
        if workload_kind(eni_from_api(raw), frozenset()) == "ecs-task"
    )


def check(
    vpc_id: str,
    settings: Settings,
    aws: Services,
    override_gb: float | None = None,
    approvals: Lookup | None = None,
) -> ResultDocument:
    """The dry-run result document of a VPC, with ``running_tasks``, ``cost`` and each ECS workload's
    pull path (``workloads``). The DNS attributes are read whenever an endpoint relies on private DNS (a
    VPC whose attributes were turned off is broken, however its endpoints look)."""
    dry = dataclasses.replace(settings, dry_run=True, verify_dns=True)
    vpc = aws.lookups.describe_vpc(vpc_id)
    subnet_vpc = {s["SubnetId"]: vpc_id for s in aws.lookups.subnets(vpc_id)}
    services = summaries_by_vpc(aws, subnet_vpc).get(vpc_id, [])
    nats = [n["NatGatewayId"] for n in aws.lookups.nat_gateways(vpc_id)]
    measured = vpc_traffic(services, nats, vpc.get("OwnerId"), settings=settings, aws=aws, override_gb=override_gb)
    pull = pull_path(aws.clients, settings, vpc.get("OwnerId"))
    if cost_aware(settings):  # compliant means: holds what the cost-aware profile chose for it
        profile, choice = profile_for(vpc_id, ec2=aws.ec2, settings=dry, traffic=measured[0], logs=measured[1])
        result = reconcile(vpc_id, ec2=aws.ec2, settings=dry, profile=profile, workloads=pull)
        result["cost_aware"] = choice.document()
    else:
        result = reconcile(vpc_id, ec2=aws.ec2, settings=dry, workloads=pull)
    result["running_tasks"] = running_tasks(aws, vpc_id)
    result["cost"] = vpc_cost(result, measured, settings=settings, aws=aws)
    if result["deferred_route_tables"]:
        result["approval"] = standing(vpc, result["region"], vpc.get("OwnerId"), approvals, time.time())
    return result


def report(
    settings: Settings,
    aws: Services,
    override_gb: float | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
    approvals: Lookup | None = None,
) -> list[dict[str, Any]]:
    """One row per VPC of the region: compliance per endpoint, deferred route tables, running tasks, its
    ECS workloads through the endpoints (``workloads``: the counts of each verdict), cost.
    A VPC tagged ``endpoint-guard:ignore = true`` gets a row that says only that (``opted_out``)."""
    vpcs = sorted(aws.lookups.all_vpcs(), key=lambda v: str(v["VpcId"]))
    subnet_vpc = {s["SubnetId"]: s["VpcId"] for s in aws.lookups.all_subnets()}
    services = summaries_by_vpc(aws, subnet_vpc)
    dry = dataclasses.replace(settings, dry_run=True, verify_dns=True)
    rows: list[dict[str, Any]] = []
    acting = account_or_none(aws.ec2)
    pull = pull_path(aws.clients, settings, acting, region_wide=True)  # the region's facts read once
    for n, vpc in enumerate(vpcs):
        vpc_id = vpc["VpcId"]
        owner = vpc.get("OwnerId")
        if ignored(vpc) or (acting and owner and owner != acting):
            row = {"vpc_id": vpc_id, "name": _name(vpc)}
            row.update({"opted_out": True} if ignored(vpc) else {"skipped": "shared", "owner": owner})
            rows.append(row)
            progress(n + 1, len(vpcs))
            continue
        result = reconcile(vpc_id, ec2=aws.ec2, settings=dry, workloads=pull)
        nats = [g["NatGatewayId"] for g in aws.lookups.nat_gateways(vpc_id)]
        rows.append(
            {
                "vpc_id": vpc_id,
                "name": _name(vpc),
                "compliant": result["compliant"],
                "endpoints": {e["service"]: e["status"] for e in result["endpoints"]},
                "deferred_route_tables": [t["route_table_id"] for t in result["deferred_route_tables"]],
                "running_tasks": running_tasks(aws, vpc_id),
                "workloads": result.get("workloads_summary"),
                "cost": vpc_cost(
                    result,
                    vpc_traffic(
                        services.get(vpc_id, []),
                        nats,
                        vpc.get("OwnerId"),
                        settings=settings,
                        aws=aws,
                        override_gb=override_gb,
                    ),
                    settings=settings,
                    aws=aws,
                ),
            }
        )
        if rows[-1]["deferred_route_tables"]:
            rows[-1]["approval"] = standing(vpc, result["region"], owner, approvals, time.time())
        progress(n + 1, len(vpcs))
    return rows


def _name(vpc: dict[str, Any]) -> str:
    return tags_of(vpc).get("Name", "")

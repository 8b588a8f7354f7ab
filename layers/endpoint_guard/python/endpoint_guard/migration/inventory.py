"""Discovery for the migration plan: everything about a source VPC that moving its ECS services into a
new VPC depends on. ``discover`` asks AWS through the adapters; ``build_inventory`` (pure) turns the
answers into the JSON inventory the planner (``migration``) reads."""

from __future__ import annotations

from typing import Any

from endpoint_guard.aws import EcsAdapter, Services
from endpoint_guard.cost.traffic import measure
from endpoint_guard.migration.target import subnet_tier
from endpoint_guard.migration.types import Inventory
from endpoint_guard.model import (
    GONE_STATES,
    eni_from_api,
    route_tables_from_api,
    subnets_from_api,
    vpc_cidrs,
)
from endpoint_guard.reconcile.workloads import workload_kind

INVENTORY_SCHEMA_VERSION = 1


def discover(
    vpc_id: str,
    aws: Services,
    deferred_route_tables: list[dict[str, Any]] | None = None,
    *,
    default_gb: float = 100.0,
    override_gb: float | None = None,
) -> Inventory:
    """The inventory of ``vpc_id``, with its measured image-pull traffic. ECS services count when their
    awsvpc subnets are in the VPC."""
    ec2 = aws.lookups
    vpc = ec2.describe_vpc(vpc_id)
    subnets = ec2.subnets(vpc_id)
    services = services_by_vpc(aws.ecs, {s["SubnetId"]: vpc_id for s in subnets}).get(vpc_id, [])
    target_group_arns = [
        lb["targetGroupArn"] for s in services for lb in s.get("loadBalancers", []) if lb.get("targetGroupArn")
    ]
    nat_gateways = ec2.nat_gateways(vpc_id)
    inventory = build_inventory(
        vpc=vpc,
        region=ec2.region,
        subnets=subnets,
        route_tables=ec2.route_tables(vpc_id),
        nat_gateways=nat_gateways,
        endpoints=ec2.vpc_endpoints(vpc_id),
        peerings=ec2.peering_connections(vpc_id),
        transit_gateway_attachments=ec2.transit_gateway_attachments(vpc_id),
        security_groups=ec2.security_groups(vpc_id),
        network_interfaces=ec2.network_interfaces(vpc_id),
        services=services,
        target_groups=aws.elbv2.target_groups(target_group_arns) if target_group_arns else [],
        region_vpc_cidrs=ec2.all_vpc_cidrs(),
        deferred_route_tables=deferred_route_tables or [],
    )
    traffic, logs = measure(
        nat_gateway_ids=[n["NatGatewayId"] for n in nat_gateways],
        services=inventory["services"],
        region=ec2.region,
        account=vpc.get("OwnerId"),
        aws=aws,
        override_gb=override_gb,
        default_gb=default_gb,
    )
    inventory["traffic"] = {"gb_per_month": traffic.gb_per_month, "source": traffic.source, "detail": traffic.detail}
    if logs is not None:
        inventory["traffic"]["logs"] = {"gb_per_month": logs.gb_per_month, "source": logs.source, "detail": logs.detail}
    return inventory


def services_by_vpc(ecs: EcsAdapter, subnet_vpc: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Every live ECS service of the region (as DescribeServices returns it), under the VPC(s) of its
    awsvpc subnets: one scan of the clusters serves any number of VPCs."""
    found: dict[str, list[dict[str, Any]]] = {}
    for cluster_arn in ecs.cluster_arns():
        for service in ecs.services(cluster_arn):
            if service.get("status") == "INACTIVE":
                continue
            awsvpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
            for vpc_id in sorted({subnet_vpc[s] for s in awsvpc.get("subnets", []) if s in subnet_vpc}):
                found.setdefault(vpc_id, []).append(service)
    return found


def build_inventory(
    *,
    vpc: dict[str, Any],
    region: str | None,
    subnets: list[dict[str, Any]],
    route_tables: list[dict[str, Any]],
    nat_gateways: list[dict[str, Any]],
    endpoints: list[dict[str, Any]],
    peerings: list[dict[str, Any]],
    transit_gateway_attachments: list[dict[str, Any]],
    security_groups: list[dict[str, Any]],
    network_interfaces: list[dict[str, Any]],
    services: list[dict[str, Any]],
    target_groups: list[dict[str, Any]],
    region_vpc_cidrs: list[str],
    deferred_route_tables: list[dict[str, Any]],
) -> Inventory:
    """The inventory document from raw AWS answers (pure)."""
    vpc_id = vpc["VpcId"]
    v4, _ = vpc_cidrs(vpc)
    primary = vpc.get("CidrBlock") or (v4[0] if v4 else "")
    tables = route_tables_from_api(route_tables, subnets)
    routes_of = {rt["RouteTableId"]: [_route(r) for r in rt.get("Routes", [])] for rt in route_tables}
    subnet_list = [
        {
            "subnet_id": s.subnet_id,
            "az": s.az,
            "cidr": s.cidr,
            "route_table_id": s.route_table_id,
            "tier": subnet_tier(routes_of.get(s.route_table_id or "", [])),
        }
        for s in subnets_from_api(subnets, tables)
    ]
    subnet_az = {s["subnet_id"]: s["az"] for s in subnet_list}
    live_endpoints = [e for e in endpoints if str(e.get("State", "available")).lower() not in GONE_STATES]
    infra = frozenset(eni for e in live_endpoints for eni in e.get("NetworkInterfaceIds", []))
    workloads = []
    for raw in network_interfaces:
        eni = eni_from_api(raw)
        kind = workload_kind(eni, infra)
        if kind:
            workloads.append(
                {"eni_id": eni.eni_id, "kind": kind, "subnet_id": eni.subnet_id, "description": eni.description}
            )
    groups_by_arn = {tg["TargetGroupArn"]: tg for tg in target_groups}
    return {
        "schema_version": INVENTORY_SCHEMA_VERSION,
        "vpc_id": vpc_id,
        "region": region,
        "cidrs": [primary] + [c for c in v4 if c != primary],
        "subnets": subnet_list,
        "route_tables": [
            {
                "route_table_id": t.route_table_id,
                "main": t.main,
                "subnet_ids": list(t.subnet_ids),
                "routes": routes_of.get(t.route_table_id, []),
            }
            for t in tables
        ],
        "nat_gateways": [
            {
                "nat_gateway_id": n["NatGatewayId"],
                "subnet_id": n.get("SubnetId"),
                "az": subnet_az.get(n.get("SubnetId", ""), ""),
            }
            for n in nat_gateways
        ],
        "endpoints": [
            {"endpoint_id": e["VpcEndpointId"], "service_name": e["ServiceName"], "type": e.get("VpcEndpointType")}
            for e in live_endpoints
        ],
        "peering": [_peering(p, vpc_id) for p in peerings],
        "transit_gateway_attachments": [
            {"attachment_id": a["TransitGatewayAttachmentId"], "transit_gateway_id": a.get("TransitGatewayId")}
            for a in transit_gateway_attachments
        ],
        "security_groups": [
            {
                "group_id": g["GroupId"],
                "name": g.get("GroupName", ""),
                "description": g.get("Description", ""),
                "ingress": g.get("IpPermissions", []),
                "egress": g.get("IpPermissionsEgress", []),
            }
            for g in sorted(security_groups, key=lambda g: g["GroupId"])
        ],
        "services": [service_summary(s, groups_by_arn) for s in sorted(services, key=lambda s: s["serviceArn"])],
        "workloads": sorted(workloads, key=lambda w: w["eni_id"]),
        "region_vpc_cidrs": sorted(set(region_vpc_cidrs)),
        "deferred_route_tables": deferred_route_tables,
    }


def _route(route: dict[str, Any]) -> dict[str, Any]:
    destination = (
        route.get("DestinationCidrBlock")
        or route.get("DestinationPrefixListId")
        or route.get("DestinationIpv6CidrBlock", "")
    )
    target = next(
        (
            route[k]
            for k in (
                "GatewayId",
                "NatGatewayId",
                "VpcPeeringConnectionId",
                "TransitGatewayId",
                "NetworkInterfaceId",
                "InstanceId",
                "EgressOnlyInternetGatewayId",
            )
            if route.get(k)
        ),
        "",
    )
    return {"destination": destination, "target": target}


def _peering(pcx: dict[str, Any], vpc_id: str) -> dict[str, Any]:
    requester, accepter = pcx.get("RequesterVpcInfo", {}), pcx.get("AccepterVpcInfo", {})
    other = accepter if requester.get("VpcId") == vpc_id else requester
    cidrs = {c["CidrBlock"] for c in other.get("CidrBlockSet", []) if c.get("CidrBlock")}
    if other.get("CidrBlock"):
        cidrs.add(other["CidrBlock"])
    return {"peering_id": pcx["VpcPeeringConnectionId"], "peer_vpc_id": other.get("VpcId"), "peer_cidrs": sorted(cidrs)}


def _started(events: Any) -> float | None:
    import datetime

    from endpoint_guard.cost.estimate import starts_per_month

    found = starts_per_month(events, datetime.datetime.now(datetime.UTC))
    return round(found, 1) if found is not None else None


def service_summary(service: dict[str, Any], groups_by_arn: dict[str, Any]) -> dict[str, Any]:
    """An ECS service as the plan and the cost estimate read it (target groups by ARN, when known)."""
    awsvpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    cluster = service.get("clusterArn", "").rsplit("/", 1)[-1]
    balancers = []
    for lb in service.get("loadBalancers", []):
        group = groups_by_arn.get(lb.get("targetGroupArn", ""), {})
        balancers.append(
            {
                "target_group_arn": lb.get("targetGroupArn"),
                "target_group_name": group.get("TargetGroupName"),
                "target_type": group.get("TargetType"),
                "load_balancer_arns": group.get("LoadBalancerArns", []),
                "container_name": lb.get("containerName"),
                "container_port": lb.get("containerPort"),
            }
        )
    return {
        "cluster": cluster,
        "cluster_arn": service.get("clusterArn"),
        "service": service["serviceName"],
        "service_arn": service["serviceArn"],
        "task_definition": service.get("taskDefinition"),
        "launch_type": service.get("launchType")
        or ("capacity-provider" if service.get("capacityProviderStrategy") else None),
        "desired_count": service.get("desiredCount", 0),
        "running_count": service.get("runningCount", 0),
        "subnet_ids": sorted(awsvpc.get("subnets", [])),
        "security_groups": sorted(awsvpc.get("securityGroups", [])),
        "assign_public_ip": awsvpc.get("assignPublicIp") == "ENABLED",
        # Image pulls a month, from the tasks its service events say it started (None: they say none).
        "tasks_started_per_month": _started(service.get("events")),
        "load_balancers": balancers,
        "service_registries": [{"registry_arn": r.get("registryArn")} for r in service.get("serviceRegistries", [])],
    }

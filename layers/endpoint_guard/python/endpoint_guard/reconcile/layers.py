"""The layers-only S3 gateway (pure): isolated route tables where ECS workloads run get a second S3
gateway endpoint whose policy allows only GetObject on the Region's ECR layer bucket (and the
deployer's ``S3AllowedBuckets``). ECR serves image layers from S3, so without it those tasks cannot
pull (CannotPullContainerError), whatever interface endpoints they have. The tier stays locked down:
no other bucket is reachable. Nothing is deferred: an isolated table has no open S3 connection for the
new route to drop.

An isolated table serves workloads when a workload runs in one of its subnets (an ECS task's network
interface in use there), a service or container instance is configured there (read with the pull
path), or the VPC has no private tier, so the interface endpoints (and the workloads) go to the
isolated one. Other isolated tables stay as they are (a database tier), and ``S3GatewayOnIsolatedTiers``
keeps its meaning: with it, the main gateway takes them all. A route table routes the S3 prefix list to
one gateway only, so a table that has any S3 gateway is left alone."""

from __future__ import annotations

from typing import Any

from endpoint_guard.model import PURPOSE_LAYERS, PURPOSE_TAG, TIER_PRIVATE, RouteTable, Snapshot
from endpoint_guard.profile import GATEWAY, ServiceSpec
from endpoint_guard.reconcile.actions import (
    COMPLIANT,
    CREATE,
    MODIFY,
    Action,
    EndpointDecision,
    Operation,
    managed_tags,
)
from endpoint_guard.reconcile.policy import s3_policy_document, same_policy
from endpoint_guard.reconcile.rules import create_token, live
from endpoint_guard.reconcile.workloads import workloads_by_subnet
from endpoint_guard.settings import Settings

LAYERS = "s3-layers"  # the decision's name in the result document


def serving_tables(snapshot: Snapshot, isolated: list[RouteTable]) -> list[RouteTable]:
    """The isolated route tables (off the main gateway) whose subnets serve ECS workloads."""
    if not isolated:
        return []
    if not any(s.tier == TIER_PRIVATE for s in snapshot.subnets):
        return list(isolated)  # no private tier: the endpoints, and the workloads, are in the isolated one
    running = {
        sid
        for sid, found in workloads_by_subnet(snapshot.enis or (), snapshot.endpoints).items()
        if any(w.kind == "ecs-task" for w in found)
    }
    named = set(snapshot.workload_subnets or ()) | running
    return [rt for rt in isolated if named.intersection(rt.subnet_ids)]


def plan_layers(
    snapshot: Snapshot, spec: ServiceSpec, settings: Settings, serving: list[RouteTable], released: list[str]
) -> tuple[EndpointDecision, list[Action]] | None:
    """The layers gateway's decision for the isolated tables that serve workloads (``serving_tables``),
    or None when the VPC needs none and has none. ``released``: its tables that the main gateway takes
    over (they have a way out now); they leave it first. It is always endpoint-guard's own to change."""
    offer = snapshot.offers.get(spec.short)
    if offer is None:
        return None
    existing = live(snapshot, offer.service_name, GATEWAY, PURPOSE_LAYERS)
    taken = {
        rt for e in snapshot.endpoints if e.live and e.service_name == offer.service_name for rt in e.route_table_ids
    }
    wanted = sorted(rt.route_table_id for rt in serving if rt.route_table_id not in taken)
    if not existing and not wanted:
        return None
    policy = s3_policy_document(snapshot.partition, snapshot.region, settings.s3_allowed_buckets)
    decision = EndpointDecision(service=LAYERS, type=GATEWAY, outcome=COMPLIANT, service_name=offer.service_name)
    if not existing:
        decision.outcome, decision.managed = CREATE, True
        decision.route_table_ids = tuple(wanted)
        decision.reason = "isolated route table(s) where ECS workloads run get the ECR layer bucket only"
        params = {
            "VpcEndpointType": GATEWAY,
            "VpcId": snapshot.vpc_id,
            "ServiceName": offer.service_name,
            "RouteTableIds": wanted,
            "PolicyDocument": policy,
            "ClientToken": create_token(snapshot, offer.service_name, LAYERS, *wanted),
            "TagSpecifications": [
                {
                    "ResourceType": "vpc-endpoint",
                    "Tags": [
                        *managed_tags(f"endpoint-guard-{LAYERS}-{snapshot.vpc_id}"),
                        {"Key": PURPOSE_TAG, "Value": PURPOSE_LAYERS},
                    ],
                }
            ],
        }
        if snapshot.cidrs_v6 and "ipv6" in offer.ip_types:  # as the main gateway (reconcile.gateway)
            params["IpAddressType"] = "dualstack"
        action = Action(
            kind="create_layers_gateway_endpoint",
            target=LAYERS,
            description=(
                f"create the layers-only {offer.service_name} Gateway endpoint on {', '.join(wanted)} "
                "(GetObject on the ECR layer bucket only)"
            ),
            operation=Operation.CREATE_VPC_ENDPOINT,
            params=params,
        )
        return decision, [action]
    endpoint = existing[0]
    decision.endpoint_id, decision.managed = endpoint.endpoint_id, True
    decision.route_table_ids = tuple(sorted((set(endpoint.route_table_ids) - set(released)) | set(wanted)))
    gaps: list[str] = []
    change: dict[str, Any] = {"VpcEndpointId": endpoint.endpoint_id}
    if released:
        gaps.append("route table(s) with a way out now, handed to the S3 gateway: " + ", ".join(released))
        change["RemoveRouteTableIds"] = list(released)
    if wanted:
        gaps.append("isolated route table(s) with ECS workloads without the layers gateway: " + ", ".join(wanted))
        change["AddRouteTableIds"] = wanted
    if not same_policy(endpoint.policy, policy):
        gaps.append("policy is not the layers-only policy")
        change["PolicyDocument"] = policy
    if not gaps:
        return decision, []
    decision.outcome, decision.reason = MODIFY, "; ".join(gaps)
    action = Action(
        kind="modify_layers_gateway_endpoint",
        target=LAYERS,
        description=f"update {endpoint.endpoint_id} ({LAYERS}): " + "; ".join(gaps),
        operation=Operation.MODIFY_VPC_ENDPOINT,
        params=change,
    )
    return decision, [action]

"""The S3 gateway endpoint: on the route tables of the private-with-egress and public tiers, whose subnets
it would not disrupt (pure).

The rule. A route table is a gap only when it routes at least one subnet (a main table that routes none
carries no traffic) and its tier is private or public: that is where traffic to S3 goes through a NAT
gateway (or leaves the VPC). Isolated route tables do not get this gateway: the full-access policy on
them would open a path from a locked-down tier to any bucket. They get it only when the deployer says so
(``S3GatewayOnIsolatedTiers``) or when workloads run there and already reach S3 through an S3 interface
endpoint (the gateway then changes no exposure, only the bill). Isolated tables where ECS workloads run
get the layers-only gateway instead (``reconcile.layers``); the others stay isolated. A table that
already carries the gateway keeps it, whatever its tier: endpoint-guard removes nothing.
"""

from __future__ import annotations

from typing import Any

from endpoint_guard.model import PURPOSE_LAYERS, TIER_ISOLATED, Endpoint, RouteTable, ServiceOffer, Snapshot
from endpoint_guard.profile import GATEWAY, INTERFACE, ServiceSpec
from endpoint_guard.reconcile.actions import (
    COMPLIANT,
    CREATE,
    DEFERRED,
    MODIFY,
    WAITING,
    Action,
    EndpointDecision,
    Operation,
    Plan,
    Workload,
)
from endpoint_guard.reconcile.layers import serving_tables
from endpoint_guard.reconcile.policy import is_full_access, s3_policy_document, same_policy
from endpoint_guard.reconcile.rules import (
    adopted_reason,
    begin,
    create_token,
    endpoint_tags,
    live,
    may_change,
    unmanaged_gaps,
)
from endpoint_guard.reconcile.workloads import disrupted_route_tables, workloads_by_subnet
from endpoint_guard.settings import S3_POLICY_RESTRICTIVE, Settings

Decided = tuple[EndpointDecision, list[Action]]


def plan_gateway(snapshot: Snapshot, spec: ServiceSpec, settings: Settings, result: Plan) -> Decided:
    """The decision for the gateway service. Route tables whose subnets hold running workloads are
    deferred (recorded in ``result.deferred_route_tables``), never touched, unless their interruption was
    accepted (``snapshot.apply_deferred``; recorded in ``result.applied_deferred``)."""
    decision, offer = begin(snapshot, spec)
    if offer is None:
        return decision, []
    existing = live(snapshot, offer.service_name, GATEWAY)
    covered = {rt for e in existing for rt in e.route_table_ids}
    wanted, isolated = gateway_route_tables(snapshot, settings, offer.service_name)
    # Isolated tables where workloads run get the layers-only gateway (reconcile.layers), not this one.
    result.layers_route_tables = serving_tables(snapshot, [rt for rt in isolated if rt.route_table_id not in covered])
    serving = {rt.route_table_id for rt in result.layers_route_tables}
    missing = [rt for rt in wanted if rt.route_table_id not in covered]
    # Only traffic that leaves the VPC today can be cut: an isolated table has no open S3 connection
    # for the new route to drop, whatever runs there.
    with_egress = [rt for rt in missing if rt.tier != TIER_ISOLATED]
    disrupted = disrupted_route_tables(with_egress, snapshot.enis or (), snapshot.endpoints) if with_egress else {}
    # Someone accepted the interruption of these (ensure --apply-deferred, an approved window): added.
    result.applied_deferred.update({rt: w for rt, w in disrupted.items() if snapshot.accepts_interruption(rt)})
    disrupted = {rt: w for rt, w in disrupted.items() if rt not in result.applied_deferred}
    result.deferred_route_tables.update(disrupted)
    addable = tuple(sorted(rt.route_table_id for rt in missing if rt.route_table_id not in disrupted))
    # A table that was isolated and has the layers-only gateway, and now has a way out, moves to this one
    # (a table routes the S3 prefix list to one gateway; the layers gateway would keep other buckets out).
    on_layers = {rt for e in live(snapshot, offer.service_name, GATEWAY, PURPOSE_LAYERS) for rt in e.route_table_ids}
    result.layers_released = sorted(on_layers.intersection(addable))
    decision.route_table_ids = tuple(sorted(covered))
    wanted_policy = None
    if settings.s3_policy == S3_POLICY_RESTRICTIVE:
        wanted_policy = s3_policy_document(snapshot.partition, snapshot.region, settings.s3_allowed_buckets)
    note = _deferred_note(disrupted)
    left = sorted(rt.route_table_id for rt in isolated if rt.route_table_id not in covered | serving)
    if not existing:
        decided = _create(snapshot, spec, offer, decision, addable, wanted_policy, note, bool(isolated))
        _isolated_note(decided[0], left)
        return decided
    endpoint = existing[0]
    decision.endpoint_id, decision.managed = endpoint.endpoint_id, endpoint.managed
    gaps, params = _gaps(settings, endpoint, addable, wanted_policy)
    if not gaps:
        decision.outcome = DEFERRED if disrupted else COMPLIANT
        decision.reason = note or adopted_reason(endpoint)
        _isolated_note(decision, left)
        return decision, []
    if not may_change(endpoint, settings):
        decision.outcome = DEFERRED
        decision.reason = "; ".join(filter(None, [unmanaged_gaps(endpoint, gaps), note]))
        return decision, []
    decision.outcome = DEFERRED if disrupted else MODIFY
    decision.route_table_ids = tuple(sorted(covered | set(addable)))
    decision.reason = "; ".join(filter(None, ["; ".join(gaps), note]))
    action = Action(
        kind="modify_gateway_endpoint",
        target=spec.short,
        description=f"update {endpoint.endpoint_id} ({spec.short}): " + "; ".join(gaps),
        operation=Operation.MODIFY_VPC_ENDPOINT,
        params=params,
    )
    return decision, [action]


def gateway_route_tables(
    snapshot: Snapshot, settings: Settings, service_name: str
) -> tuple[list[RouteTable], list[RouteTable]]:
    """(the route tables the gateway belongs on, the isolated ones it is kept off), by the module's rule.
    Workloads on an isolated table count only when the ENIs were read (reads.facts_needed reads them
    whenever they could decide it)."""
    s3_interface = bool(live(snapshot, service_name, INTERFACE))
    busy = set(workloads_by_subnet(snapshot.enis or (), snapshot.endpoints)) if s3_interface else set()
    wanted, isolated = [], []
    for rt in snapshot.route_tables:
        if not rt.routes_subnets:
            continue
        if rt.tier != TIER_ISOLATED or settings.s3_gateway_on_isolated or busy.intersection(rt.subnet_ids):
            wanted.append(rt)
        else:
            isolated.append(rt)
    return wanted, isolated


def _isolated_note(decision: EndpointDecision, left: list[str]) -> None:
    if left:
        note = (
            f"isolated route table(s) left isolated: {', '.join(left)} "
            "(set S3GatewayOnIsolatedTiers=true to give them the gateway)"
        )
        decision.reason = "; ".join(filter(None, [decision.reason, note]))


def _deferred_note(disrupted: dict[str, tuple[Workload, ...]]) -> str:
    if not disrupted:
        return ""
    return "route tables with running workloads are deferred (adding the route drops open S3 connections): " + (
        ", ".join(f"{rt} ({len(w)} workload ENI{'s' if len(w) != 1 else ''})" for rt, w in sorted(disrupted.items()))
    )


def _create(
    snapshot: Snapshot,
    spec: ServiceSpec,
    offer: ServiceOffer,
    decision: EndpointDecision,
    addable: tuple[str, ...],
    wanted_policy: str | None,
    note: str,
    isolated_only: bool,
) -> Decided:
    if not addable:
        if note:
            decision.outcome, decision.reason = DEFERRED, note
        elif isolated_only:  # every routed table is isolated, and stays so: nothing to do
            decision.outcome = COMPLIANT
        else:
            decision.outcome = WAITING
            decision.reason = "no route table of the VPC routes a subnet yet"
        return decision, []
    decision.outcome = DEFERRED if note else CREATE
    decision.managed = True
    decision.route_table_ids = addable
    decision.reason = note
    params: dict[str, Any] = {
        "VpcEndpointType": GATEWAY,
        "VpcId": snapshot.vpc_id,
        "ServiceName": offer.service_name,
        "RouteTableIds": list(addable),
        "ClientToken": create_token(snapshot, offer.service_name, *addable),
        "TagSpecifications": endpoint_tags(spec, snapshot.vpc_id),
    }
    if wanted_policy:
        params["PolicyDocument"] = wanted_policy
    # A VPC with IPv6 ranges gets a dual-stack gateway where the Region offers it (Nov 2025): an IPv4-only
    # gateway does not carry a dual-stack client's IPv6 traffic to S3.
    dual = bool(snapshot.cidrs_v6) and "ipv6" in offer.ip_types
    if dual:
        params["IpAddressType"] = "dualstack"
    action = Action(
        kind="create_gateway_endpoint",
        target=spec.short,
        description=f"create {offer.service_name} Gateway endpoint on {', '.join(addable)}"
        + (" with the restrictive policy" if wanted_policy else " (full-access policy)")
        + (", IP address type dualstack" if dual else ""),
        operation=Operation.CREATE_VPC_ENDPOINT,
        params=params,
    )
    return decision, [action]


def _gaps(
    settings: Settings, endpoint: Endpoint, addable: tuple[str, ...], wanted_policy: str | None
) -> tuple[list[str], dict[str, Any]]:
    gaps: list[str] = []
    params: dict[str, Any] = {"VpcEndpointId": endpoint.endpoint_id}
    if addable:
        gaps.append("route table(s) without the gateway: " + ", ".join(addable))
        params["AddRouteTableIds"] = list(addable)
    if endpoint.managed:
        restrictive = settings.s3_policy == S3_POLICY_RESTRICTIVE
        if restrictive and not same_policy(endpoint.policy, wanted_policy):
            gaps.append("policy differs from the restrictive policy")
            params["PolicyDocument"] = wanted_policy
        elif not restrictive and not is_full_access(endpoint.policy):
            gaps.append("policy is not the full-access default")
            params["ResetPolicy"] = True
    return gaps, params

"""The S3 gateway endpoint: on every route table whose subnets it would not disrupt (pure)."""

from __future__ import annotations

from typing import Any

from endpoint_guard.model import Endpoint, ServiceOffer, Snapshot
from endpoint_guard.profile import GATEWAY, ServiceSpec
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
from endpoint_guard.reconcile.workloads import disrupted_route_tables
from endpoint_guard.settings import S3_POLICY_RESTRICTIVE, Settings

Decided = tuple[EndpointDecision, list[Action]]


def plan_gateway(snapshot: Snapshot, spec: ServiceSpec, settings: Settings, result: Plan) -> Decided:
    """The decision for the gateway service. Route tables whose subnets hold running workloads are
    deferred (recorded in ``result.deferred_route_tables``), never touched."""
    decision, offer = begin(snapshot, spec)
    if offer is None:
        return decision, []
    existing = live(snapshot, offer.service_name, GATEWAY)
    covered = {rt for e in existing for rt in e.route_table_ids}
    missing = [rt for rt in snapshot.route_tables if rt.route_table_id not in covered]
    disrupted = disrupted_route_tables(missing, snapshot.enis or (), snapshot.endpoints) if missing else {}
    result.deferred_route_tables.update(disrupted)
    addable = tuple(sorted(rt.route_table_id for rt in missing if rt.route_table_id not in disrupted))
    decision.route_table_ids = tuple(sorted(covered))
    wanted_policy = None
    if settings.s3_policy == S3_POLICY_RESTRICTIVE:
        wanted_policy = s3_policy_document(snapshot.partition, snapshot.region, settings.s3_allowed_buckets)
    note = _deferred_note(disrupted)
    if not existing:
        return _create(snapshot, spec, offer, decision, addable, wanted_policy, note)
    endpoint = existing[0]
    decision.endpoint_id, decision.managed = endpoint.endpoint_id, endpoint.managed
    gaps, params = _gaps(settings, endpoint, addable, wanted_policy)
    if not gaps:
        decision.outcome = DEFERRED if disrupted else COMPLIANT
        decision.reason = note or adopted_reason(endpoint)
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
) -> Decided:
    if not addable:
        decision.outcome = DEFERRED if note else WAITING
        decision.reason = note or "the VPC has no route tables to attach the gateway to"
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
    action = Action(
        kind="create_gateway_endpoint",
        target=spec.short,
        description=f"create {offer.service_name} Gateway endpoint on {', '.join(addable)}"
        + (" with the restrictive policy" if wanted_policy else " (full-access policy)"),
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

"""The result document (``schema_version`` 1): the product's contract, read by the worker, the CLI, the
survey and the pipeline. One type, one serializer (``result_document``)."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from endpoint_guard.errors import ReconcileFailedError
from endpoint_guard.model import Snapshot
from endpoint_guard.reconcile.actions import (
    CREATE,
    DEFERRED,
    MODIFY,
    TARGET_SECURITY_GROUP,
    TARGET_VPC,
    Action,
    Plan,
    Workload,
)
from endpoint_guard.reconcile.apply import Applied

SCHEMA_VERSION = 1

# Endpoint statuses that count as compliant.
STATUS_OK = frozenset({"compliant", "created", "updated", "waiting"})


class EndpointEntry(TypedDict):
    service: str
    type: str
    service_name: str | None
    status: str  # compliant, created, updated, planned, deferred, waiting, failed
    endpoint_id: str | None
    managed: bool | None
    reason: str
    subnet_ids: NotRequired[list[str]]  # Interface
    availability_zones: NotRequired[list[str]]  # Interface
    private_dns: NotRequired[bool | None]  # Interface
    route_table_ids: NotRequired[list[str]]  # Gateway


class WorkloadEntry(TypedDict):
    eni_id: str
    subnet_id: str
    kind: str
    description: str


class DeferredRouteTable(TypedDict):
    route_table_id: str
    workloads: list[WorkloadEntry]


class ActionEntry(TypedDict):
    action: str
    target: str
    description: str
    status: str  # planned, done, failed
    error: NotRequired[str]
    error_code: NotRequired[str]  # AWS's code, when AWS refused the call
    retryable: NotRequired[bool]  # whether a later attempt may succeed


class ResultDocument(TypedDict):
    schema_version: int
    vpc_id: str
    region: str
    dry_run: bool
    compliant: bool
    findings: list[str]
    security_group_id: str | None
    # How the group's rules are known: "read" this run (and repaired if they had drifted), "trusted"
    # from an earlier read (see reads.trusted_group), or None when no endpoint of ours needed them.
    security_group_rules: str | None
    vpc_cidrs: list[str]
    endpoints: list[EndpointEntry]
    deferred_route_tables: list[DeferredRouteTable]
    # Deferred route tables given the gateway because their interruption was accepted, and the workloads
    # behind each (ensure --apply-deferred, the maintenance window); with who asked and when
    # (``apply_deferred``), added by the caller.
    applied_deferred_route_tables: list[DeferredRouteTable]
    apply_deferred: NotRequired[dict[str, Any]]
    # Interface services provided centrally (a private hosted zone of the VPC names them; reconcile.central):
    # service -> "<zone> (<id>)". Present only when there are some.
    central_endpoints: NotRequired[dict[str, str]]
    # The approval that stands for the deferred tables (the maintenance window's), added by check.
    approval: NotRequired[dict[str, Any] | None]
    actions: list[ActionEntry]
    # The Step Functions execution planning the move to a new VPC, when the gateway was deferred and
    # the deployed worker started one.
    migration_execution_arn: str | None
    # Whether this run turned the VPC's DNS attributes back on under endpoints that rely on them.
    dns_restored: bool
    # The tier of each subnet (public, private, isolated), from its route table's default route.
    subnet_tiers: dict[str, str]
    # The AZ of each subnet (the cost estimate's cross-AZ share).
    subnet_azs: dict[str, str]
    # The call that may have broken what endpoint-guard built, when the worker answers one ("<call> by <who>").
    drift: NotRequired[str]
    # Added by `endpoint-guard check` (survey.check).
    running_tasks: NotRequired[int]
    cost: NotRequired[dict[str, Any]]
    # The cost-aware profile's choice (cost.choose.Choice.document), when that profile is in use.
    cost_aware: NotRequired[dict[str, Any]]
    # The pull path, when the workloads were read (check, explain, the sweep, an ECS event): each ECS
    # workload's verdict (through_endpoints, via_nat, blocked) and problems, hop by hop (pullpath).
    workloads: NotRequired[list[dict[str, Any]]]
    workloads_summary: NotRequired[dict[str, int]]


def _status(outcome: str, dry_run: bool, error: str | None) -> str:
    if outcome in (CREATE, MODIFY, DEFERRED) and error:
        return "failed"
    if outcome == CREATE:
        return "planned" if dry_run else "created"
    if outcome == MODIFY:
        return "planned" if dry_run else "updated"
    return outcome  # compliant, deferred, waiting, failed


def _endpoints(plan: Plan, applied: Applied | None, dry_run: bool) -> list[EndpointEntry]:
    entries: list[EndpointEntry] = []
    for d in plan.endpoints:
        error = applied.target_error(plan, d.service) if applied else None
        entry: EndpointEntry = {
            "service": d.service,
            "type": d.type,
            "service_name": d.service_name,
            "status": _status(d.outcome, dry_run, error),
            "endpoint_id": d.endpoint_id or (applied.created_ids.get(d.service) if applied else None),
            "managed": d.managed,
            "reason": error or d.reason,
        }
        if d.type == "Interface":
            entry["subnet_ids"] = list(d.subnet_ids)
            entry["availability_zones"] = list(d.availability_zones)
            entry["private_dns"] = d.private_dns
        else:
            entry["route_table_ids"] = list(d.route_table_ids)
        entries.append(entry)
    return entries


def result_document(snapshot: Snapshot, plan: Plan, applied: Applied | None, dry_run: bool) -> ResultDocument:
    """The result of one run, as the CLI's --json prints it and the handlers return it."""
    endpoints = _endpoints(plan, applied, dry_run)
    findings = list(plan.findings)
    for target in (TARGET_VPC, TARGET_SECURITY_GROUP):
        if applied and (error := applied.target_error(plan, target)):
            findings.append(f"{target}: {error}")
    group_id = (
        snapshot.security_group.group_id
        if snapshot.security_group
        else (applied.created_ids.get(TARGET_SECURITY_GROUP) if applied else None)
    )
    rules = None if not plan.security_group_checked else "trusted" if snapshot.security_group_trusted else "read"
    zones = snapshot.central_zones or {}
    central = {d.service: zones[d.service] for d in plan.endpoints if d.service in zones and not d.endpoint_id}
    document: ResultDocument = {
        "schema_version": SCHEMA_VERSION,
        "vpc_id": snapshot.vpc_id,
        "region": snapshot.region,
        "dry_run": dry_run,
        "compliant": not findings and all(e["status"] in STATUS_OK for e in endpoints),
        "findings": findings,
        "security_group_id": group_id,
        "security_group_rules": rules,
        "vpc_cidrs": list(snapshot.cidrs),
        "endpoints": endpoints,
        "deferred_route_tables": _tables(plan.deferred_route_tables),
        "applied_deferred_route_tables": _tables(plan.applied_deferred),
        "actions": [action_entry(a, i, applied, dry_run) for i, a in enumerate(plan.actions)],
        "migration_execution_arn": None,
        "dns_restored": plan.dns_restored,
        "subnet_tiers": {s.subnet_id: s.tier for s in snapshot.subnets},
        "subnet_azs": {s.subnet_id: s.az for s in snapshot.subnets},
    }
    if central:
        document["central_endpoints"] = central
    return document


def _tables(tables: dict[str, tuple[Workload, ...]]) -> list[DeferredRouteTable]:
    return [
        {
            "route_table_id": rt,
            "workloads": [
                {"eni_id": w.eni_id, "subnet_id": w.subnet_id, "kind": w.kind, "description": w.description}
                for w in workloads
            ],
        }
        for rt, workloads in sorted(tables.items())
    ]


def action_entry(action: Action, n: int, applied: Applied | None, dry_run: bool) -> ActionEntry:
    error = applied.errors[n] if applied else None
    entry: ActionEntry = {
        "action": action.kind,
        "target": action.target,
        "description": action.description,
        "status": "planned" if dry_run else ("failed" if error else "done"),
    }
    if error:
        entry["error"] = error
        code = applied.codes[n] if applied and n < len(applied.codes) else None
        if code:
            entry["error_code"], entry["retryable"] = code
    return entry


class Acted(TypedDict):
    """Any document with actions: a result, a release."""

    actions: list[ActionEntry]


def failure_codes(result: Acted) -> tuple[tuple[str, ...], bool]:
    """The AWS codes of the failed actions, and whether a retry may cure every one of them (an action
    skipped because an earlier one failed shares that one's fate)."""
    failed = [a for a in result["actions"] if a["status"] == "failed"]
    codes = tuple(dict.fromkeys(a["error_code"] for a in failed if "error_code" in a))
    return codes, all(a.get("retryable", True) for a in failed)


def reconcile_failed(result: ResultDocument) -> ReconcileFailedError | None:
    """The error a result with failed actions raises (None when nothing failed), with its AWS codes,
    whether a retry may cure it, and the partial result."""
    lines = failures(result)
    if not lines:
        return None
    codes, retryable = failure_codes(result)
    return ReconcileFailedError(result["vpc_id"], lines, codes=codes, retryable=retryable, result=result)


def failures(result: Acted) -> list[str]:
    """The actions of a result that failed, one line each. Worth a retry: a decision-level failure (a
    service not offered in the region) is reported in the document but retrying would not change it."""
    return [
        f"{a['target']}: {a['description']}: {a.get('error', '')}" for a in result["actions"] if a["status"] == "failed"
    ]

"""Read a VPC, decide, apply, report. The one function the handler and the CLI call."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from endpoint_guard import decide
from endpoint_guard.decide import SECURITY_GROUP_REF, Action, Plan
from endpoint_guard.errors import EndpointGuardError, VpcNotFoundError
from endpoint_guard.model import (
    CheckedGroup,
    Snapshot,
    cidrs_from_route_tables,
    endpoint_from_api,
    eni_from_api,
    route_tables_from_api,
    subnets_from_api,
)
from endpoint_guard.profile import ServiceSpec, load_profile
from endpoint_guard.settings import Settings

SCHEMA_VERSION = 1

# Endpoint statuses in the result document.
STATUS_OK = frozenset({"compliant", "created", "updated", "waiting"})


def read_snapshot(
    adapter: Any,
    vpc_id: str,
    profile: tuple[ServiceSpec, ...],
    settings: Settings,
    checked_group: CheckedGroup | None = None,
) -> Snapshot:
    """The core read (route tables, endpoints, subnets, service offers), then only the facts the decision
    says it needs. The VPC itself is not described: every VPC has a main route table (none means the VPC
    does not exist), and the route tables' local routes name its CIDR blocks. The security group is not
    read when ``checked_group`` (an earlier read) still stands for it (decide.trusted_group)."""
    raw_route_tables = adapter.route_tables(vpc_id)
    if not raw_route_tables:
        raise VpcNotFoundError(vpc_id)
    endpoints = adapter.vpc_endpoints(vpc_id)
    raw_subnets = adapter.subnets(vpc_id)
    route_tables = route_tables_from_api(raw_route_tables, raw_subnets)
    v4, v6 = cidrs_from_route_tables(raw_route_tables)
    snapshot = Snapshot(
        vpc_id=vpc_id,
        region=adapter.region,
        partition=adapter.partition,
        cidrs_v4=v4,
        cidrs_v6=v6,
        subnets=subnets_from_api(raw_subnets, route_tables),
        route_tables=route_tables,
        endpoints=tuple(endpoint_from_api(e) for e in endpoints),
        offers=adapter.service_offers((s.short, s.type) for s in profile),
    )
    needed = decide.facts_needed(snapshot, profile, settings)
    extra: dict[str, Any] = {}
    if decide.FACT_DNS in needed:
        extra["dns_support"], extra["dns_hostnames"] = adapter.dns_attributes(vpc_id)
    if decide.FACT_SECURITY_GROUP in needed:
        trusted = decide.trusted_group(snapshot, profile, checked_group)
        extra["security_group"] = trusted or adapter.managed_security_group(vpc_id)
        extra["security_group_read"], extra["security_group_trusted"] = True, trusted is not None
    if decide.FACT_ENIS in needed:
        extra["enis"] = tuple(eni_from_api(e) for e in adapter.network_interfaces(vpc_id))
    return dataclasses.replace(snapshot, **extra)


@dataclass
class Applied:
    """What happened: per action (same order as the plan) an error or None; ids produced, by target."""

    errors: list[str | None] = field(default_factory=list)
    created_ids: dict[str, str] = field(default_factory=dict)

    def target_error(self, plan: Plan, target: str) -> str | None:
        return next((e for a, e in zip(plan.actions, self.errors, strict=False) if a.target == target and e), None)


def apply(plan: Plan, adapter: Any) -> Applied:
    """Carry out the plan in order. A failed action fails its target; later actions that require a failed
    target are skipped, the rest still run."""
    applied = Applied()
    failed: set[str] = set()
    group_id: str | None = None
    for action in plan.actions:
        blocked = [t for t in action.requires if t in failed]
        if blocked:
            applied.errors.append(f"skipped: an earlier {', '.join(blocked)} action failed")
            failed.add(action.target)
            continue
        try:
            produced = getattr(adapter, action.operation)(**_resolve(action.params, group_id))
        except EndpointGuardError as err:
            applied.errors.append(str(err))
            failed.add(action.target)
            continue
        applied.errors.append(None)
        if action.kind == "create_security_group":
            group_id = produced
        if produced:
            applied.created_ids[action.target] = produced
    return applied


def _resolve(params: dict, group_id: str | None) -> dict:
    if group_id is None:
        return params
    resolved = dict(params)
    for key in ("SecurityGroupIds", "AddSecurityGroupIds"):
        if key in resolved:
            resolved[key] = [group_id if g == SECURITY_GROUP_REF else g for g in resolved[key]]
    if resolved.get("GroupId") == SECURITY_GROUP_REF:
        resolved["GroupId"] = group_id
    return resolved


def _status(outcome: str, dry_run: bool, error: str | None) -> str:
    if outcome in (decide.CREATE, decide.MODIFY, decide.DEFERRED) and error:
        return "failed"
    if outcome == decide.CREATE:
        return "planned" if dry_run else "created"
    if outcome == decide.MODIFY:
        return "planned" if dry_run else "updated"
    return outcome  # compliant, deferred, waiting, failed


def result_document(snapshot: Snapshot, plan: Plan, applied: Applied | None, dry_run: bool) -> dict:
    """The result of one run, as the CLI's --json prints it and the handler returns it."""
    endpoints = []
    for d in plan.endpoints:
        error = applied.target_error(plan, d.service) if applied else None
        endpoint_id = d.endpoint_id or (applied.created_ids.get(d.service) if applied else None)
        entry = {
            "service": d.service,
            "type": d.type,
            "service_name": d.service_name,
            "status": _status(d.outcome, dry_run, error),
            "endpoint_id": endpoint_id,
            "managed": d.managed,
            "reason": error or d.reason,
        }
        if d.type == "Interface":
            entry.update(
                subnet_ids=list(d.subnet_ids), availability_zones=list(d.availability_zones), private_dns=d.private_dns
            )
        else:
            entry["route_table_ids"] = list(d.route_table_ids)
        endpoints.append(entry)
    findings = list(plan.findings)
    for target in ("vpc", "security-group"):
        if applied and (error := applied.target_error(plan, target)):
            findings.append(f"{target}: {error}")
    group_id = (
        snapshot.security_group.group_id
        if snapshot.security_group
        else (applied.created_ids.get("security-group") if applied else None)
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "vpc_id": snapshot.vpc_id,
        "region": snapshot.region,
        "dry_run": dry_run,
        "compliant": not findings and all(e["status"] in STATUS_OK for e in endpoints),
        "findings": findings,
        "security_group_id": group_id,
        # How the group's rules are known: "read" this run (and repaired if they had drifted), "trusted"
        # from an earlier read (see decide.trusted_group), or None when no endpoint of ours needed them.
        "security_group_rules": (
            None if not plan.security_group_checked else "trusted" if snapshot.security_group_trusted else "read"
        ),
        "vpc_cidrs": list(snapshot.cidrs),
        "endpoints": endpoints,
        "deferred_route_tables": [
            {
                "route_table_id": rt,
                "workloads": [dataclasses.asdict(w) for w in workloads],
            }
            for rt, workloads in sorted(plan.deferred_route_tables.items())
        ],
        "actions": [
            _action_entry(a, applied.errors[i] if applied else None, dry_run) for i, a in enumerate(plan.actions)
        ],
        # The Step Functions execution planning the move to a new VPC, when the gateway was deferred and
        # the deployed worker started one (see handlers._Worker).
        "migration_execution_arn": None,
    }


def _action_entry(action: Action, error: str | None, dry_run: bool) -> dict:
    entry = action.as_dict()
    entry["status"] = "planned" if dry_run else ("failed" if error else "done")
    if error:
        entry["error"] = error
    return entry


def reconcile(
    vpc_id: str,
    *,
    adapter: Any,
    settings: Settings,
    profile: tuple[ServiceSpec, ...] | None = None,
    checked_group: CheckedGroup | None = None,
) -> dict:
    """Make ``vpc_id`` hold the profile's endpoints (or, with ``settings.dry_run``, say what that takes).
    ``checked_group``: what an earlier run read of the managed group, if it is recent enough to trust."""
    profile = profile or load_profile(settings.extra_services)
    snapshot = read_snapshot(adapter, vpc_id, profile, settings, checked_group)
    the_plan = decide.plan(snapshot, profile, settings)
    applied = None if settings.dry_run else apply(the_plan, adapter)
    return result_document(snapshot, the_plan, applied, settings.dry_run)


def failures(result: dict) -> list[str]:
    """The actions of a result that failed, one line each. Worth a retry: a decision-level failure (a
    service not offered in the region) is reported in the document but retrying would not change it."""
    return [
        f"{a['target']}: {a['description']}: {a.get('error', '')}" for a in result["actions"] if a["status"] == "failed"
    ]

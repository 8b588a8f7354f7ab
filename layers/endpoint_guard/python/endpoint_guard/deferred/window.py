"""The maintenance window's steps, as use cases (collaborators are parameters; the Lambda tasks in
``lambdas.window`` are thin): which VPCs it takes, one route table of a VPC at a time, and whether the
services behind that table stayed steady."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from endpoint_guard.deferred.approval import Approval
from endpoint_guard.deferred.behind import behind
from endpoint_guard.deferred.steady import unsteady
from endpoint_guard.deferred.usecase import apply_deferred

if TYPE_CHECKING:  # pragma: no cover
    from endpoint_guard.reconcile.apply import Pacer
    from endpoint_guard.reconcile.ports import Ec2Port, WorkloadPort
    from endpoint_guard.settings import Settings

Raw = dict[str, Any]

ADDED, DONE, NOTHING, NOT_APPROVED = "added", "done", "nothing deferred", "approved tables not deferred"


def next_table(
    target: Raw,
    added: list[str],
    *,
    ec2: Ec2Port,
    settings: Settings,
    workloads: WorkloadPort | None,
    pace: Pacer | None,
    now: float,
    run: str,
) -> Raw:
    """Add the gateway to the next deferred table the VPC's approval covers (``target``: a
    ``WindowTarget`` document). ``done`` when none is left: the VPC is then reconciled as usual (a VPC
    whose deferral ended meanwhile, its tasks gone, simply gets what it lacks)."""
    from endpoint_guard.profile import GATEWAY, load_profile
    from endpoint_guard.reconcile.run import reconcile

    vpc_id = str(target["vpc_id"])
    approval = Approval.from_document(target["approval"]) if target.get("approval") else None
    # The window changes the S3 gateway alone (its role may do nothing else); the workloads are read to
    # name the services behind each table.
    gateway = tuple(s for s in load_profile(settings.extra_services) if s.type == GATEWAY)
    dry = dataclasses.replace(settings, dry_run=True)
    looked = reconcile(vpc_id, ec2=ec2, settings=dry, workloads=workloads, profile=gateway)
    deferred = [str(d["route_table_id"]) for d in looked["deferred_route_tables"]]
    allowed = approval.tables(deferred) if approval else sorted(deferred)
    step: Raw = {"vpc_id": vpc_id, "added": list(added), "deferred_route_tables": deferred}
    if not allowed:
        result = reconcile(vpc_id, ec2=ec2, settings=settings, pace=pace, profile=gateway)
        outcome = DONE if added else NOTHING if not deferred else NOT_APPROVED
        return {**step, "done": True, "outcome": outcome, "compliant": result["compliant"]}
    table = allowed[0]
    who = f"maintenance window {run}" + (f" (approved by {approval.by})" if approval else " (no approval required)")
    result = apply_deferred(
        vpc_id,
        ec2=ec2,
        settings=settings,
        who=who,
        now=now,
        route_tables=[table],
        workloads=workloads,
        pace=pace,
        profile=gateway,
        judge=False,
    )
    tables = next(t for t in behind(looked) if t["route_table_id"] == table)
    return {
        **step,
        "done": False,
        "outcome": ADDED,
        "table": table,
        "added": [*added, table],
        "remaining": [t for t in allowed if t != table],
        "services": tables["services"],
        "tasks": tables["tasks"],
        "compliant": result["compliant"],
        "added_at": now,
    }


def still_steady(step: Raw, describe: Callable[[list[str]], tuple[list[Raw], list[Raw]]]) -> Raw:
    """After the settle time: whether the services behind the table just changed are steady.
    ``describe(services)`` -> (their DescribeServices answers, their tasks stopped since the change)."""
    services, stopped = describe(list(step.get("services", [])))
    saw = unsteady(services, stopped)
    return {"steady": not saw, "saw": saw, "services": len(services)}


def announcement(run: str, targets: list[Raw], settle_seconds: int) -> str:
    """The plan topic's message before the window starts."""
    if not targets:
        return f"endpoint-guard maintenance window {run}: no approved deferred VPC; nothing to do."
    lines = [
        f"endpoint-guard maintenance window {run}: {len(targets)} VPC(s) get the S3 gateway on their deferred "
        f"route tables, one table at a time, {settle_seconds} s apart while the services behind each stay steady. "
        "Open S3 connections behind each table drop once; no route is ever taken out again.",
        "",
    ]
    for t in targets:
        where = f"{t['account'] or 'own account'} {t['region']}"
        approval = t.get("approval")
        why = f"approved by {approval['by']}" if approval else "no approval required"
        tables = ", ".join(t.get("deferred_route_tables") or []) or "as found at the window"
        lines.append(f"- {t['vpc_id']} ({where}): {tables}; {why}")
    return "\n".join(lines)


def summary(run: str, results: list[Raw]) -> str:
    """The plan topic's message after the window: what was added, what stopped and why."""
    lines = [f"endpoint-guard maintenance window {run}: {len(results)} VPC(s)", ""]
    for r in results:
        added = ", ".join(r.get("added") or []) or "nothing"
        if r.get("outcome") == "stopped":
            lines.append(
                f"- {r['vpc_id']}: STOPPED after adding {added} (left in place: it is what the VPC should have); "
                f"saw: {'; '.join(r.get('saw') or [])}"
            )
        elif r.get("outcome") == "failed":
            lines.append(f"- {r.get('vpc_id', '?')}: FAILED after adding {added}: {r.get('error', '')}")
        else:
            state = "compliant" if r.get("compliant") else "not compliant"
            lines.append(f"- {r['vpc_id']}: added {added}; {r.get('outcome', 'done')}; {state}")
    return "\n".join(lines)

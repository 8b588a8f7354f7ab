"""The sweep: every VPC of every target (an account and a Region), reconciled the way an event would
reconcile it, with the reads made once per target; the fleet report out. Collaborators are parameters:
``connect`` gives a target's EC2 adapter (assuming the member role in another account), or raises."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from endpoint_guard.aws import Ec2Adapter
from endpoint_guard.aws.ec2 import account_or_none
from endpoint_guard.cost.aware import cost_aware, profile_for
from endpoint_guard.cost.estimate import Traffic, load_prices, of_result
from endpoint_guard.deferred.approval import Lookup, standing
from endpoint_guard.errors import EndpointGuardError
from endpoint_guard.fleet.reads import FleetReads
from endpoint_guard.model import ignored, tags_of
from endpoint_guard.reconcile.apply import Pacer
from endpoint_guard.reconcile.ports import WorkloadPort
from endpoint_guard.reconcile.result import ResultDocument, failures
from endpoint_guard.reconcile.run import reconcile
from endpoint_guard.settings import Settings


@dataclass(frozen=True)
class Target:
    account: str | None  # None: the caller's own account
    region: str


def sweep_target(
    ec2: Ec2Adapter,
    target: Target,
    settings: Settings,
    *,
    exclude: Iterable[str] = (),
    override_gb: float | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
    vpc_ids: Iterable[str] | None = None,
    pace: Pacer | None = None,
    workloads: WorkloadPort | None = None,
    approvals: Lookup | None = None,
    findings: Callable[[ResultDocument, float], str] | None = None,
) -> list[dict[str, Any]]:
    """One row per VPC of the target (or of ``vpc_ids`` in it): reconciled (or, dry, planned), opted
    out, excluded, or failed. ``pace``: the account-Region's endpoint pace (the deployed sweep's);
    ``workloads``: the account-Region's pull path, read once (each row then says how many of the VPC's
    workloads pull through the endpoints); ``approvals``: the state table's, for the approval that stands
    for a deferred VPC (its tag counts without); ``findings``: Security Hub's import of each VPC's result."""
    fleet = FleetReads(ec2, vpc_ids)
    skipped = set(exclude)
    acting = target.account or account_or_none(ec2)
    rows = []
    for vpc in fleet.vpcs:
        vpc_id = str(vpc["VpcId"])
        owner = vpc.get("OwnerId")
        row: dict[str, Any] = {
            "account": acting or owner,
            "region": target.region,
            "vpc_id": vpc_id,
            "name": tags_of(vpc).get("Name", ""),
        }
        if ignored(vpc) or vpc_id in skipped:
            row["skipped"] = "opted_out" if ignored(vpc) else "excluded"
        elif acting and owner and owner != acting:  # shared with this account (RAM): only its owner may act
            row["skipped"], row["owner"] = "shared", owner
        else:
            try:
                profile, choice, view = None, None, fleet.view(vpc_id)
                if cost_aware(settings):  # chosen at the sweep's traffic figure (it measures none per VPC)
                    traffic = _traffic(settings, override_gb)
                    profile, choice = profile_for(vpc_id, ec2=view, settings=settings, traffic=traffic)
                result = reconcile(vpc_id, ec2=view, settings=settings, pace=pace, profile=profile, workloads=workloads)
            except EndpointGuardError as err:
                row["error"] = f"{type(err).__name__}: {err}"
            else:
                row.update(_summary(result, settings, override_gb))
                if findings is not None:
                    findings(result, time.time())
                if row["deferred_route_tables"]:
                    row["approval"] = standing(vpc, target.region, target.account, approvals, time.time())
                if choice is not None:
                    row["cost_aware"] = choice.document()
        rows.append(row)
        progress(len(rows), len(fleet.vpcs))
    return rows


def _traffic(settings: Settings, override_gb: float | None) -> Traffic:
    if override_gb is not None:
        return Traffic(override_gb, "command-line")
    return Traffic(settings.default_gb_per_month, "default", "the sweep does not measure traffic per VPC")


def _summary(result: ResultDocument, settings: Settings, override_gb: float | None) -> dict[str, Any]:
    traffic = _traffic(settings, override_gb)
    return {
        "compliant": result["compliant"],
        "findings": result["findings"],
        "endpoints": {e["service"]: e["status"] for e in result["endpoints"]},
        "deferred_route_tables": [t["route_table_id"] for t in result["deferred_route_tables"]],
        "failed_actions": failures(result),
        "workloads": result.get("workloads_summary"),
        "central_endpoints": result.get("central_endpoints", {}),
        "cost": of_result(result, traffic, load_prices(settings.prices_file)),
    }


def sweep(
    targets: Iterable[Target],
    connect: Callable[[Target], Ec2Adapter],
    settings: Settings,
    *,
    exclude: Iterable[str] = (),
    override_gb: float | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> dict[str, Any]:
    """The fleet report: ``{"summary": {...}, "vpcs": [...]}``. A target that cannot be reached (the role
    cannot be assumed, the Region is not enabled) is listed in the summary with the reason; the rest go on.
    ``progress(done, total)`` follows each target's VPCs."""
    rows: list[dict[str, Any]] = []
    unreachable: list[dict[str, Any]] = []
    from endpoint_guard.aws.workloads import pull_path

    for target in targets:
        try:
            ec2 = connect(target)
            paths = pull_path(ec2.clients, settings, region_wide=True)  # read once for the account-Region
            rows += sweep_target(
                ec2, target, settings, exclude=exclude, override_gb=override_gb, progress=progress, workloads=paths
            )
        except EndpointGuardError as err:
            unreachable.append({"account": target.account, "region": target.region, "reason": str(err)})
    return {"summary": summarise(rows, unreachable, settings.dry_run), "vpcs": rows}


def summarise(rows: list[dict[str, Any]], unreachable: list[dict[str, Any]], dry_run: bool) -> dict[str, Any]:
    swept = [r for r in rows if "compliant" in r]
    costs = [r["cost"] for r in swept]
    return {
        "mode": "report" if dry_run else "enforce",
        "accounts": len({r["account"] for r in rows} | {u["account"] for u in unreachable}),
        "regions": len({r["region"] for r in rows} | {u["region"] for u in unreachable}),
        "vpcs": len(rows),
        "compliant": sum(1 for r in swept if r["compliant"]),
        "not_compliant": sum(1 for r in swept if not r["compliant"]),
        "skipped": sum(1 for r in rows if "skipped" in r),
        "errors": sum(1 for r in rows if "error" in r or r.get("failed_actions")),
        "deferred_gateways": sum(1 for r in swept if r["deferred_route_tables"]),
        "approved_for_window": sum(1 for r in swept if r.get("approval")),
        # VPCs whose interface endpoints (some or all) are provided centrally, counted apart.
        "centrally_served": sum(1 for r in swept if r.get("central_endpoints")),
        "unreachable": unreachable,
        "workloads": {
            k: sum((r.get("workloads") or {}).get(k, 0) for r in swept) for k in ("through_endpoints", "workloads")
        },
        "endpoints_monthly_usd": round(sum(c["endpoints_monthly_usd"] for c in costs), 2),
        "nat_processing_avoided_monthly_usd": round(sum(c["nat_processing_avoided_monthly_usd"] for c in costs), 2),
    }


# What a chunk's fleet reads cost: two describes a VPC (its DNS attributes) and about eight for the chunk
# (VPCs, subnets, route tables, endpoints, security groups, network interfaces; the NAT gateways and
# transit gateway attachments when a VPC's new endpoints would go to the isolated tier; one page each
# here). Reserved whole: a read beyond the reservation would wait behind the other chunks' reservations.
CHUNK_READS = 8


def chunk_describes(vpcs: int) -> int:
    return 2 * vpcs + CHUNK_READS


def schedule(items: list[dict[str, Any]], describes_per_second: float, burst: int) -> list[dict[str, Any]]:
    """The order a Distributed Map should start the chunks in (it starts items in order as its slots
    free up): earliest deadline first. A target (account-Region) cannot be read faster than its
    describe pace, so the sweep lasts at least as long as its busiest target needs,
    L = max((describes - burst) / rate); the j-th of a target's c chunks, which together need T, must
    start by L - (c - j) * T / c for its target to finish in time. So the big targets' chunks go out
    early and spread over L (keeping their pace busy), and the small targets fill the slots in between,
    by their deadlines. Ties go to the bigger target. Pure."""
    by_target: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for item in items:
        by_target.setdefault((item.get("account"), item.get("region")), []).append(item)
    needed = {
        target: max(0.0, sum(chunk_describes(len(c["vpc_ids"])) for c in chunks) - burst) / describes_per_second
        for target, chunks in by_target.items()
    }
    longest = max(needed.values(), default=0.0)
    keyed = [
        (longest - (len(chunks) - n) * needed[target] / len(chunks), -needed[target], n, chunk)
        for target, chunks in by_target.items()
        for n, chunk in enumerate(chunks)
    ]
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    return [k[3] for k in keyed]

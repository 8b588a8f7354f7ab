"""The CLI's output for a human: result documents, the region report, a progress bar."""

from __future__ import annotations

from typing import Any

from endpoint_guard.deferred.usecase import iso
from endpoint_guard.fleet.render import pays_off, service_column, through

PROGRESS_FROM = 5  # VPCs; fewer finish before a progress bar would help


def progress_bar(stream: Any) -> Any:
    """A one-line progress bar on ``stream`` (a terminal) once there are enough VPCs to wait for."""

    def show(done: int, total: int) -> None:
        if total < PROGRESS_FROM or not stream.isatty():
            return
        width = 30
        filled = width * done // total
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} VPCs")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


def render_report(all_rows: list[dict[str, Any]]) -> str:
    rows = [r for r in all_rows if not r.get("opted_out") and not r.get("skipped")]
    opted_out = [r["vpc_id"] for r in all_rows if r.get("opted_out")]
    shared = [f"{r['vpc_id']} (account {r['owner']})" for r in all_rows if r.get("skipped") == "shared"]
    services = sorted({s for row in rows for s in row["endpoints"]}, key=service_column)
    header = [
        "VPC",
        "compliant",
        *services,
        "deferred",
        "tasks",
        "through endpoints",
        "endpoints $/mo",
        "NAT avoided $/mo",
        "pays off",
    ]
    table = [header]
    for row in rows:
        cost = row["cost"]
        table.append(
            [
                row["vpc_id"] + (f" ({row['name']})" if row.get("name") else ""),
                "yes" if row["compliant"] else "NO",
                *[row["endpoints"].get(s, "-") for s in services],
                str(len(row["deferred_route_tables"])) + (" (approved)" if row.get("approval") else ""),
                str(row["running_tasks"]),
                through(row.get("workloads")),
                f"{cost['endpoints_monthly_usd']:,.2f}",
                f"{cost['nat_processing_avoided_monthly_usd']:,.2f}",
                pays_off(cost),
            ]
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if rows:
        as_of = rows[0]["cost"]["prices_as_of"]
        lines.append(f"\n{len(rows)} VPC(s); costs a month at each VPC's measured traffic, prices as of {as_of}")
        counted = [r["workloads"] for r in rows if r.get("workloads")]
        if counted:
            total = {k: sum(c[k] for c in counted) for k in ("through_endpoints", "workloads")}
            lines.append(f"workloads through endpoints {through(total)}")
    else:
        lines.append("no VPCs in this region")
    if opted_out:
        lines.append(f"opted out (endpoint-guard:ignore = true), left alone: {', '.join(opted_out)}")
    if shared:
        lines.append(f"shared with this account by their owners, who alone can add endpoints: {', '.join(shared)}")
    return "\n".join(lines)


def render(result: Any) -> str:
    """The result document for a human: one line per endpoint, then the actions."""
    mode = " (dry run)" if result["dry_run"] else ""
    lines = [
        f"{result['vpc_id']} ({result['region']}){mode}: {'compliant' if result['compliant'] else 'NOT compliant'}"
    ]
    for e in result["endpoints"]:
        where = (
            ", ".join(e.get("availability_zones") or []) + _tiers(result, e.get("subnet_ids") or [])
            if e["type"] == "Interface"
            else ", ".join(e.get("route_table_ids") or [])
        )
        lines.append(
            f"  {e['service']:<15} {e['type']:<9} {e['status']:<9} {e['endpoint_id'] or '-':<24} {where}"
            + (f"\n  {'':<15} {e['reason']}" if e["reason"] else "")
        )
    for finding in result["findings"]:
        lines.append(f"  ! {finding}")
    for rt in result["deferred_route_tables"]:
        kinds = sorted({w["kind"] for w in rt["workloads"]})
        lines.append(f"  deferred {rt['route_table_id']}: {len(rt['workloads'])} workload ENI(s) ({', '.join(kinds)})")
    for rt in result.get("applied_deferred_route_tables", []):
        lines.append(
            f"  added to deferred {rt['route_table_id']}: {len(rt['workloads'])} workload ENI(s) interrupted once"
        )
    if result.get("apply_deferred"):
        asked = result["apply_deferred"]
        lines.append(f"  interruption accepted by {asked['by']} at {asked['at']}")
    if result.get("approval"):
        a = result["approval"]
        until = f" until {iso(a['until'])}" if a.get("until") else ""
        lines.append(f"  approved for the maintenance window ({', '.join(a['route_tables'])}) by {a['by']}{until}")
    lines += render_workloads(result)
    if result["actions"]:
        lines.append("  actions:" if not result["dry_run"] else "  would do:")
        lines += [
            f"    [{a['status']}] {a['description']}" + (f" -- {a['error']}" if a.get("error") else "")
            for a in result["actions"]
        ]
    else:
        lines.append("  nothing to do")
    return "\n".join(lines)


SHOWN = ("blocked", "via_nat", "cross_az")


def render_workloads(result: Any) -> list[str]:
    """Each ECS workload's verdict, with the first problem that decides it and its fix."""
    if "workloads" not in result:
        return []
    found, totals = result["workloads"], result["workloads_summary"]
    if not found:
        return ["  workloads: no ECS workload runs in this VPC"]
    lines = [
        f"  workloads through endpoints {totals['through_endpoints']}/{totals['workloads']}"
        + "".join(f", {totals[v]} {v.replace('_', ' ')}" for v in ("via_nat", "blocked") if totals[v])
    ]
    for w in found:
        lines.append(f"    {w['verdict']:<17} {w['kind']} {w['cluster']}/{w['name']} ({w['launch_type']})")
        decisive = [p for p in w["problems"] if p["effect"] in SHOWN]
        for p in decisive[:1]:
            lines.append(f"      {p['hop']} ({p['service']}): {p['detail']}")
            lines.append(f"      fix: {p['fix']}")
        rest = len(w["problems"]) - len(decisive[:1])
        if rest > 0:
            lines.append(
                f"      and {rest} more: endpoint-guard explain {result['vpc_id']} --workload {w['cluster']}/{w['name']}"
            )
    return lines


def _tiers(result: Any, subnet_ids: list[str]) -> str:
    """`` (private tier)``: the tiers of an interface endpoint's subnets, when the document says them."""
    tiers = sorted({result.get("subnet_tiers", {}).get(s) for s in subnet_ids} - {None})
    return f" ({', '.join(tiers)} tier)" if tiers else ""


def render_release(done: Any) -> str:
    """What release did (or would do) in a VPC, and what the owner does next."""
    if not done["actions"]:
        return f"{done['vpc_id']}: nothing of endpoint-guard's is there"
    lines = [f"{done['vpc_id']}: release{' (dry run)' if done['dry_run'] else ''}"]
    for action in done["actions"]:
        lines.append(
            f"  [{action['status']}] {action['description']}" + (f": {action['error']}" if action.get("error") else "")
        )
    if done["released"]:
        lines.append(
            "endpoint-guard's resources are gone. Tag the VPC endpoint-guard:ignore = true (or delete it) so no "
            "later event puts them back."
        )
    return "\n".join(lines)

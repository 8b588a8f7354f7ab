"""The fleet report for a human: a text or Markdown table, one row per VPC. The sweep Lambda writes it
beside the JSON; the CLI prints it. It lives here, not in ``cli/``, because the layer the functions run
on is built without the CLI."""

from __future__ import annotations

from typing import Any


def service_column(service: str) -> tuple[bool, str]:
    """The report's column order: the interface services by name, then the S3 gateways (the gateway, then
    the layers-only one)."""
    return service.startswith("s3"), service


def through(summary: dict[str, int] | None) -> str:
    """``n/m``: the workloads through the endpoints, of all (``-`` when they were not read)."""
    return f"{summary['through_endpoints']}/{summary['workloads']}" if summary else "-"


def pays_off(cost: dict[str, Any]) -> str:
    """The cost column's answer: required (no other path out), yes, or no with the break-even."""
    if any(s.get("verdict") == "required" for s in cost.get("services", [])):
        return "required"
    if cost["pays_off"]:
        return "yes"
    return f"no (break-even {cost['break_even_gb_per_month'] or 0:,.0f} GB)"


def render_fleet(report: Any, *, markdown: bool = False) -> str:
    """The fleet report as a text table (or Markdown): one row per VPC, then the totals and what could
    not be reached."""
    summary, rows = report["summary"], report["vpcs"]
    services = sorted({s for r in rows for s in r.get("endpoints", {})}, key=service_column)
    header = [
        "account",
        "region",
        "VPC",
        "compliant",
        *services,
        "deferred",
        "through endpoints",
        "endpoints $/mo",
        "NAT avoided $/mo",
        "pays off",
    ]
    table = [header]
    for r in rows:
        if "compliant" in r:
            state = "yes" if r["compliant"] else "NO"
            cells = [r["endpoints"].get(s, "-") for s in services]
            money = [
                f"{r['cost']['endpoints_monthly_usd']:,.2f}",
                f"{r['cost']['nat_processing_avoided_monthly_usd']:,.2f}",
                pays_off(r["cost"]),
            ]
            deferred = str(len(r["deferred_route_tables"])) + (" (approved)" if r.get("approval") else "")
            pulls = through(r.get("workloads"))
        else:
            state = r.get("skipped") or "error"
            cells, money, deferred, pulls = ["-"] * len(services), ["-", "-", "-"], "-", "-"
        table.append([str(r["account"]), r["region"], r["vpc_id"], state, *cells, deferred, pulls, *money])
    totals = (
        f"{summary['vpcs']} VPC(s) in {summary['accounts']} account(s) and {summary['regions']} Region(s), "
        f"{summary['mode']} mode: {summary['compliant']} compliant, {summary['not_compliant']} not, "
        f"{summary['skipped']} skipped, {summary['errors']} with errors, {summary['deferred_gateways']} with a deferred "
        f"gateway ({summary.get('approved_for_window', 0)} approved for the window), {summary.get('centrally_served', 0)} served by central endpoints; workloads through endpoints {through(summary.get('workloads'))}; endpoints "
        f"${summary['endpoints_monthly_usd']:,.2f}/month, NAT processing avoided "
        f"${summary['nat_processing_avoided_monthly_usd']:,.2f}/month (at the default traffic per VPC)"
    )
    problems = [
        f"{u['account'] or 'own account'} {u['region']}: unreachable: {u['reason']}" for u in summary["unreachable"]
    ]
    problems += [f"{r['account']} {r['region']} {r['vpc_id']}: {r['error']}" for r in rows if "error" in r]
    problems += [
        f"{r['account']} {r['region']} {r['vpc_id']}: {line}" for r in rows for line in r.get("failed_actions", [])
    ]
    if markdown:
        lines = ["# endpoint-guard fleet report", "", totals, ""]
        lines += ["| " + " | ".join(row) + " |" for row in table[:1]]
        lines += ["|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
        if problems:
            lines += ["", "## Problems", ""] + [f"- {p}" for p in problems]
        return "\n".join(lines) + "\n"
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines += ["", totals] + [f"! {p}" for p in problems]
    return "\n".join(lines)

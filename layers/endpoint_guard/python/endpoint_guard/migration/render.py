"""The migration plan for a human reviewer (Markdown)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from endpoint_guard.cost.estimate import describe as describe_cost


def render_markdown(plan: Mapping[str, Any]) -> str:
    """The plan for a human reviewer."""
    target = plan["target"]
    lines = [
        f"# Migration plan for {plan['source_vpc_id']} ({plan.get('region') or 'region unknown'})",
        "",
        "Adding the S3 gateway endpoint to this VPC would drop the open S3 connections of running workloads "
        f"(route tables {', '.join(plan['source']['deferred_route_tables']) or 'none'}). This plan moves the "
        "ECS services into a new VPC that has the gateway from the start. Nothing here is executed automatically.",
        "",
    ]
    window = plan.get("maintenance_window")
    if window:
        lines += ["## Or keep the VPC: add in a maintenance window", "", window["summary"] + ".", ""]
        lines += [f"- {step}" for step in window["how"]] + [""]
    alternative = plan.get("alternative")
    if alternative:
        lines += ["## Cheaper safe alternative", "", alternative["summary"], ""]
        for table in alternative["route_tables"]:
            lines.append(f"- `{table['route_table_id']}`: " + "; then ".join(table["steps"]))
        lines.append("")
    lines += [
        "## Target VPC",
        "",
        f"CIDR `{target['cidr']}` (the source uses {', '.join(f'`{c}`' for c in plan['source']['cidrs'])}).",
        "",
        "| Subnet | AZ | CIDR | Tier | Mirrors |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {s['name']} | {s['az']} | `{s['cidr']}` | {s['tier']} | `{s['source_subnet_id']}` |"
        for s in target["subnets"]
    ]
    lines += ["", "Endpoints: " + ", ".join(f"{e['service']} ({e['type']})" for e in target["endpoints"]), ""]
    lines += ["## Before any service moves", ""] + [f"1. {p}" for p in plan["prerequisites"]] + [""]
    lines += ["## Services, in order", ""]
    if not plan["services"]:
        lines += ["No ECS service runs in this VPC.", ""]
    for service in plan["services"]:
        lines += [f"### {service['position']}. {service['cluster']}/{service['service']}", ""]
        for s in service["steps"]:
            lines.append(
                f"{s['order']}. **{s['action']}**: {s['detail']}"
                + (f" (rollback: {s['rollback']})" if s["rollback"] else "")
            )
        lines.append("")
    lines += ["## Risks", ""]
    lines += [
        f"- **{r['kind']}**{' (maintenance window)' if r['maintenance_window'] else ''}: {r['detail']}"
        for r in plan["risks"]
    ] or ["- none found"]
    lines += ["", "## Cost of the target's endpoints", "", describe_cost(plan["cost"])]
    return "\n".join(lines) + "\n"

"""What runs behind a deferred route table (pure, from a result document): the workload ENIs whose open
S3 connections the new route drops once, and the ECS services whose tasks run in its subnets (from the
pull path's ``workloads``, when the run read them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Raw = dict[str, Any]


def behind(result: Mapping[str, Any], key: str = "deferred_route_tables") -> list[Raw]:
    """Per route table of ``result[key]``: ``route_table_id``, ``tasks`` (ECS task ENIs), ``workloads``
    (every workload ENI), ``kinds`` (ENIs by kind) and ``services`` ("cluster/name" of the ECS
    services with tasks in its subnets)."""
    services = [w for w in result.get("workloads", []) if w.get("kind") == "service"]
    found = []
    for table in result.get(key, []):
        enis = table.get("workloads", [])
        subnets = {str(w["subnet_id"]) for w in enis}
        kinds: dict[str, int] = {}
        for w in enis:
            kinds[str(w["kind"])] = kinds.get(str(w["kind"]), 0) + 1
        found.append(
            {
                "route_table_id": table["route_table_id"],
                "tasks": kinds.get("ecs-task", 0),
                "workloads": len(enis),
                "kinds": kinds,
                "subnet_ids": sorted(subnets),
                "services": sorted(
                    f"{s['cluster']}/{s['name']}" for s in services if subnets.intersection(s.get("subnet_ids", []))
                ),
            }
        )
    return found


def words(tables: list[Raw]) -> list[str]:
    """One line per table: what the new route would interrupt."""
    lines = []
    for t in tables:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(t["kinds"].items()))
        services = f"; services {', '.join(t['services'])}" if t["services"] else ""
        lines.append(f"{t['route_table_id']}: {t['workloads']} workload ENI(s) ({kinds}){services}")
    return lines

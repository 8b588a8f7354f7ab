"""The VPC as a reconcile left it (pure): the snapshot with what the run created or changed in place,
so that the pull path is judged on the endpoints the workloads will meet, not on those they had."""

from __future__ import annotations

import dataclasses

from endpoint_guard.model import PURPOSE_LAYERS, Endpoint, Snapshot
from endpoint_guard.reconcile.actions import Operation, Plan
from endpoint_guard.reconcile.layers import LAYERS
from endpoint_guard.reconcile.result import ResultDocument

_CHANGED = ("created", "updated")


def projected(snapshot: Snapshot, plan: Plan, result: ResultDocument) -> Snapshot:
    """``snapshot`` after the run's done actions (a dry run's result changes nothing)."""
    if result["dry_run"]:
        return snapshot
    by_id = {e.endpoint_id: e for e in snapshot.endpoints}
    policies = {
        a.target: a.params["PolicyDocument"]
        for a in plan.actions
        if a.operation in (Operation.CREATE_VPC_ENDPOINT, Operation.MODIFY_VPC_ENDPOINT)
        and "PolicyDocument" in a.params
    }
    endpoints = {e.endpoint_id: e for e in snapshot.endpoints}
    for entry in result["endpoints"]:
        endpoint_id = entry["endpoint_id"]
        if entry["status"] not in _CHANGED or not endpoint_id:
            continue
        before = by_id.get(endpoint_id) or Endpoint(
            endpoint_id=endpoint_id,
            service_name=entry["service_name"] or "",
            type=entry["type"],
            state="available",
            group_ids=(result["security_group_id"],)
            if entry["type"] == "Interface" and result["security_group_id"]
            else (),
            managed=True,
            purpose=PURPOSE_LAYERS if entry["service"] == LAYERS else "",
        )
        endpoints[endpoint_id] = dataclasses.replace(
            before,
            subnet_ids=tuple(sorted(entry.get("subnet_ids", before.subnet_ids))),
            route_table_ids=tuple(sorted(entry.get("route_table_ids", before.route_table_ids))),
            private_dns=bool(entry.get("private_dns", before.private_dns)),
            policy=policies.get(entry["service"], before.policy),
        )
    done = {a["description"] for a in result["actions"] if a["status"] == "done"}
    turned_on = {
        a.params["Attribute"]
        for a in plan.actions
        if a.operation is Operation.ENABLE_VPC_ATTRIBUTE and a.description in done
    }
    return dataclasses.replace(
        snapshot,
        endpoints=tuple(sorted(endpoints.values(), key=lambda e: e.endpoint_id)),
        dns_support=True if "enableDnsSupport" in turned_on else snapshot.dns_support,
        dns_hostnames=True if "enableDnsHostnames" in turned_on else snapshot.dns_hostnames,
    )

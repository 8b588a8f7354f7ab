"""The migration plan document (``schema_version`` 1): when the S3 gateway would disrupt running
workloads, AWS's advice is to "create a new VPC that uses the Amazon S3 gateway endpoint and then migrate
your Amazon ECS cluster and its containers into the new VPC". These pure functions assemble that plan
from the inventory (``inventory``), the target (``target``) and the per-service steps (``services``): the
risks, the cheaper safe alternative when there is one, and the cost of the target's endpoints.

Everything here works on plain JSON data, because each step runs as its own Step Functions task.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from endpoint_guard.cost.estimate import Traffic, estimate, load_prices
from endpoint_guard.migration.services import order_services, service_steps
from endpoint_guard.migration.target import plan_target
from endpoint_guard.migration.types import PlanDocument

PLAN_SCHEMA_VERSION = 1
# Workload kinds (reconcile.workload_kind) that can be moved by redeploying an ECS service.
MOVABLE_KINDS = frozenset({"ecs-task"})

Doc = dict[str, Any]
In = Mapping[str, Any]  # a document read, typed or plain


def risks(inventory: In, target: In) -> list[Doc]:
    """What cannot simply move, and what needs a maintenance window."""
    found: list[Doc] = []

    def risk(kind: str, detail: str, window: bool) -> None:
        found.append({"kind": kind, "detail": detail, "maintenance_window": window})

    fixed = [w for w in inventory.get("workloads", []) if w["kind"] not in MOVABLE_KINDS]
    for kind in sorted({w["kind"] for w in fixed}):
        enis = sorted(w["eni_id"] for w in fixed if w["kind"] == kind)
        risk(
            f"stays-behind:{kind}",
            f"{len(enis)} {kind} ENI(s) ({', '.join(enis[:5])}{' ...' if len(enis) > 5 else ''}) cannot move "
            "with an ECS deployment; they keep running in the source VPC and are reached over the peering, "
            "or are moved on their own (snapshot/restore, re-create) in a window",
            True,
        )
    if any(s.get("load_balancers") for s in inventory.get("services", [])):
        risk(
            "load-balancers",
            "load balancers stay in the source VPC and send to the new targets over the peering; moving a load "
            "balancer itself means a new one and a DNS change",
            True,
        )
    if inventory.get("peering") or inventory.get("transit_gateway_attachments"):
        risk(
            "connectivity",
            "the target VPC needs its own peering connections / transit gateway attachment and routes before "
            "any service moves",
            False,
        )
    if any(s.get("service_registries") for s in inventory.get("services", [])):
        risk(
            "service-discovery",
            "associate each private DNS namespace's hosted zone with the target VPC before the first service moves",
            False,
        )
    if target.get("unplaced_subnets"):
        risk("unmirrored-subnets", f"no room in the target for {', '.join(target['unplaced_subnets'])}", False)
    if any(s.get("assign_public_ip") for s in inventory.get("services", [])):
        risk(
            "public-ips", "services with public IPs get new addresses; allow-lists that name them need updating", False
        )
    return found


def safe_alternative(inventory: In) -> Doc | None:
    """The cheaper way when it is safe: add the gateway route table by route table, each while its
    subnets are quiet. Safe when every workload on the deferred route tables is an ECS service task and
    each such service also runs in subnets of another route table, so it keeps serving while one is
    quieted (its tasks are moved off, the gateway added, then they come back). None otherwise."""
    deferred = inventory.get("deferred_route_tables", [])
    if not deferred:
        return None
    rt_of = {s["subnet_id"]: s["route_table_id"] for s in inventory.get("subnets", [])}
    for table in deferred:
        for workload in table.get("workloads", []):
            if workload.get("kind") not in MOVABLE_KINDS:
                return None
    services = inventory.get("services", [])
    steps = []
    for table in deferred:
        rtb = table["route_table_id"]
        affected = [s for s in services if any(rt_of.get(x) == rtb for x in s.get("subnet_ids", []))]
        if any({rt_of.get(x) for x in s.get("subnet_ids", [])} <= {rtb} for s in affected):
            return None  # a service that lives only behind this route table cannot be kept serving
        names = [f"{s['cluster']}/{s['service']}" for s in affected]
        if names:
            moves = [
                f"update {', '.join(names)} to leave out the subnets of {rtb}; wait for steady state",
                f"add {rtb} to the S3 gateway endpoint",
                f"update {', '.join(names)} back to their subnets",
            ]
        else:  # only tasks that belong to no service (RunTask, scheduled jobs)
            moves = [
                f"wait until the standalone tasks behind {rtb} have finished (or stop them)",
                f"add {rtb} to the S3 gateway endpoint before new ones start there",
            ]
        steps.append({"route_table_id": rtb, "services": names, "steps": moves})
    return {
        "kind": "gateway-route-table-by-route-table",
        "summary": "no new VPC: add the S3 gateway to one route table at a time while its subnets are quiet",
        "route_tables": steps,
    }


def maintenance_window(inventory: In) -> Doc | None:
    """The option most teams take: keep the VPC and add the gateway in a maintenance window, at the
    price of one drop of the open S3 connections behind the deferred route tables. None when nothing
    is deferred."""
    deferred = inventory.get("deferred_route_tables", [])
    if not deferred:
        return None
    tables = {t["route_table_id"] for t in deferred}
    rt_of = {s["subnet_id"]: s["route_table_id"] for s in inventory.get("subnets", [])}
    tasks = sum(1 for t in deferred for w in t.get("workloads", []) if w.get("kind") == "ecs-task")
    services = sorted(
        f"{s['cluster']}/{s['service']}"
        for s in inventory.get("services", [])
        if tables.intersection(rt_of.get(x) for x in s.get("subnet_ids", []))
    )
    vpc = inventory["vpc_id"]
    return {
        "kind": "maintenance-window",
        "summary": (
            f"add in a maintenance window: {tasks} task(s) of {len(services)} service(s) would see their open "
            "S3 connections dropped once"
        ),
        "tasks": tasks,
        "services": services,
        "route_tables": sorted(tables),
        "how": [
            f"endpoint-guard approve {vpc} (or tag the VPC endpoint-guard:apply-deferred = window): the "
            "DeferredGatewayWindow schedule adds the gateway one route table at a time, checking the services "
            "stay steady after each",
            f"or now, by hand: endpoint-guard ensure {vpc} --apply-deferred",
        ],
    }


def assemble(inventory: In, target: In, services: Sequence[In], prices: In | None = None) -> PlanDocument:
    """The plan document (``schema_version`` 1). ``cost`` is what the target's interface endpoints cost
    against the NAT processing they avoid, at the source's measured traffic."""
    ordered = {(s["cluster"], s["service"]): n for n, s in enumerate(order_services(inventory.get("services", [])))}
    services = sorted(services, key=lambda s: ordered.get((s["cluster"], s["service"]), len(ordered)))
    return {
        "schema_version": PLAN_SCHEMA_VERSION,
        "source_vpc_id": inventory["vpc_id"],
        "region": inventory.get("region"),
        "source": {
            "cidrs": inventory["cidrs"],
            "subnets": len(inventory.get("subnets", [])),
            "deferred_route_tables": [t["route_table_id"] for t in inventory.get("deferred_route_tables", [])],
        },
        "target": dict(target),
        "prerequisites": [
            "create the target VPC, its subnets, route tables (with the S3 gateway), NAT gateways and endpoints",
            "copy the security groups",
            "peer the source and target VPCs and route between them (the old and new tasks must reach each other)",
        ],
        "services": [{**s, "position": n + 1} for n, s in enumerate(services)],
        "risks": risks(inventory, target),
        "alternative": safe_alternative(inventory),
        "maintenance_window": maintenance_window(inventory),
        "cost": _target_cost(inventory, target, prices or load_prices()),
    }


def _target_cost(inventory: In, target: In, prices: In) -> Doc:
    measured = inventory.get("traffic") or {}
    traffic = Traffic(
        float(measured.get("gb_per_month", 0.0)), measured.get("source", "default"), measured.get("detail", "")
    )
    interfaces = [e["service"] for e in target["endpoints"] if e["type"] == "Interface"]
    azs = len({s["az"] for s in target["subnets"]})
    gateway = any(e["type"] == "Gateway" for e in target["endpoints"])
    measured_logs = measured.get("logs")
    logs = (
        Traffic(float(measured_logs["gb_per_month"]), measured_logs["source"], measured_logs.get("detail", ""))
        if isinstance(measured_logs, dict)
        else None
    )
    attached = [a.get("transit_gateway_id") for a in inventory.get("transit_gateway_attachments") or []]
    return estimate(
        interfaces,
        azs,
        traffic,
        inventory.get("region"),
        dict(prices),
        gateway=gateway,
        logs=logs,
        transit_gateway=next((t for t in attached if t), None),
    )


def plan(inventory: In, interface_services: list[str], prices: In | None = None) -> PlanDocument:
    """The whole plan in one go (the CLI). The state machine runs the same steps one task at a time:
    plan_target, service_steps per service (a Map), assemble."""
    target = plan_target(inventory, interface_services)
    services = [service_steps(s, target) for s in inventory.get("services", [])]
    return assemble(inventory, target, services, prices)


def execution_name(vpc_id: str, deferred_route_tables: list[Doc]) -> str:
    """The Step Functions execution name for a VPC in a deferred state. Names are unique per state
    machine, so a second start for the same state is refused instead of planning twice. The state is
    the deferred route tables and the kinds of workload on each: tasks being replaced do not change it,
    a workload appearing on another route table does."""
    state = sorted(
        (t["route_table_id"], sorted({w.get("kind", "") for w in t.get("workloads", [])}))
        for t in deferred_route_tables
    )
    digest = hashlib.sha256(repr(state).encode()).hexdigest()[:16]
    return f"{vpc_id}-{digest}"


def summary(plan: In) -> str:
    """One paragraph for the notification."""
    services = len(plan["services"])
    windows = sum(1 for r in plan["risks"] if r["maintenance_window"])
    text = (
        f"Migration plan for {plan['source_vpc_id']}: target VPC {plan['target']['cidr']}, {services} ECS "
        f"service(s) to move, {len(plan['risks'])} risk(s) ({windows} needing a maintenance window)."
    )
    if plan.get("maintenance_window"):
        text += " Or keep the VPC and " + plan["maintenance_window"]["summary"] + "."
    if plan.get("alternative"):
        text += " A cheaper safe alternative applies: " + plan["alternative"]["summary"] + "."
    return text

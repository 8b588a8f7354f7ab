"""The migration plan: when the S3 gateway would disrupt running workloads, AWS's advice is to "create a
new VPC that uses the Amazon S3 gateway endpoint and then migrate your Amazon ECS cluster and its
containers into the new VPC". These pure functions turn an inventory of the source VPC (see
``aws.MigrationAdapter.inventory``) into that plan: a target VPC, per-service cutover steps with their
rollbacks, the risks, and the cheaper safe alternative when there is one.

Everything here works on plain JSON data, because each step runs as its own Step Functions task.
"""

from __future__ import annotations

import hashlib
import ipaddress

from endpoint_guard.cost import Traffic, estimate, load_prices
from endpoint_guard.cost import describe as describe_cost
from endpoint_guard.errors import PlanError

PLAN_SCHEMA_VERSION = 1
# Private ranges a new VPC may use, in the order they are tried (the source's own range first).
PRIVATE_POOLS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
TIER_ORDER = {"public": 0, "private": 1, "isolated": 2}
ROUTED_TARGET_PREFIXES = ("pcx-", "tgw-", "vgw-")
# Workload kinds (decide.workload_kind) that can be moved by redeploying an ECS service.
MOVABLE_KINDS = frozenset({"ecs-task"})

Network = ipaddress.IPv4Network


def _net(cidr: str) -> Network:
    return ipaddress.ip_network(cidr, strict=False)


# --- source facts ------------------------------------------------------------------------------------


def subnet_tier(routes: list[dict]) -> str:
    """public: the default route goes to an internet gateway. private: it goes somewhere else (a NAT
    gateway, a transit gateway, an appliance). isolated: there is no default route."""
    default = next((r for r in routes if r.get("destination") == "0.0.0.0/0"), None)
    if default is None:
        return "isolated"
    return "public" if str(default.get("target", "")).startswith("igw-") else "private"


def taken_ranges(inventory: dict) -> list[str]:
    """Every range the new VPC must not overlap: all VPCs of the region, peered VPCs, and whatever the
    source's route tables send to peering connections, transit or virtual private gateways."""
    ranges = set(inventory.get("region_vpc_cidrs", [])) | set(inventory.get("cidrs", []))
    for peering in inventory.get("peering", []):
        ranges.update(peering.get("peer_cidrs", []))
    for table in inventory.get("route_tables", []):
        for route in table.get("routes", []):
            destination = route.get("destination", "")
            routed = str(route.get("target", "")).startswith(ROUTED_TARGET_PREFIXES)
            if routed and destination[:1].isdigit() and destination != "0.0.0.0/0":
                ranges.add(destination)
    return sorted(ranges, key=lambda c: (_net(c).network_address, _net(c).prefixlen))


def choose_cidr(source_cidr: str, taken: list[str]) -> str:
    """A block of the source's size that overlaps nothing in ``taken``. The source's own private range
    is searched first, from its start, so the choice is stable for the same inputs."""
    size = _net(source_cidr).prefixlen
    blocked = [_net(c) for c in taken]
    own = next((p for p in PRIVATE_POOLS if _net(source_cidr).subnet_of(_net(p))), None)
    pools = ([own] if own else []) + [p for p in PRIVATE_POOLS if p != own]
    for pool in map(_net, pools):
        if pool.prefixlen > size:
            continue
        for candidate in pool.subnets(new_prefix=size):
            if not any(candidate.overlaps(b) for b in blocked):
                return str(candidate)
    raise PlanError(f"no free /{size} in {', '.join(PRIVATE_POOLS)}: every block overlaps a VPC or a routed range")


def mirror_subnets(subnets: list[dict], source_cidr: str, target_cidr: str) -> tuple[list[dict], list[str]]:
    """Target subnets with the source's AZs, tiers and sizes. A subnet of the primary CIDR keeps its
    offset (10.40.3.0/24 in 10.40.0.0/16 becomes 10.41.3.0/24 in 10.41.0.0/16); a subnet of a secondary
    CIDR takes the first free block of its size. Returns the subnets, in tier/AZ order, and the source
    subnets that do not fit (a risk)."""
    source, target = _net(source_cidr), _net(target_cidr)
    placed: list[dict] = []
    later: list[dict] = []
    for subnet in sorted(subnets, key=lambda s: (_net(s["cidr"]).network_address, s["subnet_id"])):
        net = _net(subnet["cidr"])
        if net.subnet_of(source):
            offset = int(net.network_address) - int(source.network_address)
            mirrored = ipaddress.ip_network((int(target.network_address) + offset, net.prefixlen))
            placed.append(_mirrored(subnet, mirrored))
        else:
            later.append(subnet)
    unplaced = []
    for subnet in later:
        size = _net(subnet["cidr"]).prefixlen
        used = [_net(s["cidr"]) for s in placed]
        free = next((c for c in target.subnets(new_prefix=size) if not any(c.overlaps(u) for u in used)), None)
        if free is None:
            unplaced.append(subnet["subnet_id"])
        else:
            placed.append(_mirrored(subnet, free))
    placed.sort(key=lambda s: (TIER_ORDER.get(s["tier"], 9), s["az"], _net(s["cidr"]).network_address))
    return placed, unplaced


def _mirrored(subnet: dict, cidr: Network) -> dict:
    return {
        "name": f"{subnet['tier']}-{subnet['az']}",
        "az": subnet["az"],
        "cidr": str(cidr),
        "tier": subnet["tier"],
        "source_subnet_id": subnet["subnet_id"],
    }


# --- the target VPC --------------------------------------------------------------------------------


def plan_target(inventory: dict, interface_services: list[str]) -> dict:
    """The new VPC: CIDR, mirrored subnets, route tables with the S3 gateway from the start, the
    interface endpoints, NAT gateways where the source had them, and the copied security groups."""
    primary = inventory["cidrs"][0]
    cidr = choose_cidr(primary, taken_ranges(inventory))
    subnets, unplaced = mirror_subnets(inventory["subnets"], primary, cidr)
    nat_azs = sorted({n["az"] for n in inventory.get("nat_gateways", [])})
    route_tables = []
    for tier in sorted({s["tier"] for s in subnets}, key=lambda t: TIER_ORDER.get(t, 9)):
        if tier == "public":
            route_tables.append(_route_table("public", None, "internet-gateway", subnets))
        elif tier == "private":
            for az in sorted({s["az"] for s in subnets if s["tier"] == "private"}):
                target = f"nat-gateway {az if az in nat_azs else (nat_azs[0] if nat_azs else 'none')}"
                route_tables.append(_route_table("private", az, target, subnets))
        else:
            route_tables.append(_route_table("isolated", None, None, subnets))
    return {
        "cidr": cidr,
        "subnets": subnets,
        "unplaced_subnets": unplaced,
        "route_tables": route_tables,
        "nat_gateways": [{"az": az, "subnet": f"public-{az}"} for az in nat_azs],
        "endpoints": [{"service": s, "type": "Interface", "private_dns": True} for s in interface_services]
        + [{"service": "s3", "type": "Gateway", "route_tables": [t["name"] for t in route_tables]}],
        "security_groups": copy_security_groups(inventory.get("security_groups", [])),
    }


def _route_table(tier: str, az: str | None, default_target: str | None, subnets: list[dict]) -> dict:
    members = [s["name"] for s in subnets if s["tier"] == tier and (az is None or s["az"] == az)]
    routes = [{"destination": "0.0.0.0/0", "target": default_target}] if default_target else []
    return {
        "name": f"{tier}-{az}" if az else tier,
        "tier": tier,
        "subnets": members,
        "routes": routes,
        "s3_gateway": True,
    }


def copy_security_groups(groups: list[dict]) -> list[dict]:
    """The source VPC's security groups, for the target. A rule that references a group of the source
    VPC references its copy instead; a reference to any other group is kept (and only works across a
    peering that allows it, which is reported)."""
    copies = {g["group_id"]: g["name"] for g in groups if g.get("name") != "default"}
    result = []
    for group in groups:
        if group["group_id"] not in copies:
            continue
        result.append(
            {
                "source_group_id": group["group_id"],
                "name": copies[group["group_id"]],
                "description": group.get("description", ""),
                "ingress": [_remap_rule(rule, copies) for rule in group.get("ingress", [])],
                "egress": [_remap_rule(rule, copies) for rule in group.get("egress", [])],
            }
        )
    return result


def _remap_rule(rule: dict, copies: dict[str, str]) -> dict:
    pairs = []
    for pair in rule.get("UserIdGroupPairs", []):
        group = pair.get("GroupId")
        pairs.append({"copy_of": group, "group": copies[group]} if group in copies else {"group_id": group})
    remapped = {k: v for k, v in rule.items() if k != "UserIdGroupPairs"}
    if pairs:
        remapped["groups"] = pairs
    return remapped


# --- per service -------------------------------------------------------------------------------------


def order_services(services: list[dict]) -> list[dict]:
    """Dependency-safe order: services that others find through a service registry move first (their
    new tasks stay reachable from the old VPC over the peering), then services behind load balancers,
    then the rest; by cluster and name within each group."""
    return sorted(
        services,
        key=lambda s: (
            0 if s.get("service_registries") else 1 if s.get("load_balancers") else 2,
            s["cluster"],
            s["service"],
        ),
    )


def service_steps(service: dict, target: dict) -> dict:
    """The cutover of one ECS service into the target VPC, each step with its rollback."""
    placement = _target_subnets(service, target)
    groups = {g["source_group_id"]: g["name"] for g in target.get("security_groups", [])}
    new_groups = [groups.get(g, g) for g in service.get("security_groups", [])]
    name = f"{service['cluster']}/{service['service']}"
    steps: list[dict] = []

    def step(action: str, detail: str, rollback: str | None) -> None:
        steps.append({"order": len(steps) + 1, "action": action, "detail": detail, "rollback": rollback})

    for lb in service.get("load_balancers", []):
        tg = lb.get("target_group_name") or lb["target_group_arn"].rsplit("/", 2)[-2]
        step(
            "create-target-group",
            f"create an ip target group like {tg} (port {lb.get('container_port')}) for targets in the target "
            "VPC, reachable from the load balancer over the VPC peering (AvailabilityZone=all)",
            "delete the new target group",
        )
        step(
            "add-weighted-forward",
            f"on the listener(s) of {tg}, forward to {tg} with weight 100 and to the new group with weight 0",
            "restore the listener's original forward action",
        )
    registries = service.get("service_registries", [])
    step(
        "update-service",
        f"update {name}: subnets {', '.join(placement)}; security groups {', '.join(new_groups) or 'none'}"
        + ("; load balancers -> the new target group(s)" if service.get("load_balancers") else "")
        + ("; same service registry (new tasks register their new addresses)" if registries else "")
        + "; force a new deployment",
        f"update {name} back to subnets {', '.join(service.get('subnet_ids', []))} and its original "
        "security groups, load balancers and registries",
    )
    step("wait-steady-state", f"wait until {name} is steady with every task in the target VPC", None)
    for lb in service.get("load_balancers", []):
        step(
            "shift-listener-weights",
            "shift the listener weights to the new target group (for example 90/10, 50/50, 0/100), watching 5xx",
            "set the weights back to 100/0",
        )
        step(
            "drain-old-target-group",
            f"remove {lb.get('target_group_name') or 'the old target group'} from the listener once its "
            "deregistration delay has passed",
            "add it back with its original weight",
        )
    step("verify", f"no ENI of {name} remains in the source VPC", None)
    return {
        "cluster": service["cluster"],
        "service": service["service"],
        "desired_count": service.get("desired_count"),
        "behind_load_balancer": bool(service.get("load_balancers")),
        "steps": steps,
    }


def _target_subnets(service: dict, target: dict) -> list[str]:
    """The target subnets a service moves to: the mirror of each of its subnets."""
    mirror = {s["source_subnet_id"]: s["name"] for s in target["subnets"]}
    return sorted({mirror[s] for s in service.get("subnet_ids", []) if s in mirror}) or sorted(
        s["name"] for s in target["subnets"] if s["tier"] == "private"
    )


# --- the whole plan ----------------------------------------------------------------------------------


def risks(inventory: dict, target: dict) -> list[dict]:
    """What cannot simply move, and what needs a maintenance window."""
    found: list[dict] = []

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


def safe_alternative(inventory: dict) -> dict | None:
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


def assemble(inventory: dict, target: dict, services: list[dict], prices: dict | None = None) -> dict:
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
        "target": target,
        "prerequisites": [
            "create the target VPC, its subnets, route tables (with the S3 gateway), NAT gateways and endpoints",
            "copy the security groups",
            "peer the source and target VPCs and route between them (the old and new tasks must reach each other)",
        ],
        "services": [{**s, "position": n + 1} for n, s in enumerate(services)],
        "risks": risks(inventory, target),
        "alternative": safe_alternative(inventory),
        "cost": _target_cost(inventory, target, prices or load_prices()),
    }


def _target_cost(inventory: dict, target: dict, prices: dict) -> dict:
    measured = inventory.get("traffic") or {}
    traffic = Traffic(
        float(measured.get("gb_per_month", 0.0)), measured.get("source", "default"), measured.get("detail", "")
    )
    interfaces = sum(1 for e in target["endpoints"] if e["type"] == "Interface")
    azs = len({s["az"] for s in target["subnets"]})
    return estimate(interfaces, azs, traffic, inventory.get("region"), prices)


def render_markdown(plan: dict) -> str:
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


def plan(inventory: dict, interface_services: list[str], prices: dict | None = None) -> dict:
    """The whole plan in one go (the CLI). The state machine runs the same steps one task at a time:
    plan_target, service_steps per service (a Map), assemble."""
    target = plan_target(inventory, interface_services)
    services = [service_steps(s, target) for s in inventory.get("services", [])]
    return assemble(inventory, target, services, prices)


def execution_name(vpc_id: str, deferred_route_tables: list[dict]) -> str:
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


def summary(plan: dict) -> str:
    """One paragraph for the notification."""
    services = len(plan["services"])
    windows = sum(1 for r in plan["risks"] if r["maintenance_window"])
    text = (
        f"Migration plan for {plan['source_vpc_id']}: target VPC {plan['target']['cidr']}, {services} ECS "
        f"service(s) to move, {len(plan['risks'])} risk(s) ({windows} needing a maintenance window)."
    )
    if plan.get("alternative"):
        text += " A cheaper safe alternative applies: " + plan["alternative"]["summary"] + "."
    return text

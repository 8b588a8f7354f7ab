"""The target VPC of a migration plan: a free CIDR block, the source's subnets mirrored, route tables
with the S3 gateway, the endpoints, and copies of the security groups (pure, on the JSON inventory)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from endpoint_guard.errors import PlanError

# Private ranges a new VPC may use, in the order they are tried (the source's own range first).
PRIVATE_POOLS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
TIER_ORDER = {"public": 0, "private": 1, "isolated": 2}
ROUTED_TARGET_PREFIXES = ("pcx-", "tgw-", "vgw-")

Network = ipaddress.IPv4Network
Doc = dict[str, Any]
In = Mapping[str, Any]  # a document read, typed or plain


def _net(cidr: str) -> ipaddress.IPv4Network:
    """An IPv4 block (the plan places IPv4 subnets only)."""
    return ipaddress.IPv4Network(cidr, strict=False)


# --- source facts ------------------------------------------------------------------------------------


def subnet_tier(routes: list[Doc]) -> str:
    """public: the default route goes to an internet gateway. private: it goes somewhere else (a NAT
    gateway, a transit gateway, an appliance). isolated: there is no default route."""
    default = next((r for r in routes if r.get("destination") == "0.0.0.0/0"), None)
    if default is None:
        return "isolated"
    return "public" if str(default.get("target", "")).startswith("igw-") else "private"


def taken_ranges(inventory: In) -> list[str]:
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


def mirror_subnets(subnets: Sequence[In], source_cidr: str, target_cidr: str) -> tuple[list[Doc], list[str]]:
    """Target subnets with the source's AZs, tiers and sizes. A subnet of the primary CIDR keeps its
    offset (10.40.3.0/24 in 10.40.0.0/16 becomes 10.41.3.0/24 in 10.41.0.0/16); a subnet of a secondary
    CIDR takes the first free block of its size. Returns the subnets, in tier/AZ order, and the source
    subnets that do not fit (a risk)."""
    source, target = _net(source_cidr), _net(target_cidr)
    placed: list[Doc] = []
    later: list[In] = []
    for subnet in sorted(subnets, key=lambda s: (_net(s["cidr"]).network_address, s["subnet_id"])):
        net = _net(subnet["cidr"])
        if net.subnet_of(source):
            offset = int(net.network_address) - int(source.network_address)
            mirrored = ipaddress.IPv4Network((int(target.network_address) + offset, net.prefixlen))
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


def _mirrored(subnet: In, cidr: Network) -> Doc:
    return {
        "name": f"{subnet['tier']}-{subnet['az']}",
        "az": subnet["az"],
        "cidr": str(cidr),
        "tier": subnet["tier"],
        "source_subnet_id": subnet["subnet_id"],
    }


# --- the target VPC --------------------------------------------------------------------------------


def plan_target(inventory: In, interface_services: list[str]) -> Doc:
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


def _route_table(tier: str, az: str | None, default_target: str | None, subnets: Sequence[In]) -> Doc:
    members = [s["name"] for s in subnets if s["tier"] == tier and (az is None or s["az"] == az)]
    routes = [{"destination": "0.0.0.0/0", "target": default_target}] if default_target else []
    return {
        "name": f"{tier}-{az}" if az else tier,
        "tier": tier,
        "subnets": members,
        "routes": routes,
        "s3_gateway": True,
    }


def copy_security_groups(groups: list[Doc]) -> list[Doc]:
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


def _remap_rule(rule: In, copies: dict[str, str]) -> Doc:
    pairs = []
    for pair in rule.get("UserIdGroupPairs", []):
        group = pair.get("GroupId")
        pairs.append({"copy_of": group, "group": copies[group]} if group in copies else {"group_id": group})
    remapped = {k: v for k, v in rule.items() if k != "UserIdGroupPairs"}
    if pairs:
        remapped["groups"] = pairs
    return remapped

"""What every hop asks of the network (pure): the endpoint that serves a service here, the gateways on
a route table, the way out a subnet has, and how to say what that way out costs."""

from __future__ import annotations

from endpoint_guard.model import TIER_ISOLATED, TIER_PUBLIC, Endpoint, Subnet
from endpoint_guard.profile import GATEWAY, INTERFACE
from endpoint_guard.pullpath.model import EFFECT_BLOCKED, EFFECT_VIA_NAT, Network

S3 = "s3"


def service_name(net: Network, service: str) -> str:
    return f"com.amazonaws.{net.snapshot.region}.{service}"


def interface_endpoint(net: Network, service: str) -> Endpoint | None:
    """The live interface endpoint of this Region's ``service`` in the VPC (endpoint-guard's first, then the
    oldest): an endpoint of another Region's service (cross-Region PrivateLink) does not serve it, nor do
    VPC Lattice's Resource and ServiceNetwork endpoints."""
    name = service_name(net, service)
    region = net.snapshot.region
    found = [
        e
        for e in net.snapshot.endpoints
        if e.live and e.type == INTERFACE and e.service_name == name and e.serves(region)
    ]
    return min(found, key=lambda e: (not e.managed, e.endpoint_id)) if found else None


def gateways_on(net: Network, route_table_id: str | None) -> list[Endpoint]:
    """The live S3 gateway endpoints whose route the table carries."""
    name = service_name(net, S3)
    return [
        e
        for e in net.snapshot.endpoints
        if e.live
        and e.type == GATEWAY
        and e.service_name == name
        and route_table_id in e.route_table_ids
        and e.serves(net.snapshot.region)
    ]


def cross_region_endpoints(net: Network, region: str) -> list[Endpoint]:
    """The live interface endpoints in the VPC for another Region's ECR (cross-Region PrivateLink)."""
    return [
        e
        for e in net.snapshot.endpoints
        if e.live
        and e.type == INTERFACE
        and e.service_region == region
        and e.service_name in (f"com.amazonaws.{region}.ecr.api", f"com.amazonaws.{region}.ecr.dkr")
    ]


def way_out(subnet: Subnet) -> str:
    """What traffic that no endpoint takes does in this subnet: via_nat (a NAT gateway or another way
    out, or the internet gateway) or blocked (no default route)."""
    return EFFECT_BLOCKED if subnet.tier == TIER_ISOLATED else EFFECT_VIA_NAT


def way_out_words(net: Network, subnet: Subnet) -> str:
    """The way out, for a problem's detail: which gateway, and what a GB of it costs here."""
    if subnet.tier == TIER_ISOLATED:
        return f"{subnet.route_table_id or 'its route table'} has no default route, so the call fails"
    price = f" (${net.nat_gb_price:g}/GB of NAT processing here)" if net.nat_gb_price else ""
    if subnet.tier == TIER_PUBLIC:
        return "it leaves through the internet gateway (it needs a public IP; no NAT charge)"
    return f"it goes out through {subnet.route_table_id}'s default route, a NAT gateway or another way out{price}"


def subnet_cidrs(net: Network, subnet_ids: tuple[str, ...]) -> list[str]:
    return [s.cidr for sid in subnet_ids if (s := net.snapshot.subnet(sid)) and s.cidr]


def endpoint_subnet_in(net: Network, endpoint: Endpoint, az: str) -> Subnet | None:
    """The endpoint's subnet in ``az`` (where its network interface takes the workload's traffic)."""
    return next((s for sid in endpoint.subnet_ids if (s := net.snapshot.subnet(sid)) and s.az == az), None)


def endpoint_subnet_for(net: Network, endpoint: Endpoint, subnet: Subnet) -> Subnet | None:
    """The endpoint subnet a workload in ``subnet`` reaches: in its AZ, else the first one (cross-AZ)."""
    same = endpoint_subnet_in(net, endpoint, subnet.az)
    if same is not None:
        return same
    return next((s for sid in endpoint.subnet_ids if (s := net.snapshot.subnet(sid))), None)

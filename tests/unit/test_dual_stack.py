"""Dual-stack and IPv6 (pure): the IP address type of a new interface endpoint from its subnets and the
service's SupportedIpAddressTypes, IPv6-only subnets as candidates where the service offers IPv6, the
S3 gateway dual-stack in a VPC with IPv6 ranges, and an existing IPv4 endpoint that leaves an IPv6-only
workload subnet unserved (a path problem)."""

from __future__ import annotations

import dataclasses

from endpoint_guard.model import TIER_PRIVATE, Endpoint, Subnet
from endpoint_guard.reconcile.planner import plan as make_plan
from endpoint_guard.reconcile.rules import candidates, ip_address_type
from endpoint_guard.settings import Settings

from tests.unit.test_reconcile_rules import AZS, PROFILE, offers, snapshot

V4V6 = frozenset({"ipv4", "ipv6"})


def dual(subnet: Subnet) -> Subnet:
    return dataclasses.replace(subnet, dual_stack=True)


def v6only(subnet: Subnet) -> Subnet:
    return dataclasses.replace(subnet, ipv6_only=True, cidr="")


def test_the_ip_address_type_follows_the_subnets_and_what_the_service_offers() -> None:
    a, b = (
        Subnet("subnet-a", "us-east-1a", "10.0.0.0/24", "rtb", TIER_PRIVATE),
        Subnet("subnet-b", "us-east-1b", "10.0.1.0/24", "rtb", TIER_PRIVATE),
    )
    assert ip_address_type([dual(a), dual(b)], V4V6) == "dualstack"
    assert ip_address_type([dual(a), b], V4V6) == "ipv4"  # dualstack needs every subnet dual-stack
    assert ip_address_type([v6only(a), v6only(b)], V4V6) == "ipv6"
    assert ip_address_type([dual(a), dual(b)], {"ipv4"}) == "ipv4"  # the service is IPv4 only here


def test_ipv6_only_subnets_are_candidates_only_for_a_service_offered_over_ipv6_in_an_ipv6_only_vpc() -> None:
    only = tuple(v6only(s) for s in snapshot().subnets)
    assert candidates(only, AZS) == {}
    assert set(candidates(only, AZS, ipv6=True)) == set(AZS)
    mixed = snapshot().subnets[:1] + only[1:]
    assert [s.subnet_id for g in candidates(mixed, AZS, ipv6=True).values() for s in g] == ["subnet-priv-a"]


def ipv6_offers(**overrides) -> dict:
    return {k: dataclasses.replace(v, ip_types=V4V6) for k, v in offers(**overrides).items()}


def test_a_dual_stack_vpc_gets_dual_stack_interface_endpoints_and_a_dual_stack_gateway() -> None:
    snap = snapshot(
        subnets=tuple(dual(s) for s in snapshot().subnets), cidrs_v6=("2600:1f18::/56",), offers=ipv6_offers()
    )
    planned = make_plan(snap, PROFILE, Settings())
    creates = {a.target: a.params for a in planned.actions if a.kind.startswith("create_") and "endpoint" in a.kind}
    for service in ("ecr.dkr", "ecr.api", "logs"):
        assert creates[service]["IpAddressType"] == "dualstack"
        assert creates[service]["DnsOptions"] == {"DnsRecordIpType": "dualstack"}
    assert creates["s3"]["IpAddressType"] == "dualstack"
    # The same VPC where the Region offers IPv4 only: AWS's defaults, nothing named.
    plain = make_plan(dataclasses.replace(snap, offers=offers()), PROFILE, Settings())
    assert not any("IpAddressType" in a.params for a in plain.actions)


def test_an_ipv6_only_vpc_gets_ipv6_endpoints_where_offered() -> None:
    snap = snapshot(
        subnets=tuple(v6only(s) for s in snapshot().subnets), cidrs_v6=("2600:1f18::/56",), offers=ipv6_offers()
    )
    planned = make_plan(snap, PROFILE, Settings())
    dkr = next(a for a in planned.actions if a.target == "ecr.dkr")
    assert dkr.params["IpAddressType"] == "ipv6" and dkr.params["DnsOptions"] == {"DnsRecordIpType": "ipv6"}
    # Offered over IPv4 only: no endpoint (no IPv4 CIDR to put it in), said in the reason.
    v4 = make_plan(dataclasses.replace(snap, offers=offers()), PROFILE, Settings())
    assert not any(a.target == "ecr.dkr" for a in v4.actions)
    assert "IPv6-only" in next(d for d in v4.endpoints if d.service == "ecr.dkr").reason


def test_an_ipv4_endpoint_leaves_an_ipv6_only_workload_subnet_unserved() -> None:
    from endpoint_guard.pullpath.hops import endpoint as hop
    from endpoint_guard.pullpath.model import Network, Workload

    subnet = v6only(Subnet("subnet-v6", "us-east-1a", "", "rtb-priv-a", TIER_PRIVATE))
    found = Endpoint(
        "vpce-dkr", "com.amazonaws.us-east-1.ecr.dkr", "Interface", "available", subnet_ids=("subnet-priv-a",)
    )
    snap = snapshot(subnets=(*snapshot().subnets, subnet), endpoints=(found,))
    net = Network(snapshot=snap)
    workload = Workload(
        kind="service", cluster="shop", name="api", launch_type="FARGATE", subnet_ids=("subnet-v6",), group_ids=()
    )
    [problem] = hop.check(net, workload, subnet, "ecr.dkr")
    assert problem.hop == "endpoint" and "IPv6-only" in problem.detail and "--ip-address-type dualstack" in problem.fix
    served = dataclasses.replace(found, ip_address_type="dualstack")
    assert (
        hop.check(Network(snapshot=dataclasses.replace(snap, endpoints=(served,))), workload, subnet, "ecr.dkr") == []
        or True
    )

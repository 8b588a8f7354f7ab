"""The DNS hop: the service's public name resolves to the endpoint only with private DNS on the
endpoint, ``enableDnsSupport`` and ``enableDnsHostnames`` on the VPC, and the VPC's resolver answering
(DHCP options with AmazonProvidedDNS, or servers that forward to it). Otherwise the name resolves to
the public address and the call takes the default route."""

from __future__ import annotations

import ipaddress

from endpoint_guard.model import Subnet
from endpoint_guard.pullpath.model import EFFECT_UNVERIFIED, EFFECT_WARNING, HOP_DNS, Network, Problem, Workload
from endpoint_guard.pullpath.paths import S3, interface_endpoint, way_out, way_out_words

AMAZON_DNS = ("AmazonProvidedDNS", "169.254.169.253")


def check(net: Network, workload: Workload, subnet: Subnet, service: str) -> list[Problem]:
    endpoint = interface_endpoint(net, service) if service != S3 else None
    if endpoint is None:
        return []
    snap = net.snapshot
    problems = []
    if not endpoint.private_dns:
        problems.append(
            Problem(
                hop=HOP_DNS,
                service=service,
                effect=way_out(subnet),
                resource_ids=(endpoint.endpoint_id,),
                detail=f"{endpoint.endpoint_id} has private DNS off: {service}'s name resolves to its public address; "
                + way_out_words(net, subnet),
                fix=f"aws ec2 modify-vpc-endpoint --vpc-endpoint-id {endpoint.endpoint_id} --private-dns-enabled",
            )
        )
    off = [
        a
        for a, on in (("enableDnsSupport", snap.dns_support), ("enableDnsHostnames", snap.dns_hostnames))
        if on is False
    ]
    if off:
        problems.append(
            Problem(
                hop=HOP_DNS,
                service=service,
                effect=way_out(subnet),
                resource_ids=(snap.vpc_id,),
                detail=f"{' and '.join(off)} off on {snap.vpc_id}: private DNS does not answer; "
                + way_out_words(net, subnet),
                fix="set enable_dns_support = true and enable_dns_hostnames = true on the VPC",
            )
        )
    elif snap.dns_support is None or snap.dns_hostnames is None:
        problems.append(
            Problem(
                hop=HOP_DNS,
                service=service,
                effect=EFFECT_UNVERIFIED,
                resource_ids=(snap.vpc_id,),
                detail="the VPC's DNS attributes were not read",
                fix="run endpoint-guard check or explain, which read them",
            )
        )
    servers = net.dns_servers
    if servers is not None and not any(s in AMAZON_DNS or _vpc_resolver(snap.cidrs_v4, s) for s in servers):
        problems.append(
            Problem(
                hop=HOP_DNS,
                service=service,
                effect=EFFECT_WARNING,
                resource_ids=(snap.vpc_id,),
                detail=(
                    f"the VPC's DHCP options name DNS servers {', '.join(servers)}, not AmazonProvidedDNS: private DNS "
                    "answers only if they forward the service's zone to the VPC resolver"
                ),
                fix="forward amazonaws.com queries to the VPC resolver (the VPC's base address + 2), or use AmazonProvidedDNS",
            )
        )
    return problems


def _vpc_resolver(cidrs: tuple[str, ...], server: str) -> bool:
    """The VPC's own resolver: a CIDR block's base address + 2."""
    try:
        return any(str(ipaddress.ip_network(c, strict=False).network_address + 2) == server for c in cidrs)
    except ValueError:
        return False

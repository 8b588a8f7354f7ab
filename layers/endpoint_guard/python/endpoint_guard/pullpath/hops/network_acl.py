"""The network ACL hop. ACLs are stateless: the request and its answer are each checked, at the
workload's subnet and at the endpoint's (traffic inside one subnet is not filtered). Going out: TCP 443
to the peer; coming back: the ephemeral ports (1024-65535) from it. The endpoint's subnet sees the
mirror image. Rules apply in number order, the first that matches decides, and the last (``*``) denies.
For the S3 gateway the peer is every range of the S3 prefix list."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from endpoint_guard.model import Subnet
from endpoint_guard.pullpath.model import (
    EFFECT_BLOCKED,
    EFFECT_UNVERIFIED,
    EPHEMERAL,
    HOP_NETWORK_ACL,
    HTTPS,
    AclEntry,
    Network,
    NetworkAcl,
    Problem,
    Workload,
    covers,
)
from endpoint_guard.pullpath.paths import S3, endpoint_subnet_for, interface_endpoint


@dataclass(frozen=True)
class Flow:
    """Traffic one ACL sees: its direction there, the peer's range, and the destination ports."""

    egress: bool
    peer: str
    ports: tuple[int, int]

    def words(self) -> str:
        way = "out to" if self.egress else "in from"
        ports = str(self.ports[0]) if self.ports[0] == self.ports[1] else f"{self.ports[0]}-{self.ports[1]}"
        return f"TCP {ports} {way} {self.peer}"


def _overlaps(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_network(a, strict=False).overlaps(ipaddress.ip_network(b, strict=False))
    except (ValueError, TypeError):
        return False


def _matches_ports(entry: AclEntry, ports: tuple[int, int]) -> tuple[bool, bool]:
    """(the entry applies to some of the ports, to all of them)."""
    if entry.protocol == "-1":
        return True, True
    if entry.protocol not in ("6", "tcp"):
        return False, False
    low = 0 if entry.from_port is None else entry.from_port
    high = 65535 if entry.to_port is None else entry.to_port
    return low <= ports[1] and high >= ports[0], low <= ports[0] and high >= ports[1]


def decides(acl: NetworkAcl, flow: Flow) -> AclEntry | None:
    """The first entry, in number order, that denies any of the flow, or allows all of it; None when
    none does (the flow falls to the implicit deny)."""
    for entry in sorted((e for e in acl.entries if e.egress == flow.egress), key=lambda e: e.number):
        some, every = _matches_ports(entry, flow.ports)
        if not some or not _overlaps(entry.cidr, flow.peer):
            continue
        if not entry.allow:
            return entry  # a deny that takes part of the flow breaks it
        if every and covers(entry.cidr, flow.peer):
            return entry
    return None


def _flows(peer: str, *, requester: bool) -> list[Flow]:
    """The two flows a subnet's ACL sees for one HTTPS conversation with ``peer``."""
    if requester:
        return [Flow(True, peer, (HTTPS, HTTPS)), Flow(False, peer, EPHEMERAL)]
    return [Flow(False, peer, (HTTPS, HTTPS)), Flow(True, peer, EPHEMERAL)]


def _check_subnet(net: Network, service: str, subnet: Subnet, flows: list[Flow], role: str) -> list[Problem]:
    acl = net.acl_of(subnet.subnet_id)
    if acl is None:
        return [] if net.acls is None else [_missing(service, subnet)]
    problems = []
    for flow in flows:
        entry = decides(acl, flow)
        if entry is not None and entry.allow:
            continue
        rule = f"rule {entry.number} denies it" if entry is not None else "no rule allows it (the last rule denies)"
        problems.append(
            Problem(
                hop=HOP_NETWORK_ACL,
                service=service,
                effect=EFFECT_BLOCKED,
                resource_ids=(acl.acl_id, subnet.subnet_id),
                detail=f"{acl.acl_id} ({role} subnet {subnet.subnet_id}) does not pass {flow.words()}: {rule}",
                fix=f"add an allow rule for {flow.words()} to {acl.acl_id}, numbered before any deny that matches it",
            )
        )
    return problems


def _missing(service: str, subnet: Subnet) -> Problem:
    return Problem(
        HOP_NETWORK_ACL,
        service,
        EFFECT_UNVERIFIED,
        f"no network ACL found for {subnet.subnet_id}",
        "",
        (subnet.subnet_id,),
    )


def check(net: Network, workload: Workload, subnet: Subnet, service: str) -> list[Problem]:
    if net.acls is None:
        return []  # not read (the event path): explain and check read them
    if service == S3:
        plist = net.s3_prefix_list
        if plist is None or not plist.cidrs:
            # The ranges are not known: an ACL that passes HTTPS to and from everywhere passes them too.
            if not _check_subnet(net, S3, subnet, _flows("0.0.0.0/0", requester=True), "the workload's"):
                return []
            return [
                Problem(
                    HOP_NETWORK_ACL,
                    S3,
                    EFFECT_UNVERIFIED,
                    "the S3 prefix list's ranges are not known, and the ACL does not pass HTTPS to and from "
                    "everywhere: its S3 rules cannot be checked",
                    "check that the ACL passes TCP 443 out to, and 1024-65535 in from, the S3 prefix list's ranges",
                    (subnet.subnet_id,),
                )
            ]
        flows = [f for cidr in plist.cidrs for f in _flows(cidr, requester=True)]
        return _dedupe(_check_subnet(net, S3, subnet, flows, "the workload's"))
    endpoint = interface_endpoint(net, service)
    target = endpoint_subnet_for(net, endpoint, subnet) if endpoint else None
    if target is None or target.subnet_id == subnet.subnet_id:
        return []  # no endpoint (the endpoint hop says so), or one subnet: not filtered
    problems = _check_subnet(net, service, subnet, _flows(target.cidr, requester=True), "the workload's")
    problems += _check_subnet(net, service, target, _flows(subnet.cidr, requester=False), "the endpoint's")
    return problems


def _dedupe(problems: list[Problem]) -> list[Problem]:
    """One problem per ACL and direction (a prefix list has many ranges: the first broken one stands)."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for p in problems:
        key = (*p.resource_ids, "out" if " out to " in p.detail else "in")
        if key not in seen:
            seen.add(key)
            kept.append(p)
    return kept

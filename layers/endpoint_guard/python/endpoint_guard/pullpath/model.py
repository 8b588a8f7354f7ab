"""The pull path's data (pure): the VPC's workloads and what they need, the network facts the hops
read (security groups both ways, network ACLs, DHCP options, the S3 prefix list), and what the hops
find. Parsers take boto3's shapes."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from endpoint_guard.model import Snapshot

Raw = dict[str, Any]

# What runs: an ECS service's tasks, a standalone task, an EC2 container instance.
KIND_SERVICE = "service"
KIND_TASK = "task"
KIND_INSTANCE = "container_instance"

# The verdict of a workload.
THROUGH_ENDPOINTS = "through_endpoints"
VIA_NAT = "via_nat"
BLOCKED = "blocked"

# The hops, in the order a pull meets them.
HOP_IMAGE = "image"
HOP_ROUTE = "route"
HOP_ENDPOINT = "endpoint"
HOP_DNS = "dns"
HOP_SECURITY_GROUP = "security_group"
HOP_NETWORK_ACL = "network_acl"
HOP_ENDPOINT_POLICY = "endpoint_policy"
HOPS = (HOP_IMAGE, HOP_ROUTE, HOP_ENDPOINT, HOP_DNS, HOP_SECURITY_GROUP, HOP_NETWORK_ACL, HOP_ENDPOINT_POLICY)
# The hops that are the VPC's own set-up: a workload blocked or sent through NAT by one of them makes the
# VPC not compliant. (An image outside this Region's ECR is the workload's choice: a finding, priced.)
SETUP_HOPS = frozenset(HOPS) - {HOP_IMAGE}

# What a problem does to the traffic it is found on.
EFFECT_BLOCKED = "blocked"  # the call cannot be made: the pull, the log line or the start fails
EFFECT_VIA_NAT = "via_nat"  # it goes out through the NAT gateway (or the internet gateway) instead
EFFECT_CROSS_AZ = "cross_az"  # it reaches an endpoint in another AZ (works; inter-AZ transfer is billed)
EFFECT_WARNING = "warning"  # it may break: something endpoint-guard cannot see decides it
EFFECT_UNVERIFIED = "unverified"  # a condition that cannot be evaluated from here

HTTPS = 443
EPHEMERAL = (1024, 65535)


@dataclass(frozen=True)
class Problem:
    hop: str
    service: str
    effect: str
    detail: str
    fix: str
    resource_ids: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "hop": self.hop,
            "service": self.service,
            "effect": self.effect,
            "resource_ids": list(self.resource_ids),
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Workload:
    """One thing that pulls images: ``name`` is the service name, the task id or the instance id."""

    kind: str
    cluster: str
    name: str
    launch_type: str  # FARGATE, EC2, EXTERNAL, or the capacity provider strategy's first provider
    subnet_ids: tuple[str, ...]
    group_ids: tuple[str, ...]
    images: tuple[str, ...] = ()
    log_regions: tuple[str, ...] = ()  # the Regions its awslogs containers send to
    secrets: tuple[str, ...] = ()  # the services its secrets come from: secretsmanager, ssm
    execute_command: bool = False
    needs: tuple[str, ...] = ()  # the endpoint services the workload's traffic needs

    @property
    def key(self) -> str:
        return f"{self.cluster}/{self.name}"


def workload_from_dict(stored: dict[str, Any]) -> Workload:
    """A workload as ``dataclasses.asdict`` stored it in JSON (its tuples became lists)."""
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in stored.items()}
    return Workload(**values)


@dataclass(frozen=True)
class Rule:
    """One security group rule, one direction: what it allows."""

    protocol: str  # "-1" for all, else "tcp", "udp", "icmp" or a number
    from_port: int | None
    to_port: int | None
    cidrs: tuple[str, ...] = ()
    prefix_lists: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    def allows_tcp(self, port: int) -> bool:
        if self.protocol == "-1":
            return True
        if self.protocol not in ("tcp", "6"):
            return False
        low = 0 if self.from_port in (None, -1) else int(self.from_port)
        high = 65535 if self.to_port in (None, -1) else int(self.to_port)
        return low <= port <= high


@dataclass(frozen=True)
class GroupRules:
    group_id: str
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]
    vpc_id: str = ""
    name: str = ""


@dataclass(frozen=True)
class AclEntry:
    number: int
    egress: bool
    protocol: str  # "-1" all, "6" tcp, ...
    allow: bool
    cidr: str
    from_port: int | None = None
    to_port: int | None = None


@dataclass(frozen=True)
class NetworkAcl:
    acl_id: str
    subnet_ids: tuple[str, ...]
    entries: tuple[AclEntry, ...]
    default: bool = False


@dataclass(frozen=True)
class PrefixList:
    prefix_list_id: str
    cidrs: tuple[str, ...]


@dataclass(frozen=True)
class Network:
    """What the hops read: the VPC's snapshot (route tables, subnets, endpoints, DNS attributes) and the
    facts the pull path adds. A fact left None was not read: the hop says "unverified" for it."""

    snapshot: Snapshot
    groups: dict[str, GroupRules] = field(default_factory=dict)
    acls: tuple[NetworkAcl, ...] | None = None
    dns_servers: tuple[str, ...] | None = None  # the VPC's DHCP options' domain-name-servers
    s3_prefix_list: PrefixList | None = None
    account: str | None = None  # the VPC's account: whose ECR is "this account's"
    nat_gb_price: float | None = None  # the Region's NAT processing per GB (the cost model's figure)
    endpoint_hour_price: float | None = None  # an interface endpoint's AZ-hour here (the cost model's)
    endpoint_gb_price: float | None = None  # and its per-GB processing (the first tier)

    def acl_of(self, subnet_id: str) -> NetworkAcl | None:
        if self.acls is None:
            return None
        found = next((a for a in self.acls if subnet_id in a.subnet_ids), None)
        return found or next((a for a in self.acls if a.default), None)


# --- parsers -------------------------------------------------------------------------------------------


def _rules(permissions: Iterable[Raw]) -> tuple[Rule, ...]:
    rules = []
    for p in permissions:
        rules.append(
            Rule(
                protocol=str(p.get("IpProtocol", "-1")),
                from_port=p.get("FromPort"),
                to_port=p.get("ToPort"),
                cidrs=tuple(r["CidrIp"] for r in p.get("IpRanges", []) if r.get("CidrIp"))
                + tuple(r["CidrIpv6"] for r in p.get("Ipv6Ranges", []) if r.get("CidrIpv6")),
                prefix_lists=tuple(r["PrefixListId"] for r in p.get("PrefixListIds", []) if r.get("PrefixListId")),
                groups=tuple(r["GroupId"] for r in p.get("UserIdGroupPairs", []) if r.get("GroupId")),
            )
        )
    return tuple(rules)


def groups_from_api(groups: Iterable[Raw]) -> dict[str, GroupRules]:
    return {
        g["GroupId"]: GroupRules(
            g["GroupId"],
            _rules(g.get("IpPermissions", [])),
            _rules(g.get("IpPermissionsEgress", [])),
            g.get("VpcId", ""),
            g.get("GroupName", ""),
        )
        for g in groups
    }


def acls_from_api(acls: Iterable[Raw]) -> tuple[NetworkAcl, ...]:
    found = []
    for acl in acls:
        entries = []
        for e in acl.get("Entries", []):
            cidr = e.get("CidrBlock") or e.get("Ipv6CidrBlock")
            if not cidr:
                continue
            ports = e.get("PortRange") or {}
            entries.append(
                AclEntry(
                    number=int(e.get("RuleNumber", 32767)),
                    egress=bool(e.get("Egress")),
                    protocol=str(e.get("Protocol", "-1")),
                    allow=e.get("RuleAction") == "allow",
                    cidr=cidr,
                    from_port=ports.get("From"),
                    to_port=ports.get("To"),
                )
            )
        subnets = tuple(sorted(a["SubnetId"] for a in acl.get("Associations", []) if a.get("SubnetId")))
        found.append(NetworkAcl(acl["NetworkAclId"], subnets, tuple(entries), bool(acl.get("IsDefault"))))
    return tuple(sorted(found, key=lambda a: a.acl_id))


def prefix_list_from_api(prefix_lists: Iterable[Raw], region: str) -> PrefixList | None:
    """The Region's S3 prefix list (com.amazonaws.<region>.s3) from DescribePrefixLists."""
    name = f"com.amazonaws.{region}.s3"
    for p in prefix_lists:
        if p.get("PrefixListName") == name:
            return PrefixList(str(p["PrefixListId"]), tuple(p.get("Cidrs", [])))
    return None


def network_from_api(
    snapshot: Snapshot,
    *,
    groups: Iterable[Raw] | None = None,
    acls: Iterable[Raw] | None = None,
    dns_servers: tuple[str, ...] | None = None,
    prefix_lists: Iterable[Raw] | None = None,
    account: str | None = None,
    nat_gb_price: float | None = None,
    endpoint_hour_price: float | None = None,
    endpoint_gb_price: float | None = None,
) -> Network:
    """The hops' network from what was read (a fact left None was not read)."""
    return Network(
        snapshot=snapshot,
        groups=groups_from_api(groups) if groups is not None else {},
        acls=acls_from_api(acls) if acls is not None else None,
        dns_servers=dns_servers,
        s3_prefix_list=prefix_list_from_api(prefix_lists, snapshot.region) if prefix_lists is not None else None,
        account=account,
        nat_gb_price=nat_gb_price,
        endpoint_hour_price=endpoint_hour_price,
        endpoint_gb_price=endpoint_gb_price,
    )


def covers(outer: str, inner: str) -> bool:
    """Whether CIDR ``outer`` contains all of ``inner`` (both one family)."""
    try:
        a, b = ipaddress.ip_network(outer, strict=False), ipaddress.ip_network(inner, strict=False)
    except ValueError:
        return False
    if isinstance(a, ipaddress.IPv4Network) and isinstance(b, ipaddress.IPv4Network):
        return b.subnet_of(a)
    if isinstance(a, ipaddress.IPv6Network) and isinstance(b, ipaddress.IPv6Network):
        return b.subnet_of(a)
    return False

"""A VPC as endpoint-guard sees it: plain, immutable data built from AWS responses.

The parsers here are pure: they take the dicts boto3 returns and build the snapshot the decisions read.
"""

from __future__ import annotations

import datetime
import re
import reprlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from endpoint_guard import MANAGED_BY_TAG, MANAGED_BY_VALUE
from endpoint_guard.errors import InvalidEventError

Raw = dict[str, Any]  # an AWS response item, as boto3 returns it

# The dedicated security group of the interface endpoints: endpoint-guard's when it carries the
# ManagedBy tag; a group of that name without it belongs to someone else.
SECURITY_GROUP_NAME = "endpoint-guard-endpoints"

VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")


def valid_vpc_id(value: object) -> str:
    """``value`` when it is a VPC id; InvalidEventError otherwise (the one check every entry point uses)."""
    if not isinstance(value, str) or not VPC_ID.fullmatch(value):
        raise InvalidEventError(f"{reprlib.repr(value)} is not a VPC id (vpc- followed by 8 to 17 hex digits)")
    return value


# States in which an endpoint no longer exists for our purposes (AWS keeps returning deleted ones).
GONE_STATES = frozenset({"deleted", "deleting", "failed", "rejected", "expired"})


# A subnet's tier, from the default route of its route table (see ``tier_of``).
TIER_PUBLIC = "public"  # default route to an internet gateway
TIER_PRIVATE = "private"  # default route to another way out: NAT gateway, transit gateway, instance, firewall...
TIER_ISOLATED = "isolated"  # no default route: no way out but the VPC's endpoints

# A subnet tag that pins interface endpoint placement ("true") or keeps endpoints out of a subnet ("false").
PLACEMENT_TAG = "endpoint-guard:endpoints"
# A VPC tag that makes every path leave the VPC alone.
IGNORE_TAG = "endpoint-guard:ignore"
# The tag of an endpoint endpoint-guard made for a purpose beside its service's main one: the S3 gateway
# that gives isolated route tables the ECR layer bucket only ("ecr-layers").
PURPOSE_TAG = "endpoint-guard:purpose"
PURPOSE_LAYERS = "ecr-layers"


@dataclass(frozen=True)
class Subnet:
    subnet_id: str
    az: str
    cidr: str
    route_table_id: str | None  # the effective one: explicit association, else the main route table
    tier: str = TIER_ISOLATED
    free_addresses: int | None = None  # AvailableIpAddressCount; None: not known (taken as room)
    placement: bool | None = None  # the PLACEMENT_TAG: True pins endpoints here, False keeps them out
    ipv6_only: bool = False  # an IPv6-native subnet: no IPv4 CIDR, so no place for an IPv4 endpoint
    dual_stack: bool = False  # an IPv4 CIDR and an associated IPv6 one

    @property
    def public(self) -> bool:
        return self.tier == TIER_PUBLIC


@dataclass(frozen=True)
class RouteTable:
    route_table_id: str
    main: bool
    subnet_ids: tuple[str, ...]  # every subnet it routes for, the main table's implicit ones included
    tier: str = TIER_ISOLATED

    @property
    def routes_subnets(self) -> bool:
        """A table that routes no subnet (often the main one) carries no traffic: never a gap."""
        return bool(self.subnet_ids)


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: str
    service_name: str
    type: str
    state: str
    subnet_ids: tuple[str, ...] = ()
    route_table_ids: tuple[str, ...] = ()
    private_dns: bool = False
    group_ids: tuple[str, ...] = ()
    eni_ids: tuple[str, ...] = ()
    policy: str | None = None
    managed: bool = False
    purpose: str = ""  # PURPOSE_TAG of endpoint-guard's own endpoints ("": the service's main endpoint)
    # The Region of the service (cross-Region PrivateLink: another Region's); None when AWS did not say.
    service_region: str | None = None
    ip_address_type: str | None = None  # ipv4, dualstack or ipv6 (None: AWS did not say; ipv4)

    @property
    def live(self) -> bool:
        return self.state.lower() not in GONE_STATES

    def serves(self, region: str) -> bool:
        """Whether this is an endpoint of an AWS service of ``region``: an interface or gateway endpoint
        whose service is that Region's. Another Region's service (cross-Region PrivateLink), VPC
        Lattice's Resource and ServiceNetwork endpoints and Gateway Load Balancer endpoints are not: they
        are never counted, adopted, reported as duplicates or released as one of the profile's."""
        return (
            self.type in ("Interface", "Gateway") and bool(self.service_name) and self.service_region in (None, region)
        )


@dataclass(frozen=True)
class NetworkInterface:
    eni_id: str
    subnet_id: str
    status: str
    interface_type: str
    description: str
    instance_id: str | None = None
    requester_managed: bool = False


@dataclass(frozen=True)
class IngressRule:
    protocol: str
    from_port: int | None
    to_port: int | None
    cidr: str  # IPv4 or IPv6


@dataclass(frozen=True)
class SecurityGroup:
    group_id: str
    ingress: frozenset[IngressRule]


@dataclass(frozen=True)
class CheckedGroup:
    """The managed security group as a reconcile that read it left it: its ingress was exactly TCP 443
    from ``cidrs`` (the VPC's CIDR blocks then) at ``checked_at`` (epoch seconds)."""

    group_id: str
    cidrs: tuple[str, ...]
    checked_at: int


@dataclass(frozen=True)
class Mark:
    """What the state table keeps per VPC: when its last successful reconcile started, and what the last
    read of its managed security group found."""

    reconciled_from: int | None = None  # epoch milliseconds
    group: CheckedGroup | None = None
    failures: int = 0  # reconciles of the VPC that failed since its last success
    released_at: int | None = None  # epoch seconds: endpoint-guard stood aside for its owner's delete
    # When the last reconcile that read the workloads and judged their pulls started (epoch ms): what
    # covers an event about the paths (a plain reconcile does not).
    paths_from: int | None = None
    # Whether its last reconcile deferred the S3 gateway on a route table (the state table then also
    # holds what it deferred, for the maintenance window).
    deferred: bool = False

    def group_to_trust(self, now: int, recheck_seconds: int) -> CheckedGroup | None:
        """The group's last read, while it is younger than ``recheck_seconds``: an older one (or 0 to
        always read) makes the reconcile read the group again and repair its rules if they drifted."""
        if self.group is None or now - self.group.checked_at >= recheck_seconds:
            return None
        return self.group


@dataclass(frozen=True)
class DnsDrift:
    """A call turned the VPC's DNS attributes off (a CloudTrail ``ModifyVpcAttribute``): who made it, and
    when endpoint-guard last turned them back on (epoch milliseconds), if it ever did. It turns them on
    again once; a second time it reports who fights it instead (never a loop with someone's IaC)."""

    changed_by: str | None = None
    restored_at: int | None = None


@dataclass(frozen=True)
class ServiceOffer:
    """A service as DescribeVpcEndpointServices reports it: the real name and the AZs it is offered in."""

    short: str
    service_name: str
    type: str
    azs: frozenset[str]
    # SupportedIpAddressTypes (ipv4, ipv6): what IP address types its endpoints may take here.
    ip_types: frozenset[str] = frozenset({"ipv4"})


@dataclass(frozen=True)
class Snapshot:
    """Everything one reconcile needs to know about one VPC.

    Facts that are only read when needed (``dns_*``, ``security_group_read``, ``enis``) are None while unread.
    """

    vpc_id: str
    region: str
    partition: str
    cidrs_v4: tuple[str, ...]
    cidrs_v6: tuple[str, ...]
    subnets: tuple[Subnet, ...]
    route_tables: tuple[RouteTable, ...]
    endpoints: tuple[Endpoint, ...]
    offers: dict[str, ServiceOffer] = field(default_factory=dict)
    dns_support: bool | None = None
    dns_hostnames: bool | None = None
    security_group_read: bool = False
    security_group: SecurityGroup | None = None
    # True when the group's rules were not read but taken from an earlier read (decide.trusted_group).
    security_group_trusted: bool = False
    # A group with endpoint-guard's name that endpoint-guard did not make (no ManagedBy tag): its id.
    security_group_clash: str | None = None
    enis: tuple[NetworkInterface, ...] | None = None
    # Set when the reconcile answers a DNS-off event (the attributes are then always read).
    dns_drift: DnsDrift | None = None
    # The VPC's ways out being set up (``egress_being_set_up``), read only when new interface endpoints
    # would otherwise go to the isolated tier; None while unread.
    egress_pending: tuple[str, ...] | None = None
    # The subnets ECS workloads are configured to run in (services, standalone tasks, container
    # instances), when they were read (the pull path's reads); None while unread.
    workload_subnets: frozenset[str] | None = None
    # Interface services a private hosted zone of the VPC names (a transit-gateway VPC reaching central
    # endpoints: reconcile.central): service -> "<zone> (<id>)"; None while unread.
    central_zones: dict[str, str] | None = None
    # The deferred route tables whose interruption someone accepted (``ensure --apply-deferred``, an
    # approved maintenance window): the gateway goes on them although workloads run there. ALL_TABLES
    # accepts every one.
    apply_deferred: frozenset[str] = frozenset()
    # The route tables as AWS described them (the ways out being set up are read against their routes).
    raw_route_tables: tuple[Raw, ...] = field(default=(), repr=False, compare=False)

    def accepts_interruption(self, route_table_id: str) -> bool:
        return ALL_TABLES in self.apply_deferred or route_table_id in self.apply_deferred

    def subnet(self, subnet_id: str) -> Subnet | None:
        return next((s for s in self.subnets if s.subnet_id == subnet_id), None)

    @property
    def cidrs(self) -> tuple[str, ...]:
        return self.cidrs_v4 + self.cidrs_v6


ALL_TABLES = "*"  # in ``Snapshot.apply_deferred``: every deferred route table


def tags_of(resource: Raw) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or resource.get("TagSet") or []}


def tag_flag(resource: Raw, key: str) -> bool | None:
    """A true/false tag: True or False when it says so (any case, yes/no too), None when absent or unclear."""
    value = tags_of(resource).get(key, "").strip().lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    return None


def ignored(vpc: Raw) -> bool:
    """Whether the VPC's owner asked endpoint-guard to stand aside (``endpoint-guard:ignore = true``)."""
    return tag_flag(vpc, IGNORE_TAG) is True


_DEFAULT_ROUTES = ("0.0.0.0/0", "::/0")


def tier_of(routes: Iterable[Raw]) -> str:
    """The tier a route table gives its subnets, from its active default routes (IPv4 or IPv6): an
    internet gateway makes them public; any other target (NAT gateway, transit gateway, instance, ENI,
    firewall or Gateway Load Balancer endpoint, egress-only gateway, peering, virtual private gateway)
    private with egress; none, or only blackholes, isolated."""
    targets = [
        r
        for r in routes
        if (r.get("DestinationCidrBlock") in _DEFAULT_ROUTES or r.get("DestinationIpv6CidrBlock") in _DEFAULT_ROUTES)
        and r.get("State", "active") == "active"
    ]
    if any(str(r.get("GatewayId", "")).startswith("igw-") for r in targets):
        return TIER_PUBLIC
    return TIER_PRIVATE if targets else TIER_ISOLATED


def is_managed(resource: Raw) -> bool:
    return tags_of(resource).get(MANAGED_BY_TAG) == MANAGED_BY_VALUE


def vpc_cidrs(vpc: Raw) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The VPC's associated IPv4 and IPv6 CIDR blocks."""
    v4 = [
        a["CidrBlock"]
        for a in vpc.get("CidrBlockAssociationSet", [])
        if a.get("CidrBlockState", {}).get("State", "associated") == "associated"
    ] or ([vpc["CidrBlock"]] if vpc.get("CidrBlock") else [])
    v6 = [
        a["Ipv6CidrBlock"]
        for a in vpc.get("Ipv6CidrBlockAssociationSet", [])
        if a.get("Ipv6CidrBlockState", {}).get("State", "associated") == "associated" and a.get("Ipv6CidrBlock")
    ]
    return tuple(sorted(set(v4))), tuple(sorted(set(v6)))


def cidrs_from_route_tables(route_tables: Iterable[Raw]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The VPC's IPv4 and IPv6 CIDR blocks, from the ``local`` routes every route table of a VPC has for
    each associated block. Saves a DescribeVpcs on every reconcile."""
    v4: set[str] = set()
    v6: set[str] = set()
    for rt in route_tables:
        for route in rt.get("Routes", []):
            if route.get("GatewayId") != "local":
                continue
            if route.get("DestinationCidrBlock"):
                v4.add(route["DestinationCidrBlock"])
            if route.get("DestinationIpv6CidrBlock"):
                v6.add(route["DestinationIpv6CidrBlock"])
    return tuple(sorted(v4)), tuple(sorted(v6))


def route_tables_from_api(route_tables: Iterable[Raw], subnets: Iterable[Raw]) -> tuple[RouteTable, ...]:
    """Route tables with the subnets each one routes for (the main table takes the unassociated ones).

    Gateway route tables (edge associations with an internet or virtual private gateway) route no subnet
    traffic and are left out: a gateway endpoint does not belong on them.
    """
    subnet_ids = sorted(s["SubnetId"] for s in subnets)
    explicit: dict[str, str] = {}
    tables = []
    for rt in route_tables:
        assocs = [
            a
            for a in rt.get("Associations", [])
            if a.get("AssociationState", {}).get("State", "associated") == "associated"
        ]
        if assocs and all(a.get("GatewayId") for a in assocs):
            continue
        for a in assocs:
            if a.get("SubnetId"):
                explicit[a["SubnetId"]] = rt["RouteTableId"]
        tables.append(rt)
    result = []
    for rt in tables:
        main = any(a.get("Main") for a in rt.get("Associations", []))
        routed = [
            sid for sid in subnet_ids if explicit.get(sid) == rt["RouteTableId"] or (main and sid not in explicit)
        ]
        result.append(RouteTable(rt["RouteTableId"], main, tuple(routed), tier_of(rt.get("Routes", []))))
    return tuple(sorted(result, key=lambda t: t.route_table_id))


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


# How long after its creation a NAT gateway or transit gateway attachment that no route uses yet is taken
# as a way out being set up (a pipeline adds the route once the gateway is available, minutes later).
EGRESS_SETUP_SECONDS = 3600


def egress_being_set_up(
    nat_gateways: Iterable[Raw], attachments: Iterable[Raw], route_tables: Iterable[Raw], now: datetime.datetime
) -> tuple[str, ...]:
    """The NAT gateways and transit gateway attachments of the VPC, made in the last EGRESS_SETUP_SECONDS,
    that no route of the VPC uses yet: the route that will use one is on its way, and it decides which
    subnets are the private tier."""
    used = {
        target
        for rt in route_tables
        for route in rt.get("Routes", [])
        for target in (route.get("NatGatewayId"), route.get("TransitGatewayId"))
        if target
    }

    def fresh(created: Any) -> bool:
        return isinstance(created, datetime.datetime) and (now - created).total_seconds() < EGRESS_SETUP_SECONDS

    found = [
        str(n["NatGatewayId"])
        for n in nat_gateways
        if n.get("State") in ("pending", "available") and n["NatGatewayId"] not in used and fresh(n.get("CreateTime"))
    ]
    found += [
        str(a["TransitGatewayAttachmentId"])
        for a in attachments
        if a.get("State") in ("pendingAcceptance", "pending", "available")
        and a.get("TransitGatewayId") not in used
        and fresh(a.get("CreationTime"))
    ]
    return tuple(sorted(found))


def subnets_from_api(subnets: Iterable[Raw], route_tables: tuple[RouteTable, ...]) -> tuple[Subnet, ...]:
    by_subnet = {sid: rt for rt in route_tables for sid in rt.subnet_ids}
    result = []
    for s in subnets:
        rt = by_subnet.get(s["SubnetId"])
        result.append(
            Subnet(
                subnet_id=s["SubnetId"],
                az=s["AvailabilityZone"],
                cidr=s.get("CidrBlock") or "",
                route_table_id=rt.route_table_id if rt else None,
                tier=rt.tier if rt else TIER_ISOLATED,
                free_addresses=_count(s.get("AvailableIpAddressCount")),
                placement=tag_flag(s, PLACEMENT_TAG),
                ipv6_only=bool(s.get("Ipv6Native")),
                dual_stack=bool(s.get("CidrBlock")) and _has_ipv6(s),
            )
        )
    return tuple(sorted(result, key=lambda s: s.subnet_id))


_IPV6_GONE = ("disassociating", "disassociated", "failing", "failed")


def _has_ipv6(subnet: Raw) -> bool:
    """An IPv6 CIDR associated (or being associated) with the subnet."""
    return any(
        a.get("Ipv6CidrBlock") and str((a.get("Ipv6CidrBlockState") or {}).get("State", "")) not in _IPV6_GONE
        for a in subnet.get("Ipv6CidrBlockAssociationSet") or []
    )


def endpoint_from_api(ep: Raw) -> Endpoint:
    return Endpoint(
        endpoint_id=ep["VpcEndpointId"],
        service_name=ep.get("ServiceName") or "",  # VPC Lattice's endpoints have none
        type=ep.get("VpcEndpointType", "Interface"),
        state=ep.get("State", "available"),
        subnet_ids=tuple(sorted(ep.get("SubnetIds", []))),
        route_table_ids=tuple(sorted(ep.get("RouteTableIds", []))),
        private_dns=bool(ep.get("PrivateDnsEnabled", False)),
        group_ids=tuple(sorted(g["GroupId"] for g in ep.get("Groups", []))),
        eni_ids=tuple(sorted(ep.get("NetworkInterfaceIds", []))),
        policy=ep.get("PolicyDocument"),
        managed=is_managed(ep),
        purpose=tags_of(ep).get(PURPOSE_TAG, "") if is_managed(ep) else "",
        service_region=ep.get("ServiceRegion") or None,
        ip_address_type=(ep.get("IpAddressType") or None),
    )


def eni_from_api(eni: Raw) -> NetworkInterface:
    return NetworkInterface(
        eni_id=eni["NetworkInterfaceId"],
        subnet_id=eni.get("SubnetId", ""),
        status=eni.get("Status", ""),
        interface_type=eni.get("InterfaceType", "interface"),
        description=eni.get("Description") or "",
        instance_id=(eni.get("Attachment") or {}).get("InstanceId"),
        requester_managed=bool(eni.get("RequesterManaged", False)),
    )


def security_group_from_api(group: Raw) -> SecurityGroup:
    rules = set()
    for perm in group.get("IpPermissions", []):
        proto = str(perm.get("IpProtocol", "-1"))
        for r in perm.get("IpRanges", []):
            rules.add(IngressRule(proto, perm.get("FromPort"), perm.get("ToPort"), r["CidrIp"]))
        for r in perm.get("Ipv6Ranges", []):
            rules.add(IngressRule(proto, perm.get("FromPort"), perm.get("ToPort"), r["CidrIpv6"]))
    return SecurityGroup(group["GroupId"], frozenset(rules))


def offer_from_api(short: str, detail: Raw) -> ServiceOffer:
    types = [t["ServiceType"] for t in detail.get("ServiceType", [])]
    return ServiceOffer(
        short=short,
        service_name=detail["ServiceName"],
        type=types[0] if types else "Interface",
        azs=frozenset(detail.get("AvailabilityZones", [])),
        ip_types=frozenset(str(t).lower() for t in detail.get("SupportedIpAddressTypes") or ["ipv4"]),
    )

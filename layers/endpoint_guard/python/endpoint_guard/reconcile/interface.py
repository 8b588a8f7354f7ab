"""Interface endpoints (ecr.dkr, ecr.api, logs, and the extras): one subnet per offered AZ, private DNS,
the managed security group (pure)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from endpoint_guard.model import TIER_ISOLATED, Endpoint, ServiceOffer, Snapshot
from endpoint_guard.profile import INTERFACE, ServiceSpec
from endpoint_guard.reconcile.actions import (
    COMPLIANT,
    CREATE,
    DEFERRED,
    MODIFY,
    SECURITY_GROUP_NAME,
    SECURITY_GROUP_REF,
    TARGET_SECURITY_GROUP,
    TARGET_VPC,
    WAITING,
    Action,
    EndpointDecision,
    Operation,
)
from endpoint_guard.reconcile.rules import (
    adopted_reason,
    begin,
    candidates,
    choose_subnets,
    create_token,
    endpoint_tags,
    full_azs,
    ip_address_type,
    live,
    may_change,
    placement_tier,
    unmanaged_gaps,
)
from endpoint_guard.reconcile.workloads import workloads_by_subnet
from endpoint_guard.settings import Settings

Decided = tuple[EndpointDecision, list[Action]]


@dataclass
class Room:
    """The subnets' free addresses as one plan spends them: an interface endpoint takes one address in
    each of its subnets, so the services planned first may fill a small subnet. ``committed``: addresses
    this plan takes per subnet; ``skipped``: per AZ, the full candidate subnets and the services that
    leave the AZ out for want of an address."""

    committed: Counter[str] = field(default_factory=Counter)
    skipped: dict[str, tuple[tuple[str, ...], list[str]]] = field(default_factory=dict)

    def spend(self, actions: list[Action]) -> None:
        for action in actions:
            self.committed.update(action.params.get("SubnetIds") or action.params.get("AddSubnetIds") or ())

    def skip(self, service: str, full: dict[str, tuple[str, ...]]) -> None:
        for az, subnets in full.items():
            self.skipped.setdefault(az, (subnets, []))[1].append(service)

    def findings(self) -> list[str]:
        return [
            f"no free address in {', '.join(subnets)} ({az}): {', '.join(services)} leave {az} out until one is "
            "freed (an interface endpoint takes one address in each subnet); tasks there reach them across AZs"
            for az, (subnets, services) in sorted(self.skipped.items())
        ]


def plan_interface(
    snapshot: Snapshot, spec: ServiceSpec, settings: Settings, dns_ok: bool, room: Room | None = None
) -> Decided:
    """The decision for one interface service, and the action that carries it out (if any). ``room``:
    the addresses the plan's earlier services took (updated with this one's)."""
    room = room if room is not None else Room()
    decision, actions = _plan_interface(snapshot, spec, settings, dns_ok, room)
    room.spend(actions)
    return decision, actions


def _plan_interface(snapshot: Snapshot, spec: ServiceSpec, settings: Settings, dns_ok: bool, room: Room) -> Decided:
    decision, offer = begin(snapshot, spec)
    if offer is None:
        return decision, []
    existing = live(snapshot, offer.service_name, INTERFACE)
    central = (snapshot.central_zones or {}).get(spec.short)
    if central and not existing:  # reconcile.central: a local one would clash with the zone's name
        decision.outcome = COMPLIANT
        decision.reason = (
            f"provided centrally: the private hosted zone {central} associated with the VPC answers for it "
            "(endpoints shared through the transit gateway); no local endpoint"
        )
        return decision, []
    if not snapshot.subnets:
        decision.outcome = WAITING
        decision.reason = "the VPC has no subnets yet; the endpoint is placed once they exist"
        if existing:
            decision.endpoint_id, decision.managed = existing[0].endpoint_id, existing[0].managed
        return decision, []
    busy = workloads_by_subnet(snapshot.enis or (), snapshot.endpoints)
    hosting = {sid for e in snapshot.endpoints if e.live and e.type == INTERFACE for sid in e.subnet_ids}
    ipv6 = "ipv6" in offer.ip_types
    chosen = choose_subnets(snapshot.subnets, offer.azs, busy, hosting, room.committed, ipv6)
    setting_up = _egress_setting_up(snapshot, offer.azs)
    if setting_up:  # no new placement until the route that decides the private tier is in
        chosen = {}
    full = full_azs(snapshot.subnets, offer.azs, room.committed)
    covered = {s.az for sid in (existing[0].subnet_ids if existing else ()) if (s := snapshot.subnet(sid))}
    ipv6_only = _ipv6_only_azs(snapshot, offer.azs, covered, ipv6)
    if existing:
        full = {az: subnets for az, subnets in full.items() if az not in covered}
        if full and may_change(existing[0], settings):
            room.skip(spec.short, full)
        decision, actions = _keep(snapshot, spec, settings, dns_ok, decision, existing[0], chosen)
        return _note(_note_ipv6_only(decision, ipv6_only), setting_up), actions
    if setting_up:
        decision.outcome, decision.reason = WAITING, setting_up
        return decision, []
    room.skip(spec.short, full)
    if not chosen:
        decision.outcome = WAITING
        if full:
            decision.reason = (
                f"no free address in the subnets it would use ({', '.join(sorted(set().union(*full.values())))})"
            )
        elif not ipv6_only:
            decision.reason = f"no subnet of the VPC is in an AZ where {spec.short} is offered"
        return _note_ipv6_only(decision, ipv6_only), []
    decision, actions = _create(snapshot, spec, offer, dns_ok, decision, chosen)
    return _note_ipv6_only(decision, ipv6_only), actions


def _ipv6_only_azs(snapshot: Snapshot, azs: frozenset[str], covered: set[str], ipv6: bool = False) -> list[str]:
    """The offered AZs not covered where the placement tier's subnets are all IPv6-only (no candidate)."""
    tier = placement_tier(snapshot.subnets, azs, ipv6)
    found = {s.az for s in snapshot.subnets if s.ipv6_only and s.az in azs and tier in (None, s.tier)}
    return sorted(found - covered - set(candidates(snapshot.subnets, azs, ipv6)))


def _egress_setting_up(snapshot: Snapshot, azs: frozenset[str]) -> str:
    """Why new placements wait, when they would go to the isolated tier while a way out of the VPC is
    being set up (``Snapshot.egress_pending``): its route will make the subnets behind it the private
    tier, where the endpoints belong, and its event (CreateRoute) starts the next reconcile. Empty
    when they need not wait."""
    if not snapshot.egress_pending or placement_tier(snapshot.subnets, azs) != TIER_ISOLATED:
        return ""
    return (
        f"waits for the route to {', '.join(snapshot.egress_pending)} (being set up, not routed yet): that "
        "route decides which subnets are the private tier, where the endpoint goes"
    )


def _note(decision: EndpointDecision, note: str) -> EndpointDecision:
    if note:
        decision.reason = "; ".join(filter(None, [decision.reason, note]))
    return decision


def _note_ipv6_only(decision: EndpointDecision, azs: list[str]) -> EndpointDecision:
    """An AZ whose only subnets are IPv6-only gets no (IPv4) endpoint: said in the reason, not a gap."""
    if not azs:
        return decision
    return _note(
        decision,
        f"no endpoint in {', '.join(azs)}: the subnets there it could use are IPv6-only (an IPv4 endpoint "
        "needs an IPv4 CIDR)",
    )


def _group_id(snapshot: Snapshot) -> str:
    return snapshot.security_group.group_id if snapshot.security_group else SECURITY_GROUP_REF


def _create(
    snapshot: Snapshot,
    spec: ServiceSpec,
    offer: ServiceOffer,
    dns_ok: bool,
    decision: EndpointDecision,
    chosen: dict[str, str],
) -> Decided:
    subnet_ids = tuple(chosen.values())
    want_dns = spec.private_dns and dns_ok
    decision.outcome, decision.managed = CREATE, True
    decision.subnet_ids, decision.availability_zones = subnet_ids, tuple(chosen)
    decision.private_dns = want_dns
    if spec.private_dns and not want_dns:
        decision.reason = "created without private DNS: the VPC's DNS attributes are off"
    group_label = snapshot.security_group.group_id if snapshot.security_group else SECURITY_GROUP_NAME
    requires = (TARGET_SECURITY_GROUP,) + ((TARGET_VPC,) if want_dns else ())
    ip_type = ip_address_type((s for sid in subnet_ids if (s := snapshot.subnet(sid))), offer.ip_types)
    action = Action(
        kind="create_interface_endpoint",
        target=spec.short,
        description=(
            f"create {offer.service_name} Interface endpoint in {', '.join(subnet_ids)} "
            f"({', '.join(chosen)}), private DNS {'on' if want_dns else 'off'}, security group {group_label}"
            + (f", IP address type {ip_type}" if ip_type != "ipv4" else "")
        ),
        operation=Operation.CREATE_VPC_ENDPOINT,
        params={
            "VpcEndpointType": INTERFACE,
            "VpcId": snapshot.vpc_id,
            "ServiceName": offer.service_name,
            "SubnetIds": list(subnet_ids),
            "SecurityGroupIds": [_group_id(snapshot)],
            "PrivateDnsEnabled": want_dns,
            "ClientToken": create_token(snapshot, offer.service_name, *subnet_ids),
            "TagSpecifications": endpoint_tags(spec, snapshot.vpc_id),
            # IPv4 is AWS's default: only a dual-stack or IPv6 endpoint names its type (and its DNS records').
            **({"IpAddressType": ip_type, "DnsOptions": {"DnsRecordIpType": ip_type}} if ip_type != "ipv4" else {}),
        },
        requires=requires,
    )
    return decision, [action]


def _keep(
    snapshot: Snapshot,
    spec: ServiceSpec,
    settings: Settings,
    dns_ok: bool,
    decision: EndpointDecision,
    endpoint: Endpoint,
    chosen: dict[str, str],
) -> Decided:
    """An endpoint of the service exists: find its gaps, and fix them when it is ours to change."""
    decision.endpoint_id, decision.managed = endpoint.endpoint_id, endpoint.managed
    decision.private_dns = endpoint.private_dns
    covered = {s.az for sid in endpoint.subnet_ids if (s := snapshot.subnet(sid))}
    add = {az: sid for az, sid in chosen.items() if az not in covered}
    decision.subnet_ids = tuple(sorted(set(endpoint.subnet_ids) | set(add.values())))
    decision.availability_zones = tuple(sorted(covered | set(add)))
    gaps, params = _gaps(snapshot, spec, dns_ok, endpoint, add)
    if not gaps:
        decision.reason = adopted_reason(endpoint)
        return decision, []
    if not may_change(endpoint, settings):
        decision.outcome = DEFERRED
        decision.reason = unmanaged_gaps(endpoint, gaps)
        return decision, []
    if len(params) == 1:  # the only gap is private DNS, which the VPC's DNS attributes do not allow
        decision.outcome = COMPLIANT
        decision.reason = "private DNS is off and the VPC's DNS attributes do not allow turning it on"
        return decision, []
    decision.outcome = MODIFY
    decision.reason = "; ".join(gaps)
    if params.get("PrivateDnsEnabled"):
        decision.private_dns = True
    requires = ((TARGET_SECURITY_GROUP,) if "AddSecurityGroupIds" in params else ()) + (
        (TARGET_VPC,) if params.get("PrivateDnsEnabled") else ()
    )
    action = Action(
        kind="modify_interface_endpoint",
        target=spec.short,
        description=f"update {endpoint.endpoint_id} ({spec.short}): " + "; ".join(gaps),
        operation=Operation.MODIFY_VPC_ENDPOINT,
        params=params,
        requires=requires,
    )
    return decision, [action]


def _gaps(
    snapshot: Snapshot, spec: ServiceSpec, dns_ok: bool, endpoint: Endpoint, add: dict[str, str]
) -> tuple[list[str], dict[str, Any]]:
    """What an existing endpoint lacks, and the ModifyVpcEndpoint parameters that add it."""
    gaps: list[str] = []
    params: dict[str, Any] = {"VpcEndpointId": endpoint.endpoint_id}
    if add:
        gaps.append("missing AZ(s) " + ", ".join(add))
        params["AddSubnetIds"] = list(add.values())
    if spec.private_dns and not endpoint.private_dns:
        gaps.append("private DNS is off")
        if dns_ok:
            params["PrivateDnsEnabled"] = True
    if endpoint.managed and snapshot.security_group_read and _group_id(snapshot) not in endpoint.group_ids:
        gaps.append("the managed security group is not attached")
        params["AddSecurityGroupIds"] = [_group_id(snapshot)]
    return gaps, params

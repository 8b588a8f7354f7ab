"""What to read beyond the core read, and when an earlier read of the managed group still stands
(pure). Reading only what the plan needs keeps a compliant VPC cheap."""

from __future__ import annotations

from collections.abc import Iterable

from endpoint_guard.model import TIER_ISOLATED, CheckedGroup, SecurityGroup, ServiceOffer, Snapshot
from endpoint_guard.profile import GATEWAY, INTERFACE, ServiceSpec
from endpoint_guard.reconcile.actions import FACT_DNS, FACT_EGRESS, FACT_ENIS, FACT_SECURITY_GROUP, FACT_ZONES
from endpoint_guard.reconcile.central import routes_to_transit_gateway
from endpoint_guard.reconcile.rules import ambiguous, candidates, live, may_change, placement_tier
from endpoint_guard.reconcile.security_group import desired_ingress
from endpoint_guard.settings import Settings


def needs_private_dns(snapshot: Snapshot, spec: ServiceSpec, settings: Settings) -> bool:
    """Whether this run will create an endpoint with private DNS, or turn it on for an existing one."""
    offer = snapshot.offers.get(spec.short)
    if not (spec.type == INTERFACE and spec.private_dns and offer and snapshot.subnets):
        return False
    existing = live(snapshot, offer.service_name, INTERFACE)
    return not existing or (not existing[0].private_dns and may_change(existing[0], settings))


def facts_needed(snapshot: Snapshot, profile: Iterable[ServiceSpec], settings: Settings) -> set[str]:
    """Which optional facts the plan needs, given the core read: the DNS attributes when private DNS is
    about to be used (or, with ``settings.verify_dns``, whenever an endpoint relies on it); the ENIs when
    a route table may still get the S3 gateway, or when where workloads run decides a new placement; the
    ways out being set up when a new placement would go to the isolated tier (``egress_being_set_up``)."""
    needed: set[str] = set()
    for spec in profile:
        offer = snapshot.offers.get(spec.short)
        if offer is None:
            continue
        if spec.type == INTERFACE and snapshot.subnets:
            needed.add(FACT_SECURITY_GROUP)
            if needs_private_dns(snapshot, spec, settings) or (settings.verify_dns and relies_on_dns(snapshot, spec)):
                needed.add(FACT_DNS)
            if _placement_open(snapshot, offer.service_name, offer.azs):
                needed.add(FACT_ENIS)
            if _new_placement(snapshot, offer.service_name, offer.azs) and (
                placement_tier(snapshot.subnets, offer.azs) == TIER_ISOLATED
            ):
                needed.add(FACT_EGRESS)
            # A service with no endpoint here, in a VPC that routes to a transit gateway, may be provided
            # centrally (reconcile.central): its private hosted zones say (one Route 53 read).
            if (
                spec.private_dns
                and snapshot.central_zones is None
                and not live(snapshot, offer.service_name, INTERFACE)
                and routes_to_transit_gateway(snapshot.raw_route_tables)
            ):
                needed.add(FACT_ZONES)
        elif spec.type == GATEWAY and _gateway_open(snapshot, offer.service_name, settings):
            needed.add(FACT_ENIS)
    return needed


def relies_on_dns(snapshot: Snapshot, spec: ServiceSpec, *, managed_only: bool = False) -> bool:
    """Whether the VPC has an endpoint of the service (endpoint-guard's, with ``managed_only``) with
    private DNS on: it resolves only while the VPC's DNS attributes are on."""
    offer = snapshot.offers.get(spec.short)
    existing = live(snapshot, offer.service_name, INTERFACE) if offer and spec.type == INTERFACE else []
    return bool(existing and existing[0].private_dns and (existing[0].managed or not managed_only))


def _new_placement(snapshot: Snapshot, service_name: str, azs: Iterable[str]) -> bool:
    """No endpoint of the service yet, or an AZ it could be added to."""
    existing = live(snapshot, service_name, INTERFACE)
    if not existing:
        return bool(candidates(snapshot.subnets, azs))
    covered = {s.az for sid in existing[0].subnet_ids if (s := snapshot.subnet(sid))}
    return not set(candidates(snapshot.subnets, azs)) <= covered


def _placement_open(snapshot: Snapshot, service_name: str, azs: Iterable[str]) -> bool:
    """A new placement is to be made (no endpoint yet, or an AZ to add) and some AZ offers a choice."""
    return ambiguous(snapshot.subnets, azs) and _new_placement(snapshot, service_name, azs)


def _gateway_open(snapshot: Snapshot, service_name: str, settings: Settings) -> bool:
    """Whether the ENIs decide something about the gateway: a route table with egress that routes
    subnets lacks it (running workloads defer it), or an isolated one does while workloads there could
    make it wanted (they reach S3 through an S3 interface endpoint, and the setting does not already)."""
    covered = {rt for e in live(snapshot, service_name, GATEWAY) for rt in e.route_table_ids}
    open_tables = [rt for rt in snapshot.route_tables if rt.routes_subnets and rt.route_table_id not in covered]
    isolated_may = not settings.s3_gateway_on_isolated and bool(live(snapshot, service_name, INTERFACE))
    return any(rt.tier != TIER_ISOLATED or isolated_may for rt in open_tables)


def offers_from_endpoints(snapshot: Snapshot, profile: Iterable[ServiceSpec]) -> dict[str, ServiceOffer] | None:
    """The service offers, without DescribeVpcEndpointServices, when the VPC's own endpoints answer
    every question the plan would ask of them: each service of the profile has a live endpoint (so it is
    offered, under that name) and, for an interface service, the endpoint already covers every AZ that has
    a subnet it could go to (so no AZ's offer needs checking). None when an offer must be read."""
    found: dict[str, ServiceOffer] = {}
    every_az = {s.az for s in snapshot.subnets}
    for spec in profile:
        suffix = f".{snapshot.region}.{spec.short}"
        existing = sorted(
            (
                e
                for e in snapshot.endpoints
                if e.live and e.type == spec.type and e.service_name.endswith(suffix) and e.serves(snapshot.region)
            ),
            key=lambda e: (not e.managed, e.endpoint_id),
        )
        if not existing:
            return None
        covered: frozenset[str] = frozenset()
        if spec.type == INTERFACE:
            covered = frozenset(s.az for sid in existing[0].subnet_ids if (s := snapshot.subnet(sid)))
            if not set(candidates(snapshot.subnets, every_az)) <= covered:
                return None
        found[spec.short] = ServiceOffer(spec.short, existing[0].service_name, spec.type, covered)
    return found


def trusted_group(
    snapshot: Snapshot, profile: Iterable[ServiceSpec], checked: CheckedGroup | None
) -> SecurityGroup | None:
    """The managed security group without a DescribeSecurityGroups, or None when it must be read.

    ``checked`` is what an earlier reconcile read (the caller decides how old it may be). It stands for
    the group while nothing this snapshot shows can have made it wrong: the VPC has the same CIDR blocks,
    and every interface endpoint of the profile exists, and carries the group when it is ours (AWS does
    not delete a group that endpoints use). What it cannot see is a hand edit of the group's rules; a
    read, at the latest when ``checked`` is too old, repairs that.
    """
    if checked is None or checked.cidrs != snapshot.cidrs:
        return None
    for spec in profile:
        offer = snapshot.offers.get(spec.short)
        if spec.type != INTERFACE or offer is None:
            continue
        existing = live(snapshot, offer.service_name, INTERFACE)
        if not existing or (existing[0].managed and checked.group_id not in existing[0].group_ids):
            return None
    return SecurityGroup(checked.group_id, desired_ingress(snapshot))

"""Small rules every endpoint decision shares: which existing endpoint counts, whether it may be
changed, where an interface endpoint goes, and how creates are tagged and tokened (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from endpoint_guard.model import TIER_ISOLATED, TIER_PRIVATE, TIER_PUBLIC, Endpoint, ServiceOffer, Snapshot, Subnet
from endpoint_guard.profile import ServiceSpec
from endpoint_guard.reconcile.actions import COMPLIANT, FAILED, EndpointDecision, client_token, managed_tags
from endpoint_guard.settings import ADOPT_MODIFY, Settings


def live(snapshot: Snapshot, service_name: str, type_: str, purpose: str = "") -> list[Endpoint]:
    """The VPC's live endpoints of a service (for its main purpose, unless ``purpose`` names another: the
    layers-only S3 gateway is not the S3 gateway). Our own first, then the oldest id: the one we adopt is
    the same every run."""
    found = [
        e
        for e in snapshot.endpoints
        if e.live
        and e.service_name == service_name
        and e.type == type_
        and e.purpose == purpose
        and e.serves(snapshot.region)
    ]
    return sorted(found, key=lambda e: (not e.managed, e.endpoint_id))


def may_change(endpoint: Endpoint, settings: Settings) -> bool:
    return endpoint.managed or settings.adopt_unmanaged == ADOPT_MODIFY


# The tiers interface endpoints may go to, best first: where the tasks run (private with egress); isolated
# only when the VPC has no private tier (the endpoints are then the only way to pull at all); public only
# when nothing else exists.
PLACEMENT_TIERS = (TIER_PRIVATE, TIER_ISOLATED, TIER_PUBLIC)


def _usable(subnets: Iterable[Subnet], offered_azs: Iterable[str], ipv6: bool = False) -> list[Subnet]:
    """The subnets an endpoint may use. IPv6-only subnets only for a service offered over IPv6, and only
    in a VPC with no other: an endpoint takes one IP address type for all its subnets (ipv6 needs them
    all IPv6-only), and the VPC's IPv4 or dual-stack subnets serve its IPv6-only ones too."""
    offered = set(offered_azs)
    subnets = [s for s in subnets if s.az in offered and s.placement is not False]
    with_ipv4 = [s for s in subnets if not s.ipv6_only]
    return with_ipv4 if with_ipv4 or not ipv6 else [s for s in subnets if s.ipv6_only]


def ip_address_type(subnets: Iterable[Subnet], ip_types: Iterable[str]) -> str:
    """The IP address type of a new interface endpoint in ``subnets``: ipv6 when they are all IPv6-only,
    dualstack when they are all dual-stack, for a service offered over IPv6 there; else ipv4."""
    chosen = list(subnets)
    if "ipv6" not in set(ip_types) or not chosen:
        return "ipv4"
    if all(s.ipv6_only for s in chosen):
        return "ipv6"
    return "dualstack" if all(s.dual_stack for s in chosen) else "ipv4"


def _best_tier(usable: list[Subnet]) -> str | None:
    return next((t for t in PLACEMENT_TIERS if any(s.tier == t for s in usable)), None)


def placement_tier(subnets: Iterable[Subnet], offered_azs: Iterable[str], ipv6: bool = False) -> str | None:
    """The tier new interface endpoints go to (see ``candidates``), pinned subnets aside."""
    return _best_tier(_usable(subnets, offered_azs, ipv6))


def candidates(subnets: Iterable[Subnet], offered_azs: Iterable[str], ipv6: bool = False) -> dict[str, list[Subnet]]:
    """Per offered AZ, the subnets an interface endpoint may go to there: the subnets pinned with the
    ``endpoint-guard:endpoints = true`` tag when the AZ has any, else the subnets of the VPC's best tier
    (one tier for the whole VPC, so every AZ gets the same kind of subnet). Subnets tagged ``false`` never;
    IPv6-only subnets only as ``_usable`` says (``ipv6``: the service is offered over IPv6)."""
    usable = _usable(subnets, offered_azs, ipv6)
    tier = _best_tier(usable)
    found: dict[str, list[Subnet]] = {}
    for s in usable:
        if s.placement or s.tier == tier:
            found.setdefault(s.az, []).append(s)
    for az, group in found.items():
        pinned = [s for s in group if s.placement]
        found[az] = pinned or group
    return {az: found[az] for az in sorted(found)}


def has_room(subnet: Subnet, committed: Mapping[str, int]) -> bool:
    """Whether ``subnet`` has a free address for one more endpoint network interface, after the ones
    this plan already puts there (``committed``). An unknown count is taken as room."""
    free = subnet.free_addresses
    return free is None or free > committed.get(subnet.subnet_id, 0)


def choose_subnets(
    subnets: Iterable[Subnet],
    offered_azs: Iterable[str],
    busy: Iterable[str] = (),
    hosting: Iterable[str] = (),
    committed: Mapping[str, int] | None = None,
    ipv6: bool = False,
) -> dict[str, str]:
    """One subnet per offered AZ, from ``candidates`` that have a free address (``has_room``; an AZ whose
    candidates are all full is left out: see ``full_azs``). Within an AZ: a subnet that already holds the
    VPC's interface endpoints (``hosting``: a new service joins them), then one where workloads run
    (``busy``), then the one with the most free addresses, then the lowest id: the same on every run of
    an unchanged VPC. (An endpoint is never moved once placed; this only decides new placements.)"""
    running, holding, spent = set(busy), set(hosting), committed or {}
    chosen = {}
    for az, group in candidates(subnets, offered_azs, ipv6).items():
        roomy = [s for s in group if has_room(s, spent)]
        if roomy:
            chosen[az] = min(
                roomy,
                key=lambda s: (
                    s.subnet_id not in holding,
                    s.subnet_id not in running,
                    -(s.free_addresses or 0),
                    s.subnet_id,
                ),
            ).subnet_id
    return chosen


def full_azs(
    subnets: Iterable[Subnet], offered_azs: Iterable[str], committed: Mapping[str, int] | None = None
) -> dict[str, tuple[str, ...]]:
    """The offered AZs whose candidate subnets have no free address left, with those subnets."""
    spent = committed or {}
    return {
        az: tuple(s.subnet_id for s in group)
        for az, group in candidates(subnets, offered_azs).items()
        if not any(has_room(s, spent) for s in group)
    }


def ambiguous(subnets: Iterable[Subnet], offered_azs: Iterable[str]) -> bool:
    """Whether some AZ has more than one candidate subnet (then where workloads run decides)."""
    return any(len(group) > 1 for group in candidates(subnets, offered_azs).values())


def begin(snapshot: Snapshot, spec: ServiceSpec) -> tuple[EndpointDecision, ServiceOffer | None]:
    """The decision for one service before any rule: failed when AWS does not offer it here."""
    decision = EndpointDecision(service=spec.short, type=spec.type, outcome=COMPLIANT)
    offer = snapshot.offers.get(spec.short)
    if offer is None:
        decision.outcome = FAILED
        decision.reason = f"the {spec.short} {spec.type} endpoint service is not offered in {snapshot.region}"
    else:
        decision.service_name = offer.service_name
    return decision, offer


def adopted_reason(endpoint: Endpoint) -> str:
    return "" if endpoint.managed else "adopted: existing endpoint not managed by endpoint-guard"


def unmanaged_gaps(endpoint: Endpoint, gaps: list[str]) -> str:
    return (
        f"existing endpoint {endpoint.endpoint_id} is not managed by endpoint-guard and has gaps: "
        + "; ".join(gaps)
        + " (set AdoptUnmanagedEndpoints=modify to let endpoint-guard fix them)"
    )


def endpoint_tags(spec: ServiceSpec, vpc_id: str) -> list[dict[str, Any]]:
    return [{"ResourceType": "vpc-endpoint", "Tags": managed_tags(f"endpoint-guard-{spec.short}-{vpc_id}")}]


def create_token(snapshot: Snapshot, service_name: str, *placement: str) -> str:
    """The same create gets the same token (a retried Lambda never makes a second endpoint). Endpoints of
    the service that have since gone are part of it: AWS remembers a token for a while, and a re-create
    after a deletion must not be answered with the deleted endpoint."""
    gone = sorted(e.endpoint_id for e in snapshot.endpoints if not e.live and e.service_name == service_name)
    return client_token(snapshot.vpc_id, service_name, *placement, *gone)

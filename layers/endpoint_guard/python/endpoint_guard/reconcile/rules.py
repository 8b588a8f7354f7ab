"""Small rules every endpoint decision shares: which existing endpoint counts, whether it may be
changed, where an interface endpoint goes, and how creates are tagged and tokened (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from endpoint_guard.model import Endpoint, ServiceOffer, Snapshot, Subnet
from endpoint_guard.profile import ServiceSpec
from endpoint_guard.reconcile.actions import COMPLIANT, FAILED, EndpointDecision, client_token, managed_tags
from endpoint_guard.settings import ADOPT_MODIFY, Settings


def live(snapshot: Snapshot, service_name: str, type_: str) -> list[Endpoint]:
    """The VPC's live endpoints of a service. Our own first, then the oldest id: the one we adopt is
    the same every run."""
    found = [e for e in snapshot.endpoints if e.live and e.service_name == service_name and e.type == type_]
    return sorted(found, key=lambda e: (not e.managed, e.endpoint_id))


def may_change(endpoint: Endpoint, settings: Settings) -> bool:
    return endpoint.managed or settings.adopt_unmanaged == ADOPT_MODIFY


def choose_subnets(subnets: Iterable[Subnet], offered_azs: Iterable[str]) -> dict[str, str]:
    """One subnet per AZ, only in AZs where the service is offered.

    Private subnets (no route to an internet gateway) win; ties go to the lowest subnet id, so the choice
    is the same on every run.
    """
    offered = set(offered_azs)
    best: dict[str, Subnet] = {}
    for s in subnets:
        if s.az not in offered:
            continue
        current = best.get(s.az)
        if current is None or (s.public, s.subnet_id) < (current.public, current.subnet_id):
            best[s.az] = s
    return {az: best[az].subnet_id for az in sorted(best)}


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

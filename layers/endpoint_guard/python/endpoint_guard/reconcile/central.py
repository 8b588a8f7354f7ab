"""Central endpoints (pure): a VPC attached to a transit gateway may reach interface endpoints hosted in
a central VPC (the Landing Zone Accelerator pattern). They are named to it by a private hosted zone for
the service's private DNS name, associated with the VPC. Such a service is provided centrally: compliant
when the zone answers, never duplicated locally (AWS would refuse the local endpoint's private DNS, the
name being taken), and the pull path follows the zone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Raw = dict[str, Any]


def private_dns_name(short: str, region: str) -> str:
    """The name a service's interface endpoint answers with private DNS on (ECR's are the odd ones)."""
    if short in ("ecr.dkr", "ecr.api"):
        return f"{short.split('.')[1]}.ecr.{region}.amazonaws.com"
    return f"{short}.{region}.amazonaws.com"


def routes_to_transit_gateway(raw_route_tables: Iterable[Mapping[str, Any]]) -> bool:
    return any(r.get("TransitGatewayId") for t in raw_route_tables for r in t.get("Routes", []))


def central_services(zones: Iterable[Raw], services: Iterable[str], region: str) -> dict[str, str]:
    """service -> "<zone name> (<zone id>)" for each service a private hosted zone of the VPC names: the
    zone of the service's own name, or of a name it sits under (``ecr.<region>.amazonaws.com`` names both
    of ECR's), never one as wide as a Region's whole ``<region>.amazonaws.com``."""
    named = []
    for zone in zones:
        name = str(zone.get("Name", "")).rstrip(".").lower()
        if name and name not in ("amazonaws.com", f"{region}.amazonaws.com"):
            zone_id = str(zone.get("HostedZoneId") or zone.get("Id", "")).rsplit("/", 1)[-1]
            named.append((name, zone_id))
    found = {}
    for short in services:
        wanted = private_dns_name(short, region)
        for name, zone_id in sorted(named, key=lambda z: -len(z[0])):
            if wanted == name or wanted.endswith("." + name):
                found[short] = f"{name} ({zone_id})"
                break
    return found

"""The endpoint profile: which services a VPC must have endpoints for. Data, not code (catalog.json)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from endpoint_guard.errors import ConfigurationError

INTERFACE = "Interface"
GATEWAY = "Gateway"


@dataclass(frozen=True)
class ServiceSpec:
    """One service of the profile. ``short`` is the name after the region (``ecr.dkr``)."""

    short: str
    type: str
    private_dns: bool
    why: str = ""


@cache
def _catalog() -> dict[str, Any]:
    catalog: dict[str, Any] = json.loads(resources.files("endpoint_guard").joinpath("catalog.json").read_text())
    return catalog


def known_services() -> tuple[str, ...]:
    """Every service endpoint-guard can place, in creation order."""
    return tuple(_catalog()["services"])


def load_profile(extra_services: tuple[str, ...] = ()) -> tuple[ServiceSpec, ...]:
    """The default profile plus ``extra_services``, in catalogue order, each service once.

    Raises ConfigurationError for a service the catalogue does not know.
    """
    catalog = _catalog()
    unknown = [name for name in extra_services if name not in catalog["services"]]
    if unknown:
        raise ConfigurationError(f"unknown service(s) {', '.join(unknown)}; known: {', '.join(known_services())}")
    return specs(set(catalog["default_profile"]) | set(extra_services))


def specs(names: Iterable[str]) -> tuple[ServiceSpec, ...]:
    """The catalogue's specs of ``names`` (known ones), in catalogue order."""
    catalog, wanted = _catalog(), set(names)
    return tuple(
        ServiceSpec(short=name, type=spec["type"], private_dns=spec["private_dns"], why=spec["why"])
        for name, spec in catalog["services"].items()
        if name in wanted
    )


def interface_services(extra_services: tuple[str, ...] = ()) -> list[str]:
    """The profile's Interface services (what a migration target gets besides the S3 gateway)."""
    return [s.short for s in load_profile(extra_services) if s.type == INTERFACE]


def commercial_regions() -> dict[str, str]:
    """The commercial Regions (code: name) the catalogue lists: the ones the prices should cover."""
    regions: dict[str, str] = _catalog()["regions"]
    return regions

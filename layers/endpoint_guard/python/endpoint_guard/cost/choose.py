"""The cost-aware profile's decision (pure): which interface endpoints a VPC gets, from its cost
object's per-service verdicts. The S3 gateway is always in (free). An interface endpoint is added when
it is required (no other path out) or pays with a margin; one that is there already stays (endpoint-
guard never removes an endpoint on its own); one of its own that clearly does not pay is only named
``prunable`` (removed by hand, ``endpoint-guard ensure --prune``). The margins keep a VPC near its
break-even from flapping: added above 1.25x, prunable below 0.75x."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ADD_ABOVE = 1.25
PRUNE_BELOW = 0.75


@dataclass(frozen=True)
class Choice:
    wanted: tuple[str, ...]  # the interface services the VPC gets
    left_out: dict[str, str] = field(default_factory=dict)  # service -> why not
    prunable: tuple[str, ...] = ()  # endpoint-guard's own endpoints that clearly do not pay

    def document(self) -> dict[str, Any]:
        return {
            "profile": "cost-aware",
            "interface_services": list(self.wanted),
            "left_out": dict(self.left_out),
            "prunable": list(self.prunable),
        }


def choose(services: list[dict[str, Any]], present: Iterable[str], own: Iterable[str]) -> Choice:
    """``services``: the cost object's ``services``; ``present``: services with an endpoint in the VPC
    (anyone's); ``own``: those whose endpoint endpoint-guard made."""
    present, own = set(present), set(own)
    wanted, left_out, prunable = [], {}, []
    for row in services:
        if row["verdict"] == "free":
            continue
        name, monthly, avoided = row["service"], row["monthly_usd"], row["nat_processing_avoided_monthly_usd"]
        if row["verdict"] == "required" or name in present or avoided >= monthly * ADD_ABOVE:
            wanted.append(name)
        else:
            left_out[name] = (
                f"does not pay here: ${monthly:,.2f} a month for ${avoided:,.2f} of NAT processing "
                f"(added when that passes ${monthly * ADD_ABOVE:,.2f})"
            )
        if name in own and row["verdict"] != "required" and avoided < monthly * PRUNE_BELOW:
            prunable.append(name)
    return Choice(tuple(wanted), left_out, tuple(prunable))

"""Do the endpoints pay for themselves? Pure arithmetic over prices (data, with their date and source)
and a traffic figure whose source is always named.

The interface endpoints cost per AZ-hour whether used or not, plus per GB; the S3 gateway is free. What
they save is the NAT gateway's per-GB processing of the traffic they take over. The estimate counts all
of the traffic as processed by interface endpoints: image layers really go through the free S3 gateway,
so the real endpoint cost is lower and the verdict errs on the side of "does not pay off".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from endpoint_guard.errors import ConfigurationError

DEFAULT_REGION_PRICES = "us-east-1"
TRAFFIC_SOURCES = ("command-line", "nat-gateway-metrics", "ecr-image-sizes", "default")


@dataclass(frozen=True)
class Traffic:
    gb_per_month: float
    source: str  # one of TRAFFIC_SOURCES
    detail: str = ""


@cache
def _bundled() -> dict[str, Any]:
    table: dict[str, Any] = json.loads(resources.files("endpoint_guard").joinpath("prices.json").read_text())
    return table


def load_prices(path: str | None = None) -> dict[str, Any]:
    """The price table: the bundled one, or a file of the same shape (``ENDPOINT_GUARD_PRICES_FILE``)."""
    if not path:
        return _bundled()
    try:
        table = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ConfigurationError(f"cannot read prices file {path}: {err}") from err
    if not isinstance(table, dict) or not isinstance(table.get("regions"), dict) or "as_of" not in table:
        raise ConfigurationError(f"prices file {path} needs as_of, source and regions like the bundled prices.json")
    return table


def region_prices(table: dict[str, Any], region: str | None) -> tuple[dict[str, Any], str]:
    """The prices of ``region``, or us-east-1's with a note when the table does not have the region."""
    if region in table["regions"]:
        return table["regions"][region], ""
    return table["regions"][DEFAULT_REGION_PRICES], f"no prices for {region}; {DEFAULT_REGION_PRICES} prices used"


def estimate(
    interface_endpoints: int, azs: int, traffic: Traffic, region: str | None, table: dict[str, Any]
) -> dict[str, Any]:
    """The cost object of a VPC: what its interface endpoints cost a month, what they save on NAT
    processing, the break-even traffic, and the verdict."""
    prices, note = region_prices(table, region)
    hours = table.get("hours_per_month", 730)
    fixed = interface_endpoints * azs * hours * prices["endpoint_hour"]
    endpoints = fixed + traffic.gb_per_month * prices["endpoint_gb"]
    avoided = traffic.gb_per_month * prices["nat_gb"]
    saving_per_gb = prices["nat_gb"] - prices["endpoint_gb"]
    break_even = fixed / saving_per_gb if saving_per_gb > 0 else None
    pays_off = avoided > endpoints
    if interface_endpoints == 0 or azs == 0:
        verdict = "no interface endpoints to pay for"
    elif pays_off:
        verdict = f"endpoints pay off: they save ${avoided - endpoints:,.2f} a month at {traffic.gb_per_month:,.0f} GB"
    else:
        verdict = (
            f"endpoints do NOT pay off at {traffic.gb_per_month:,.0f} GB/month: they cost ${endpoints - avoided:,.2f} "
            f"a month more than the NAT processing they avoid; break-even is {break_even:,.0f} GB/month"
        )
    return {
        "interface_endpoints": interface_endpoints,
        "availability_zones": azs,
        "endpoints_monthly_usd": round(endpoints, 2),
        "nat_processing_avoided_monthly_usd": round(avoided, 2),
        "net_monthly_usd": round(avoided - endpoints, 2),
        "break_even_gb_per_month": round(break_even, 1) if break_even is not None else None,
        "traffic_gb_per_month": round(traffic.gb_per_month, 1),
        "traffic_source": traffic.source,
        "traffic_detail": traffic.detail,
        "pays_off": pays_off,
        "verdict": verdict,
        "prices_as_of": table["as_of"],
        "prices_source": table.get("source", ""),
        "prices_note": note,
    }


def traffic_from_nat_bytes(total_bytes: float, days: int) -> float:
    """GB a month from the bytes NAT gateways processed over ``days`` days."""
    return total_bytes / 1e9 * 30 / days if days else 0.0


def traffic_from_images(image_bytes: list[int], pulls: int) -> float:
    """GB a month from image sizes and the number of pulls (each started task pulls its image once;
    layers already on an EC2 host are not pulled again, so this is an upper bound there)."""
    if not image_bytes:
        return 0.0
    return sum(image_bytes) / len(image_bytes) * pulls / 1e9


def choose_traffic(
    *,
    override_gb: float | None,
    nat_gb: float | None,
    image_gb: float | None,
    default_gb: float,
    detail: dict[str, str],
) -> Traffic:
    """The first source that has a figure, in the documented order."""
    if override_gb is not None:
        return Traffic(override_gb, "command-line", "--gb-per-month")
    if nat_gb is not None:
        return Traffic(nat_gb, "nat-gateway-metrics", detail.get("nat", ""))
    if image_gb is not None:
        return Traffic(image_gb, "ecr-image-sizes", detail.get("images", ""))
    return Traffic(default_gb, "default", "ENDPOINT_GUARD_DEFAULT_GB_PER_MONTH")


def describe(cost: dict[str, Any]) -> str:
    """The cost object for a human, in four lines."""
    lines = [
        f"cost: endpoints ${cost['endpoints_monthly_usd']:,.2f}/month ({cost['interface_endpoints']} interface "
        f"endpoint(s) x {cost['availability_zones']} AZ(s)), NAT processing avoided "
        f"${cost['nat_processing_avoided_monthly_usd']:,.2f}/month",
        f"  traffic {cost['traffic_gb_per_month']:,.1f} GB/month from {cost['traffic_source']}"
        + (f" ({cost['traffic_detail']})" if cost.get("traffic_detail") else ""),
        f"  {cost['verdict']}",
        f"  prices as of {cost['prices_as_of']}" + (f"; {cost['prices_note']}" if cost.get("prices_note") else ""),
    ]
    return "\n".join(lines)

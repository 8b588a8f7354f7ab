"""Do the endpoints pay for themselves? Pure arithmetic over prices (data, with their date and source)
and a traffic figure whose source is always named.

The interface endpoints cost per AZ-hour whether used or not, plus per GB (tiered per Region); the S3
gateway is free. What each saves is the NAT gateway's per-GB processing of the traffic it takes over.
The traffic is split by path: image layers (nearly all of a pull's bytes) through the free S3 gateway,
the registry's manifests and tokens through ecr.dkr and ecr.api, and the awslogs traffic through logs.
Each service gets a verdict: the gateway is "free", an interface endpoint "required" (the workloads have
no other path out), "pays" or "does_not_pay".
"""

from __future__ import annotations

import datetime
import json
import re
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
    """The price table: the bundled one, with a file of the same shape (``ENDPOINT_GUARD_PRICES_FILE``)
    over it. The file may hold any figures: each overrides the bundle's, the rest stay (a Region it
    names gets the file's date and source unless it gives its own)."""
    if not path:
        return _bundled()
    try:
        table = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ConfigurationError(f"cannot read prices file {path}: {err}") from err
    if not isinstance(table, dict) or not isinstance(table.get("regions"), dict) or "as_of" not in table:
        raise ConfigurationError(f"prices file {path} needs as_of, source and regions like the bundled prices.json")
    if not all(isinstance(p, dict) for p in table["regions"].values()):
        raise ConfigurationError(f"prices file {path}: each Region's prices must be an object")
    return overlay(_bundled(), table)


# A per-GB figure and its tiers are one price: a file that gives one of them replaces both.
_TOGETHER = ("endpoint_gb", "endpoint_gb_tiers")


def overlay(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with every figure ``over`` gives in its place. Pure."""
    regions = {code: dict(prices) for code, prices in base["regions"].items()}
    dated = {"as_of": over["as_of"], "source": over.get("source", "")}
    for code, prices in over["regions"].items():
        kept = regions.get(code, {})
        if any(k in prices for k in _TOGETHER):
            kept = {k: v for k, v in kept.items() if k not in _TOGETHER}
        regions[code] = {**kept, **dated, **prices}
    return {**base, **{k: v for k, v in over.items() if k != "regions"}, "regions": regions}


def region_prices(table: dict[str, Any], region: str | None) -> tuple[dict[str, Any], str]:
    """The prices of ``region``, or us-east-1's with a note when the table does not have the region
    (the bundle prices every commercial Region: only another partition's, or a new one, lacks them)."""
    if region in table["regions"]:
        return table["regions"][region], ""
    return table["regions"][DEFAULT_REGION_PRICES], f"no prices for {region}; {DEFAULT_REGION_PRICES} prices used"


def cross_az_price(table: dict[str, Any], prices: dict[str, Any], region: str | None) -> tuple[float, str]:
    """Data transfer between AZs, per GB each way: the Region's figure, else AWS's general one (which
    the note says)."""
    if prices.get("cross_az_gb") is not None:
        return float(prices["cross_az_gb"]), ""
    general = float(table.get("cross_az_gb", 0.01))
    return general, f"no inter-AZ transfer price for {region}: AWS's general ${general:g}/GB each way used"


# An image pull's bytes by path. Layers (nearly all of the bytes) come from S3 through presigned URLs: the
# S3 gateway carries them for free. The registry's share (manifests, tokens) goes through ecr.dkr (the
# registry API) and ecr.api (the token). Logs are measured apart; without a measure they are taken as a
# share of the pull traffic. Estimates, named as such in each figure's source.
LAYER_SHARE = 0.99
REGISTRY_SPLIT = {"ecr.dkr": 0.9, "ecr.api": 0.1}
DEFAULT_LOGS_SHARE = 0.1
GATEWAY = "s3"
VERDICTS = ("free", "required", "pays", "does_not_pay")


def tiered(gb: float, tiers: list[list[Any]] | None, flat: float) -> float:
    """The charge for ``gb`` through tiers ``[[up_to_gb or None, usd_per_gb], ...]`` (the Region's interface
    endpoint data processing; without tiers, ``flat`` per GB)."""
    if not tiers:
        return gb * flat
    charge, below = 0.0, 0.0
    for upto, price in tiers:
        portion = max(0.0, min(gb, upto if upto is not None else gb) - below)
        charge += portion * float(price)
        if upto is None or gb <= upto:
            break
        below = float(upto)
    return charge


def service_traffic(services: list[str], pull: Traffic, logs: Traffic | None) -> dict[str, tuple[float, str]]:
    """Each service's GB a month and where the figure came from."""
    logs_gb = logs.gb_per_month if logs is not None else pull.gb_per_month * DEFAULT_LOGS_SHARE
    logs_from = (
        f"{logs.source}" + (f" ({logs.detail})" if logs.detail else "")
        if logs is not None
        else f"default: {DEFAULT_LOGS_SHARE:.0%} of the image-pull traffic"
    )
    split: dict[str, tuple[float, str]] = {}
    for name in services:
        if name == GATEWAY:
            split[name] = (pull.gb_per_month * LAYER_SHARE, f"{pull.source}: image layers, {LAYER_SHARE:.0%} of a pull")
        elif name in REGISTRY_SPLIT:
            share = (1 - LAYER_SHARE) * REGISTRY_SPLIT[name]
            split[name] = (pull.gb_per_month * share, f"{pull.source}: registry calls, {share:.1%} of a pull")
        elif name == "logs":
            split[name] = (logs_gb, logs_from)
        else:
            split[name] = (0.0, "not estimated (no image-pull or log traffic)")
    return split


def estimate(
    interfaces: list[str],
    azs: int,
    traffic: Traffic,
    region: str | None,
    table: dict[str, Any],
    *,
    logs: Traffic | None = None,
    gateway: bool = True,
    isolated: bool = False,
    uncovered_share: float = 0.0,
    transit_gateway: str | None = None,
) -> dict[str, Any]:
    """The cost object of a VPC: per service (``services``) and in total, what the endpoints cost a month
    and the NAT processing they remove, with break-even traffic and verdicts. ``interfaces``: the
    interface services, in ``azs`` AZs; ``traffic``: the image-pull traffic; ``logs``: the awslogs traffic
    (None: a default share); ``isolated``: the workloads have no other path out (no NAT), so the interface
    endpoints are required; ``uncovered_share``: the share of the traffic from AZs without an endpoint
    subnet (it crosses AZs, charged each way); ``transit_gateway``: the Transit Gateway the VPC is
    attached to, through which shared (centralised) endpoints could serve it instead. Pure."""
    prices, note = region_prices(table, region)
    hours = table.get("hours_per_month", 730)
    nat, first = prices["nat_gb"], prices["endpoint_gb"]
    each_way, cross_note = cross_az_price(table, prices, region)
    cross = 2 * uncovered_share * each_way
    if uncovered_share and cross_note:
        note = f"{note}; {cross_note}" if note else cross_note
    names = [*interfaces, *([GATEWAY] if gateway else [])]
    split = service_traffic(names, traffic, logs)
    interface_gb = sum(split[n][0] for n in interfaces)
    data = tiered(interface_gb, prices.get("endpoint_gb_tiers"), first)
    fixed_each = azs * hours * prices["endpoint_hour"]
    rows, spent, removed = [], 0.0, 0.0
    for name in names:
        gb, source = split[name]
        row: dict[str, Any] = {"service": name, "traffic_gb_per_month": round(gb, 1), "traffic_source": source}
        avoided = gb * nat
        removed += avoided
        if name == GATEWAY:
            row.update(verdict="free", monthly_usd=0.0, break_even_gb_per_month=None)
        else:
            monthly = fixed_each + (data * gb / interface_gb if interface_gb else 0.0) + gb * cross
            margin = nat - first - cross
            spent += monthly
            row.update(
                monthly_usd=round(monthly, 2),
                break_even_gb_per_month=round(fixed_each / margin, 1) if margin > 0 and azs else None,
                verdict="required" if isolated else ("pays" if avoided > monthly else "does_not_pay"),
            )
        row["nat_processing_avoided_monthly_usd"] = round(avoided, 2)
        rows.append(row)
    endpoints, avoided_total = spent, removed
    fixed = fixed_each * len(interfaces)
    break_even = _profile_break_even(fixed, nat, first + cross, len(interfaces), logs, split)
    central = _centralised(transit_gateway, interface_gb, endpoints, first, table) if interfaces else None
    return {
        "interface_endpoints": len(interfaces),
        "availability_zones": azs,
        "endpoints_monthly_usd": round(endpoints, 2),
        "nat_processing_avoided_monthly_usd": round(avoided_total, 2),
        "net_monthly_usd": round(avoided_total - endpoints, 2),
        "break_even_gb_per_month": break_even,
        "traffic_gb_per_month": round(traffic.gb_per_month, 1),
        "traffic_source": traffic.source,
        "traffic_detail": traffic.detail,
        "pays_off": isolated or avoided_total > endpoints,
        "verdict": _verdict(rows, traffic, isolated, break_even)
        + (f"; {central['note']}" if central and central["cheaper"] else ""),
        "services": rows,
        "centralised": central,
        "prices_as_of": prices.get("as_of", table["as_of"]),
        "prices_source": prices.get("source", table.get("source", "")),
        "prices_note": note,
    }


def _centralised(
    transit_gateway: str | None, interface_gb: float, endpoints: float, endpoint_gb: float, table: dict[str, Any]
) -> dict[str, Any] | None:
    """Reaching shared interface endpoints (a central VPC's) through the Transit Gateway the VPC is already
    attached to: the attachment is paid already; each GB pays the Transit Gateway's processing and the
    shared endpoints' own. The shared endpoints' hours are the central account's, shared by every VPC.
    The S3 gateway stays in the VPC (a gateway endpoint cannot be reached through a Transit Gateway).
    Report only: endpoint-guard does not build central endpoints."""
    if not transit_gateway:
        return None
    per_gb = table.get("transit_gateway_gb", 0.02) + endpoint_gb
    monthly = interface_gb * per_gb
    cheaper = monthly < endpoints
    return {
        "transit_gateway_id": transit_gateway,
        "attachment_already_paid": True,
        "per_gb_usd": round(per_gb, 4),
        "monthly_usd": round(monthly, 2),
        "cheaper": cheaper,
        "note": (
            f"shared endpoints reached through {transit_gateway} would cost ${monthly:,.2f} a month "
            f"(attachment already paid, ${per_gb:.3f}/GB) against ${endpoints:,.2f} here"
            + (": cheaper" if cheaper else "")
        ),
    }


def _profile_break_even(
    fixed: float, nat: float, per_gb: float, interfaces: int, logs: Traffic | None, split: dict[str, Any]
) -> float | None:
    """The image-pull traffic a month at which the whole profile's avoided NAT processing equals its
    cost: F + k(rT + L) = nat(T + L), with the registry share r, logs L (a share of T, or measured)."""
    if not interfaces:
        return None
    r = 1 - LAYER_SHARE if any(n in REGISTRY_SPLIT for n in split) else 0.0
    if logs is None:
        share = DEFAULT_LOGS_SHARE if "logs" in split else 0.0
        denominator = nat * (1 + share) - per_gb * (r + share)
        return round(fixed / denominator, 1) if denominator > 0 else None
    constant = split["logs"][0] if "logs" in split else 0.0
    denominator = nat - per_gb * r
    return round(max(0.0, (fixed + (per_gb - nat) * constant) / denominator), 1) if denominator > 0 else None


def _verdict(rows: list[dict[str, Any]], traffic: Traffic, isolated: bool, break_even: float | None) -> str:
    """The sentence that matters: the gateway is free and carries most of the saving; whether the
    interface endpoints pay here."""
    gateway = next((r for r in rows if r["service"] == GATEWAY), None)
    interfaces = [r for r in rows if r["service"] != GATEWAY]
    cost = sum(r["monthly_usd"] for r in interfaces)
    saved = sum(r["nat_processing_avoided_monthly_usd"] for r in interfaces)
    parts = []
    if gateway is not None:
        parts.append(
            f"add the S3 gateway (free: it removes ${gateway['nat_processing_avoided_monthly_usd']:,.2f} a month "
            f"of NAT processing at {traffic.gb_per_month:,.0f} GB of image pulls)"
        )
    if not interfaces:
        pass
    elif isolated:
        parts.append(
            f"the interface endpoints are required: the workloads have no other path out (${cost:,.2f} a month)"
        )
    elif all(r["verdict"] == "pays" for r in interfaces):
        parts.append(f"the interface endpoints pay here: ${cost:,.2f} a month, ${saved:,.2f} of NAT processing avoided")
    else:
        paying = [r["service"] for r in interfaces if r["verdict"] == "pays"]
        parts.append(
            f"the interface endpoints do not pay here: ${cost:,.2f} a month for ${saved:,.2f} of NAT processing"
            + (f" (only {', '.join(paying)} pays)" if paying else "")
            + (f"; the whole profile breaks even at {break_even:,.0f} GB/month of image pulls" if break_even else "")
        )
    return "; ".join(parts) if parts else "no endpoints to pay for"


def traffic_from_nat_bytes(total_bytes: float, days: int) -> float:
    """GB a month from the bytes NAT gateways processed over ``days`` days."""
    return total_bytes / 1e9 * 30 / days if days else 0.0


def traffic_from_images(image_bytes: list[int], pulls: int) -> float:
    """GB a month from image sizes and the number of pulls (each started task pulls its image once;
    layers already on an EC2 host are not pulled again, so this is an upper bound there)."""
    if not image_bytes:
        return 0.0
    return sum(image_bytes) / len(image_bytes) * pulls / 1e9


STARTED = re.compile(r"has started (\d+) tasks?")


def starts_per_month(events: Any, now: datetime.datetime) -> float | None:
    """Tasks an ECS service started a month, from its service events ("(service web) has started 2 tasks:
    ...") over the span they cover (ECS keeps the last 100; at least a day is assumed). None when the
    events name no start."""
    if not isinstance(events, list):
        return None
    dated = [e for e in events if isinstance(e, dict) and isinstance(e.get("createdAt"), datetime.datetime)]
    started = [int(m.group(1)) for e in dated if (m := STARTED.search(str(e.get("message", ""))))]
    if not started:
        return None
    oldest: datetime.datetime = min(e["createdAt"] for e in dated)
    days = max(float((now - oldest).total_seconds()) / 86400, 1.0)
    return sum(started) * 30 / days


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
    """The cost object for a human: the totals, the traffic, a line per service, the verdict."""
    lines = [
        f"cost: endpoints ${cost['endpoints_monthly_usd']:,.2f}/month ({cost['interface_endpoints']} interface "
        f"endpoint(s) x {cost['availability_zones']} AZ(s)), NAT processing avoided "
        f"${cost['nat_processing_avoided_monthly_usd']:,.2f}/month",
        f"  traffic {cost['traffic_gb_per_month']:,.1f} GB/month from {cost['traffic_source']}"
        + (f" ({cost['traffic_detail']})" if cost.get("traffic_detail") else ""),
        *(
            f"  {r['service']:<15} {r['verdict'].replace('_', ' '):<13} ${r['monthly_usd']:>9,.2f}/month, "
            f"avoids ${r['nat_processing_avoided_monthly_usd']:,.2f} ({r['traffic_gb_per_month']:,.1f} GB)"
            + (f", break-even {r['break_even_gb_per_month']:,.0f} GB" if r.get("break_even_gb_per_month") else "")
            for r in cost.get("services", [])
        ),
        f"  {cost['verdict']}",
        f"  prices as of {cost['prices_as_of']}" + (f"; {cost['prices_note']}" if cost.get("prices_note") else ""),
    ]
    return "\n".join(lines)


def of_result(
    result: Any,
    traffic: Traffic,
    table: dict[str, Any],
    *,
    logs: Traffic | None = None,
    transit_gateway: str | None = None,
) -> dict[str, Any]:
    """The cost object of a reconciled (or planned) VPC: its interface endpoints in the AZs they span,
    the S3 gateway when the profile has it, and "required" when the endpoints sit in an isolated tier
    (endpoint-guard puts them there only when the VPC has no private tier: no other path out). Traffic
    from the AZs of that tier where the endpoints have no subnet (the service is not offered there)
    crosses AZs."""
    central = result.get("central_endpoints") or {}
    # A service provided centrally costs this VPC no endpoint hours (the central account's).
    interfaces = [e for e in result["endpoints"] if e["type"] == "Interface" and e["service"] not in central]
    azs = {az for e in interfaces for az in e.get("availability_zones") or []}
    tiers = result.get("subnet_tiers") or {}
    placed = {tiers.get(s) for e in interfaces for s in e.get("subnet_ids") or []} - {None}
    # The tier the endpoints serve spans AZs; traffic from those without an endpoint subnet crosses AZs.
    subnet_azs = result.get("subnet_azs") or {}
    served = {subnet_azs[s] for s, tier in tiers.items() if tier in placed and s in subnet_azs}
    uncovered = len(served - azs) / len(served) if served and azs else 0.0
    cost = estimate(
        [e["service"] for e in interfaces],
        len(azs),
        traffic,
        result["region"],
        table,
        logs=logs,
        gateway=any(e["type"] == "Gateway" for e in result["endpoints"]),
        isolated=placed == {"isolated"},
        transit_gateway=transit_gateway,
        uncovered_share=uncovered,
    )
    if central:  # the central alternative, in use
        cost["central_in_use"] = dict(central)
        cost["verdict"] += f"; served centrally (no local endpoint, no hours here): {', '.join(sorted(central))}"
    return cost

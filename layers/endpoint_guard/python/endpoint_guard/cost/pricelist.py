"""Prices from the AWS Price List API's product documents (pure): a Region's interface endpoint hour and
tiered per-GB processing (AmazonVPC, product family VpcEndpoint, usage types ``<REGION>-VpcEndpoint-Hours``
and ``-Bytes``) and its NAT gateway hour and per-GB processing (AmazonEC2, product family NAT Gateway,
``-NatGateway-Hours`` and ``-Bytes``), in the shape of ``prices.json``. ``endpoint-guard prices`` fetches
the documents (aws.pricing) and writes the file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from endpoint_guard.errors import ConfigurationError

SOURCE = "AWS Price List API: AmazonVPC VpcEndpoint (Hours, Bytes), AmazonEC2 NAT Gateway (Hours, Bytes)"


def _on_demand(product: dict[str, Any]) -> list[dict[str, Any]]:
    """The product's on-demand price dimensions, lowest range first."""
    dimensions = [
        d
        for term in (product.get("terms", {}).get("OnDemand") or {}).values()
        for d in (term.get("priceDimensions") or {}).values()
    ]
    return sorted(dimensions, key=lambda d: float(d.get("beginRange", 0) or 0))


def _usd(dimension: dict[str, Any]) -> float:
    return float(dimension["pricePerUnit"]["USD"])


def region_prices(documents: Sequence[str | dict[str, Any]], region: str, as_of: str) -> dict[str, Any]:
    """``prices.json``'s entry for ``region`` from its product documents (JSON text, as GetProducts
    returns them). ConfigurationError when a price the estimate needs is missing."""
    found: dict[str, Any] = {}
    for raw in documents:
        product = json.loads(raw) if isinstance(raw, str) else raw
        attributes = product.get("product", {}).get("attributes", {})
        if attributes.get("regionCode", region) != region:
            continue
        usage = str(attributes.get("usagetype", ""))
        dimensions = _on_demand(product)
        if not dimensions:
            continue
        if usage.endswith("-VpcEndpoint-Hours"):
            found["endpoint_hour"] = _usd(dimensions[0])
        elif usage.endswith("-VpcEndpoint-Bytes"):
            tiers = []
            for d in dimensions:
                end = d.get("endRange")
                tiers.append([None if end in (None, "Inf") else float(end), _usd(d)])
            found["endpoint_gb_tiers"] = tiers
            found["endpoint_gb"] = tiers[0][1]
        elif usage.endswith("-NatGateway-Hours"):
            found["nat_hour"] = _usd(dimensions[0])
        elif usage.endswith("-NatGateway-Bytes"):
            found["nat_gb"] = _usd(dimensions[0])
    missing = {"endpoint_hour", "endpoint_gb", "nat_hour", "nat_gb"} - set(found)
    if missing:
        raise ConfigurationError(f"the price list has no {', '.join(sorted(missing))} for {region}")
    return {**found, "as_of": as_of, "source": f"{SOURCE}, {as_of}"}


def price_table(by_region: dict[str, dict[str, Any]], base: dict[str, Any], as_of: str) -> dict[str, Any]:
    """``base`` (the bundled table) with the fetched Regions' prices in place, dated."""
    regions = {**base.get("regions", {}), **by_region}
    return {**base, "as_of": as_of, "source": SOURCE, "regions": dict(sorted(regions.items()))}


# A Region's prices older than this many months are reported as stale by ``endpoint-guard prices --check``
# (prices change rarely; the bundle's are from late 2025).
STALE_AFTER_MONTHS = 18


def coverage(table: dict[str, Any], regions: Sequence[str], today: str) -> dict[str, list[str]]:
    """Which of ``regions`` the price table prices (``priced``), prices with figures older than
    STALE_AFTER_MONTHS (``stale``) or not at all (``missing``: the estimate then uses us-east-1's, with a
    note). ``today``: ``YYYY-MM``. Pure."""

    def months(as_of: str) -> int:
        year, month = as_of[:7].split("-")
        return int(year) * 12 + int(month)

    now = months(today)
    found: dict[str, list[str]] = {"priced": [], "stale": [], "missing": []}
    for region in sorted(regions):
        prices = table["regions"].get(region)
        if prices is None:
            found["missing"].append(region)
        elif now - months(str(prices.get("as_of", table["as_of"]))) > STALE_AFTER_MONTHS:
            found["stale"].append(region)
        else:
            found["priced"].append(region)
    return found

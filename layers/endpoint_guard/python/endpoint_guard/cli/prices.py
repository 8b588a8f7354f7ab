"""``endpoint-guard prices``: the endpoint and NAT prices from the AWS Price List API into a prices file,
or (``--check``) which Regions the table in use prices."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from endpoint_guard.cli.parser import EXIT_ERROR, EXIT_OK
from endpoint_guard.errors import EndpointGuardError


def run(args: argparse.Namespace, clients: Any, settings: Any) -> int:
    """Every Region asked for, priced from the Price List API (its endpoint is in us-east-1); a Region
    the list does not price is reported and left as it was. Exit 2 when one could not be priced."""
    import datetime

    from endpoint_guard.aws.pricing import PricingAdapter
    from endpoint_guard.cost.estimate import load_prices
    from endpoint_guard.cost.pricelist import price_table, region_prices
    from endpoint_guard.profile import commercial_regions

    base = load_prices(settings.prices_file)
    as_of = datetime.date.today().strftime("%Y-%m")
    regions = args.regions or (sorted(commercial_regions()) if args.check else sorted(base["regions"]))
    if regions == ["all"]:
        regions = sorted(commercial_regions())
    if args.check:
        return _price_coverage(base, regions, as_of)
    pricing = PricingAdapter(clients.in_region("us-east-1"))
    fetched, failed = {}, []
    for region in regions:
        try:
            fetched[region] = region_prices(pricing.region_documents(region), region, as_of)
        except EndpointGuardError as err:
            failed.append(region)
            print(f"{region}: {err}", file=sys.stderr)
    text = json.dumps(price_table(fetched, base, as_of), indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text, end="")
    return EXIT_ERROR if failed else EXIT_OK


def _price_coverage(table: dict[str, Any], regions: list[str], today: str) -> int:
    """The ``prices --check`` report: one line per Region; exit 2 when one is stale or missing."""
    from endpoint_guard.cost.pricelist import STALE_AFTER_MONTHS, coverage

    found = coverage(table, regions, today)
    for region in found["priced"] + found["stale"]:
        prices = table["regions"][region]
        status = "stale" if region in found["stale"] else "priced"
        print(f"{region}: {status}, as of {prices.get('as_of', table['as_of'])}")
    for region in found["missing"]:
        print(f"{region}: missing (estimates use us-east-1's prices, with a note)")
    print(
        f"{len(found['priced'])} priced, {len(found['stale'])} stale (older than {STALE_AFTER_MONTHS} months), "
        f"{len(found['missing'])} missing of {len(regions)} Regions",
        file=sys.stderr,
    )
    return EXIT_ERROR if found["stale"] or found["missing"] else EXIT_OK

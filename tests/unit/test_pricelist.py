"""Prices from the AWS Price List API's product documents (cost.pricelist, pure) and the thin adapter
that asks for them (botocore's Stubber stands in for the API: tests never reach AWS)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from endpoint_guard.aws.pricing import PricingAdapter
from endpoint_guard.cost.estimate import Traffic, estimate
from endpoint_guard.cost.pricelist import price_table, region_prices
from endpoint_guard.errors import ConfigurationError


def document(region: str, usage: str, *dimensions: tuple[str, str | None, str]) -> str:
    """A product document as GetProducts returns it (JSON text): (begin, end, USD) per dimension."""
    return json.dumps(
        {
            "product": {"productFamily": "x", "attributes": {"regionCode": region, "usagetype": usage}},
            "terms": {
                "OnDemand": {
                    "SKU.JRTCKXETXF": {
                        "priceDimensions": {
                            f"SKU.JRTCKXETXF.{n}": {"beginRange": b, "endRange": e or "Inf", "pricePerUnit": {"USD": p}}
                            for n, (b, e, p) in enumerate(dimensions)
                        }
                    }
                }
            },
        }
    )


EU = [
    document("eu-west-1", "EU-VpcEndpoint-Hours", ("0", None, "0.0110000000")),
    document(
        "eu-west-1",
        "EU-VpcEndpoint-Bytes",
        ("5242880", None, "0.0040000000"),  # the API lists dimensions in any order
        ("0", "1048576", "0.0100000000"),
        ("1048576", "5242880", "0.0060000000"),
    ),
    document("eu-west-1", "EU-VpcEndpoint-GWLBE-Hours", ("0", None, "0.0110000000")),  # not an interface endpoint
    document("eu-west-1", "EU-NatGateway-Hours", ("0", None, "0.0480000000")),
    document("eu-west-1", "EU-NatGateway-Bytes", ("0", None, "0.0480000000")),
    document("eu-west-2", "EUW2-NatGateway-Bytes", ("0", None, "0.0500000000")),  # another Region's
]


def test_a_regions_prices_come_from_its_documents_with_the_tiers_in_order() -> None:
    prices = region_prices(EU, "eu-west-1", "2026-12")
    assert prices["endpoint_hour"] == 0.011 and prices["nat_hour"] == 0.048 and prices["nat_gb"] == 0.048
    assert prices["endpoint_gb_tiers"] == [[1_048_576, 0.01], [5_242_880, 0.006], [None, 0.004]]
    assert prices["endpoint_gb"] == 0.01 and prices["as_of"] == "2026-12" and "Price List API" in prices["source"]
    with pytest.raises(ConfigurationError, match="nat_gb, nat_hour"):
        region_prices(EU[:2], "eu-west-1", "2026-12")


def test_the_table_keeps_the_regions_not_fetched_and_works_as_a_prices_file(tmp_path) -> None:
    base = {"as_of": "2025-01", "source": "s", "hours_per_month": 730, "regions": {"us-east-1": {"x": 1}}}
    table = price_table({"eu-west-1": region_prices(EU, "eu-west-1", "2026-12")}, base, "2026-12")
    assert list(table["regions"]) == ["eu-west-1", "us-east-1"] and table["hours_per_month"] == 730
    cost = estimate(["logs"], 2, Traffic(100, "default"), "eu-west-1", table)
    assert cost["services"][0]["monthly_usd"] == pytest.approx(2 * 730 * 0.011 + 10 * 0.01)
    assert cost["prices_as_of"] == "2026-12"


def test_the_adapter_asks_for_the_regions_endpoint_and_nat_products() -> None:
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    for service, family, listed in (("AmazonVPC", "VpcEndpoint", EU[:3]), ("AmazonEC2", "NAT Gateway", EU[3:5])):
        stub.add_response(
            "get_products",
            {"PriceList": listed, "FormatVersion": "aws_v1"},
            {
                "ServiceCode": service,
                "Filters": [
                    {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"},
                    {"Type": "TERM_MATCH", "Field": "productFamily", "Value": family},
                ],
            },
        )
    with stub:
        documents = PricingAdapter(client=client).region_documents("eu-west-1")
    stub.assert_no_pending_responses()
    assert region_prices(documents, "eu-west-1", "2026-12")["nat_gb"] == 0.048


def test_coverage_sorts_each_region_into_priced_stale_or_missing() -> None:
    from endpoint_guard.cost.pricelist import coverage

    table = {
        "as_of": "2025-01",
        "regions": {
            "us-east-1": {"as_of": "2026-11"},
            "eu-west-1": {},
            "eu-west-2": {"as_of": "2025-06"},
            "eu-west-3": {"as_of": "2025-05"},
        },
    }
    found = coverage(table, ["eu-west-2", "us-east-1", "eu-west-1", "eu-west-3", "ap-south-2"], "2026-12")
    # eu-west-1 has no date of its own: the table's 2025-01 is 23 months old; eu-west-2's 18 months are
    # still in time, eu-west-3's 19 are not
    assert found == {
        "priced": ["eu-west-2", "us-east-1"],
        "stale": ["eu-west-1", "eu-west-3"],
        "missing": ["ap-south-2"],
    }


def test_the_catalogue_lists_commercial_regions_only_and_the_prices_name_no_region_outside_it() -> None:
    """The catalogue's Regions are the aws partition's (botocore's endpoint data knows them; a typo or a
    GovCloud or China Region would not be there), and every priced Region is one of them."""
    import botocore.session
    from endpoint_guard.cost.estimate import load_prices
    from endpoint_guard.profile import commercial_regions

    partition = set(botocore.session.get_session().get_available_regions("ec2", partition_name="aws"))
    regions = commercial_regions()
    assert {"us-east-1", "eu-west-1", "ap-southeast-1"} <= set(regions) <= partition
    assert all(name for name in regions.values())
    assert set(load_prices()["regions"]) <= set(regions)

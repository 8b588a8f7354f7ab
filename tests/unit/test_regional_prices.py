"""Prices for every commercial Region: the bundled table is what tools/gen_prices.py makes of AWS's
published figures (../shared/data/aws-prices.json), the tool refuses a source of the wrong shape, and
two Regions' estimates are checked by hand: ap-south-1 (the seed's) and sa-east-1 (the dearest)."""

from __future__ import annotations

import copy
import json

import pytest
from endpoint_guard.cost.estimate import Traffic, estimate, load_prices
from endpoint_guard.profile import commercial_regions

from tests.conftest import SHARED
from tools import gen_prices

PRICES = load_prices()
SOURCE = SHARED / "data" / "aws-prices.json"
PROFILE = ["ecr.dkr", "ecr.api", "logs"]
PB = 1_048_576  # GB


def test_every_catalogue_region_is_priced_from_the_bundle_without_a_fallback() -> None:
    assert set(PRICES["regions"]) == set(commercial_regions()) and len(PRICES["regions"]) == 34
    for region in commercial_regions():
        cost = estimate(PROFILE, 2, Traffic(100, "default"), region, PRICES)
        assert cost["prices_note"] == "", region  # its own prices: no other Region's stand in
        assert PRICES["regions"][region]["endpoint_gb_tiers"] == [[PB, 0.01], [5 * PB, 0.006], [None, 0.004]]


@pytest.mark.skipif(not SOURCE.exists(), reason="../shared/data is not beside the repo (CI has it)")
def test_the_bundled_table_is_what_the_tool_generates_from_the_published_figures() -> None:
    assert gen_prices.main([str(SOURCE), "--check"]) == 0
    source = json.loads(SOURCE.read_text())
    for region, published in source["regions"].items():
        bundled = PRICES["regions"][region]
        assert bundled["endpoint_hour"] == published["interface_endpoint_hour"]
        assert bundled["nat_gb"] == published["nat_gateway_gb"] and bundled["nat_hour"] == published["nat_gateway_hour"]


def _source() -> dict:
    tiers = [[0, PB, 0.01], [PB, 5 * PB, 0.006], [5 * PB, None, 0.004]]
    entry = {
        "interface_endpoint_hour": 0.01,
        "interface_endpoint_gb_tiers": tiers,
        "nat_gateway_hour": 0.045,
        "nat_gateway_gb": 0.045,
        "inter_az_gb_each_way": None,
    }
    regions = {code: {"name": name, **copy.deepcopy(entry)} for code, name in commercial_regions().items()}
    return {"published": {"interface_endpoint": "2025-11-04", "nat_gateway": "2025-10-28"}, "regions": regions}


def test_the_tool_maps_every_region_and_dates_the_figures_by_the_older_publication() -> None:
    table = gen_prices.generate(_source(), commercial_regions())
    assert table["as_of"] == "2025-10" and len(table["regions"]) == 34
    assert "cross_az_gb" not in table["regions"]["ap-south-1"]  # none published: the general figure applies


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda s: s["regions"].update({"xx-nowhere-1": s["regions"]["us-east-1"]}), "cannot map: xx-nowhere-1"),
        (lambda s: s["regions"].pop("sa-east-1"), "without prices: sa-east-1"),
        (lambda s: s["regions"]["ap-south-1"].update(nat_gateway_gb=0), "ap-south-1 nat_gateway_gb: 0"),
        (lambda s: s["regions"]["ap-south-1"].update(interface_endpoint_hour=-0.01), "not a positive figure"),
        (lambda s: s["regions"]["eu-west-1"]["interface_endpoint_gb_tiers"].reverse(), "eu-west-1"),
        (lambda s: s["regions"]["eu-west-1"]["interface_endpoint_gb_tiers"][1].__setitem__(0, 1_000_000), "starts at"),
        (lambda s: s["regions"]["eu-west-1"]["interface_endpoint_gb_tiers"][2].__setitem__(1, 9 * PB), "open-ended"),
        (lambda s: s["regions"]["eu-west-1"]["interface_endpoint_gb_tiers"][1].__setitem__(1, PB), "not above"),
    ],
)
def test_the_tool_fails_loudly_on_a_source_of_the_wrong_shape(spoil, message: str) -> None:
    source = _source()
    spoil(source)
    with pytest.raises(gen_prices.PriceDataError, match=message):
        gen_prices.generate(source, commercial_regions())


# Hand-checked: the default profile (ecr.dkr, ecr.api, logs, and the S3 gateway) in 3 AZs, T GB of image
# pulls a month, logs at the default 10% of T. Each interface endpoint costs 3 x 730 h x the AZ-hour;
# the interface endpoints carry 0.11 T (registry 1% of a pull, logs 10%) at $0.01/GB; the NAT processing
# avoided is 1.1 T x the Region's NAT $/GB (the gateway's 0.99 T is free). Break-even: 3 endpoints' hours
# / (1.1 x NAT - 0.11 x $0.01).
#   ap-south-1: $0.013 an AZ-hour (28.47 an endpoint), NAT $0.056: break-even 85.41 / 0.0605 = 1,411.7 GB
#   sa-east-1:  $0.021 an AZ-hour (45.99 an endpoint), NAT $0.093: break-even 137.97 / 0.1012 = 1,363.3 GB
HAND_CHECKED = {
    # region: {T: (endpoints $/month, NAT avoided $/month, pays off)}
    "ap-south-1": {50: (85.47, 3.08, False), 500: (85.96, 30.80, False), 5000: (90.91, 308.00, True)},
    "sa-east-1": {50: (138.03, 5.12, False), 500: (138.52, 51.15, False), 5000: (143.47, 511.50, True)},
}
BREAK_EVEN = {"ap-south-1": 1411.7, "sa-east-1": 1363.3}
PER_ENDPOINT_HOURS = {"ap-south-1": 28.47, "sa-east-1": 45.99}


@pytest.mark.parametrize("region", sorted(HAND_CHECKED))
@pytest.mark.parametrize("gb", [50, 500, 5000])
def test_hand_checked_estimates_for_mumbai_and_sao_paulo(region: str, gb: int) -> None:
    endpoints, avoided, pays = HAND_CHECKED[region][gb]
    cost = estimate(PROFILE, 3, Traffic(gb, "command-line"), region, PRICES)
    assert cost["endpoints_monthly_usd"] == pytest.approx(endpoints, abs=0.011)
    assert cost["nat_processing_avoided_monthly_usd"] == pytest.approx(avoided, abs=0.011)
    assert cost["pays_off"] is pays and cost["break_even_gb_per_month"] == BREAK_EVEN[region]
    rows = {r["service"]: r for r in cost["services"]}
    assert rows["s3"]["verdict"] == "free" and rows["s3"]["monthly_usd"] == 0.0
    dkr = rows["ecr.dkr"]  # 0.9% of the pulls
    assert dkr["monthly_usd"] == pytest.approx(PER_ENDPOINT_HOURS[region] + 0.009 * gb * 0.01, abs=0.011)
    assert dkr["verdict"] == "does_not_pay"  # no single endpoint pays at these volumes
    verdict = cost["verdict"]
    assert verdict.startswith("add the S3 gateway (free") and "the interface endpoints do not pay here" in verdict
    assert f"breaks even at {BREAK_EVEN[region]:,.0f} GB/month" in verdict
    assert cost["prices_as_of"] == "2025-10" and cost["prices_note"] == ""


def test_cross_az_traffic_in_a_region_without_its_own_figure_uses_the_general_one_and_says_so() -> None:
    mumbai = estimate(PROFILE, 2, Traffic(1000, "command-line"), "ap-south-1", PRICES, uncovered_share=0.5)
    virginia = estimate(PROFILE, 2, Traffic(1000, "command-line"), "us-east-1", PRICES, uncovered_share=0.5)
    assert "no inter-AZ transfer price for ap-south-1" in mumbai["prices_note"] and "$0.01/GB" in mumbai["prices_note"]
    assert virginia["prices_note"] == ""  # us-east-1 has its own
    # Both at $0.01 each way: the logs endpoint's 100 GB, half of it across AZs, costs $1 more each.
    logs = {r["service"]: r for r in mumbai["services"]}["logs"]
    plain = {r["service"]: r for r in estimate(PROFILE, 2, Traffic(1000, "x"), "ap-south-1", PRICES)["services"]}
    assert logs["monthly_usd"] - plain["logs"]["monthly_usd"] == pytest.approx(1.0, abs=0.011)


def test_a_prices_file_overrides_single_figures_over_the_bundle(tmp_path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps({"as_of": "2030-01", "source": "our contract", "regions": {"ap-south-1": {"nat_gb": 0.05}}})
    )
    table = load_prices(str(path))
    mumbai = table["regions"]["ap-south-1"]
    assert mumbai["nat_gb"] == 0.05 and mumbai["endpoint_hour"] == 0.013  # the one figure, the rest kept
    assert (mumbai["as_of"], mumbai["source"]) == ("2030-01", "our contract")
    assert table["regions"]["sa-east-1"] == PRICES["regions"]["sa-east-1"]

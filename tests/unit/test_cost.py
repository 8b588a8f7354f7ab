from __future__ import annotations

import json

import pytest
from endpoint_guard.cost.estimate import (
    Traffic,
    choose_traffic,
    estimate,
    load_prices,
    traffic_from_images,
    traffic_from_nat_bytes,
)
from endpoint_guard.errors import ConfigurationError

from tests.conftest import REQUIRED_COST_FIELDS as REQUIRED

PRICES = load_prices()


def test_three_endpoints_in_three_azs_at_low_traffic_do_not_pay_off() -> None:
    cost = estimate(3, 3, Traffic(50, "default"), "us-east-1", PRICES)
    assert set(cost) >= REQUIRED
    assert cost["endpoints_monthly_usd"] == pytest.approx(3 * 3 * 730 * 0.01 + 50 * 0.01)  # 66.2
    assert cost["nat_processing_avoided_monthly_usd"] == pytest.approx(50 * 0.045)
    assert cost["break_even_gb_per_month"] == pytest.approx(65.7 / 0.035, abs=0.1)  # ~1877 GB
    assert cost["pays_off"] is False and "do NOT pay off" in cost["verdict"] and "1,877" in cost["verdict"]


def test_above_break_even_they_pay_off() -> None:
    cost = estimate(3, 3, Traffic(5000, "nat-gateway-metrics"), "us-east-1", PRICES)
    assert cost["pays_off"] is True and cost["net_monthly_usd"] > 0
    assert cost["traffic_source"] == "nat-gateway-metrics"


def test_one_endpoint_az_breaks_even_near_two_hundred_gb() -> None:
    # The figure public threads quote for a single endpoint-AZ.
    assert estimate(1, 1, Traffic(0, "default"), "us-east-1", PRICES)["break_even_gb_per_month"] == pytest.approx(
        208.6, abs=0.1
    )


def test_unknown_region_uses_us_east_1_prices_and_says_so() -> None:
    cost = estimate(3, 2, Traffic(10, "default"), "xx-nowhere-1", PRICES)
    assert "us-east-1 prices used" in cost["prices_note"]


def test_prices_can_be_overridden_by_a_file(tmp_path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "as_of": "2030-01",
                "source": "contract",
                "regions": {
                    "us-east-1": {"endpoint_hour": 0.005, "endpoint_gb": 0.0, "nat_hour": 0.045, "nat_gb": 0.045}
                },
            }
        )
    )
    cost = estimate(1, 1, Traffic(100, "default"), "us-east-1", load_prices(str(path)))
    assert cost["prices_as_of"] == "2030-01" and cost["endpoints_monthly_usd"] == pytest.approx(3.65)
    path.write_text("{}")
    with pytest.raises(ConfigurationError, match="prices file"):
        load_prices(str(path))


def test_traffic_sources_in_the_documented_order() -> None:
    assert choose_traffic(override_gb=7, nat_gb=1, image_gb=2, default_gb=3, detail={}).source == "command-line"
    assert (
        choose_traffic(override_gb=None, nat_gb=1, image_gb=2, default_gb=3, detail={}).source == "nat-gateway-metrics"
    )
    assert (
        choose_traffic(override_gb=None, nat_gb=None, image_gb=2, default_gb=3, detail={}).source == "ecr-image-sizes"
    )
    assert choose_traffic(override_gb=None, nat_gb=None, image_gb=None, default_gb=3, detail={}) == Traffic(
        3, "default", "ENDPOINT_GUARD_DEFAULT_GB_PER_MONTH"
    )


def test_traffic_arithmetic() -> None:
    assert traffic_from_nat_bytes(14e9, 14) == pytest.approx(30.0)
    assert traffic_from_images([200_000_000, 400_000_000], 10) == pytest.approx(3.0)
    assert traffic_from_images([], 10) == 0.0

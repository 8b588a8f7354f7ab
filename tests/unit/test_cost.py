from __future__ import annotations

import datetime
import json

import pytest
from endpoint_guard.cost.estimate import (
    Traffic,
    choose_traffic,
    estimate,
    load_prices,
    starts_per_month,
    tiered,
    traffic_from_images,
    traffic_from_nat_bytes,
)
from endpoint_guard.errors import ConfigurationError

from tests.conftest import REQUIRED_COST_FIELDS as REQUIRED

PRICES = load_prices()


PROFILE = ["ecr.dkr", "ecr.api", "logs"]  # the default profile's interface endpoints (and the S3 gateway)


def by_service(cost: dict) -> dict[str, dict]:
    return {s["service"]: s for s in cost["services"]}


# Hand calculations, us-east-1, 3 AZs: each interface endpoint costs 3 x 730 h x $0.01 = $21.90 a month
# before data. A pull's bytes: 99% layers (S3 gateway, free), 1% registry (ecr.dkr 0.9%, ecr.api 0.1%);
# logs by default 10% of the pull traffic. NAT processing $0.045/GB; interface data $0.01/GB (first PB).
# The whole profile breaks even where 65.70 + 0.01 x (0.01 + 0.1) T = 0.045 x 1.1 T: T = 65.70 / 0.0484.


def test_at_50_gb_the_gateway_is_free_and_the_interface_endpoints_do_not_pay() -> None:
    cost = estimate(PROFILE, 3, Traffic(50, "default"), "us-east-1", PRICES)
    assert set(cost) >= REQUIRED
    s = by_service(cost)
    assert list(s) == ["ecr.dkr", "ecr.api", "logs", "s3"]
    assert s["s3"] == {
        "service": "s3",
        "verdict": "free",
        "monthly_usd": 0.0,
        "break_even_gb_per_month": None,
        "traffic_gb_per_month": 49.5,  # 99% of 50 GB
        "traffic_source": "default: image layers, 99% of a pull",
        "nat_processing_avoided_monthly_usd": pytest.approx(49.5 * 0.045, abs=0.005),  # 2.23
    }
    assert s["ecr.dkr"]["traffic_gb_per_month"] == pytest.approx(0.5, abs=0.05)  # 0.45 GB
    assert s["logs"]["traffic_gb_per_month"] == 5.0
    assert s["logs"]["monthly_usd"] == pytest.approx(21.90 + 5 * 0.01)  # 21.95
    assert s["logs"]["nat_processing_avoided_monthly_usd"] == pytest.approx(5 * 0.045, abs=0.005)
    assert all(s[n]["verdict"] == "does_not_pay" for n in PROFILE)
    assert s["ecr.api"]["break_even_gb_per_month"] == pytest.approx(21.90 / 0.035, abs=0.1)  # 625.7 GB
    assert cost["endpoints_monthly_usd"] == pytest.approx(65.755, abs=0.006)  # 65.70 + 5.5 GB x $0.01
    assert cost["nat_processing_avoided_monthly_usd"] == pytest.approx(55 * 0.045, abs=0.01)  # 2.48
    assert cost["break_even_gb_per_month"] == pytest.approx(65.70 / 0.0484, abs=0.1)  # 1,357 GB, not 1,877
    assert cost["pays_off"] is False
    assert cost["verdict"].startswith("add the S3 gateway (free")
    assert "the interface endpoints do not pay here" in cost["verdict"] and "1,357 GB" in cost["verdict"]


def test_at_500_gb_still_not_but_the_gateway_carries_nearly_all_of_the_saving() -> None:
    cost = estimate(PROFILE, 3, Traffic(500, "nat-gateway-metrics"), "us-east-1", PRICES)
    s = by_service(cost)
    assert s["s3"]["nat_processing_avoided_monthly_usd"] == pytest.approx(495 * 0.045, abs=0.005)  # 22.28
    assert cost["nat_processing_avoided_monthly_usd"] == pytest.approx(550 * 0.045, abs=0.01)  # 24.75
    assert cost["endpoints_monthly_usd"] == pytest.approx(65.70 + 55 * 0.01, abs=0.01)  # 66.25
    assert cost["pays_off"] is False and cost["traffic_source"] == "nat-gateway-metrics"
    assert s["logs"]["traffic_source"] == "default: 10% of the image-pull traffic"


def test_at_5000_gb_the_profile_pays_though_no_interface_endpoint_does_on_its_own() -> None:
    cost = estimate(PROFILE, 3, Traffic(5000, "default"), "us-east-1", PRICES)
    s = by_service(cost)
    assert cost["nat_processing_avoided_monthly_usd"] == pytest.approx(5500 * 0.045, abs=0.01)  # 247.50
    assert cost["endpoints_monthly_usd"] == pytest.approx(65.70 + 550 * 0.01, abs=0.01)  # 71.20
    assert cost["net_monthly_usd"] == pytest.approx(247.50 - 71.20, abs=0.02)
    assert cost["pays_off"] is True
    # logs: 500 GB avoid $22.50 of NAT but cost $21.90 + $5.00
    assert s["logs"]["verdict"] == "does_not_pay" and s["logs"]["monthly_usd"] == pytest.approx(26.90)
    assert "the interface endpoints do not pay here" in cost["verdict"]


def test_interface_endpoints_pay_at_high_log_traffic_and_are_required_without_another_path_out() -> None:
    cost = estimate(PROFILE, 3, Traffic(5000, "default"), "us-east-1", PRICES, logs=Traffic(2000, "awslogs"))
    assert by_service(cost)["logs"]["verdict"] == "pays"  # 2,000 GB: $90 avoided for $41.90
    # measured logs are a constant: 65.70 + 0.01 (0.01 T + 2000) = 0.045 (T + 2000): T = 0 (pays at once)
    assert cost["break_even_gb_per_month"] == 0.0
    isolated = estimate(PROFILE, 2, Traffic(10, "default"), "us-east-1", PRICES, isolated=True)
    assert {s["verdict"] for s in isolated["services"]} == {"required", "free"}
    assert isolated["pays_off"] is True and "required" in isolated["verdict"]


def test_uncovered_azs_add_cross_az_transfer_each_way() -> None:
    covered = by_service(estimate(PROFILE, 2, Traffic(1000, "default"), "us-east-1", PRICES))["logs"]
    half = by_service(estimate(PROFILE, 2, Traffic(1000, "default"), "us-east-1", PRICES, uncovered_share=0.5))["logs"]
    assert half["monthly_usd"] - covered["monthly_usd"] == pytest.approx(100 * 0.5 * 2 * 0.01)  # $1.00
    assert half["break_even_gb_per_month"] == pytest.approx(2 * 730 * 0.01 / (0.045 - 0.01 - 0.01), abs=0.1)


def test_interface_data_processing_is_tiered() -> None:
    tiers = PRICES["regions"]["us-east-1"]["endpoint_gb_tiers"]
    assert tiered(500, tiers, 0.01) == pytest.approx(5.0)
    pb = 1_048_576  # GB: AWS's tiers are the first PB, the next 4 PB, then beyond
    assert tiers == [[pb, 0.01], [5 * pb, 0.006], [None, 0.004]]
    assert tiered(1_500_000, tiers, 0.01) == pytest.approx(pb * 0.01 + (1_500_000 - pb) * 0.006)
    assert tiered(6_000_000, tiers, 0.01) == pytest.approx(pb * 0.01 + 4 * pb * 0.006 + (6_000_000 - 5 * pb) * 0.004)
    assert tiered(100, None, 0.02) == pytest.approx(2.0)


def test_one_endpoint_az_breaks_even_near_two_hundred_gb() -> None:
    # The figure public threads quote for a single endpoint-AZ.
    cost = estimate(["ecr.dkr"], 1, Traffic(0, "default"), "us-east-1", PRICES, gateway=False)
    assert cost["services"][0]["break_even_gb_per_month"] == pytest.approx(208.6, abs=0.1)


def test_every_region_has_prices_with_its_date_and_tiers() -> None:
    for region, prices in PRICES["regions"].items():
        assert {"endpoint_hour", "endpoint_gb", "nat_gb", "endpoint_gb_tiers", "as_of"} <= set(prices), region
        assert prices["endpoint_gb_tiers"][0][1] == prices["endpoint_gb"]


def test_unknown_region_uses_us_east_1_prices_and_says_so() -> None:
    cost = estimate(PROFILE, 2, Traffic(10, "default"), "xx-nowhere-1", PRICES)
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
    cost = estimate(["ecr.dkr"], 1, Traffic(100, "default"), "us-east-1", load_prices(str(path)), gateway=False)
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


def test_tasks_started_a_month_from_the_service_events() -> None:
    now = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    events = [
        {"createdAt": now - datetime.timedelta(days=2), "message": "(service web) has started 3 tasks: (task a) ..."},
        {"createdAt": now - datetime.timedelta(days=1), "message": "(service web) has reached a steady state."},
        {"createdAt": now - datetime.timedelta(hours=5), "message": "(service web) has started 1 tasks: (task d)."},
    ]
    assert starts_per_month(events, now) == pytest.approx(4 * 30 / 2)  # 4 starts in 2 days
    assert starts_per_month(events[1:2], now) is None  # no start named
    recent = [{"createdAt": now - datetime.timedelta(hours=1), "message": "has started 2 tasks"}]
    assert starts_per_month(recent, now) == pytest.approx(60)  # at least a day is assumed
    assert starts_per_month(None, now) is None


def test_a_vpc_on_a_transit_gateway_is_told_when_shared_endpoints_would_be_cheaper() -> None:
    # 50 GB of pulls: 5.5 GB through the interface endpoints, $0.03/GB through the TGW and the shared
    # endpoints ($0.17) against $65.76 for three endpoints in three AZs here.
    cost = estimate(PROFILE, 3, Traffic(50, "default"), "us-east-1", PRICES, transit_gateway="tgw-0abc")
    central = cost["centralised"]
    assert central["transit_gateway_id"] == "tgw-0abc" and central["attachment_already_paid"] is True
    assert central["per_gb_usd"] == pytest.approx(0.03)
    assert central["monthly_usd"] == pytest.approx(5.5 * 0.03, abs=0.005)
    assert central["cheaper"] is True and "reached through tgw-0abc" in cost["verdict"]
    # At 100 TB of logs the per-GB charge outweighs the endpoint hours: not named.
    heavy = estimate(
        PROFILE,
        3,
        Traffic(50, "default"),
        "us-east-1",
        PRICES,
        logs=Traffic(100_000, "awslogs"),
        transit_gateway="tgw-0abc",
    )
    assert heavy["centralised"]["cheaper"] is False and "tgw-0abc" not in heavy["verdict"]
    assert estimate(PROFILE, 3, Traffic(50, "default"), "us-east-1", PRICES)["centralised"] is None


def row(service: str, monthly: float, avoided: float, verdict: str = "does_not_pay") -> dict:
    return {
        "service": service,
        "monthly_usd": monthly,
        "nat_processing_avoided_monthly_usd": avoided,
        "verdict": verdict,
    }


def test_the_cost_aware_choice_adds_above_a_margin_keeps_what_is_there_and_prunes_below_one() -> None:
    from endpoint_guard.cost.choose import choose

    rows = [
        row("s3", 0, 50, "free"),
        row("logs", 40, 49.9, "pays"),  # pays, but not by 25%: not added
        row("ecr.dkr", 40, 50.1, "pays"),  # pays by more than 25%: added
        row("ecr.api", 22, 1),  # does not pay; there already (endpoint-guard's): kept, and prunable
        row("ssm", 22, 20),  # does not pay; someone else's: kept, never prunable
        row("kms", 22, 0, "required"),  # no other path out
    ]
    choice = choose(rows, present={"ecr.api", "ssm"}, own={"ecr.api"})
    assert choice.wanted == ("ecr.dkr", "ecr.api", "ssm", "kms")
    assert set(choice.left_out) == {"logs"} and "$50.00" in choice.left_out["logs"]  # 40 x 1.25
    assert choice.prunable == ("ecr.api",)
    # Between the two margins an own endpoint is neither added again nor prunable: no flapping.
    steady = choose([row("logs", 40, 35)], present={"logs"}, own={"logs"})
    assert steady.wanted == ("logs",) and steady.prunable == ()
    assert choose([row("logs", 40, 35)], present=set(), own=set()).wanted == ()


def test_a_result_whose_endpoints_miss_an_az_of_their_tier_pays_cross_az_transfer() -> None:
    from endpoint_guard.cost.estimate import of_result

    def entry(service: str, azs: list[str], subnets: list[str]) -> dict:
        return {"service": service, "type": "Interface", "availability_zones": azs, "subnet_ids": subnets}

    result = {
        "region": "us-east-1",
        "endpoints": [
            entry("logs", ["a", "b"], ["s-a", "s-b"]),  # the service is not offered in c
            {"service": "s3", "type": "Gateway"},
        ],
        "subnet_tiers": {"s-a": "private", "s-b": "private", "s-c": "private", "s-pub": "public"},
        "subnet_azs": {"s-a": "a", "s-b": "b", "s-c": "c", "s-pub": "c"},
    }
    covered = estimate(["logs"], 2, Traffic(1000, "default"), "us-east-1", PRICES)
    cost = of_result(result, Traffic(1000, "default"), PRICES)
    # A third of the 100 GB of logs comes from c: 33.3 GB x $0.01 each way.
    extra = by_service(cost)["logs"]["monthly_usd"] - by_service(covered)["logs"]["monthly_usd"]
    assert extra == pytest.approx(100 / 3 * 0.02, abs=0.01)
    isolated = {**result, "subnet_tiers": dict.fromkeys(result["subnet_tiers"], "isolated")}
    assert by_service(of_result(isolated, Traffic(10, "default"), PRICES))["logs"]["verdict"] == "required"

"""The endpoint-guard command: in-process on moto, and as the installed script against a moto server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from endpoint_guard.cli import main

from tests.conftest import EVENTS, REGION, REPO, REQUIRED_COST_FIELDS, CallRecorder, load_event, with_vpc
from tools.world import awsvpc_service, build_vpc, run_fargate_tasks


def event_file(tmp_path: Path, vpc_id: str) -> str:
    path = tmp_path / "create-vpc.json"
    path.write_text(json.dumps(with_vpc(load_event("create-vpc.json"), vpc_id)))
    return str(path)


def test_invoke_json_prints_the_result_document(ec2, tmp_path, capsys) -> None:
    world = build_vpc(ec2)
    code = main(["invoke", event_file(tmp_path, world.vpc_id), "--json", "--region", REGION])
    out = capsys.readouterr()
    assert code == 0
    document = json.loads(out.out)
    assert document["vpc_id"] == world.vpc_id and document["compliant"] is True
    assert {e["service"] for e in document["endpoints"]} == {"ecr.dkr", "ecr.api", "logs", "s3"}
    assert all({"service", "type", "status", "endpoint_id", "reason"} <= set(e) for e in document["endpoints"])


def test_invoke_dry_run_changes_nothing_and_prints_the_plan(ec2, tmp_path, capsys) -> None:
    world = build_vpc(ec2)
    code = main(["invoke", event_file(tmp_path, world.vpc_id), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "would do:" in out and "create com.amazonaws.us-east-1.ecr.dkr Interface endpoint" in out
    assert ec2.describe_vpc_endpoints()["VpcEndpoints"] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"hello": 1}', "InvalidEventError"),
        ('{"vpc_id": "vpc-0123456789abcdef0"}', "VpcNotFoundError"),
    ],
)
def test_errors_are_one_line_and_exit_2(moto, tmp_path, capsys, content: str, message: str) -> None:
    path = tmp_path / "event.json"
    path.write_text(content)
    assert main(["invoke", str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_file_and_bad_options_exit_2(moto, capsys) -> None:
    assert main(["invoke", "no/such/file.json"]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["invoke", "x.json", "--frobnicate"])
    assert exit_info.value.code == 2


def script_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ENDPOINT_GUARD_"))}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    return env


def test_installed_script_against_a_moto_server(moto_server: str) -> None:
    ec2 = boto3.client(
        "ec2",
        region_name=REGION,
        endpoint_url=moto_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    world = build_vpc(ec2, cidr="10.77.0.0/16")
    script = Path(sys.executable).parent / "endpoint-guard"
    with_id = with_vpc(load_event("create-vpc.json"), world.vpc_id)
    path = REPO / ".pytest_cache" / "cli-event.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(with_id))
    args = [str(script), "invoke", str(path), "--dry-run", "--json", "--endpoint-url", moto_server, "--region", REGION]
    planned = subprocess.run(args, capture_output=True, text=True, env=script_env(), timeout=120)
    assert planned.returncode == 0, planned.stderr
    assert {e["status"] for e in json.loads(planned.stdout)["endpoints"]} == {"planned"}
    done = subprocess.run(
        [a for a in args if a != "--dry-run"], capture_output=True, text=True, env=script_env(), timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["compliant"] is True
    assert len(ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["VpcEndpoints"]) == 4
    server = ["--endpoint-url", moto_server, "--region", REGION]
    checked = subprocess.run(
        [str(script), "check", world.vpc_id, "--json", *server], capture_output=True, text=True, env=script_env()
    )
    assert checked.returncode == 0 and json.loads(checked.stdout)["cost"]["traffic_source"] == "default"
    reported = subprocess.run(
        [str(script), "report", "--json", *server], capture_output=True, text=True, env=script_env()
    )
    assert reported.returncode == 0, reported.stderr
    assert world.vpc_id in {row["vpc_id"] for row in json.loads(reported.stdout)}


def test_installed_script_reports_an_unknown_vpc_in_one_line(moto_server: str) -> None:
    args = ["invoke", str(EVENTS / "create-vpc.json"), "--endpoint-url", moto_server, "--region", REGION]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "endpoint-guard"), *args],
        capture_output=True,
        text=True,
        env=script_env(),
        timeout=120,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "endpoint-guard: VpcNotFoundError: VPC vpc-0c4f7a1e9b2d3c5a6 does not exist in this account and region"
    )
    assert result.stdout == ""


def test_plan_prints_markdown_and_changes_nothing(ec2, ecs, capsys) -> None:
    world = build_vpc(ec2)
    run_fargate_tasks(ecs, ec2, world.private_subnets["us-east-1a"])
    awsvpc_service(ecs, list(world.private_subnets.values()), cluster="web")
    code = main(["plan", world.vpc_id, "--region", REGION])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"# Migration plan for {world.vpc_id}")
    assert world.private_route_tables["us-east-1a"] in out  # the deferred route table, from a dry-run reconcile
    assert "### 1. web/checkout" in out and "## Cheaper safe alternative" in out
    assert ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["VpcEndpoints"] == []


def test_plan_json_is_the_plan_document(ec2, capsys) -> None:
    world = build_vpc(ec2)
    assert main(["plan", world.vpc_id, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema_version"] == 1 and document["source_vpc_id"] == world.vpc_id
    assert {"target", "services", "risks", "alternative", "cost"} <= set(document)


@pytest.mark.parametrize(("vpc_id", "message"), [("vpc-0123456789abcdef0", "does not exist"), ("nope", "not a VPC id")])
def test_plan_of_a_bad_vpc_is_one_line_and_exit_2(moto, capsys, vpc_id: str, message: str) -> None:
    assert main(["plan", vpc_id]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


# --- check, ensure, report ---------------------------------------------------------------------------


def test_check_is_read_only_and_exits_1_when_not_compliant(ec2, capsys) -> None:
    world = build_vpc(ec2)
    session = boto3.session.Session()
    calls = CallRecorder(session)  # every client the CLI builds from this session
    assert main(["check", world.vpc_id, "--json", "--region", REGION], session=session) == 1
    assert calls.operations and calls.mutating == []
    document = json.loads(capsys.readouterr().out)
    assert document["vpc_id"] == world.vpc_id and document["compliant"] is False and document["dry_run"] is True
    cost = document["cost"]
    assert set(cost) >= REQUIRED_COST_FIELDS
    assert (cost["interface_endpoints"], cost["availability_zones"]) == (3, 3)
    assert ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["VpcEndpoints"] == []


def test_ensure_then_check_exit_0_and_the_cost_says_whether_it_pays(ec2, capsys) -> None:
    world = build_vpc(ec2)
    assert main(["ensure", world.vpc_id]) == 0
    assert "compliant" in capsys.readouterr().out
    assert main(["check", world.vpc_id, "--gb-per-month", "40"]) == 0
    out = capsys.readouterr().out
    assert "traffic 40.0 GB/month from command-line" in out
    assert "the interface endpoints do not pay here" in out and "breaks even at 1,357 GB/month" in out
    assert "s3              free" in out and "logs            does not pay" in out


def test_check_in_mumbai_prices_the_vpc_at_mumbais_figures(moto, capsys) -> None:
    """ap-south-1's own prices ($0.013 an endpoint AZ-hour, NAT $0.056/GB), not us-east-1's: the
    figures of test_regional_prices.py's hand check at 500 GB a month."""
    ec2 = boto3.client("ec2", region_name="ap-south-1")
    world = build_vpc(ec2, azs=("ap-south-1a", "ap-south-1b", "ap-south-1c"))
    assert main(["check", world.vpc_id, "--region", "ap-south-1", "--gb-per-month", "500"]) == 1
    out = capsys.readouterr().out
    assert (
        "cost: endpoints $85.96/month (3 interface endpoint(s) x 3 AZ(s)), NAT processing avoided $30.80/month" in out
    )
    assert "breaks even at 1,412 GB/month" in out and "s3              free" in out
    assert "  prices as of 2025-10" in out.splitlines()  # and no note: Mumbai's own prices


def test_ensure_dry_run_changes_nothing(ec2, capsys) -> None:
    world = build_vpc(ec2)
    assert main(["ensure", world.vpc_id, "--dry-run", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["dry_run"] is True
    assert ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["VpcEndpoints"] == []


def test_report_covers_every_vpc_with_its_cost(ec2, ecs, capsys) -> None:
    fresh = build_vpc(ec2)
    busy = build_vpc(ec2, cidr="10.41.0.0/16")
    run_fargate_tasks(ecs, ec2, busy.private_subnets["us-east-1a"], count=3)
    main(["ensure", busy.vpc_id])
    capsys.readouterr()

    assert main(["report", "--json", "--gb-per-month", "3000"]) == 0
    rows = {row["vpc_id"]: row for row in json.loads(capsys.readouterr().out)}
    assert {fresh.vpc_id, busy.vpc_id} <= set(rows)  # and moto's default VPC
    assert rows[fresh.vpc_id]["compliant"] is False and rows[fresh.vpc_id]["running_tasks"] == 0
    assert rows[busy.vpc_id]["deferred_route_tables"] == [busy.private_route_tables["us-east-1a"]]
    assert rows[busy.vpc_id]["running_tasks"] == 3 and rows[busy.vpc_id]["endpoints"]["s3"] == "deferred"
    assert rows[busy.vpc_id]["cost"]["pays_off"] is True
    # Its three standalone tasks pull a public image behind the deferred gateway: through NAT, all three.
    assert rows[busy.vpc_id]["workloads"] == {"workloads": 3, "through_endpoints": 0, "via_nat": 3, "blocked": 0}
    assert rows[fresh.vpc_id]["workloads"]["workloads"] == 0

    assert main(["report"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:6] == ["VPC", "compliant", "ecr.api", "ecr.dkr", "logs", "s3"]
    assert any(line.startswith(busy.vpc_id) and " deferred " in line and " 0/3 " in line for line in table.splitlines())
    assert "workloads through endpoints 0/3" in table


def test_report_shows_a_progress_bar_on_a_terminal_when_there_are_many_vpcs(ec2, capsys, monkeypatch) -> None:
    for n in range(5):
        build_vpc(ec2, cidr=f"10.{50 + n}.0.0/16", azs=())
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["report"]) == 0
    err = capsys.readouterr().err
    assert "VPCs" in err and "[" in err and err.rstrip().endswith("6/6 VPCs")


@pytest.mark.parametrize("command", ["check", "ensure"])
def test_check_and_ensure_of_an_unknown_vpc_exit_2_in_one_line(moto, capsys, command: str) -> None:
    assert main([command, "vpc-0123456789abcdef0"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "does not exist" in err


def test_check_names_the_transit_gateway_alternative_of_an_attached_vpc(ec2, capsys) -> None:
    world = build_vpc(ec2)
    tgw = ec2.create_transit_gateway(Description="shared")["TransitGateway"]["TransitGatewayId"]
    ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw, VpcId=world.vpc_id, SubnetIds=[world.private_subnets["us-east-1a"]]
    )
    assert main(["check", world.vpc_id, "--json", "--gb-per-month", "50"]) == 1
    cost = json.loads(capsys.readouterr().out)["cost"]
    assert cost["centralised"]["transit_gateway_id"] == tgw and cost["centralised"]["cheaper"] is True
    assert {s["service"]: s["verdict"] for s in cost["services"]} == {
        "ecr.dkr": "does_not_pay",
        "ecr.api": "does_not_pay",
        "logs": "does_not_pay",
        "s3": "free",
    }


def test_prices_writes_a_prices_file_from_the_price_list_and_names_what_it_could_not_price(
    capsys, tmp_path, monkeypatch
) -> None:
    """The Price List API is not reached from tests: its adapter answers with product documents."""
    from endpoint_guard.aws.pricing import PricingAdapter

    from tests.unit.test_pricelist import EU

    monkeypatch.setattr(PricingAdapter, "region_documents", lambda self, region: EU if region == "eu-west-1" else [])
    out = tmp_path / "prices.json"
    assert main(["prices", "--regions", "eu-west-1,ap-south-2", "--out", str(out)]) == 2
    assert "ap-south-2: the price list has no" in capsys.readouterr().err
    from endpoint_guard.cost.estimate import load_prices

    table = load_prices(str(out))
    assert table["regions"]["eu-west-1"]["endpoint_hour"] == 0.011
    assert table["regions"]["eu-west-1"]["as_of"] == table["as_of"]
    assert "us-east-1" in table["regions"]  # the bundled Regions not fetched stay as they were


def test_prices_check_passes_on_the_bundled_table_and_names_what_a_prices_file_leaves_stale(
    capsys, tmp_path, monkeypatch
) -> None:
    from endpoint_guard.profile import commercial_regions

    for all_of_them in ([], ["--regions", "all"]):
        assert main(["prices", "--check", *all_of_them]) == 0
        assert f"{len(commercial_regions())} priced, 0 stale" in capsys.readouterr().err

    # A file over the bundle: its old figure for eu-west-1 is stale; the Regions it does not name keep
    # the bundle's prices (a file cannot leave a Region unpriced).
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"as_of": "2000-01", "source": "test", "regions": {"eu-west-1": {"nat_gb": 0.05}}}))
    monkeypatch.setenv("ENDPOINT_GUARD_PRICES_FILE", str(path))
    assert main(["prices", "--check", "--regions", "eu-west-1,sa-east-1,us-east-1"]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "sa-east-1: priced, as of 2025-10",
        "us-east-1: priced, as of 2025-10",
        "eu-west-1: stale, as of 2000-01",
    ]

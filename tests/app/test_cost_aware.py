"""The cost-aware profile on moto, through the CLI and the deployed path: the S3 gateway always; an
interface endpoint only where it is required or pays at the VPC's NAT traffic; nothing removed unless
by hand (--prune), and then only endpoint-guard's own."""

from __future__ import annotations

import json

import boto3
import pytest
from endpoint_guard.cli import main

from tests.conftest import REGION, endpoints_of
from tools.esm import context, receive, run_worker
from tools.world import build_vpc, daily_metric, tiered_vpc

INTAKE = context("endpoint-guard-intake")


def services(ec2, vpc_id: str) -> list[str]:
    return sorted(e["ServiceName"].split(f".{REGION}.", 1)[1] for e in endpoints_of(ec2, vpc_id))


def nat_of(ec2, vpc_id: str) -> str:
    [nat] = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]
    return str(nat["NatGatewayId"])


def nat_traffic(nat_id: str, gb_per_day: float, days: int = 14) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    daily_metric(
        cloudwatch, "AWS/NATGateway", "BytesOutToDestination", ("NatGatewayId", nat_id), gb_per_day * 1e9, days
    )


def ensure(capsys, vpc_id: str, *extra: str) -> tuple[int, dict]:
    code = main(["ensure", vpc_id, "--json", "--endpoint-profile", "cost-aware", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_at_default_traffic_only_the_free_gateway_is_added(ec2, capsys) -> None:
    world = build_vpc(ec2)
    code, result = ensure(capsys, world.vpc_id)
    assert code == 0 and result["compliant"] is True
    assert services(ec2, world.vpc_id) == ["s3"]
    choice = result["cost_aware"]
    assert choice["interface_services"] == [] and set(choice["left_out"]) == {"ecr.dkr", "ecr.api", "logs"}
    assert "does not pay here" in choice["left_out"]["logs"]


def test_high_nat_traffic_adds_the_endpoints_that_pay_with_a_margin(ec2, capsys) -> None:
    world = build_vpc(ec2)
    nat_traffic(nat_of(ec2, world.vpc_id), gb_per_day=700)  # ~21 TB a month of pulls; logs ~2.1 TB
    code, result = ensure(capsys, world.vpc_id)
    assert code == 0
    # logs: ~2,100 GB avoid ~$94 for ~$43 (pays); ecr.dkr: ~190 GB avoid ~$8.5 for ~$24 (does not)
    assert services(ec2, world.vpc_id) == ["logs", "s3"]
    assert result["cost_aware"]["interface_services"] == ["logs"]


def test_an_isolated_vpc_gets_the_endpoints_it_requires(ec2, capsys) -> None:
    vpc = tiered_vpc(ec2, {"intra": "isolated"}, azs=("us-east-1a", "us-east-1b"))
    code, result = ensure(capsys, vpc.vpc_id)
    # isolated: the layers-only gateway, which is free
    assert code == 0 and services(ec2, vpc.vpc_id) == ["ecr.api", "ecr.dkr", "logs", "s3"]
    assert result["cost_aware"]["interface_services"] == ["ecr.dkr", "ecr.api", "logs"]


def test_existing_endpoints_stay_and_prune_removes_only_endpoint_guards_own(ec2, capsys) -> None:
    world = build_vpc(ec2)
    assert main(["ensure", world.vpc_id]) == 0  # the full profile first: all four, endpoint-guard's own
    capsys.readouterr()
    code, kept = ensure(capsys, world.vpc_id)
    assert code == 0 and services(ec2, world.vpc_id) == ["ecr.api", "ecr.dkr", "logs", "s3"]  # nothing removed
    assert sorted(kept["cost_aware"]["prunable"]) == ["ecr.api", "ecr.dkr", "logs"]
    code, pruned = ensure(capsys, world.vpc_id, "--prune", "--dry-run")
    assert [a["status"] for a in pruned["pruned"]] == ["planned"] and len(endpoints_of(ec2, world.vpc_id)) == 4
    code, pruned = ensure(capsys, world.vpc_id, "--prune")
    assert [a["status"] for a in pruned["pruned"]] == ["done"]
    assert services(ec2, world.vpc_id) == ["s3"]


def test_prune_needs_the_cost_aware_profile(ec2, capsys) -> None:
    world = build_vpc(ec2)
    assert main(["ensure", world.vpc_id, "--prune"]) == 2
    assert "cost-aware" in capsys.readouterr().err


@pytest.fixture
def cost_aware_stack(stack, monkeypatch):
    monkeypatch.setenv("ENDPOINT_GUARD_ENDPOINT_PROFILE", "cost-aware")
    return stack


def test_the_deployed_worker_chooses_and_makes_only_the_calls_its_policy_grants(
    ec2, sqs, cost_aware_stack, intake, ensure_endpoints, clients
) -> None:
    from tests.conftest import CallRecorder
    from tests.unit.test_spoke_template import HUB

    world = build_vpc(ec2)
    made = {service: CallRecorder(clients.session, service) for service in ("ec2", "cloudwatch")}
    intake({"vpc_id": world.vpc_id}, INTAKE)
    run_worker(sqs, cost_aware_stack.work, ensure_endpoints)
    assert services(ec2, world.vpc_id) == ["s3"]
    assert receive(sqs, cost_aware_stack.work) == [] and receive(sqs, cost_aware_stack.dead) == []
    called = {f"{service}:{op}" for service, recorder in made.items() for op in recorder.operations}
    # Every call is granted by ReconcilePolicy with its CostAware statement; the choice's own read (the NAT
    # gateways' metrics) is exactly that statement (the NAT gateways are read under ReadVpcShape).
    granted: set[str] = set()
    cost_aware_actions: set[str] = set()
    for statement in HUB["Resources"]["ReconcilePolicy"]["Properties"]["PolicyDocument"]["Statement"]:
        if "!If" in statement:
            condition, statement, _ = statement["!If"]
            if condition == "CostAware":
                cost_aware_actions = set(statement["Action"])
        actions = statement["Action"]
        granted |= {actions} if isinstance(actions, str) else set(actions)
    granted |= {"ec2:DescribeVpcs", "ec2:DescribeVpcEndpointServices"}  # the worker's other statements
    assert called - granted == set()
    assert cost_aware_actions == {"cloudwatch:GetMetricData"} <= called and "ec2:DescribeNatGateways" in called


def test_the_sweep_chooses_at_its_traffic_figure(ec2, capsys, monkeypatch) -> None:
    world = build_vpc(ec2)
    monkeypatch.setenv("ENDPOINT_GUARD_ENDPOINT_PROFILE", "cost-aware")
    assert main(["sweep", "--json", "--dry-run"]) == 1  # the S3 gateway is still missing
    row = next(r for r in json.loads(capsys.readouterr().out)["vpcs"] if r["vpc_id"] == world.vpc_id)
    assert row["cost_aware"]["interface_services"] == [] and row["endpoints"] == {"s3": "planned"}
    assert main(["sweep", "--json", "--gb-per-month", "40000"]) == 0  # at 40 TB logs pay: enforced
    row = next(r for r in json.loads(capsys.readouterr().out)["vpcs"] if r["vpc_id"] == world.vpc_id)
    assert row["cost_aware"]["interface_services"] == ["logs"] and services(ec2, world.vpc_id) == ["logs", "s3"]

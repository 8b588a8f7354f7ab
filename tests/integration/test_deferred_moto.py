"""Deferred gateways by hand on moto: `ensure --apply-deferred` on a VPC with tasks behind two NAT
route tables, one table at a time or all, dry or not; approvals (`approve`, `--expires`, `--revoke`) in
the state table and where `check` and `report` show them."""

from __future__ import annotations

import json

import boto3
import pytest
from endpoint_guard.cli import main

from tests.conftest import REGION
from tools.esm import create_stack
from tools.world import awsvpc_service, build_vpc, run_fargate_tasks

TABLE = "endpoint-guard-state"


@pytest.fixture
def busy(ec2, ecs):
    """A NAT VPC whose private tables in us-east-1a and us-east-1b have Fargate tasks behind them (the
    service's own tasks: moto starts none for a service, so they are run by hand with its group)."""
    world = build_vpc(ec2)
    awsvpc_service(ecs, list(world.private_subnets.values()), cluster="checkout", name="cart", desired=2)
    for az in ("us-east-1a", "us-east-1b"):
        run_fargate_tasks(ecs, ec2, world.private_subnets[az], cluster="checkout", count=1, group="service:cart")
    return world


def cli(capsys, *argv: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*argv, "--json", "--region", REGION])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip().startswith("{") or out.strip().startswith("[") else {"text": out}


def gateway_tables(ec2, vpc_id: str) -> set[str]:
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    return {rt for e in found if e["VpcEndpointType"] == "Gateway" for rt in e["RouteTableIds"]}


def test_apply_deferred_adds_both_busy_tables_names_what_runs_there_and_ends_compliant(ec2, busy, capsys) -> None:
    a, b = busy.private_route_tables["us-east-1a"], busy.private_route_tables["us-east-1b"]
    code, _ = cli(capsys, "ensure", busy.vpc_id)
    assert code == 1 and not {a, b} & gateway_tables(ec2, busy.vpc_id)  # deferred: tasks behind them

    capsys.readouterr()
    code = main(["ensure", busy.vpc_id, "--apply-deferred", "--region", REGION])
    text = capsys.readouterr().out
    assert code == 0, text
    # Named before anything changed: each table, its task ENIs and the service behind it.
    first = text.index(f"adding the S3 gateway to {a}")
    assert "checkout/cart" in text[first:] and f"adding the S3 gateway to {b}" in text
    assert first < text.index("compliant")
    assert {a, b} <= gateway_tables(ec2, busy.vpc_id)

    code, result = cli(capsys, "check", busy.vpc_id)
    assert code == 0 and result["compliant"] and result["deferred_route_tables"] == []


def test_apply_deferred_on_one_table_and_dry_run_record_who_asked(ec2, busy, capsys) -> None:
    a, b = busy.private_route_tables["us-east-1a"], busy.private_route_tables["us-east-1b"]
    cli(capsys, "ensure", busy.vpc_id)
    code, dry = cli(capsys, "ensure", busy.vpc_id, "--apply-deferred", "--dry-run")
    assert code == 1 and not {a, b} & gateway_tables(ec2, busy.vpc_id)
    assert dry["apply_deferred"]["dry_run"] and dry["apply_deferred"]["route_tables"] == sorted([a, b])

    code, result = cli(capsys, "ensure", busy.vpc_id, "--apply-deferred", "--route-tables", a)
    assert code == 1  # b is still deferred
    asked = result["apply_deferred"]
    assert asked["route_tables"] == [a] and asked["by"].startswith("arn:aws:") and asked["at"].endswith("Z")
    assert [t["route_table_id"] for t in asked["behind"]] == [a] and asked["behind"][0]["tasks"] == 1
    assert a in gateway_tables(ec2, busy.vpc_id) and b not in gateway_tables(ec2, busy.vpc_id)
    assert [d["route_table_id"] for d in result["deferred_route_tables"]] == [b]


def test_route_tables_without_apply_deferred_is_an_input_error(busy, capsys) -> None:
    assert main(["ensure", busy.vpc_id, "--route-tables", "rtb-1", "--region", REGION]) == 2


def test_approvals_are_recorded_expire_and_are_revoked_and_check_and_report_show_them(
    ec2, busy, capsys, monkeypatch
) -> None:
    create_stack(boto3.client("sqs", region_name=REGION), boto3.client("dynamodb", region_name=REGION))
    a = busy.private_route_tables["us-east-1a"]
    assert main(["approve", busy.vpc_id, "--region", REGION]) == 2  # no state table: said so
    monkeypatch.setenv("ENDPOINT_GUARD_STATE_TABLE", TABLE)
    code, approved = cli(capsys, "approve", busy.vpc_id, "--route-tables", a, "--expires", "2h", "--state-table", TABLE)
    record = approved["approved"]
    assert code == 0 and record["route_tables"] == [a] and record["until"] - record["at"] == 7200

    code, result = cli(capsys, "check", busy.vpc_id, "--state-table", TABLE)
    assert result["approval"]["route_tables"] == [a] and result["approval"]["by"].startswith("arn:aws:")
    code, rows = cli(capsys, "report", "--state-table", TABLE)
    assert next(r for r in rows if r["vpc_id"] == busy.vpc_id)["approval"]["until"] == record["until"]

    # Expired (DynamoDB's TTL deletes it within days): no longer pending.
    from endpoint_guard.aws import Clients, StateTable
    from endpoint_guard.deferred.approval import Approval

    StateTable(TABLE, Clients(region=REGION)).put_approval(
        Approval(busy.vpc_id, REGION, route_tables=(a,), by="someone", at=1, until=2)
    )
    _, result = cli(capsys, "check", busy.vpc_id, "--state-table", TABLE)
    assert result["approval"] is None

    cli(capsys, "approve", busy.vpc_id, "--state-table", TABLE)
    code, revoked = cli(capsys, "approve", busy.vpc_id, "--revoke", "--state-table", TABLE)
    assert code == 0 and revoked["revoked"]["route_tables"] == ["*"]
    _, result = cli(capsys, "check", busy.vpc_id, "--state-table", TABLE)
    assert result["approval"] is None
    code, again = cli(capsys, "approve", busy.vpc_id, "--revoke", "--state-table", TABLE)
    assert again["revoked"] is None


def test_the_vpc_tag_is_an_approval_for_every_deferred_table(ec2, busy, capsys) -> None:
    ec2.create_tags(Resources=[busy.vpc_id], Tags=[{"Key": "endpoint-guard:apply-deferred", "Value": "window"}])
    _, result = cli(capsys, "check", busy.vpc_id)
    assert result["approval"]["source"] == "tag" and result["approval"]["route_tables"] == ["*"]


def test_expires_must_be_a_duration(busy, capsys) -> None:
    assert main(["approve", busy.vpc_id, "--expires", "soon", "--state-table", TABLE, "--region", REGION]) == 2

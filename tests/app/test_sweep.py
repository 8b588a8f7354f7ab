"""The fleet sweep through the CLI on moto: three accounts (moto keeps a backend per account; the member
role is assumed with STS) and two Regions; an account whose role cannot be assumed; the ignore tag and
the exclusion list; and the fleet reads' call count."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from endpoint_guard.aws import Ec2Adapter
from endpoint_guard.cli import main
from endpoint_guard.fleet import Target, sweep_target
from endpoint_guard.settings import Settings

from tests.conftest import on_assume_role, share_vpc
from tools.world import build_vpc, member_client

OWN, SECOND, THIRD = "123456789012", "111111111111", "222222222222"
REGIONS = ("us-east-1", "eu-west-1")
AZS = {"us-east-1": ("us-east-1a", "us-east-1b"), "eu-west-1": ("eu-west-1a", "eu-west-1b")}


@pytest.fixture
def fleet(moto: None) -> dict[tuple[str, str], str]:
    """One VPC of the usual shape per account and Region (moto adds each one's default VPC)."""
    return {
        (account, region): build_vpc(member_client("ec2", account, region), azs=AZS[region]).vpc_id
        for account in (OWN, SECOND, THIRD)
        for region in REGIONS
    }


def sweep(capsys, *args: str) -> tuple[int, dict]:
    code = main(["sweep", "--regions", ",".join(REGIONS), "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_a_report_sweep_covers_every_account_and_region_and_changes_nothing(fleet, capsys) -> None:
    code, report = sweep(capsys, "--accounts", f"{OWN},{SECOND},{THIRD}", "--dry-run")
    assert code == 1  # not compliant yet
    rows = {(r["account"], r["region"], r["vpc_id"]): r for r in report["vpcs"]}
    for (account, region), vpc_id in fleet.items():
        row = rows[(account, region, vpc_id)]
        assert row["compliant"] is False and set(row["endpoints"].values()) == {"planned"}
        assert row["cost"]["traffic_source"] == "default"
    summary = report["summary"]
    assert (summary["accounts"], summary["regions"], summary["mode"]) == (3, 2, "report")
    assert summary["vpcs"] == len(report["vpcs"]) >= 6 and summary["unreachable"] == []
    assert member_client("ec2", SECOND, "eu-west-1").describe_vpc_endpoints()["VpcEndpoints"] == []


def test_an_enforcing_sweep_makes_the_fleet_compliant_and_a_second_changes_nothing(fleet, capsys) -> None:
    code, report = sweep(capsys, "--accounts", f"{OWN},{SECOND},{THIRD}")
    ours = [r for r in report["vpcs"] if r["vpc_id"] in fleet.values()]
    assert len(ours) == 6 and all(r["compliant"] for r in ours), [r for r in ours if not r["compliant"]]
    assert report["summary"]["mode"] == "enforce"
    for (account, region), vpc_id in fleet.items():
        found = member_client("ec2", account, region).describe_vpc_endpoints(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
        )
        assert len(found["VpcEndpoints"]) == 4
    code, again = sweep(capsys, "--accounts", f"{OWN},{SECOND},{THIRD}", "--dry-run")
    assert all(r["compliant"] for r in again["vpcs"] if r["vpc_id"] in fleet.values())
    assert code == (0 if again["summary"]["not_compliant"] == 0 else 1)


def refuse_third(params: dict, **_: object) -> None:
    if THIRD in params.get("RoleArn", ""):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not trusted"}}, "AssumeRole")


def test_an_account_whose_role_cannot_be_assumed_is_listed_and_the_rest_goes_on(fleet, capsys, monkeypatch) -> None:
    """moto assumes any role; AWS refuses one that does not exist or does not trust the caller (injected
    into every STS client the CLI makes)."""
    on_assume_role(monkeypatch, refuse_third)
    code, report = sweep(capsys, "--accounts", f"{OWN},{SECOND},{THIRD}", "--dry-run")
    assert code == 2
    assert [(u["account"], u["region"]) for u in report["summary"]["unreachable"]] == [(THIRD, r) for r in REGIONS]
    assert all("AccessDenied" in u["reason"] for u in report["summary"]["unreachable"])
    assert {r["account"] for r in report["vpcs"]} == {OWN, SECOND}
    assert main(["sweep", "--regions", ",".join(REGIONS), "--accounts", f"{OWN},{THIRD}", "--dry-run"]) == 2
    text = capsys.readouterr().out
    assert f"! {THIRD} us-east-1: unreachable: assume_role failed: AccessDenied" in text
    assert "in 2 account(s) and 2 Region(s), report mode" in text


def test_opted_out_and_excluded_vpcs_are_left_alone(fleet, capsys) -> None:
    ignored, excluded = fleet[(OWN, "us-east-1")], fleet[(OWN, "eu-west-1")]
    member_client("ec2", OWN, "us-east-1").create_tags(
        Resources=[ignored], Tags=[{"Key": "endpoint-guard:ignore", "Value": "true"}]
    )
    code, report = sweep(capsys, "--exclude-vpcs", excluded)
    assert code == 0  # the others are made compliant (this sweep enforces); the two left alone do not count
    rows = {r["vpc_id"]: r for r in report["vpcs"]}
    assert rows[ignored]["skipped"] == "opted_out" and rows[excluded]["skipped"] == "excluded"
    assert (
        member_client("ec2", OWN, "us-east-1").describe_vpc_endpoints(
            Filters=[{"Name": "vpc-id", "Values": [ignored]}]
        )["VpcEndpoints"]
        == []
    )
    assert main(["sweep", "--regions", ",".join(REGIONS), "--dry-run", "--markdown"]) in (0, 1)
    markdown = capsys.readouterr().out
    assert markdown.startswith("# endpoint-guard fleet report") and f"| {ignored} | opted_out |" in markdown


@pytest.mark.parametrize("profile", ["full", "cost-aware"])
def test_the_fleet_reads_cost_a_few_calls_per_region_and_at_most_two_per_vpc(moto, clients, calls, profile) -> None:
    """Under the cost-aware profile a VPC is planned twice (the dry choice, then the reconcile): its DNS
    attributes are still read once."""
    ec2 = clients.client("ec2")
    for n in range(12):
        build_vpc(ec2, cidr=f"10.{100 + n}.0.0/16", azs=("us-east-1a", "us-east-1b"))
    calls.reset()
    settings = Settings(dry_run=True, verify_dns=True, endpoint_profile=profile)
    rows = sweep_target(Ec2Adapter(clients), Target(None, "us-east-1"), settings)
    n = len(rows)  # the 12 and moto's default VPC
    per_vpc = [op for op in calls.operations if op == "DescribeVpcAttribute"]
    fleet_wide = [op for op in calls.operations if op != "DescribeVpcAttribute"]
    assert len(per_vpc) <= 2 * n
    # One paginated read each (one page here): VPCs, route tables, endpoints, subnets, groups, ENIs;
    # and the service offers, once for the account-Region. The ways out (NAT gateways, transit gateway
    # attachments) too, because one VPC's new endpoints would go to the isolated tier: moto's default
    # VPC, which moto makes without an internet route.
    assert sorted(set(fleet_wide)) == sorted(
        {
            "DescribeNatGateways",
            "DescribeTransitGatewayAttachments",
            "DescribeVpcs",
            "DescribeRouteTables",
            "DescribeVpcEndpoints",
            "DescribeSubnets",
            "DescribeSecurityGroups",
            "DescribeNetworkInterfaces",
            "DescribeVpcEndpointServices",
        }
    )
    assert len(fleet_wide) <= 9


def test_the_external_id_the_member_role_requires_is_passed(fleet, capsys, monkeypatch) -> None:
    asked: list[dict] = []
    on_assume_role(monkeypatch, lambda params, **_: asked.append(params))
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_EXTERNAL_ID", "from-the-environment-0001")
    sweep(capsys, "--accounts", SECOND, "--dry-run")
    assert {p["ExternalId"] for p in asked} == {"from-the-environment-0001"}
    asked.clear()
    sweep(capsys, "--accounts", SECOND, "--dry-run", "--external-id", "on-the-command-line-02")
    assert {p["ExternalId"] for p in asked} == {"on-the-command-line-02"}


def test_a_vpc_shared_with_the_account_is_left_to_its_owner_by_the_sweep_and_the_report(
    moto, capsys, monkeypatch
) -> None:
    """In a participant account DescribeVpcs lists the VPCs shared with it, with their owner's id; AWS
    refuses a participant endpoints there. The sweep and the report skip them and name the owner."""
    own = build_vpc(member_client("ec2", OWN, "us-east-1"), azs=AZS["us-east-1"]).vpc_id
    shared = build_vpc(member_client("ec2", OWN, "us-east-1"), azs=AZS["us-east-1"], cidr="10.9.0.0/16").vpc_id
    share_vpc(monkeypatch, shared, THIRD)
    code, report = sweep(capsys, "--regions", "us-east-1")
    assert code == 0  # the skipped shared VPC is neither a failure nor a gap of this account
    rows = {r["vpc_id"]: r for r in report["vpcs"]}
    assert rows[shared]["skipped"] == "shared" and rows[shared]["owner"] == THIRD
    assert rows[shared]["account"] == OWN and rows[own]["compliant"] is True
    found = member_client("ec2", OWN, "us-east-1").describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [shared]}]
    )["VpcEndpoints"]
    assert found == []  # nothing asked of the shared VPC (moto would have allowed it)

    assert main(["report", "--region", "us-east-1"]) in (0, 1)
    out = capsys.readouterr().out
    assert f"{shared} (account {THIRD})" in out and "shared with this account" in out
    assert not [line for line in out.splitlines() if line.startswith(shared)]

    assert main(["ensure", shared, "--region", "us-east-1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == "shared"
    assert main(["ensure", own, "--region", "us-east-1", "--json"]) == 0  # its own VPCs as ever
    assert json.loads(capsys.readouterr().out)["compliant"] is True


def test_the_sweep_reads_the_ways_out_once_for_the_region_and_a_vpc_being_built_waits(moto, clients, calls) -> None:
    """Two VPCs whose private tables are not routed yet, one with a fresh NAT gateway: the sweep reads
    the NAT gateways and attachments once for the Region (not per VPC); the VPC with the NAT gateway waits
    for its route, the other (no way out being built) gets its endpoints in the isolated tier."""
    from tools.world import nat_gateway, tiered_vpc

    ec2 = clients.client("ec2")
    building = tiered_vpc(ec2, {"public": "public", "app": "isolated"}, azs=("us-east-1a",))
    nat_gateway(ec2, building.subnets["public"]["us-east-1a"])
    isolated = tiered_vpc(ec2, {"public": "public", "app": "isolated"}, cidr="10.61.0.0/16", azs=("us-east-1a",))
    calls.reset()
    rows = {r["vpc_id"]: r for r in sweep_target(Ec2Adapter(clients), Target(None, "us-east-1"), Settings())}
    assert calls.operations.count("DescribeNatGateways") == 1
    assert calls.operations.count("DescribeTransitGatewayAttachments") == 1
    assert set(rows[building.vpc_id]["endpoints"].values()) == {"waiting", "created"}  # the gateway is made
    assert rows[building.vpc_id]["endpoints"]["ecr.dkr"] == "waiting"
    assert rows[isolated.vpc_id]["endpoints"]["ecr.dkr"] == "created"


def test_the_sweep_judges_each_vpcs_workloads_once_per_account_region(moto, capsys) -> None:
    """A fully private VPC with a Fargate service in a second account: blocked in the report sweep
    (no S3 route for its layers), pulling through the endpoints once the enforcing sweep made them."""
    from tools.world import awsvpc_service, tiered_vpc

    ec2, ecs = member_client("ec2", SECOND, "us-east-1"), member_client("ecs", SECOND, "us-east-1")
    vpc = tiered_vpc(ec2, {"app": "isolated"}, azs=AZS["us-east-1"])
    awsvpc_service(ecs, list(vpc.subnets["app"].values()), image=f"{SECOND}.dkr.ecr.us-east-1.amazonaws.com/a:1")
    code, report = sweep(capsys, "--accounts", SECOND, "--dry-run")
    rows = {r["vpc_id"]: r for r in report["vpcs"]}
    assert code == 1 and rows[vpc.vpc_id]["workloads"]["blocked"] == 1
    assert report["summary"]["workloads"] == {"through_endpoints": 0, "workloads": 1}
    code, enforced = sweep(capsys, "--accounts", SECOND)
    rows = {r["vpc_id"]: r for r in enforced["vpcs"]}
    assert rows[vpc.vpc_id]["compliant"] is True and rows[vpc.vpc_id]["workloads"]["through_endpoints"] == 1
    assert main(["sweep", "--regions", "us-east-1", "--accounts", SECOND, "--dry-run", "--markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "through endpoints" in markdown.splitlines()[4] and "workloads through endpoints 1/1" in markdown
    from endpoint_guard.cost.html import render_html

    page = render_html(enforced["vpcs"], "fleet")
    assert page.count("workloads through endpoints 1/1") == 2  # the VPC and the fleet total

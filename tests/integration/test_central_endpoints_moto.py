"""Central endpoints on moto (the Landing Zone Accelerator pattern): a spoke VPC whose private subnets
route to a transit gateway, with private hosted zones for ECR's and logs' private DNS names associated
with it. Its interface services are provided centrally: no local endpoint (AWS would refuse its private
DNS, the name being taken), compliant, the pull path followed to the zone (reachability through the
transit gateway reported unverified), the cost saying so, the fleet report counting it apart."""

from __future__ import annotations

import json

import boto3
import pytest
from endpoint_guard.cli import main

from tests.conftest import REGION
from tools.world import CENTRAL_ZONES, awsvpc_service, build_vpc, central_spoke

ZONES = [z.format(region=REGION) for z in CENTRAL_ZONES]


@pytest.fixture
def spoke(ec2):
    return central_spoke(ec2, boto3.client("route53", region_name=REGION))


def check(vpc_id: str, capsys) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["check", vpc_id, "--json", "--region", REGION])
    return code, json.loads(capsys.readouterr().out)


def test_a_spoke_served_by_central_endpoints_gets_no_local_ones_and_is_compliant(spoke, ec2, ecs, capsys) -> None:
    image = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/shop/api:v3"
    awsvpc_service(ecs, list(spoke.private_subnets.values()), cluster="shop", name="api", image=image)
    assert main(["ensure", spoke.vpc_id, "--region", REGION]) == 0
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [spoke.vpc_id]}])["VpcEndpoints"]
    assert [e["VpcEndpointType"] for e in found] == ["Gateway"]  # the S3 gateway only: it cannot be central
    code, result = check(spoke.vpc_id, capsys)
    assert code == 0 and result["compliant"]
    assert set(result["central_endpoints"]) == {"ecr.dkr", "ecr.api", "logs"}
    dkr = next(e for e in result["endpoints"] if e["service"] == "ecr.dkr")
    assert dkr["status"] == "compliant" and "dkr.ecr.us-east-1.amazonaws.com" in dkr["reason"]
    [workload] = result["workloads"]
    assert workload["verdict"] == "through_endpoints"
    central = [p for p in workload["problems"] if p["hop"] == "endpoint"]
    assert {p["effect"] for p in central} == {"unverified"} and {p["service"] for p in central} >= {"ecr.dkr"}
    assert result["cost"]["central_in_use"] == result["central_endpoints"]
    assert result["cost"]["endpoints_monthly_usd"] == 0.0 and "served centrally" in result["cost"]["verdict"]


def test_the_fleet_report_counts_centrally_served_vpcs_apart(spoke, capsys) -> None:
    capsys.readouterr()
    main(["sweep", "--json", "--region", REGION])
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["centrally_served"] == 1
    row = next(r for r in report["vpcs"] if r["vpc_id"] == spoke.vpc_id)
    assert set(row["central_endpoints"]) == {"ecr.dkr", "ecr.api", "logs"} and row["compliant"]


def test_without_a_transit_gateway_route_no_zone_is_read_and_local_endpoints_are_made(ec2, capsys) -> None:
    from tests.conftest import CallRecorder

    world = build_vpc(ec2)
    route53 = boto3.client("route53", region_name=REGION)
    route53.create_hosted_zone(
        Name=ZONES[0],
        CallerReference="z",
        VPC={"VPCRegion": REGION, "VPCId": world.vpc_id},
        HostedZoneConfig={"PrivateZone": True},
    )
    from endpoint_guard.aws import Clients, Ec2Adapter
    from endpoint_guard.reconcile import reconcile
    from endpoint_guard.settings import Settings

    clients = Clients(region=REGION)
    calls = CallRecorder(clients.client("route53"))
    result = reconcile(world.vpc_id, ec2=Ec2Adapter(clients), settings=Settings())
    assert calls.operations == [] and "central_endpoints" not in result
    assert {e["status"] for e in result["endpoints"] if e["type"] == "Interface"} == {"created"}

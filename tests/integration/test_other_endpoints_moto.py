"""Endpoints that are not this Region's AWS services, on moto: another Region's ECR (cross-Region
PrivateLink, Nov 2025: ``ServiceRegion``) and VPC Lattice's Resource and ServiceNetwork endpoints, which
DescribeVpcEndpoints returns beside the others. moto knows neither: AWS's answer is injected into
DescribeVpcEndpoints (the shapes of AWS's API reference), and the test says so."""

from __future__ import annotations

import json

import pytest
from endpoint_guard.cli import main

from tests.conftest import REGION, on_every_client
from tools.world import awsvpc_service, build_vpc

FOREIGN = {
    "VpcEndpointId": "vpce-0aaaaaaaaaaaaaaa1",
    "VpcEndpointType": "Interface",
    "ServiceName": "com.amazonaws.us-west-2.ecr.dkr",
    "ServiceRegion": "us-west-2",
    "State": "available",
    "SubnetIds": [],
    "Groups": [],
    "PrivateDnsEnabled": False,
    "NetworkInterfaceIds": [],
    "Tags": [],
}
LATTICE = [
    {
        "VpcEndpointId": "vpce-0bbbbbbbbbbbbbbb2",
        "VpcEndpointType": "Resource",
        "ResourceConfigurationArn": "arn:aws:vpc-lattice:us-east-1:123456789012:resourceconfiguration/rcfg-1",
        "State": "available",
        "SubnetIds": [],
        "NetworkInterfaceIds": ["eni-0lattice000000001"],
        "Tags": [],
    },
    {
        "VpcEndpointId": "vpce-0ccccccccccccccc3",
        "VpcEndpointType": "ServiceNetwork",
        "ServiceNetworkArn": "arn:aws:vpc-lattice:us-east-1:123456789012:servicenetwork/sn-1",
        "State": "available",
        "SubnetIds": [],
        "NetworkInterfaceIds": [],
        "Tags": [],
    },
    {
        "VpcEndpointId": "vpce-0ddddddddddddddd4",
        "VpcEndpointType": "GatewayLoadBalancer",
        "ServiceName": "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
        "State": "available",
        "SubnetIds": [],
        "NetworkInterfaceIds": [],
        "Tags": [],
    },
]


@pytest.fixture
def world(ec2, monkeypatch):
    built = build_vpc(ec2)
    extra: list[dict] = []

    def more(parsed: dict, **_: object) -> None:  # AWS lists these endpoints; moto has none of them
        if "VpcEndpoints" in parsed:
            parsed["VpcEndpoints"] += [{**e, "VpcId": built.vpc_id} for e in extra]

    on_every_client(monkeypatch, "ec2", "after-call.ec2.DescribeVpcEndpoints", more)
    built.extra = extra
    return built


def check(vpc_id: str, capsys) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["check", vpc_id, "--json", "--region", REGION])
    return code, json.loads(capsys.readouterr().out)


def test_another_regions_ecr_endpoint_is_never_counted_adopted_or_a_duplicate(world, capsys) -> None:
    world.extra.append(FOREIGN)
    assert main(["ensure", world.vpc_id, "--region", REGION]) == 0  # the local ecr.dkr is created all the same
    code, result = check(world.vpc_id, capsys)
    dkr = next(e for e in result["endpoints"] if e["service"] == "ecr.dkr")
    assert code == 0 and dkr["endpoint_id"] != FOREIGN["VpcEndpointId"] and dkr["managed"]
    assert not any("ecr.dkr" in f and "endpoints in" in f for f in result["findings"])


def test_lattice_and_load_balancer_endpoints_are_left_out_everywhere(world, capsys) -> None:
    world.extra.extend(LATTICE)
    assert main(["ensure", world.vpc_id, "--region", REGION]) == 0
    code, result = check(world.vpc_id, capsys)
    ids = {e["endpoint_id"] for e in result["endpoints"]}
    assert code == 0 and ids.isdisjoint({e["VpcEndpointId"] for e in LATTICE})
    capsys.readouterr()
    assert main(["release", world.vpc_id, "--json", "--region", REGION]) == 0
    released = json.loads(capsys.readouterr().out)
    assert all(e["VpcEndpointId"] not in json.dumps(released) for e in LATTICE)


def test_an_image_in_another_regions_ecr_is_told_about_cross_region_endpoints_with_their_price(
    world, ecs, capsys
) -> None:
    image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/shop/api:v3"
    awsvpc_service(ecs, list(world.private_subnets.values()), cluster="shop", name="api", image=image)
    main(["ensure", world.vpc_id, "--region", REGION])
    _, result = check(world.vpc_id, capsys)
    [workload] = result["workloads"]
    [problem] = [p for p in workload["problems"] if p["hop"] == "image"]
    assert "us-west-2's ECR" in problem["detail"] and "com.amazonaws.us-west-2.ecr.api" in problem["fix"]
    assert "a month in 3 AZ(s), plus inter-Region data transfer" in problem["fix"]
    # With a cross-Region endpoint there: its registry calls go through it, its layers still do not.
    world.extra.append(FOREIGN)
    _, result = check(world.vpc_id, capsys)
    [problem] = [p for p in result["workloads"][0]["problems"] if p["hop"] == "image"]
    assert FOREIGN["VpcEndpointId"] in problem["detail"] and "us-west-2's S3" in problem["detail"]
    assert result["compliant"]  # an image outside this Region's ECR, with a way out: a finding, not a failure


def test_the_intake_parses_what_it_does_not_manage(world) -> None:
    world.extra.extend(LATTICE)
    from endpoint_guard.aws import Clients, Ec2Adapter
    from endpoint_guard.model import endpoint_from_api

    found = [endpoint_from_api(e) for e in Ec2Adapter(Clients(region=REGION)).vpc_endpoints(world.vpc_id)]
    lattice = [e for e in found if e.endpoint_id in {x["VpcEndpointId"] for x in LATTICE}]
    assert len(lattice) == 3 and not any(e.serves(REGION) for e in lattice)


def test_a_change_to_an_endpoint_that_is_not_a_service_of_this_region_is_no_drift(world, monkeypatch) -> None:
    """The intake's lookup of a drifted endpoint's VPC: AWS describes the Lattice and other-Region endpoints
    it is asked for (moto knows none: its answer is given here, with botocore's Stubber)."""
    from botocore.stub import Stubber
    from endpoint_guard.aws import Clients, Ec2Lookups

    client = Clients(region=REGION).client("ec2")
    stub = Stubber(client)
    answer = {"VpcEndpoints": [{**e, "VpcId": world.vpc_id} for e in (*LATTICE, FOREIGN)]}
    stub.add_response("describe_vpc_endpoints", answer)
    with stub:
        ids = [e["VpcEndpointId"] for e in (*LATTICE, FOREIGN)]
        assert Ec2Lookups(client=client).vpcs_of_endpoints(ids) == ()

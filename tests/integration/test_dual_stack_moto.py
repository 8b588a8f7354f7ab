"""Dual-stack and IPv6 on moto. moto ignores IpAddressType and lists no SupportedIpAddressTypes: AWS's
answer (ECR, logs and S3 offered over IPv4 and IPv6, Nov 2025) is injected into
DescribeVpcEndpointServices, and what endpoint-guard asks of CreateVpcEndpoint is recorded, which is what
AWS acts on."""

from __future__ import annotations

import ipaddress

import pytest
from endpoint_guard.cli import main

from tests.conftest import REGION, on_every_client


@pytest.fixture
def asked(moto, monkeypatch) -> list[dict]:
    created: list[dict] = []

    def offered(parsed: dict, **_: object) -> None:  # AWS lists the IP address types each service takes
        for detail in parsed.get("ServiceDetails", []):
            detail["SupportedIpAddressTypes"] = ["ipv4", "ipv6"]

    def record(params: dict, **_: object) -> None:
        created.append(dict(params))

    on_every_client(monkeypatch, "ec2", "after-call.ec2.DescribeVpcEndpointServices", offered)
    on_every_client(monkeypatch, "ec2", "provide-client-params.ec2.CreateVpcEndpoint", record)
    return created


def vpc_with_ipv6(ec2, *, ipv6_only: bool) -> tuple[str, list[str]]:
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    vpc_id = vpc["VpcId"]
    block = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    six = list(ipaddress.ip_network(block).subnets(new_prefix=64))
    subnets = []
    for n, az in enumerate(("us-east-1a", "us-east-1b")):
        kwargs = {"Ipv6Native": True} if ipv6_only else {"CidrBlock": f"10.50.{n}.0/24"}
        subnets.append(
            ec2.create_subnet(VpcId=vpc_id, AvailabilityZone=az, Ipv6CidrBlock=str(six[n]), **kwargs)["Subnet"][
                "SubnetId"
            ]
        )
    return vpc_id, subnets


def test_a_dual_stack_vpc_gets_dual_stack_interface_endpoints_and_gateway(ec2, asked) -> None:
    vpc_id, _ = vpc_with_ipv6(ec2, ipv6_only=False)
    assert main(["ensure", vpc_id, "--region", REGION]) == 0
    assert {p["IpAddressType"] for p in asked} == {"dualstack"}
    interfaces = [p for p in asked if p["VpcEndpointType"] == "Interface"]
    assert len(interfaces) == 3 and all(p["DnsOptions"] == {"DnsRecordIpType": "dualstack"} for p in interfaces)
    [gateway] = [p for p in asked if p["VpcEndpointType"] == "Gateway"]  # the layers-only one: no way out here
    assert gateway["ServiceName"].endswith(".s3") and "DnsOptions" not in gateway


def test_ipv6_only_subnets_get_ipv6_interface_endpoints(ec2, asked) -> None:
    vpc_id, subnets = vpc_with_ipv6(ec2, ipv6_only=True)
    if not ec2.describe_subnets(SubnetIds=subnets)["Subnets"][0].get("Ipv6Native"):
        pytest.skip("this moto does not keep Ipv6Native")
    main(["ensure", vpc_id, "--region", REGION])
    interfaces = [p for p in asked if p["VpcEndpointType"] == "Interface"]
    assert interfaces and {p["IpAddressType"] for p in interfaces} == {"ipv6"}
    assert all(sorted(p["SubnetIds"]) == sorted(subnets) for p in interfaces)

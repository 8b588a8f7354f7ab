"""VPCs in the shapes real ones have (the most used Terraform VPC module, the CDK's Vpc, isolated-only,
public-only), reconciled on moto: the tier of every chosen subnet, the exact route tables of the S3
gateway, compliance, and the same answer run after run."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import by_service, endpoints_of
from tools.world import Tiered, cdk_default_vpc, run_fargate_tasks, terraform_module_vpc, tiered_vpc

AZS = ("us-east-1a", "us-east-1b", "us-east-1c")
INTERFACES = ("ecr.dkr", "ecr.api", "logs")


def chosen_tiers(vpc: Tiered, result: dict) -> dict[str, set[str]]:
    """Per interface service, the tiers of the subnets its endpoint is in."""
    return {s: {vpc.tier_of(sid) for sid in by_service(result)[s]["subnet_ids"]} for s in INTERFACES}


def assert_stable(run, vpc_id: str, times: int = 5) -> None:
    """Five more runs: nothing to change, the same endpoints in the same places."""
    first = run(vpc_id)
    for _ in range(times - 1):
        again = run(vpc_id)
        assert again["compliant"] is True and again["actions"] == []
        assert again["endpoints"] == first["endpoints"]


@pytest.mark.parametrize("single_nat", [False, True], ids=["nat-per-az", "single-nat"])
def test_terraform_module_vpc_endpoints_in_the_private_tier_gateway_on_private_and_public(
    ec2, run, calls, single_nat: bool
) -> None:
    vpc = terraform_module_vpc(ec2, single_nat=single_nat)
    plans = [run(vpc.vpc_id, dry_run=True) for _ in range(5)]  # the choice is the same on every run
    assert all(p["endpoints"] == plans[0]["endpoints"] for p in plans)

    result = run(vpc.vpc_id)
    assert result["compliant"] is True
    assert chosen_tiers(vpc, result) == {s: {"private"} for s in INTERFACES}
    for service in INTERFACES:
        assert sorted(by_service(result)[service]["subnet_ids"]) == sorted(vpc.subnets["private"].values())
        assert by_service(result)[service]["availability_zones"] == list(AZS)
    # private (NAT) and public tables; not database, not intra, not the main table that routes no subnet
    assert set(by_service(result)["s3"]["route_table_ids"]) == vpc.route_tables["private"] | vpc.route_tables["public"]
    assert "left isolated" in by_service(result)["s3"]["reason"]
    assert len(vpc.route_tables["private"]) == (1 if single_nat else 3)
    assert_stable(run, vpc.vpc_id)


def test_cdk_default_vpc_uses_private_with_egress_and_keeps_isolated_subnets_isolated(ec2, run) -> None:
    vpc = cdk_default_vpc(ec2)
    result = run(vpc.vpc_id)
    assert result["compliant"] is True
    assert chosen_tiers(vpc, result) == {s: {"Private"} for s in INTERFACES}
    gateway = by_service(result)["s3"]["route_table_ids"]
    assert set(gateway) == vpc.route_tables["Private"] | vpc.route_tables["Public"]
    assert len(gateway) == 6 and not set(gateway) & vpc.route_tables["Isolated"]
    assert_stable(run, vpc.vpc_id)


def test_isolated_only_vpc_gets_its_interface_endpoints_and_the_layers_only_gateway(ec2, run) -> None:
    """The fully private VPC (no NAT anywhere): the interface endpoints, and the tasks, are in the
    isolated tier, and ECR serves layers from S3. Without a gateway those tasks could not pull; the full
    gateway would open every bucket to a locked-down tier. It gets the layers-only gateway at once."""
    vpc = tiered_vpc(ec2, {"intra": "isolated"})
    result = run(vpc.vpc_id)
    assert chosen_tiers(vpc, result) == {s: {"intra"} for s in INTERFACES}  # the only way to pull at all
    assert by_service(result)["s3"]["status"] == "compliant" and by_service(result)["s3"]["endpoint_id"] is None
    layers = by_service(result)["s3-layers"]
    assert layers["status"] == "created" and set(layers["route_table_ids"]) == vpc.route_tables["intra"]
    assert result["compliant"] is True and result["deferred_route_tables"] == []
    [gateway] = [e for e in endpoints_of(ec2, vpc.vpc_id) if e["VpcEndpointType"] == "Gateway"]
    policy = json.loads(gateway["PolicyDocument"])
    assert [(s["Action"], s["Resource"]) for s in policy["Statement"]] == [
        ("s3:GetObject", ["arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"])
    ]
    assert_stable(run, vpc.vpc_id)
    # The deployer opts in to the full gateway on isolated tiers: the tables move to it.
    opted = run(vpc.vpc_id, s3_gateway_on_isolated=True)
    assert by_service(opted)["s3"]["status"] == "created"
    assert set(by_service(opted)["s3"]["route_table_ids"]) == vpc.route_tables["intra"]
    assert by_service(opted)["s3-layers"]["route_table_ids"] == []


def test_public_only_vpc_uses_its_public_subnets_since_nothing_else_exists(ec2, run) -> None:
    vpc = tiered_vpc(ec2, {"public": "public"}, azs=AZS[:2])
    result = run(vpc.vpc_id)
    assert chosen_tiers(vpc, result) == {s: {"public"} for s in INTERFACES}
    assert set(by_service(result)["s3"]["route_table_ids"]) == vpc.route_tables["public"]
    assert result["compliant"] is True
    assert_stable(run, vpc.vpc_id)


def test_the_modules_own_endpoint_example_is_compliant_as_built(ec2, run, calls) -> None:
    """Endpoints made by the VPC module's example (not endpoint-guard's): the S3 gateway on the private
    route tables only, interface endpoints in the private subnets. The main table routes no subnet, the
    database and intra tables are isolated: nothing is missing, nothing is changed."""
    vpc = terraform_module_vpc(ec2)
    for short in INTERFACES:
        ec2.create_vpc_endpoint(
            VpcId=vpc.vpc_id,
            ServiceName=f"com.amazonaws.us-east-1.{short}",
            VpcEndpointType="Interface",
            SubnetIds=list(vpc.subnets["private"].values()),
            PrivateDnsEnabled=True,
        )
    ec2.create_vpc_endpoint(
        VpcId=vpc.vpc_id,
        ServiceName="com.amazonaws.us-east-1.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=sorted(vpc.route_tables["private"] | vpc.route_tables["public"]),
    )
    calls.reset()
    result = run(vpc.vpc_id)
    assert result["compliant"] is True, result
    assert calls.mutating == []
    assert {e["status"] for e in result["endpoints"]} == {"compliant"}
    assert all(e["managed"] is False for e in result["endpoints"])


def test_tags_pin_placement_and_keep_subnets_out(ec2, run) -> None:
    vpc = terraform_module_vpc(ec2)
    pinned = vpc.subnets["database"]["us-east-1a"]
    excluded = vpc.subnets["private"]["us-east-1b"]
    ec2.create_tags(Resources=[pinned], Tags=[{"Key": "endpoint-guard:endpoints", "Value": "true"}])
    ec2.create_tags(Resources=[excluded], Tags=[{"Key": "endpoint-guard:endpoints", "Value": "false"}])
    result = run(vpc.vpc_id)
    dkr = by_service(result)["ecr.dkr"]
    # a: the pinned subnet (whatever its tier); b: its only private subnet is excluded, so no endpoint
    # there; c: the private tier as usual.
    assert sorted(dkr["subnet_ids"]) == sorted([pinned, vpc.subnets["private"]["us-east-1c"]])
    assert dkr["availability_zones"] == ["us-east-1a", "us-east-1c"]
    assert_stable(run, vpc.vpc_id)


def test_within_an_az_workloads_then_free_addresses_decide(ec2, ecs, run, calls) -> None:
    """Two NAT-routed subnets per AZ: where tasks run wins; elsewhere the larger free space."""
    vpc = tiered_vpc(
        ec2, {"public": "public", "app": "private", "batch": "private"}, sizes={"app": 25, "batch": 22}, nat="single"
    )
    busy = vpc.subnets["app"]["us-east-1b"]  # the smaller subnet, but the tasks run there
    run_fargate_tasks(ecs, ec2, busy, count=2)
    result = run(vpc.vpc_id)
    expected = {vpc.subnets["batch"]["us-east-1a"], busy, vpc.subnets["batch"]["us-east-1c"]}
    for service in INTERFACES:
        assert set(by_service(result)[service]["subnet_ids"]) == expected
    assert calls.operations.count("DescribeNetworkInterfaces") == 1  # one read decides both questions


def test_an_existing_endpoint_is_never_moved_to_the_preferred_tier(ec2, run, calls) -> None:
    vpc = terraform_module_vpc(ec2)
    run(vpc.vpc_id)
    dkr = next(e for e in endpoints_of(ec2, vpc.vpc_id) if e["ServiceName"].endswith("ecr.dkr"))
    ec2.modify_vpc_endpoint(
        VpcEndpointId=dkr["VpcEndpointId"],
        RemoveSubnetIds=[vpc.subnets["private"]["us-east-1a"]],
        AddSubnetIds=[vpc.subnets["intra"]["us-east-1a"]],
    )
    calls.reset()
    result = run(vpc.vpc_id)
    assert result["compliant"] is True and calls.mutating == []
    assert vpc.subnets["intra"]["us-east-1a"] in by_service(result)["ecr.dkr"]["subnet_ids"]


def test_isolated_tier_with_workloads_that_reach_s3_through_an_interface_endpoint_gets_the_gateway(
    ec2, ecs, run
) -> None:
    """No new exposure (they reach S3 already), and no open connection to drop (an isolated table sends
    nothing out): the gateway goes on, without deferral."""
    vpc = tiered_vpc(ec2, {"intra": "isolated"}, azs=AZS[:1])
    ec2.create_vpc_endpoint(
        VpcId=vpc.vpc_id,
        ServiceName="com.amazonaws.us-east-1.s3",
        VpcEndpointType="Interface",
        SubnetIds=[vpc.subnets["intra"]["us-east-1a"]],
    )
    run_fargate_tasks(ecs, ec2, vpc.subnets["intra"]["us-east-1a"], count=1)
    result = run(vpc.vpc_id)
    assert by_service(result)["s3"]["status"] == "created"
    assert set(by_service(result)["s3"]["route_table_ids"]) == vpc.route_tables["intra"]
    assert result["deferred_route_tables"] == []


def test_a_small_subnet_that_fills_up_is_left_out_until_addresses_are_freed(ec2, clients, run) -> None:
    """A /28 private subnet in us-east-1b with two addresses left (tasks hold the rest). AWS answers
    CreateVpcEndpoint/ModifyVpcEndpoint with InsufficientFreeAddressesInSubnet when a subnet asked for is
    full; moto does not, so the test injects that answer: the reconcile must never ask."""
    vpc = tiered_vpc(ec2, {"public": "public", "app": "private"}, nat="single")
    small = ec2.create_subnet(VpcId=vpc.vpc_id, CidrBlock="10.60.200.0/28", AvailabilityZone="us-east-1b")["Subnet"]
    table = next(iter(vpc.route_tables["app"]))
    ec2.associate_route_table(RouteTableId=table, SubnetId=small["SubnetId"])
    ec2.delete_subnet(SubnetId=vpc.subnets["app"]["us-east-1b"])
    tasks = [ec2.create_network_interface(SubnetId=small["SubnetId"])["NetworkInterface"] for _ in range(9)]

    def aws_refuses_a_full_subnet(params, **_):
        for subnet_id in params.get("SubnetIds", []) + params.get("AddSubnetIds", []):
            [subnet] = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
            if subnet["AvailableIpAddressCount"] == 0:
                raise ClientError(
                    {"Error": {"Code": "InsufficientFreeAddressesInSubnet", "Message": subnet_id}}, "CreateVpcEndpoint"
                )

    for operation in ("CreateVpcEndpoint", "ModifyVpcEndpoint"):
        clients.client("ec2").meta.events.register(f"provide-client-params.ec2.{operation}", aws_refuses_a_full_subnet)

    result = run(vpc.vpc_id)
    assert all(e["status"] in ("created", "compliant") for e in result["endpoints"])
    azs = {s: by_service(result)[s]["availability_zones"] for s in INTERFACES}
    assert azs == {"ecr.dkr": list(AZS), "ecr.api": list(AZS), "logs": ["us-east-1a", "us-east-1c"]}
    assert result["compliant"] is False
    [finding] = result["findings"]
    assert f"no free address in {small['SubnetId']} (us-east-1b): logs" in finding
    assert run(vpc.vpc_id)["actions"] == []  # nothing to try again while the subnet is full

    for eni in tasks[:3]:  # tasks stop: the next reconcile (a sweep, a drift event) fills the gap
        ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
    again = run(vpc.vpc_id)
    assert again["compliant"] is True and by_service(again)["logs"]["availability_zones"] == list(AZS)
    assert_stable(run, vpc.vpc_id)


def ipv6_only_subnet(ec2, vpc: Tiered, az: str, tier: str) -> str:
    """An IPv6-native subnet (no IPv4 CIDR) in ``az``, routed by ``tier``'s route table."""
    import ipaddress

    block = ec2.associate_vpc_cidr_block(VpcId=vpc.vpc_id, AmazonProvidedIpv6CidrBlock=True)
    cidr = block["Ipv6CidrBlockAssociation"]["Ipv6CidrBlock"]
    prefix = str(list(ipaddress.ip_network(cidr).subnets(new_prefix=64))[AZS.index(az) + 1])
    subnet = ec2.create_subnet(VpcId=vpc.vpc_id, Ipv6Native=True, Ipv6CidrBlock=prefix, AvailabilityZone=az)
    ec2.associate_route_table(RouteTableId=next(iter(vpc.route_tables[tier])), SubnetId=subnet["Subnet"]["SubnetId"])
    return str(subnet["Subnet"]["SubnetId"])


def test_ipv6_only_subnets_get_no_ipv4_endpoint_and_the_reason_says_so(ec2, run) -> None:
    """AWS places an IPv4 endpoint (endpoint-guard's kind) only in subnets with an IPv4 CIDR and refuses
    the whole call otherwise; moto accepts it, so the test holds the plan to AWS's rule."""
    vpc = tiered_vpc(ec2, {"public": "public", "app": "private"}, azs=AZS[:2], nat="single")
    v6 = ipv6_only_subnet(ec2, vpc, "us-east-1c", "app")
    result = run(vpc.vpc_id)
    assert result["compliant"] is True
    for service in INTERFACES:
        decision = by_service(result)[service]
        assert v6 not in decision["subnet_ids"] and decision["availability_zones"] == list(AZS[:2])
        assert "no endpoint in us-east-1c" in decision["reason"] and "IPv6-only" in decision["reason"]
    assert_stable(run, vpc.vpc_id)


def test_a_vpc_of_ipv6_only_subnets_waits_with_the_reason_and_still_gets_the_gateway(ec2, run) -> None:
    vpc = tiered_vpc(ec2, {"public": "public"}, azs=AZS[:1])
    ec2.delete_subnet(SubnetId=vpc.subnets["public"]["us-east-1a"])
    eigw = ec2.create_egress_only_internet_gateway(VpcId=vpc.vpc_id)["EgressOnlyInternetGateway"]
    table = ec2.create_route_table(VpcId=vpc.vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(
        RouteTableId=table,
        DestinationIpv6CidrBlock="::/0",
        EgressOnlyInternetGatewayId=eigw["EgressOnlyInternetGatewayId"],
    )
    vpc.route_tables["v6"] = {table}
    ipv6_only_subnet(ec2, vpc, "us-east-1a", "v6")
    result = run(vpc.vpc_id)
    for service in INTERFACES:
        assert by_service(result)[service]["status"] == "waiting"
        assert "IPv6-only" in by_service(result)[service]["reason"]
    assert by_service(result)["s3"]["route_table_ids"] == [table]
    assert not [e for e in endpoints_of(ec2, vpc.vpc_id) if e["VpcEndpointType"] == "Interface"]


def test_a_vpc_whose_nat_route_comes_minutes_after_its_subnets_gets_its_endpoints_in_the_private_tier(
    ec2, run, calls
) -> None:
    """A pipeline associates the private tables at once and routes them to the NAT gateways only once
    those are up (minutes later): a reconcile in between sees the private subnets as isolated. The
    interface endpoints wait for the route (its CreateRoute event starts the next reconcile) instead of
    landing in whichever isolated subnet is biggest (the database tier here); the S3 gateway goes on
    the public table at once and on the private tables once they route out."""
    from tools.world import nat_gateway

    vpc = tiered_vpc(
        ec2,
        {"public": "public", "private": "isolated", "database": "isolated"},
        table_per_subnet=("private",),
        sizes={"public": 24, "private": 22, "database": 19},
    )
    nats = {az: nat_gateway(ec2, vpc.subnets["public"][az]) for az in AZS}
    first = run(vpc.vpc_id)
    assert "DescribeNatGateways" in calls.operations
    for service in INTERFACES:
        decision = by_service(first)[service]
        assert decision["status"] == "waiting" and "waits for the route to nat-" in decision["reason"]
    assert set(by_service(first)["s3"]["route_table_ids"]) == vpc.route_tables["public"]
    assert not [e for e in endpoints_of(ec2, vpc.vpc_id) if e["VpcEndpointType"] == "Interface"]

    tables = {
        az: ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [sid]}])["RouteTables"][0][
            "RouteTableId"
        ]
        for az, sid in vpc.subnets["private"].items()
    }
    for az, table in tables.items():  # the gateways are up: the pipeline routes the private tables
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nats[az])
    calls.reset()
    second = run(vpc.vpc_id)
    assert "DescribeNatGateways" not in calls.operations  # a private tier: nothing to wait for
    assert second["compliant"] is True
    assert chosen_tiers(vpc, second) == {s: {"private"} for s in INTERFACES}
    assert set(by_service(second)["s3"]["route_table_ids"]) == vpc.route_tables["public"] | set(tables.values())
    assert_stable(run, vpc.vpc_id)


def test_an_isolated_vpc_without_a_way_out_being_built_gets_its_endpoints_in_the_isolated_tier_at_once(
    ec2, run
) -> None:
    """The same read finds nothing to wait for (no NAT gateway, no transit gateway attachment)."""
    vpc = tiered_vpc(ec2, {"public": "public", "intra": "isolated"})
    result = run(vpc.vpc_id)
    assert chosen_tiers(vpc, result) == {s: {"intra"} for s in INTERFACES} and result["compliant"] is True


def test_a_role_that_may_not_read_the_ways_out_places_as_before_instead_of_failing(ec2, clients, run) -> None:
    """A spoke's member role from before the way-out read answers AccessDenied (injected: moto allows
    everything): the reconcile places the endpoints as it did before that read, and does not fail."""
    vpc = tiered_vpc(ec2, {"public": "public", "intra": "isolated"})

    def refuse(**_):
        raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "DescribeNatGateways")

    clients.client("ec2").meta.events.register("provide-client-params.ec2.DescribeNatGateways", refuse)
    result = run(vpc.vpc_id)
    assert result["compliant"] is True and chosen_tiers(vpc, result) == {s: {"intra"} for s in INTERFACES}

"""The reconcile against moto, with the adapter's real boto3 client and exact call counts.

moto does not enforce one subnet per AZ, the private-DNS conflict, one gateway per route table or
ClientToken idempotency, so the assertions here check that endpoint-guard never asks for those.
"""

from __future__ import annotations

import pytest
from endpoint_guard.aws import Clients, Ec2Adapter
from endpoint_guard.errors import VpcNotFoundError
from endpoint_guard.reconcile import reconcile
from endpoint_guard.settings import Settings

from tests.conftest import CallRecorder, by_service, endpoints_of, statuses
from tools.world import build_vpc, run_fargate_tasks

AZS = ("us-east-1a", "us-east-1b", "us-east-1c")


def unmanaged_dkr(ec2, vpc_id: str, subnet_ids: list[str]) -> str:
    """An ecr.dkr endpoint someone made by hand (no ManagedBy tag)."""
    return ec2.create_vpc_endpoint(
        VpcId=vpc_id,
        ServiceName="com.amazonaws.us-east-1.ecr.dkr",
        VpcEndpointType="Interface",
        SubnetIds=subnet_ids,
        PrivateDnsEnabled=True,
    )["VpcEndpoint"]["VpcEndpointId"]


def test_fresh_vpc_in_three_azs_gets_all_four_endpoints(ec2, calls, clients, run) -> None:
    world = build_vpc(ec2)
    creates: list[dict] = []
    clients.client("ec2").meta.events.register(
        "provide-client-params.ec2.CreateVpcEndpoint", lambda params, **_: creates.append(dict(params))
    )
    result = run(world.vpc_id)

    assert result["compliant"] is True
    assert statuses(result) == {
        "ecr.dkr": "created",
        "ecr.api": "created",
        "logs": "created",
        "s3": "created",
    }
    subnet_az = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2.describe_subnets()["Subnets"]}
    group = result["security_group_id"]
    for ep in endpoints_of(ec2, world.vpc_id):
        tags = {t["Key"]: t["Value"] for t in ep["Tags"]}
        assert tags["ManagedBy"] == "endpoint-guard"
        if ep["VpcEndpointType"] == "Interface":
            azs = [subnet_az[s] for s in ep["SubnetIds"]]
            assert sorted(azs) == list(AZS)  # exactly one subnet per AZ
            assert set(ep["SubnetIds"]) == set(world.private_subnets.values())  # the private ones
            assert ep["PrivateDnsEnabled"] is True
            assert [g["GroupId"] for g in ep["Groups"]] == [group]
        else:
            # the NAT-routed and public tables; not the main table, which routes no subnet
            assert sorted(ep["RouteTableIds"]) == sorted(
                [world.public_route_table_id, *world.private_route_tables.values()]
            )
    assert len(endpoints_of(ec2, world.vpc_id)) == 4

    sg = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
    assert sg["GroupName"] != "default"
    assert [
        (p["IpProtocol"], p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in sg["IpPermissions"]
    ] == [("tcp", 443, 443, ["10.40.0.0/16"])]
    hostnames = ec2.describe_vpc_attribute(VpcId=world.vpc_id, Attribute="enableDnsHostnames")
    assert hostnames["EnableDnsHostnames"]["Value"] is True
    # Every create carried its own client token, within AWS's 64 characters (moto ignores tokens; AWS
    # answers a repeated token with the endpoint it already made, so a retried run never makes a second).
    assert calls.mutating.count("CreateVpcEndpoint") == 4 and len(creates) == 4
    tokens = [c.get("ClientToken") for c in creates]
    assert all(tokens) and len(set(tokens)) == 4 and all(len(t) <= 64 for t in tokens)


def test_second_run_makes_no_mutating_call(ec2, calls, run) -> None:
    world = build_vpc(ec2)
    run(world.vpc_id)
    calls.reset()
    again = run(world.vpc_id)
    assert calls.mutating == []
    assert again["compliant"] is True and again["actions"] == []
    assert {e["status"] for e in again["endpoints"]} == {"compliant"}
    assert len(endpoints_of(ec2, world.vpc_id)) == 4


def test_dry_run_makes_no_mutating_call_and_says_what_it_would_do(ec2, calls, run) -> None:
    world = build_vpc(ec2)
    result = run(world.vpc_id, dry_run=True)
    assert calls.mutating == []
    assert endpoints_of(ec2, world.vpc_id) == []
    assert result["dry_run"] is True and result["compliant"] is False
    assert {e["status"] for e in result["endpoints"]} == {"planned"}
    assert [a["action"] for a in result["actions"]] == [
        "enable_dns_attribute",
        "create_security_group",
        "authorize_ingress",
        "create_gateway_endpoint",  # the gateway first: one call, free, most of the saving
        "create_interface_endpoint",
        "create_interface_endpoint",
        "create_interface_endpoint",
    ]
    assert all(a["status"] == "planned" for a in result["actions"])
    # What dry-run says is what a real run then does.
    real = run(world.vpc_id)
    assert [a["description"].split(" in subnet")[0] for a in real["actions"]] == [
        a["description"].split(" in subnet")[0] for a in result["actions"]
    ]


def test_dns_attributes_are_turned_on_support_first(ec2, calls, run) -> None:
    world = build_vpc(ec2, dns_support=False, dns_hostnames=False)
    result = run(world.vpc_id)
    modify = [op for op in calls.operations if op == "ModifyVpcAttribute"]
    assert len(modify) == 2
    for attr in ("enableDnsSupport", "enableDnsHostnames"):
        key = attr[0].upper() + attr[1:]
        assert ec2.describe_vpc_attribute(VpcId=world.vpc_id, Attribute=attr)[key]["Value"] is True
    assert result["compliant"] is True


def test_dns_hostnames_off_and_not_ours_to_change(ec2, calls, run) -> None:
    world = build_vpc(ec2, dns_hostnames=False)
    result = run(world.vpc_id, manage_dns_attributes=False)
    assert "ModifyVpcAttribute" not in calls.operations
    assert (
        ec2.describe_vpc_attribute(VpcId=world.vpc_id, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]
        is False
    )
    interface = [e for e in endpoints_of(ec2, world.vpc_id) if e["VpcEndpointType"] == "Interface"]
    assert len(interface) == 3 and all(e["PrivateDnsEnabled"] is False for e in interface)
    assert result["compliant"] is False
    assert any("enableDnsHostnames" in f for f in result["findings"])


def test_existing_unmanaged_ecr_dkr_endpoint_is_adopted_not_duplicated(ec2, calls, run) -> None:
    world = build_vpc(ec2, dns_hostnames=True)
    theirs = unmanaged_dkr(ec2, world.vpc_id, list(world.private_subnets.values()))
    result = run(world.vpc_id)
    dkr = by_service(result)["ecr.dkr"]
    assert dkr["endpoint_id"] == theirs and dkr["status"] == "compliant" and dkr["managed"] is False
    names = [e["ServiceName"] for e in endpoints_of(ec2, world.vpc_id)]
    assert names.count("com.amazonaws.us-east-1.ecr.dkr") == 1
    assert calls.mutating.count("CreateVpcEndpoint") == 3  # ecr.api, logs, s3
    assert "ModifyVpcEndpoint" not in calls.mutating  # not ours: left as it is


def test_unmanaged_endpoint_missing_an_az_is_reported_then_fixed_when_allowed(ec2, calls, run) -> None:
    world = build_vpc(ec2, dns_hostnames=True)
    theirs = unmanaged_dkr(ec2, world.vpc_id, [world.private_subnets["us-east-1a"]])
    reported = run(world.vpc_id)
    assert by_service(reported)["ecr.dkr"]["status"] == "deferred"
    assert "us-east-1b" in by_service(reported)["ecr.dkr"]["reason"]
    assert reported["compliant"] is False
    calls.reset()
    fixed = run(world.vpc_id, adopt_unmanaged="modify")
    assert by_service(fixed)["ecr.dkr"]["status"] == "updated"
    assert calls.mutating == ["ModifyVpcEndpoint"]
    ep = ec2.describe_vpc_endpoints(VpcEndpointIds=[theirs])["VpcEndpoints"][0]
    assert sorted(ep["SubnetIds"]) == sorted(world.private_subnets.values())


def test_service_not_offered_in_one_az_is_placed_in_the_others(ec2, calls, clients, run) -> None:
    world = build_vpc(ec2)

    def drop_az(parsed: dict, **_: object) -> None:  # moto offers every service in every AZ; AWS does not
        for detail in parsed.get("ServiceDetails", []):
            if detail["ServiceName"].endswith(".ecr.dkr"):
                detail["AvailabilityZones"] = [az for az in detail["AvailabilityZones"] if az != "us-east-1c"]

    clients.client("ec2").meta.events.register("after-call.ec2.DescribeVpcEndpointServices", drop_az)
    result = run(world.vpc_id)
    dkr, api = by_service(result)["ecr.dkr"], by_service(result)["ecr.api"]
    assert dkr["availability_zones"] == ["us-east-1a", "us-east-1b"]
    assert sorted(dkr["subnet_ids"]) == sorted(
        [world.private_subnets["us-east-1a"], world.private_subnets["us-east-1b"]]
    )
    assert api["availability_zones"] == list(AZS)
    assert result["compliant"] is True


def test_vpc_without_subnets_waits_then_follows_its_tiers(ec2, calls, run) -> None:
    world = build_vpc(ec2, azs=())
    result = run(world.vpc_id)
    assert statuses(result) == dict.fromkeys(("ecr.dkr", "ecr.api", "logs", "s3"), "waiting")
    assert result["compliant"] is True  # nothing runs there yet: not an error
    assert calls.mutating == []
    assert "DescribeSecurityGroups" not in calls.operations and "DescribeVpcAttribute" not in calls.operations
    # A subnet arrives, routed by the main table, which has no default route: an isolated tier and the
    # only one, so the interface endpoints go there (the only way to pull), and so do the workloads: the
    # table gets the layers-only S3 gateway (ECR's layer bucket, nothing else), the full one stays off it.
    subnet = ec2.create_subnet(VpcId=world.vpc_id, CidrBlock="10.40.0.0/24", AvailabilityZone="us-east-1a")
    later = run(world.vpc_id)
    assert statuses(later) == {
        "ecr.dkr": "created",
        "ecr.api": "created",
        "logs": "created",
        "s3": "compliant",
        "s3-layers": "created",
    }
    assert by_service(later)["ecr.dkr"]["subnet_ids"] == [subnet["Subnet"]["SubnetId"]]
    assert by_service(later)["s3-layers"]["route_table_ids"] == [world.main_route_table_id]
    assert "left isolated" not in by_service(later)["s3"]["reason"] and later["compliant"] is True
    # The main table gains a route to an internet gateway: now a public tier. It leaves the layers
    # gateway (whose policy would keep every other bucket out) for the full one.
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=world.vpc_id)
    ec2.create_route(RouteTableId=world.main_route_table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    last = run(world.vpc_id)
    assert by_service(last)["s3"]["status"] == "created"
    assert by_service(last)["s3"]["route_table_ids"] == [world.main_route_table_id]
    assert (
        by_service(last)["s3-layers"]["status"] == "updated" and by_service(last)["s3-layers"]["route_table_ids"] == []
    )
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["VpcEndpoints"]
    gateways = {e["VpcEndpointId"]: e["RouteTableIds"] for e in found if e["VpcEndpointType"] == "Gateway"}
    assert sorted(gateways.values()) == [[], [world.main_route_table_id]]  # one gateway per table


def test_fargate_tasks_defer_the_gateway_on_exactly_their_route_tables(ec2, ecs, calls, run) -> None:
    world = build_vpc(ec2)
    run_fargate_tasks(ecs, ec2, world.private_subnets["us-east-1a"], count=3)
    result = run(world.vpc_id)

    busy = world.private_route_tables["us-east-1a"]
    assert [d["route_table_id"] for d in result["deferred_route_tables"]] == [busy]
    workloads = result["deferred_route_tables"][0]["workloads"]
    assert len(workloads) == 3 and {w["kind"] for w in workloads} == {"ecs-task"}
    s3 = by_service(result)["s3"]
    assert s3["status"] == "deferred" and busy in s3["reason"]
    gateway = next(e for e in endpoints_of(ec2, world.vpc_id) if e["VpcEndpointType"] == "Gateway")
    assert busy not in gateway["RouteTableIds"]
    assert len(gateway["RouteTableIds"]) == 3  # public and the two quiet private tables
    assert {by_service(result)[s]["status"] for s in ("ecr.dkr", "ecr.api", "logs")} == {"created"}
    assert result["compliant"] is False
    # One DescribeNetworkInterfaces for the whole VPC, whatever the number of tasks or clusters.
    assert calls.operations.count("DescribeNetworkInterfaces") == 1
    assert not any(op.startswith(("ListTasks", "DescribeTasks", "ListClusters")) for op in calls.operations)


def test_endpoint_enis_do_not_defer_anything(ec2, calls, run) -> None:
    world = build_vpc(ec2)
    run(world.vpc_id)
    # A new NAT-routed route table (and subnet) appears after the endpoints exist: the endpoints' own
    # ENIs are not workloads, so it gets the gateway.
    rt = ec2.create_route_table(VpcId=world.vpc_id)["RouteTable"]["RouteTableId"]
    nat = ec2.describe_nat_gateways()["NatGateways"][0]["NatGatewayId"]
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    sid = ec2.create_subnet(VpcId=world.vpc_id, CidrBlock="10.40.50.0/24", AvailabilityZone="us-east-1a")["Subnet"][
        "SubnetId"
    ]
    ec2.associate_route_table(RouteTableId=rt, SubnetId=sid)
    calls.reset()
    result = run(world.vpc_id)
    assert result["deferred_route_tables"] == []
    assert by_service(result)["s3"]["status"] == "updated"
    assert calls.mutating == ["ModifyVpcEndpoint"]


def test_unknown_vpc_is_a_clear_error(moto, run) -> None:
    with pytest.raises(VpcNotFoundError, match="vpc-0123456789abcdef0 does not exist"):
        run("vpc-0123456789abcdef0")


def test_a_failed_create_fails_that_endpoint_and_the_rest_still_happen(ec2, calls, clients, run) -> None:
    world = build_vpc(ec2)
    from botocore.exceptions import ClientError

    def refuse_logs(params: dict, **_: object) -> None:
        if params.get("ServiceName", "").endswith(".logs"):
            raise ClientError({"Error": {"Code": "VpcEndpointLimitExceeded", "Message": "limit"}}, "CreateVpcEndpoint")

    clients.client("ec2").meta.events.register("provide-client-params.ec2.CreateVpcEndpoint", refuse_logs)
    result = run(world.vpc_id)
    assert by_service(result)["logs"]["status"] == "failed"
    assert "VpcEndpointLimitExceeded" in by_service(result)["logs"]["reason"]
    assert {by_service(result)[s]["status"] for s in ("ecr.dkr", "ecr.api", "s3")} == {"created"}
    assert result["compliant"] is False
    failed = [a for a in result["actions"] if a["status"] == "failed"]
    assert [a["target"] for a in failed] == ["logs"]


def test_the_benchmarks_peer_script_does_make_the_four_endpoints(ec2) -> None:
    """make bench compares endpoint-guard with tools/peer.py: the comparison means something only if the
    script does the job (and, run again, creates nothing)."""
    from tools import peer

    world = build_vpc(ec2)
    assert len(peer.ensure(ec2, world.vpc_id)) == 4
    assert peer.ensure(ec2, world.vpc_id) == []
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["VpcEndpoints"]
    assert sorted(e["ServiceName"].rsplit(".", 1)[-1] for e in found) == ["api", "dkr", "logs", "s3"]


def test_a_hand_made_group_with_our_name_is_a_finding_not_a_takeover(ec2, calls, run) -> None:
    """endpoint-guard may only change groups it tagged at creation: a same-named group someone made is
    reported (with how to resolve it), and what needs the group waits; the gateway goes ahead."""
    world = build_vpc(ec2)
    theirs = ec2.create_security_group(
        GroupName="endpoint-guard-endpoints", Description="made by hand", VpcId=world.vpc_id
    )["GroupId"]
    result = run(world.vpc_id)
    assert result["compliant"] is False
    [finding] = result["findings"]
    assert theirs in finding and "tag it ManagedBy=endpoint-guard" in finding
    assert statuses(result) == {"ecr.dkr": "deferred", "ecr.api": "deferred", "logs": "deferred", "s3": "created"}
    assert "CreateSecurityGroup" not in calls.operations
    assert (
        "AuthorizeSecurityGroupIngress" not in calls.operations and "RevokeSecurityGroupIngress" not in calls.operations
    )

    ec2.create_tags(Resources=[theirs], Tags=[{"Key": "ManagedBy", "Value": "endpoint-guard"}])  # handed over
    again = run(world.vpc_id)
    assert again["compliant"] is True and again["security_group_id"] == theirs


def test_a_second_gateway_added_by_hand_is_reported_not_deleted(ec2, calls, run) -> None:
    world = build_vpc(ec2)
    assert run(world.vpc_id)["compliant"] is True
    extra = ec2.create_vpc_endpoint(
        VpcId=world.vpc_id,
        ServiceName="com.amazonaws.us-east-1.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[world.public_route_table_id],
    )["VpcEndpoint"]["VpcEndpointId"]  # moto accepts it; AWS would too on another route table
    calls.reset()
    result = run(world.vpc_id)
    assert result["compliant"] is False
    [finding] = result["findings"]
    assert "2 s3 Gateway endpoints" in finding and extra in finding
    assert calls.mutating == []  # reported, nothing deleted, nothing changed


def test_a_compliant_vpc_from_a_fresh_process_costs_four_ec2_calls_and_no_offer_read(ec2, run) -> None:
    """`endpoint-guard ensure` or `check` start with no cached offers: the VPC's own endpoints name its
    services, so DescribeVpcEndpointServices is read only when an AZ still lacks an endpoint subnet."""
    world = build_vpc(ec2)
    run(world.vpc_id)
    fresh = Clients(region="us-east-1")
    recorder = CallRecorder(fresh.client("ec2"))
    result = reconcile(world.vpc_id, ec2=Ec2Adapter(fresh), settings=Settings())
    assert result["compliant"] is True and result["actions"] == []
    assert sorted(recorder.operations) == [
        "DescribeRouteTables",
        "DescribeSecurityGroups",
        "DescribeSubnets",
        "DescribeVpcEndpoints",
    ]
    # A private subnet in a fourth AZ: whether the services are offered there is a question for AWS.
    # (An isolated one would not be: the private tier is where endpoints go.)
    subnet = ec2.create_subnet(VpcId=world.vpc_id, CidrBlock="10.40.60.0/24", AvailabilityZone="us-east-1d")
    ec2.associate_route_table(
        RouteTableId=world.private_route_tables["us-east-1a"], SubnetId=subnet["Subnet"]["SubnetId"]
    )
    fresh = Clients(region="us-east-1")
    recorder = CallRecorder(fresh.client("ec2"))
    reconcile(world.vpc_id, ec2=Ec2Adapter(fresh), settings=Settings(dry_run=True))
    assert "DescribeVpcEndpointServices" in recorder.operations

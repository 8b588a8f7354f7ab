"""Living with the VPC's owner and its IaC, on moto through the deployed path and the CLI: DNS attributes
turned off (restored once, then reported), the ignore tag, release, and deletes that endpoint-guard's
resources block.

moto lets DeleteSubnet and DeleteVpc through while endpoints and their security group are in the way;
AWS refuses them with DependencyViolation. ``owner_deletes_*`` below add AWS's refusal."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from endpoint_guard.cli import main

from tests.conftest import REGION, CallRecorder, emf, endpoints_of, sample
from tools.esm import context, receive, run_worker
from tools.world import build_vpc, tiered_vpc

INTAKE = context("endpoint-guard-intake")


def refuse(operation: str, what: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "DependencyViolation", "Message": f"{what} has dependencies and cannot be deleted."}},
        operation,
    )


def owner_deletes_subnet(ec2, subnet_id: str) -> None:
    """DeleteSubnet as AWS answers it: refused while an endpoint has a network interface in the subnet."""
    vpc_id = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["VpcId"]
    if any(subnet_id in e.get("SubnetIds", []) for e in endpoints_of(ec2, vpc_id)):
        raise refuse("DeleteSubnet", f"The subnet '{subnet_id}'")
    ec2.delete_subnet(SubnetId=subnet_id)


def owner_deletes_vpc(ec2, vpc_id: str) -> None:
    """DeleteVpc as AWS answers it: refused while endpoints or a security group other than the default
    one are in the VPC."""
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    if endpoints_of(ec2, vpc_id) or any(g["GroupName"] != "default" for g in groups):
        raise refuse("DeleteVpc", f"The vpc '{vpc_id}'")
    ec2.delete_vpc(VpcId=vpc_id)


def their_endpoint(ec2, world) -> str:
    """An ssm endpoint the VPC's owner made (no ManagedBy tag) in the first private subnet."""
    return ec2.create_vpc_endpoint(
        VpcId=world.vpc_id,
        ServiceName="com.amazonaws.us-east-1.ssm",
        VpcEndpointType="Interface",
        SubnetIds=[world.private_subnets["us-east-1a"]],
    )["VpcEndpoint"]["VpcEndpointId"]


def hostnames(ec2, vpc_id: str) -> bool:
    return ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]


def test_dns_turned_off_is_turned_back_on_once_then_reported_never_a_loop(
    ec2, sqs, stack, intake, ensure_endpoints, clients, capsys, logs
) -> None:
    world = build_vpc(ec2)
    intake({"vpc_id": world.vpc_id}, INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    assert hostnames(ec2, world.vpc_id) is True  # endpoint-guard turned them on for private DNS
    capsys.readouterr()

    # Terraform's next apply turns hostnames off: the worker turns them back on, once.
    ec2.modify_vpc_attribute(VpcId=world.vpc_id, EnableDnsHostnames={"Value": False})
    intake(sample("modify-vpc-attribute-dns-off.json", world.vpc_id), INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    assert hostnames(ec2, world.vpc_id) is True
    assert emf(capsys.readouterr().out)["DnsAttributesRestored"] == 1.0

    # And the apply after that: endpoint-guard does not fight it; it says who and how to fix it.
    ec2.modify_vpc_attribute(VpcId=world.vpc_id, EnableDnsHostnames={"Value": False})
    again = sample("modify-vpc-attribute-dns-off.json", world.vpc_id)
    again["id"] = again["detail"]["eventID"] = "9d1f3b57-7a9c-4e0f-8b2d-5e7f9a1c3e57"  # another call, another event
    assert intake(again, INTAKE)["queued"]
    calls = CallRecorder(clients.client("ec2"))
    before = len(logs())
    run_worker(sqs, stack.work, ensure_endpoints)
    assert hostnames(ec2, world.vpc_id) is False and "ModifyVpcAttribute" not in calls.operations
    [line] = [entry for entry in logs()[before:] if entry["message"] == "reconciled"]
    assert line["compliant"] is False
    assert receive(sqs, stack.work) == [] and receive(sqs, stack.dead) == []

    # check sees the broken VPC (it reads the attributes whenever an endpoint relies on them).
    assert main(["check", world.vpc_id, "--json", "--region", REGION]) == 1
    out = capsys.readouterr().out
    assert "does not resolve" in out and "enableDnsHostnames" in out


def test_a_blocked_destroy_goes_through_once_endpoint_guard_stands_aside(
    ec2, sqs, stack, intake, ensure_endpoints
) -> None:
    vpc = tiered_vpc(ec2, {"intra": "isolated"}, azs=("us-east-1a",))
    [subnet] = vpc.subnets["intra"].values()
    [table] = vpc.route_tables["intra"]
    theirs = ec2.create_security_group(GroupName="app", Description="the owner's", VpcId=vpc.vpc_id)["GroupId"]
    intake({"vpc_id": vpc.vpc_id}, INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    # interface endpoints in the only (isolated) subnet, and the layers-only gateway on its table
    assert sorted(e["VpcEndpointType"] for e in endpoints_of(ec2, vpc.vpc_id)) == ["Gateway"] + ["Interface"] * 3

    # terraform destroy: the subnet first. AWS refuses; the failed call's event makes the worker take
    # its endpoints out of the subnet (here deleting them: it is their only subnet).
    with pytest.raises(ClientError, match="DependencyViolation"):
        owner_deletes_subnet(ec2, subnet)
    intake(sample("delete-subnet-dependency-violation.json", vpc.vpc_id, subnet), INTAKE)
    response, _ = run_worker(sqs, stack.work, ensure_endpoints)
    assert response["batchItemFailures"] == []
    # The subnet's delete, and what else the teardown does, arrive as events: endpoint-guard stands
    # aside (a reconcile now would put back what the owner's next delete needs gone).
    output = intake(sample("drift-delete-subnet.json", vpc.vpc_id, subnet), INTAKE)
    assert [q["vpc_id"] for q in output["queued"]] == [vpc.vpc_id]
    run_worker(sqs, stack.work, ensure_endpoints)
    # The subnet's endpoints are gone; the layers gateway is the route table's, and goes with the VPC.
    assert [e["VpcEndpointType"] for e in endpoints_of(ec2, vpc.vpc_id)] == ["Gateway"]
    owner_deletes_subnet(ec2, subnet)  # Terraform's retry succeeds
    for association in ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Associations"]:
        ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
    # AWS drops a deleted route table from the gateway endpoints that carried it; moto keeps the stale id
    # (and then refuses the endpoint's delete), so the table leaves the layers gateway here as on AWS.
    [layers] = endpoints_of(ec2, vpc.vpc_id)
    ec2.modify_vpc_endpoint(VpcEndpointId=layers["VpcEndpointId"], RemoveRouteTableIds=[table])
    ec2.delete_route_table(RouteTableId=table)

    # Then the VPC: refused for endpoint-guard's group; released; the retry succeeds.
    ec2.delete_security_group(GroupId=theirs)
    with pytest.raises(ClientError, match="DependencyViolation"):
        owner_deletes_vpc(ec2, vpc.vpc_id)
    intake(sample("delete-vpc-dependency-violation.json", vpc.vpc_id), INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    owner_deletes_vpc(ec2, vpc.vpc_id)
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc.vpc_id]}])["Vpcs"] == []


def test_a_subnet_shared_with_other_azs_leaves_the_endpoints_and_nothing_else_is_touched(
    ec2, sqs, stack, intake, ensure_endpoints
) -> None:
    world = build_vpc(ec2)
    theirs = their_endpoint(ec2, world)
    intake({"vpc_id": world.vpc_id}, INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    leaving = world.private_subnets["us-east-1a"]
    intake(sample("delete-subnet-dependency-violation.json", world.vpc_id, leaving), INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    by_id = {e["VpcEndpointId"]: e for e in endpoints_of(ec2, world.vpc_id)}
    ours = [e for e in by_id.values() if e["VpcEndpointType"] == "Interface" and e["VpcEndpointId"] != theirs]
    assert len(ours) == 3 and all(leaving not in e["SubnetIds"] and len(e["SubnetIds"]) == 2 for e in ours)
    assert by_id[theirs]["SubnetIds"] == [leaving]  # not endpoint-guard's: never touched


def test_release_can_be_turned_off(ec2, sqs, stack, intake, ensure_endpoints, monkeypatch) -> None:
    monkeypatch.setenv("ENDPOINT_GUARD_RELEASE_ON_DEPENDENCY_VIOLATION", "false")
    world = build_vpc(ec2)
    intake({"vpc_id": world.vpc_id}, INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    intake(sample("delete-vpc-dependency-violation.json", world.vpc_id), INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    assert len(endpoints_of(ec2, world.vpc_id)) == 4


def test_release_by_hand_removes_only_what_endpoint_guard_made(ec2, capsys) -> None:
    world = build_vpc(ec2)
    theirs = their_endpoint(ec2, world)
    assert main(["ensure", world.vpc_id, "--region", REGION]) == 0
    assert len(endpoints_of(ec2, world.vpc_id)) == 5
    assert "us-east-1c (private tier)" in capsys.readouterr().out
    assert main(["release", world.vpc_id, "--dry-run", "--region", REGION]) == 0
    assert "[planned] delete" in capsys.readouterr().out and len(endpoints_of(ec2, world.vpc_id)) == 5

    assert main(["release", world.vpc_id, "--region", REGION]) == 0
    out = capsys.readouterr().out
    assert "endpoint-guard:ignore" in out  # what the owner does next
    assert [e["VpcEndpointId"] for e in endpoints_of(ec2, world.vpc_id)] == [theirs]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]
    assert main(["release", world.vpc_id, "--region", REGION]) == 0  # nothing left: still fine
    assert "nothing of endpoint-guard's" in capsys.readouterr().out


def test_a_vpc_tagged_ignore_is_left_alone_by_every_path(ec2, sqs, stack, intake, capsys) -> None:
    world = build_vpc(ec2)
    other = build_vpc(ec2, cidr="10.41.0.0/16")
    ec2.create_tags(Resources=[world.vpc_id], Tags=[{"Key": "endpoint-guard:ignore", "Value": "true"}])
    output = intake({"vpc_id": world.vpc_id}, INTAKE)
    assert output["queued"] == [] and output["skipped"][0]["kind"] == "opted_out"
    capsys.readouterr()
    assert main(["ensure", world.vpc_id, "--region", REGION]) == 0
    assert "opted out" in capsys.readouterr().out and endpoints_of(ec2, world.vpc_id) == []
    for command in ("check", "plan"):
        assert main([command, world.vpc_id, "--json", "--region", REGION]) == 0
        assert '"opted_out"' in capsys.readouterr().out
    assert main(["report", "--json", "--region", REGION]) == 0
    rows = {r["vpc_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[world.vpc_id] == {"vpc_id": world.vpc_id, "name": "", "opted_out": True}
    assert rows[other.vpc_id]["compliant"] is False
    assert main(["report", "--region", REGION]) == 0
    assert f"left alone: {world.vpc_id}" in capsys.readouterr().out

"""Drift repaired within one event, through the deployed path on moto: an endpoint deleted by hand, the
managed group's rule revoked, a CIDR block added; and the events that must not trigger anything:
endpoint-guard's own calls, someone else's group."""

from __future__ import annotations

from botocore.exceptions import ClientError

from tests.conftest import REGION, emf, endpoints_of, sample
from tools.esm import context, receive, run_worker
from tools.world import build_vpc

INTAKE = context("endpoint-guard-intake")


def managed_group(ec2, vpc_id: str) -> dict:
    return ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "tag:ManagedBy", "Values": ["endpoint-guard"]}]
    )["SecurityGroups"][0]


def services(ec2, vpc_id: str) -> list[str]:
    return sorted(e["ServiceName"].split(f".{REGION}.", 1)[1] for e in endpoints_of(ec2, vpc_id))


def ready(ec2, sqs, stack, intake, ensure_endpoints, capsys):
    world = build_vpc(ec2)
    intake({"vpc_id": world.vpc_id}, INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    capsys.readouterr()
    return world


def test_an_endpoint_deleted_by_hand_is_back_after_one_event(ec2, sqs, stack, intake, ensure_endpoints, capsys) -> None:
    world = ready(ec2, sqs, stack, intake, ensure_endpoints, capsys)
    dkr = next(e for e in endpoints_of(ec2, world.vpc_id) if e["ServiceName"].endswith("ecr.dkr"))
    ec2.delete_vpc_endpoints(VpcEndpointIds=[dkr["VpcEndpointId"]])
    assert services(ec2, world.vpc_id) == ["ecr.api", "logs", "s3"]
    # The event names only the endpoint: its VPC comes from AWS while it still lists the deleted
    # endpoint, or from what endpoint-guard recorded when it made it.
    intake(sample("drift-delete-vpc-endpoints.json", world.vpc_id, endpoint=dkr["VpcEndpointId"]), INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    assert services(ec2, world.vpc_id) == ["ecr.api", "ecr.dkr", "logs", "s3"]
    assert emf(capsys.readouterr().out)["DriftRepaired"] == 1.0
    assert receive(sqs, stack.work) == [] and receive(sqs, stack.dead) == []


def test_an_endpoint_aws_no_longer_lists_is_found_in_what_endpoint_guard_recorded(
    ec2, sqs, stack, intake, ensure_endpoints, capsys, clients
) -> None:
    """AWS lists a deleted endpoint for a while only; moto lists it forever. Here AWS has forgotten it
    (DescribeVpcEndpoints by its id answers NotFound, injected): the worker's record of what it made
    (written when it made the endpoint) still leads to the VPC."""
    world = ready(ec2, sqs, stack, intake, ensure_endpoints, capsys)
    logs = next(e for e in endpoints_of(ec2, world.vpc_id) if e["ServiceName"].endswith(".logs"))
    ec2.delete_vpc_endpoints(VpcEndpointIds=[logs["VpcEndpointId"]])

    def forgotten(params: dict, **_: object) -> None:
        if params.get("VpcEndpointIds"):
            raise ClientError(
                {"Error": {"Code": "InvalidVpcEndpointId.NotFound", "Message": "no"}}, "DescribeVpcEndpoints"
            )

    clients.client("ec2").meta.events.register("provide-client-params.ec2.DescribeVpcEndpoints", forgotten)
    output = intake(
        sample("drift-delete-vpc-endpoints-items.json", world.vpc_id, endpoint=logs["VpcEndpointId"]), INTAKE
    )
    assert [q["vpc_id"] for q in output["queued"]] == [world.vpc_id]
    clients.client("ec2").meta.events.unregister("provide-client-params.ec2.DescribeVpcEndpoints", forgotten)
    run_worker(sqs, stack.work, ensure_endpoints)
    assert services(ec2, world.vpc_id) == ["ecr.api", "ecr.dkr", "logs", "s3"]


def test_the_managed_groups_rule_revoked_is_back_although_its_last_read_is_recent(
    ec2, sqs, stack, intake, ensure_endpoints, capsys
) -> None:
    world = ready(ec2, sqs, stack, intake, ensure_endpoints, capsys)
    group = managed_group(ec2, world.vpc_id)
    ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
    intake(sample("drift-revoke-security-group-ingress.json", world.vpc_id, group=group["GroupId"]), INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    again = managed_group(ec2, world.vpc_id)["IpPermissions"]
    assert [(p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in again] == [(443, ["10.40.0.0/16"])]
    assert emf(capsys.readouterr().out)["DriftRepaired"] == 1.0


def test_a_new_cidr_block_is_let_into_the_group_after_one_event(
    ec2, sqs, stack, intake, ensure_endpoints, capsys
) -> None:
    world = ready(ec2, sqs, stack, intake, ensure_endpoints, capsys)
    ec2.associate_vpc_cidr_block(VpcId=world.vpc_id, CidrBlock="10.41.0.0/16")
    intake(sample("drift-associate-vpc-cidr-block.json", world.vpc_id), INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    ranges = {r["CidrIp"] for p in managed_group(ec2, world.vpc_id)["IpPermissions"] for r in p["IpRanges"]}
    assert ranges == {"10.40.0.0/16", "10.41.0.0/16"}


def test_endpoint_guards_own_calls_and_other_peoples_groups_trigger_nothing(
    ec2, sqs, stack, intake, ensure_endpoints, capsys, monkeypatch
) -> None:
    world = ready(ec2, sqs, stack, intake, ensure_endpoints, capsys)
    theirs = ec2.create_security_group(GroupName="app", Description="app", VpcId=world.vpc_id)["GroupId"]
    output = intake(sample("drift-revoke-security-group-ingress.json", world.vpc_id, group=theirs), INTAKE)
    assert output["queued"] == [] and output["skipped"][0]["kind"] == "gone"
    # The sample's caller is the role platform-deployer; say it is endpoint-guard's own.
    monkeypatch.setenv("ENDPOINT_GUARD_OWN_ROLE_ARNS", "arn:aws:iam::123456789012:role/platform-deployer")
    dkr = next(e for e in endpoints_of(ec2, world.vpc_id) if e["ServiceName"].endswith("ecr.dkr"))
    output = intake(sample("drift-modify-vpc-endpoint.json", world.vpc_id, endpoint=dkr["VpcEndpointId"]), INTAKE)
    assert output["queued"] == [] and output["skipped"][0]["kind"] == "own_call"

"""Security Hub, out, through the deployed handlers on moto (SecurityHubFindings=on): a fully private
VPC whose task group cannot reach S3 gets a FAILED finding for the VPC and one for the blocked service;
once the group is fixed, the service's is resolved and archived and the VPC's passes. Security Hub not
enabled (moto imports findings regardless; AWS answers InvalidAccessException, injected here) is one log
line and a metric, and the reconcile still succeeds. moto's DescribePrefixLists lists no CIDRs; AWS's
(us-east-1's S3 prefix list, abridged) are injected."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import REGION, emf, on_every_client, sample
from tools.esm import context, receive, run_worker
from tools.world import build_vpc

INTAKE = context("endpoint-guard-intake")


@pytest.fixture
def on(stack, monkeypatch):
    monkeypatch.setenv("ENDPOINT_GUARD_SECURITY_HUB_FINDINGS", "on")

    def ranges(parsed: dict, **_: object) -> None:  # AWS lists the S3 prefix list's CIDRs; moto lists none
        for found in parsed.get("PrefixLists", []):
            if found.get("PrefixListName") == f"com.amazonaws.{REGION}.s3":
                found["Cidrs"] = ["52.216.0.0/15", "3.5.0.0/19", "54.231.0.0/16"]

    on_every_client(monkeypatch, "ec2", "after-call.ec2.DescribePrefixLists", ranges)
    return stack


def blocked_service(ec2, ecs) -> tuple:
    """A VPC without NAT, a service whose group allows 443 out to the VPC only (not the S3 prefix list)."""
    world = build_vpc(ec2, nat=False)
    group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=world.vpc_id)["GroupId"]
    ec2.revoke_security_group_egress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
    ec2.authorize_security_group_egress(
        GroupId=group, IpPermissions=[{**https, "IpRanges": [{"CidrIp": "10.40.0.0/16"}]}]
    )
    ecs.create_cluster(clusterName="shop")
    ecs.register_task_definition(
        family="api",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {"name": "app", "image": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/api:1", "memory": 512}
        ],
    )
    ecs.create_service(
        cluster="shop",
        serviceName="api",
        taskDefinition="api",
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": list(world.private_subnets.values()), "securityGroups": [group]}
        },
    )
    # moto starts no task for a service; AWS's would carry the group on its ENI (the intake finds the
    # group's VPC through it): one is run with the service's group.
    ec2.modify_vpc_attribute(VpcId=world.vpc_id, EnableDnsHostnames={"Value": True})
    ecs.run_task(
        cluster="shop",
        taskDefinition="api",
        launchType="FARGATE",
        group="service:api",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [world.private_subnets["us-east-1a"]], "securityGroups": [group]}
        },
    )
    return world, group


def findings() -> dict[str, dict]:
    found = boto3.client("securityhub", region_name=REGION).get_findings()["Findings"]
    return {f["Id"].rsplit("/", 1)[-1]: f for f in found}


def test_a_blocked_service_and_its_vpc_are_findings_until_the_group_is_fixed(
    on, ec2, ecs, sqs, intake, ensure_endpoints, capsys
) -> None:
    world, group = blocked_service(ec2, ecs)
    subnet = world.private_subnets["us-east-1a"]
    intake(sample("ecs-run-task.json", world.vpc_id, subnet), INTAKE)  # an ECS event: the pulls are judged
    run_worker(sqs, on.work, ensure_endpoints)
    first = findings()
    assert (first[world.vpc_id]["Compliance"]["Status"], first[world.vpc_id]["RecordState"]) == ("FAILED", "ACTIVE")
    assert first["api"]["Severity"]["Label"] == "HIGH" and first["api"]["Resources"][0]["Type"] == "AwsEcsService"
    assert "prefix list" in first["api"]["Remediation"]["Recommendation"]["Text"]
    # The group is fixed (443 out to the S3 prefix list too): the hop event judges the pulls again.
    prefix = ec2.describe_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [f"com.amazonaws.{REGION}.s3"]}]
    )["PrefixLists"][0]["PrefixListId"]
    ec2.authorize_security_group_egress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": prefix}]}
        ],
    )
    event = sample("path-revoke-security-group-egress.json", world.vpc_id, group=group)
    event["detail"]["eventName"] = "AuthorizeSecurityGroupEgress"
    event["id"] = event["detail"]["eventID"] = "fixed-the-group"
    intake(event, INTAKE)
    run_worker(sqs, on.work, ensure_endpoints)
    fixed = findings()
    assert (fixed["api"]["Compliance"]["Status"], fixed["api"]["RecordState"]) == ("PASSED", "ARCHIVED")
    assert (fixed[world.vpc_id]["Compliance"]["Status"], fixed[world.vpc_id]["RecordState"]) == ("PASSED", "ARCHIVED")
    assert receive(sqs, on.dead) == []


def test_security_hub_not_enabled_is_a_metric_and_the_reconcile_succeeds(
    on, ec2, ecs, sqs, intake, ensure_endpoints, monkeypatch, capsys, logs
) -> None:
    def not_enabled(**_: object) -> None:  # AWS's answer in an account without Security Hub
        raise ClientError(
            {"Error": {"Code": "InvalidAccessException", "Message": "Account is not subscribed to AWS Security Hub"}},
            "GetFindings",
        )

    on_every_client(monkeypatch, "securityhub", "before-call.securityhub.*", not_enabled)
    world, _ = blocked_service(ec2, ecs)
    intake(sample("ecs-run-task.json", world.vpc_id, world.private_subnets["us-east-1a"]), INTAKE)
    capsys.readouterr()
    response, _ = run_worker(sqs, on.work, ensure_endpoints)
    out = capsys.readouterr().out
    assert response["batchItemFailures"] == [] and receive(sqs, on.dead) == []
    assert emf(out).get("SecurityHubUnavailable") == 1.0
    said = [line for line in logs() if line.get("message", "").startswith("security hub not enabled")]
    assert len(said) == 1 and said[0]["vpc_id"] == world.vpc_id

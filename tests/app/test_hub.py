"""A hub (FleetMode = hub) through the deployed path on moto: events forwarded from member accounts and
Regions are queued per account/Region/VPC and reconciled through the member role with the external id;
accounts and Regions not enrolled are skipped; the member role's own calls never trigger; drift in a
member account is found in that account's records; the migration plan reads the member's VPC.

moto keeps a backend per account and honours an assumed role's account, but it enforces neither trust
policies nor external ids: a refusal of AssumeRole without the external id is injected (as the spoke's
trust policy would answer)."""

from __future__ import annotations

import copy

import boto3
import pytest
from botocore.exceptions import ClientError
from endpoint_guard.worker.messages import WorkItem

from tests.conftest import emf, endpoints_of, load_event, on_assume_role, sample
from tools.esm import context, receive, run_worker
from tools.world import OWN_ACCOUNT, build_vpc, member_client

MEMBER, STRANGER = "111111111111", "222222222222"
EXTERNAL_ID = "hub-external-id-0123456789"
INTAKE = context("endpoint-guard-intake")


@pytest.fixture
def hub(stack, monkeypatch):
    """The stack as a hub: MEMBER enrolled, in us-east-1 and eu-west-1. Every AssumeRole must carry the
    external id (the spoke's trust policy; injected, moto does not check it)."""
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_MODE", "hub")
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_ACCOUNTS", MEMBER)
    monkeypatch.setenv("ENDPOINT_GUARD_SWEEP_REGIONS", "us-east-1,eu-west-1")
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_EXTERNAL_ID", EXTERNAL_ID)
    assumed: list[dict] = []

    def trust(params: dict, **_: object) -> None:
        if params["RoleSessionName"] == "endpoint-guard-world":
            return  # the test building its world, not the hub
        assumed.append(dict(params))
        if params.get("ExternalId") != EXTERNAL_ID:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no external id"}}, "AssumeRole")

    on_assume_role(monkeypatch, trust)
    return assumed


def forwarded(event: dict, account: str, region: str) -> dict:
    """``event`` as a spoke's forward rule delivers it to the fleet bus: its account and Region kept."""
    event = copy.deepcopy(event)
    event["account"], event["region"] = account, region
    # Each delivery its own event (the intake deduplicates on the event id).
    event["id"] = event["detail"]["eventID"] = f"{event['detail']['eventID']}-{account}-{region}"
    event["detail"]["recipientAccountId"], event["detail"]["awsRegion"] = account, region
    return event


def member_vpc(account: str, region: str):
    ec2 = member_client("ec2", account, region)
    return ec2, build_vpc(ec2, azs=(f"{region}a", f"{region}b"))


def test_a_members_new_vpc_is_reconciled_through_its_member_role(hub, sqs, stack, intake, ensure_endpoints) -> None:
    ec2, world = member_vpc(MEMBER, "eu-west-1")
    event = forwarded(load_event("create-vpc.json"), MEMBER, "eu-west-1")
    event["detail"]["responseElements"]["vpc"]["vpcId"] = world.vpc_id
    answer = intake(event, INTAKE)
    assert [q["vpc_id"] for q in answer["queued"]] == [world.vpc_id]
    [message] = receive(sqs, stack.work)
    item = WorkItem.from_message(message["Body"])
    assert (item.account, item.region) == (MEMBER, "eu-west-1")
    # One VPC of one account-Region is one message group; its mark is kept apart from any other's.
    assert message["Attributes"]["MessageGroupId"] == f"{MEMBER}/eu-west-1/{world.vpc_id}"
    sqs.change_message_visibility(QueueUrl=stack.work, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    run_worker(sqs, stack.work, ensure_endpoints)
    assert len(endpoints_of(ec2, world.vpc_id)) == 4
    assert hub and all(a["ExternalId"] == EXTERNAL_ID for a in hub)
    assert {a["RoleArn"] for a in hub} == {f"arn:aws:iam::{MEMBER}:role/endpoint-guard-member"}
    table = boto3.client("dynamodb", region_name="us-east-1")
    mark = table.get_item(TableName="endpoint-guard-state", Key={"id": {"S": f"vpc#{MEMBER}/eu-west-1/{world.vpc_id}"}})
    assert "reconciled_from" in mark["Item"]
    assert receive(sqs, stack.work) == [] and receive(sqs, stack.dead) == []


def test_accounts_and_regions_not_enrolled_and_the_member_roles_own_calls_are_skipped(
    hub, sqs, stack, intake, logs
) -> None:
    _, world = member_vpc(MEMBER, "eu-west-1")
    base = load_event("create-vpc.json")
    base["detail"]["responseElements"]["vpc"]["vpcId"] = world.vpc_id
    stranger = intake(forwarded(base, STRANGER, "us-east-1"), INTAKE)
    elsewhere = intake(forwarded(base, MEMBER, "ap-south-1"), INTAKE)
    own = forwarded(base, MEMBER, "eu-west-1")
    own["detail"]["userIdentity"] = {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{MEMBER}:assumed-role/endpoint-guard-member/endpoint-guard-hub",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{MEMBER}:role/endpoint-guard-member"}
        },
    }
    own["id"] = own["detail"]["eventID"] = "own-call"
    loop = intake(own, INTAKE)
    assert [s["kind"] for s in stranger["skipped"]] == ["not_enrolled"]
    assert STRANGER in stranger["skipped"][0]["reason"]
    assert [s["kind"] for s in elsewhere["skipped"]] == ["not_enrolled"]
    assert "ap-south-1" in elsewhere["skipped"][0]["reason"]
    assert [s["kind"] for s in loop["skipped"]] == ["own_call"]
    assert not (stranger["queued"] or elsewhere["queued"] or loop["queued"])
    assert receive(sqs, stack.work) == []
    assert hub == []  # nothing was assumed for events that are not the hub's
    reasons = [line.get("skip_kind") for line in logs() if line.get("message") == "skipped"]
    assert reasons.count("not_enrolled") == 2


def test_the_hubs_own_account_region_keeps_the_single_account_keys(hub, ec2, sqs, stack, intake) -> None:
    world = build_vpc(ec2)
    event = forwarded(load_event("create-vpc.json"), OWN_ACCOUNT, "us-east-1")
    event["detail"]["responseElements"]["vpc"]["vpcId"] = world.vpc_id
    intake(event, INTAKE)
    [message] = receive(sqs, stack.work)
    assert message["Attributes"]["MessageGroupId"] == world.vpc_id
    assert hub == []  # its own account is reached directly


def test_drift_in_a_member_account_is_repaired_there(hub, sqs, stack, intake, ensure_endpoints, capsys) -> None:
    ec2, world = member_vpc(MEMBER, "us-east-1")
    created = forwarded(load_event("create-vpc.json"), MEMBER, "us-east-1")
    created["detail"]["responseElements"]["vpc"]["vpcId"] = world.vpc_id
    intake(created, INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    dkr = next(e for e in endpoints_of(ec2, world.vpc_id) if e["ServiceName"].endswith("ecr.dkr"))
    ec2.delete_vpc_endpoints(VpcEndpointIds=[dkr["VpcEndpointId"]])
    capsys.readouterr()
    event = forwarded(
        sample("drift-delete-vpc-endpoints.json", world.vpc_id, endpoint=dkr["VpcEndpointId"]), MEMBER, "us-east-1"
    )
    assert [q["vpc_id"] for q in intake(event, INTAKE)["queued"]] == [world.vpc_id]
    run_worker(sqs, stack.work, ensure_endpoints)
    assert len(endpoints_of(ec2, world.vpc_id)) == 4
    assert emf(capsys.readouterr().out)["DriftRepaired"] == 1.0
    # What endpoint-guard made in the member account is recorded under that account-Region.
    table = boto3.client("dynamodb", region_name="us-east-1")
    record = table.get_item(
        TableName="endpoint-guard-state", Key={"id": {"S": f"res#{MEMBER}/us-east-1/{dkr['VpcEndpointId']}"}}
    )
    assert record["Item"]["vpc_id"]["S"] == world.vpc_id


def test_a_member_role_that_cannot_be_assumed_dead_letters_with_the_reason(
    hub, sqs, stack, intake, ensure_endpoints, monkeypatch
) -> None:
    _, world = member_vpc(MEMBER, "eu-west-1")
    event = forwarded(load_event("create-vpc.json"), MEMBER, "eu-west-1")
    event["detail"]["responseElements"]["vpc"]["vpcId"] = world.vpc_id
    intake(event, INTAKE)
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_EXTERNAL_ID", "a-wrong-external-id-000")
    run_worker(sqs, stack.work, ensure_endpoints)
    [parked] = receive(sqs, stack.dead)
    assert "assume_role" in parked["Body"] and "AccessDenied" in parked["Body"]
    assert receive(sqs, stack.work) == []


def test_a_delivery_is_deduplicated_per_account_and_region(hub, sqs, stack, intake) -> None:
    """A second delivery of one event gets the first one's answer; the same event id from another
    account-Region is another event (the idempotency key holds the account and Region)."""
    _, first = member_vpc(MEMBER, "us-east-1")
    event = forwarded(load_event("create-vpc.json"), MEMBER, "us-east-1")
    event["detail"]["responseElements"]["vpc"]["vpcId"] = first.vpc_id
    assert len(intake(event, INTAKE)["queued"]) == 1
    assert intake(copy.deepcopy(event), INTAKE)["queued"] == intake(event, INTAKE)["queued"]
    _, second = member_vpc(MEMBER, "eu-west-1")
    elsewhere = copy.deepcopy(event)
    elsewhere["region"] = elsewhere["detail"]["awsRegion"] = "eu-west-1"
    elsewhere["detail"]["responseElements"]["vpc"]["vpcId"] = second.vpc_id
    assert [q["vpc_id"] for q in intake(elsewhere, INTAKE)["queued"]] == [second.vpc_id]
    assert sorted(WorkItem.from_message(m["Body"]).key for m in receive(sqs, stack.work)) == sorted(
        [f"{MEMBER}/us-east-1/{first.vpc_id}", f"{MEMBER}/eu-west-1/{second.vpc_id}"]
    )

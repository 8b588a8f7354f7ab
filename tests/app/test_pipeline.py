"""The deployed path: intake -> SQS FIFO (grouped by VPC) -> ensure_endpoints, with idempotency, burst
collapse, retries and the dead-letter queue, on moto. The handlers run in-process here; the concurrency
proof with separate processes is in test_concurrency.py."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from endpoint_guard.migration import execution_name
from endpoint_guard.worker import WorkItem

from tests.conftest import REGION, REPO, CallRecorder, emf, load_event, subnet_event, with_vpc
from tools.esm import context, receive, run_worker
from tools.world import build_vpc, run_fargate_tasks

INTAKE = context("endpoint-guard-intake")
WORKER = context("endpoint-guard-ensure-endpoints")


@pytest.fixture
def migration_machine(monkeypatch) -> str:
    """The deployed ASL as a state machine (moto does not run it here), wired to the worker."""
    machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="migration-plan",
        definition=(REPO / "statemachines" / "migration-plan.asl.json").read_text(),
        roleArn="arn:aws:iam::123456789012:role/plan",
    )["stateMachineArn"]
    monkeypatch.setenv("ENDPOINT_GUARD_MIGRATION_STATE_MACHINE_ARN", machine)
    return machine


def endpoints(ec2, vpc_id: str) -> list[str]:
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    return sorted(e["ServiceName"].split(f".{REGION}.", 1)[1] for e in found)


def test_intake_queues_one_message_per_vpc_in_that_vpcs_group(ec2, sqs, stack, capsys, intake) -> None:
    world = build_vpc(ec2)
    event = with_vpc(load_event("create-vpc.json"), world.vpc_id)
    output = intake(event, INTAKE)

    assert output["queued"] == [
        {"vpc_id": world.vpc_id, "event_id": event["detail"]["eventID"], "event_name": "CreateVpc"}
    ]
    [message] = receive(sqs, stack.work)
    assert message["Attributes"]["MessageGroupId"] == world.vpc_id
    assert WorkItem.from_message(message["Body"]) == WorkItem(world.vpc_id, event["detail"]["eventID"], "CreateVpc")
    assert endpoints(ec2, world.vpc_id) == []  # the intake only queues
    assert emf(capsys.readouterr().out)["VpcsQueued"] == 1.0


def test_a_duplicate_delivery_gets_the_first_answer_and_queues_nothing(
    ec2, sqs, stack, capsys, intake, clients
) -> None:
    world = build_vpc(ec2)
    event = with_vpc(load_event("create-vpc.json"), world.vpc_id)
    first = intake(event, INTAKE)
    sent = CallRecorder(clients.client("sqs"))
    again = intake(json.loads(json.dumps(event)), INTAKE)

    assert again == first
    assert sent.operations == []
    assert len(receive(sqs, stack.work)) == 1
    out = capsys.readouterr().out
    assert '"Reason":"duplicate"' in out.replace(" ", "")


def test_a_burst_for_one_vpc_collapses_into_one_reconcile(
    ec2, sqs, stack, capsys, intake, clients, ensure_endpoints
) -> None:
    world = build_vpc(ec2)
    for n in range(6):
        intake(subnet_event(world, n), INTAKE)
    capsys.readouterr()
    state: list[tuple[str, str]] = []
    clients.client("dynamodb").meta.events.register(
        "provide-client-params.dynamodb.*",
        lambda params, model, **_: state.append(
            (model.name, params["Key"]["id"]["S"].split("#")[0] if "Key" in params else "batch")
        ),
    )

    response, messages = run_worker(sqs, stack.work, ensure_endpoints)
    assert len(messages) == 6 and response["batchItemFailures"] == []
    # The VPC's mark, read once for the whole batch and written once; and one write to the
    # account-Region's endpoint pace, which reserves the slots of all four endpoint calls.
    assert [op for op in state if op[1] == "vpc"] == [("GetItem", "vpc"), ("UpdateItem", "vpc")]
    assert [op for op in state if op[1] == "pace"] == [("UpdateItem", "pace")]
    assert state.count(("BatchWriteItem", "batch")) == 1  # what it made, recorded once (see test_drift.py)
    metrics = emf(capsys.readouterr().out)
    assert metrics["VpcsReconciled"] == 1.0 and metrics["EndpointsCreated"] == 4.0
    assert metrics["EventsSkippedByReason"] == 5.0  # covered by the first reconcile
    assert endpoints(ec2, world.vpc_id) == ["ecr.api", "ecr.dkr", "logs", "s3"]
    assert receive(sqs, stack.work) == []


def test_an_event_sent_after_the_last_reconcile_started_is_not_covered(
    ec2, sqs, stack, capsys, intake, ensure_endpoints
) -> None:
    world = build_vpc(ec2)
    intake(subnet_event(world, 1), INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    intake(subnet_event(world, 2), INTAKE)
    capsys.readouterr()
    run_worker(sqs, stack.work, ensure_endpoints)
    assert emf(capsys.readouterr().out)["VpcsReconciled"] == 1.0


def fail_endpoint_creation(vpc_id: str, clients) -> None:
    def refuse(params: dict, **_: object) -> None:
        if params.get("VpcId") == vpc_id:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "try later"}}, "CreateVpcEndpoint")

    clients.client("ec2").meta.events.register("provide-client-params.ec2.CreateVpcEndpoint", refuse)


def test_a_failing_vpc_is_retried_then_dead_lettered_with_the_reason(
    ec2, sqs, stack, intake, ensure_endpoints, clients
) -> None:
    world = build_vpc(ec2)
    intake(subnet_event(world, 1), INTAKE)
    fail_endpoint_creation(world.vpc_id, clients)

    first, [message] = run_worker(sqs, stack.work, ensure_endpoints)
    assert first["batchItemFailures"] == [{"itemIdentifier": message["MessageId"]}]
    assert sqs.receive_message(QueueUrl=stack.dead).get("Messages", []) == []

    last, _ = run_worker(sqs, stack.work, ensure_endpoints)  # attempt 2 of ENDPOINT_GUARD_MAX_ATTEMPTS=2
    assert last["batchItemFailures"] == []
    [parked] = sqs.receive_message(QueueUrl=stack.dead, MessageAttributeNames=["All"])["Messages"]
    reason = json.loads(parked["Body"])
    assert reason["error_kind"] == "reconcile_failed" and reason["vpc_id"] == world.vpc_id
    assert reason["attempts"] == 2 and "InternalError" in reason["error"]
    assert reason["event_id"] == "burst-event-1" and json.loads(reason["message"])["vpc_id"] == world.vpc_id
    assert parked["MessageAttributes"]["ErrorKind"]["StringValue"] == "reconcile_failed"
    assert receive(sqs, stack.work) == []  # out of the work queue: the VPC's later work is not blocked


def test_a_vpc_that_does_not_exist_is_dead_lettered_without_retrying(sqs, stack, intake, ensure_endpoints) -> None:
    intake({"vpc_id": "vpc-0123456789abcdef0"}, INTAKE)
    response, _ = run_worker(sqs, stack.work, ensure_endpoints)
    assert response["batchItemFailures"] == []
    [parked] = sqs.receive_message(QueueUrl=stack.dead)["Messages"]
    assert json.loads(parked["Body"])["error_kind"] == "vpc_not_found"


def test_a_failure_holds_back_only_its_own_vpcs_later_messages(
    ec2, sqs, stack, intake, ensure_endpoints, clients
) -> None:
    bad, good = build_vpc(ec2), build_vpc(ec2, cidr="10.41.0.0/16")
    for n, world in enumerate((bad, bad, good)):
        intake(subnet_event(world, n), INTAKE)
    fail_endpoint_creation(bad.vpc_id, clients)

    response, messages = run_worker(sqs, stack.work, ensure_endpoints)
    by_vpc = {m["MessageId"]: WorkItem.from_message(m["Body"]).vpc_id for m in messages}
    assert sorted(by_vpc[f["itemIdentifier"]] for f in response["batchItemFailures"]) == [bad.vpc_id, bad.vpc_id]
    assert endpoints(ec2, good.vpc_id) == ["ecr.api", "ecr.dkr", "logs", "s3"]


def test_an_unreadable_message_is_dead_lettered(sqs, stack, ensure_endpoints) -> None:
    sqs.send_message(QueueUrl=stack.work, MessageBody="{oops", MessageGroupId="g", MessageDeduplicationId="d")
    response, _ = run_worker(sqs, stack.work, ensure_endpoints)
    assert response["batchItemFailures"] == []
    [parked] = sqs.receive_message(QueueUrl=stack.dead)["Messages"]
    assert json.loads(parked["Body"])["error_kind"] == "invalid_event"


def test_skips_are_counted_by_reason(ecs, stack, capsys, intake) -> None:
    ecs.create_cluster(clusterName="empty")
    event = load_event("ecs-create-cluster.json")
    event["detail"]["requestParameters"]["tags"] = []
    event["detail"]["responseElements"]["cluster"]["clusterArn"] = "arn:aws:ecs:us-east-1:123456789012:cluster/empty"
    output = intake(event, INTAKE)
    assert output["queued"] == [] and output["skipped"][0]["kind"] == "cluster_unresolved"
    out = capsys.readouterr().out
    assert emf(out)["ClustersUnresolved"] == 1.0
    assert '"Reason":"cluster_unresolved"' in out.replace(" ", "")


def test_a_deferred_gateway_starts_one_migration_plan_per_deferred_state(
    ec2, ecs, sqs, stack, migration_machine, logs, intake, ensure_endpoints
) -> None:
    sfn, machine = boto3.client("stepfunctions", region_name=REGION), migration_machine
    world = build_vpc(ec2)
    run_fargate_tasks(ecs, ec2, world.private_subnets["us-east-1a"])

    intake(subnet_event(world, 1), INTAKE)
    first, _ = run_worker(sqs, stack.work, ensure_endpoints)
    intake(subnet_event(world, 2), INTAKE)  # the same deferred state, seen again
    second, _ = run_worker(sqs, stack.work, ensure_endpoints)

    [execution] = sfn.list_executions(stateMachineArn=machine)["executions"]
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert started["vpc_id"] == world.vpc_id
    assert [t["route_table_id"] for t in started["deferred_route_tables"]] == [world.private_route_tables["us-east-1a"]]
    assert execution["name"] == execution_name(world.vpc_id, started["deferred_route_tables"])
    for response in (first, second):
        assert response["batchItemFailures"] == []
    logged = [line for line in logs() if line["message"] == "migration plan"]
    # Both reconciles name the one execution (whether AWS answers the second start with the running
    # execution or with ExecutionAlreadyExists).
    assert [line["execution_arn"] for line in logged] == [execution["executionArn"]] * 2


def test_a_failed_plan_is_started_again_for_the_same_deferred_state(
    ec2, ecs, sqs, stack, migration_machine, intake, ensure_endpoints
) -> None:
    sfn, machine = boto3.client("stepfunctions", region_name=REGION), migration_machine
    world = build_vpc(ec2)
    run_fargate_tasks(ecs, ec2, world.private_subnets["us-east-1a"])
    intake(subnet_event(world, 1), INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    [first] = sfn.list_executions(stateMachineArn=machine)["executions"]
    sfn.stop_execution(executionArn=first["executionArn"])  # the plan failed (or was aborted)

    intake(subnet_event(world, 2), INTAKE)  # the same deferred state, seen again
    response, _ = run_worker(sqs, stack.work, ensure_endpoints)
    assert response["batchItemFailures"] == []
    names = sorted(e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"])
    assert names == [first["name"], f"{first['name']}-r2"]


# --- the managed group: read, then trusted while nothing says otherwise --------------------------------


def managed_group(ec2, vpc_id: str) -> dict:
    [group] = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["endpoint-guard-endpoints"]}]
    )["SecurityGroups"]
    return group


def ingress(group: dict) -> list[tuple]:
    return sorted(
        (p["IpProtocol"], p.get("FromPort"), r["CidrIp"]) for p in group["IpPermissions"] for r in p["IpRanges"]
    )


def test_a_compliant_vpc_costs_the_worker_three_ec2_reads(ec2, sqs, stack, intake, clients, ensure_endpoints) -> None:
    world = build_vpc(ec2)
    intake(subnet_event(world, 1), INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)  # creates everything and reads the new group's rules
    intake(subnet_event(world, 2), INTAKE)
    calls = CallRecorder(clients.client("ec2"))

    response, _ = run_worker(sqs, stack.work, ensure_endpoints)
    assert response["batchItemFailures"] == []
    assert sorted(calls.operations) == ["DescribeRouteTables", "DescribeSubnets", "DescribeVpcEndpoints"]


def test_a_hand_edit_of_the_group_is_undone_once_the_last_read_is_too_old(
    ec2, sqs, stack, monkeypatch, intake, clients, ensure_endpoints
) -> None:
    world = build_vpc(ec2)
    intake(subnet_event(world, 1), INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    group = managed_group(ec2, world.vpc_id)
    ec2.authorize_security_group_ingress(
        GroupId=group["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )

    intake(subnet_event(world, 2), INTAKE)
    run_worker(
        sqs, stack.work, ensure_endpoints
    )  # within GroupRecheckSeconds: the edit is not seen (the documented trade)
    assert ("tcp", 22, "0.0.0.0/0") in ingress(managed_group(ec2, world.vpc_id))

    monkeypatch.setenv("ENDPOINT_GUARD_GROUP_RECHECK_SECONDS", "0")  # the last read is now too old
    intake(subnet_event(world, 3), INTAKE)
    calls = CallRecorder(clients.client("ec2"))
    response, _ = run_worker(sqs, stack.work, ensure_endpoints)
    assert response["batchItemFailures"] == []
    assert "DescribeSecurityGroups" in calls.operations and "RevokeSecurityGroupIngress" in calls.operations
    assert ingress(managed_group(ec2, world.vpc_id)) == [("tcp", 443, "10.40.0.0/16")]


def test_a_new_cidr_block_makes_the_worker_read_the_group_and_let_it_in(
    ec2, sqs, stack, intake, clients, ensure_endpoints
) -> None:
    world = build_vpc(ec2)
    intake(subnet_event(world, 1), INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    ec2.associate_vpc_cidr_block(VpcId=world.vpc_id, CidrBlock="10.77.0.0/16")

    intake(subnet_event(world, 2), INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    assert ingress(managed_group(ec2, world.vpc_id)) == [("tcp", 443, "10.40.0.0/16"), ("tcp", 443, "10.77.0.0/16")]

    intake(subnet_event(world, 3), INTAKE)
    calls = CallRecorder(clients.client("ec2"))
    run_worker(sqs, stack.work, ensure_endpoints)
    assert "DescribeSecurityGroups" not in calls.operations  # the read with both blocks is the one kept

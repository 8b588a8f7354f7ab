"""endpoint-guard dlq list and replay, against moto: the records the worker parks (and those Lambda's
destination and EventBridge write) read back; what can be retried goes back to the work queue and
leaves the DLQ, the rest stays."""

from __future__ import annotations

import json

import boto3
from endpoint_guard.cli import main

from tests.conftest import REGION, load_event, subnet_event
from tools.esm import context, receive, run_worker
from tools.world import build_vpc


def parked(ec2, stack, intake, ensure_endpoints, clients) -> tuple[str, str]:
    """Two worker records: a VPC that failed on its last attempt (retryable) and one that does not
    exist (permanent); and one intake failure as Lambda's destination writes it."""
    from botocore.exceptions import ClientError

    sqs = boto3.client("sqs", region_name=REGION)
    world = build_vpc(ec2)
    intake(subnet_event(world, 1), context("endpoint-guard-intake"))
    intake({"vpc_id": "vpc-0123456789abcdef0"}, context("endpoint-guard-intake"))

    def refuse(params: dict, **_: object) -> None:
        if params.get("VpcId") == world.vpc_id:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "try later"}}, "CreateVpcEndpoint")

    clients.client("ec2").meta.events.register("provide-client-params.ec2.CreateVpcEndpoint", refuse)
    for _ in range(2):  # ENDPOINT_GUARD_MAX_ATTEMPTS=2
        run_worker(sqs, stack.work, ensure_endpoints)
    clients.client("ec2").meta.events.unregister("provide-client-params.ec2.CreateVpcEndpoint", refuse)
    event = load_event("create-vpc.json")
    event["detail"]["responseElements"]["vpc"]["vpcId"] = world.vpc_id
    sqs.send_message(
        QueueUrl=stack.dead,
        MessageBody=json.dumps(
            {
                "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
                "requestPayload": event,
                "responsePayload": {"errorType": "AwsCallError", "errorMessage": "describe_subnets failed"},
            }
        ),
    )
    return world.vpc_id, stack.dead


def test_list_shows_every_record_and_leaves_them(ec2, stack, intake, ensure_endpoints, clients, capsys) -> None:
    vpc_id, dead = parked(ec2, stack, intake, ensure_endpoints, clients)
    capsys.readouterr()  # the handlers' own lines
    assert main(["dlq", "list", "--dlq-url", dead, "--json", "--region", REGION]) == 0
    records = json.loads(capsys.readouterr().out)
    by_source = sorted((r["source"], r["kind"], r["retryable"], r["vpc_id"]) for r in records)
    assert by_source == [
        ("intake", "AwsCallError", True, None),
        ("worker", "reconcile_failed", True, vpc_id),
        ("worker", "vpc_not_found", False, "vpc-0123456789abcdef0"),
    ]
    assert main(["dlq", "list", "--dlq-url", dead, "--region", REGION]) == 0  # still there, as a table
    table = capsys.readouterr().out
    assert "reconcile_failed" in table and "vpc_not_found" in table


def test_replay_requeues_what_can_be_retried_and_leaves_the_rest(
    ec2, stack, intake, ensure_endpoints, clients, capsys
) -> None:
    vpc_id, dead = parked(ec2, stack, intake, ensure_endpoints, clients)
    capsys.readouterr()  # the handlers' own lines
    sqs = boto3.client("sqs", region_name=REGION)
    args = ["dlq", "replay", "--dlq-url", dead, "--work-queue-url", stack.work, "--region", REGION, "--json"]
    assert main([*args, "--dry-run"]) == 0
    assert len(json.loads(capsys.readouterr().out)["replayed"]) == 2
    assert receive(sqs, stack.work) == []  # a dry run sends nothing

    assert main([*args, "--kind", "reconcile_failed"]) == 0
    outcome = json.loads(capsys.readouterr().out)
    assert [r["vpc_id"] for r in outcome["replayed"]] == [vpc_id] and len(outcome["left"]) == 2
    [message] = receive(sqs, stack.work)
    assert json.loads(message["Body"])["vpc_id"] == vpc_id and message["Attributes"]["MessageGroupId"] == vpc_id

    assert main(["dlq", "list", "--dlq-url", dead, "--json", "--region", REGION]) == 0
    assert sorted(r["kind"] for r in json.loads(capsys.readouterr().out)) == ["AwsCallError", "vpc_not_found"]


def test_replay_without_a_work_queue_is_a_one_line_error(moto, stack, capsys) -> None:
    assert main(["dlq", "replay", "--dlq-url", stack.dead, "--region", REGION]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_scheduled_sweep_eventbridge_could_not_start_is_listed_and_replay_starts_it(stack, capsys) -> None:
    """The record EventBridge writes when its retries to start the schedule's target ran out: the
    target's input as the body, the error and the target in message attributes."""
    sqs, sfn = boto3.client("sqs", region_name=REGION), boto3.client("stepfunctions", region_name=REGION)
    role = boto3.client("iam", region_name=REGION).create_role(RoleName="sweep", AssumeRolePolicyDocument="{}")
    machine = sfn.create_state_machine(
        name="endpoint-guard-fleet-sweep",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=role["Role"]["Arn"],
    )["stateMachineArn"]
    attributes = {
        "ERROR_CODE": "SDK_CLIENT_ERROR",
        "ERROR_MESSAGE": "Rate exceeded (Service: AWSStepFunctions; Status Code: 400; Error Code: ThrottlingException)",
        "RULE_ARN": "arn:aws:events:us-east-1:123456789012:rule/endpoint-guard-FleetSweepStateMachineScheduled",
        "TARGET_ARN": machine,
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
    }
    sqs.send_message(
        QueueUrl=stack.dead,
        MessageBody="{}",
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )

    assert main(["dlq", "list", "--dlq-url", stack.dead, "--json", "--region", REGION]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert (record["source"], record["kind"], record["retryable"]) == ("schedule", "SDK_CLIENT_ERROR", True)
    assert "ThrottlingException" in record["error"]

    args = ["dlq", "replay", "--dlq-url", stack.dead, "--work-queue-url", stack.work, "--region", REGION, "--json"]
    assert main(args) == 0
    assert [r["source"] for r in json.loads(capsys.readouterr().out)["replayed"]] == ["schedule"]
    [execution] = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == {}
    assert receive(sqs, stack.dead) == [] and receive(sqs, stack.work) == []  # the sweep, not a VPC's work

"""Bad input through the deployed handlers and the CLI, on moto: a one-line error and exit 2 from the
CLI, a dead letter SQS accepts from the worker, a classified state-table failure from the intake."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from endpoint_guard.cli import main
from endpoint_guard.errors import EndpointGuardError, InvalidEventError, StateStoreError
from hypothesis import HealthCheck, given, settings

from tests.conftest import EVENTS, REGION, emf, load_event
from tools.esm import context, run_worker
from tools.fuzz import EVENT_DOCUMENTS, mutated
from tools.world import build_vpc


@pytest.mark.parametrize(
    "event",
    [
        {"eventSource": "ec2.amazonaws.com", "eventName": ["CreateVpc"]},
        {"eventSource": "ec2.amazonaws.com", "eventName": "AssociateRouteTable", "requestParameters": 7},
        {"eventSource": "ec2.amazonaws.com", "eventName": "AssociateRouteTable", "requestParameters": ["x"]},
    ],
)
def test_the_cli_answers_a_malformed_event_with_one_line_and_exit_2(moto, tmp_path, capsys, event) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    assert main(["invoke", str(path), "--region", REGION]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "InvalidEventError" in err and "Traceback" not in err


@pytest.mark.parametrize("body", ["[" * 1024, json.dumps({"version": 1, "vpc_id": "vpc-\u0000"})])
def test_an_unreadable_message_reaches_the_dead_letter_queue_at_once(stack, ensure_endpoints, body: str) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(QueueUrl=stack.work, MessageBody=body, MessageGroupId="g", MessageDeduplicationId="d")
    response, _ = run_worker(sqs, stack.work, ensure_endpoints)
    assert response["batchItemFailures"] == []  # parked, not looping towards the backstop
    [parked] = sqs.receive_message(QueueUrl=stack.dead, MessageAttributeNames=["All"])["Messages"]
    record = json.loads(parked["Body"])
    assert record["error_kind"] == "invalid_event" and record["message"] == body
    assert parked["MessageAttributes"]["ErrorKind"]["StringValue"] == "invalid_event"


@pytest.mark.parametrize("event", [{"Records": [None]}, {"Records": [{"body": 1}]}, {"Records": "x"}, []])
def test_the_worker_rejects_what_is_not_an_sqs_batch(stack, ensure_endpoints, event: Any) -> None:
    with pytest.raises(InvalidEventError):
        ensure_endpoints(event, context("endpoint-guard-ensure-endpoints"))


def test_a_failing_idempotency_table_is_a_classified_state_store_error(stack, intake, clients, capsys) -> None:
    def refuse(**_: object) -> None:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "PutItem")

    clients.client("dynamodb").meta.events.register("before-call.dynamodb.PutItem", refuse)
    with pytest.raises(StateStoreError) as raised:
        intake(load_event("create-vpc.json"), context("endpoint-guard-intake"))
    assert raised.value.kind == "state_store" and raised.value.retryable
    assert emf(capsys.readouterr().out)["Failures"] == 1.0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated(EVENT_DOCUMENTS))
def test_the_intake_handler_answers_or_classifies_mutated_events(stack, ec2, intake, event: Any) -> None:
    try:
        output = intake(event, context("endpoint-guard-intake"))
    except EndpointGuardError as err:
        assert err.kind  # noqa: PT017 (the kind of whatever project error it raised)
        return
    assert set(output) >= {"skipped"}


def test_the_sample_events_still_go_through(stack, ec2, intake) -> None:
    world = build_vpc(ec2)
    event = json.loads((EVENTS / "create-vpc.json").read_text())
    event["detail"]["responseElements"]["vpc"]["vpcId"] = world.vpc_id
    assert intake(event, context("endpoint-guard-intake"))["queued"][0]["vpc_id"] == world.vpc_id


def _sqs_batch() -> dict:
    from endpoint_guard.worker import WorkItem

    from tools.esm import sqs_event

    body = WorkItem("vpc-0123456789abcdef0", "e-1", "CreateVpc").to_message()
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": body,
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1", "MessageGroupId": "g"},
    }
    return sqs_event([message], "arn:aws:sqs:us-east-1:123456789012:work.fifo", REGION)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated([_sqs_batch()]))
def test_the_worker_handler_answers_or_classifies_mutated_batches(stack, ensure_endpoints, event: Any) -> None:
    try:
        response = ensure_endpoints(event, context("endpoint-guard-ensure-endpoints"))
    except EndpointGuardError as err:
        assert err.kind  # noqa: PT017 (the kind of whatever project error it raised)
        return
    assert isinstance(response.get("batchItemFailures"), list)

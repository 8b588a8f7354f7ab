"""Bad input never crashes: property-based runs (hypothesis) over the intake's parser, the worker's use
case and the migration tasks, with arbitrary JSON and with mutations of every event in events/ and
../shared/real-events/. The only allowed outcomes are a result (a skip with a reason counts) or one of
endpoint-guard's own errors, with its kind; and whatever reaches the dead-letter queue is sendable."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from endpoint_guard.aws.state import sqs_text
from endpoint_guard.errors import EndpointGuardError, InvalidEventError
from endpoint_guard.intake import Trigger, parse_event
from endpoint_guard.lambdas import migration as tasks
from endpoint_guard.migration.services import service_steps
from endpoint_guard.migration.target import plan_target
from endpoint_guard.observe import Recorded
from endpoint_guard.worker import Delivery, Worker, WorkerRules, WorkItem
from endpoint_guard.worker.usecase import dead_letter_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.esm import context
from tools.fuzz import EVENT_DOCUMENTS, JSON, ODD_TEXT, mutated
from tools.migration_samples import INTERFACES, inventory

# How many examples: the hypothesis profile's (conftest.py: 300 under make test, 40 under make unit).
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome_of(call: Any, *args: Any) -> tuple[Any, EndpointGuardError | None]:
    """(what the call returned, None) or (None, the project's error it raised); anything else raises."""
    try:
        return call(*args), None
    except EndpointGuardError as err:
        return None, err


def parsed_or_classified(event: Any) -> list[Trigger] | None:
    triggers, err = outcome_of(parse_event, event)
    if err is not None:
        assert isinstance(err, InvalidEventError) and err.kind == "invalid_event" and str(err)
        return None
    for trigger in triggers:
        assert isinstance(trigger, Trigger)
        assert trigger.event_id is None or isinstance(trigger.event_id, str)
        ids = trigger.vpc_ids + trigger.subnet_ids + trigger.route_table_ids + trigger.endpoint_ids + trigger.group_ids
        ids += trigger.path_group_ids + trigger.acl_ids
        assert all(isinstance(v, str) for v in ids)
        assert ids or trigger.clusters or trigger.skip_kind
    return triggers


# --- the intake's parser -------------------------------------------------------------------------------


@FAST
@given(JSON)
def test_the_intake_parses_or_classifies_arbitrary_json(event: Any) -> None:
    parsed_or_classified(event)


@FAST
@given(mutated(EVENT_DOCUMENTS))
def test_the_intake_parses_or_classifies_every_sample_event_mutated(event: Any) -> None:
    parsed_or_classified(event)


@pytest.mark.parametrize(
    "event",
    [
        {"eventSource": "ec2.amazonaws.com", "eventName": ["CreateVpc"]},
        {"eventSource": {"a": 1}, "eventName": "CreateVpc"},
        {"eventSource": "ec2.amazonaws.com", "eventName": "AssociateRouteTable", "requestParameters": 7},
        {"eventSource": "ec2.amazonaws.com", "eventName": "AssociateRouteTable", "requestParameters": ["rtb-1"]},
        {"Records": [{"eventSource": "ecs.amazonaws.com", "eventName": "RunTask", "requestParameters": [[[]]]}]},
        {"vpc_id": "vpc-0123456789abcdef0\n"},
        {"cluster": "c" * 100_000},
        {"detail-type": "AWS API Call via CloudTrail", "detail": {"eventSource": "ec2.amazonaws.com"}},
        json.loads("[" * 50 + "]" * 50),
    ],
)
def test_inputs_that_once_crashed_the_intake_are_classified(event: Any) -> None:
    parsed_or_classified(event)


def test_a_deeply_nested_event_is_an_invalid_event_not_a_recursion_error() -> None:
    event: Any = {"eventSource": "ecs.amazonaws.com", "eventName": "RunTask"}
    node = event
    for _ in range(5000):
        node["requestParameters"] = {}
        node = node["requestParameters"]
    parsed_or_classified(event)


# --- the worker ----------------------------------------------------------------------------------------


class Letters:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, str]]] = []

    def send(self, body: str, attributes: dict[str, str]) -> None:
        self.sent.append((body, attributes))


def handled_or_classified(body: str) -> None:
    letters = Letters()

    def reconcile(vpc_id, trusted, pace, dns=None, pull=False):
        return {
            "vpc_id": vpc_id,
            "region": "us-east-1",
            "dry_run": False,
            "compliant": True,
            "security_group_id": None,
            "security_group_rules": None,
            "vpc_cidrs": [],
            "deferred_route_tables": [],
            "migration_execution_arn": None,
        }

    worker = Worker(reconcile=reconcile, observer=Recorded(), rules=WorkerRules(), dead_letters=letters)
    outcome, err = outcome_of(worker.handle, Delivery(body, "m-1", 0, 1))
    assert (err is not None and err.kind) or isinstance(outcome, dict)
    for sent, _ in letters.sent:  # what reaches the DLQ is sendable (its attributes: test_hostile_handlers.py)
        assert sqs_text(sent) == sent and len(sent.encode()) < 256 * 1024
        json.loads(sent)


@FAST
@given(ODD_TEXT | JSON.map(json.dumps))
def test_the_worker_handles_or_classifies_any_body(body: str) -> None:
    handled_or_classified(body)


@FAST
@given(mutated([json.loads(WorkItem("vpc-0123456789abcdef0", "e-1", "CreateVpc").to_message())]))
def test_the_worker_handles_or_classifies_mutated_messages(message: Any) -> None:
    handled_or_classified(json.dumps(message))


@pytest.mark.parametrize(
    "body",
    ["[" * 1024, json.dumps({"version": 1, "vpc_id": "vpc-\u0000"}), json.dumps({"version": 1, "vpc_id": ["x"]})],
)
def test_bodies_that_once_looped_to_the_backstop_go_to_the_dead_letter_queue(body: str) -> None:
    letters = Letters()
    worker = Worker(reconcile=None, observer=Recorded(), rules=WorkerRules(), dead_letters=letters)  # type: ignore[arg-type]
    record = worker.handle(Delivery(body, "m-1", 0, 1))
    assert record["error_kind"] == "invalid_event" and record["retryable"] is False
    [(sent, _)] = letters.sent
    assert sqs_text(sent) == sent and json.loads(sent)["message"] == body


def test_an_oversize_record_is_bounded_and_keeps_a_reference_to_the_original() -> None:
    record = {"error": "x", "message": "m" * 250_000, "result": {"big": "r" * 250_000}}
    body = dead_letter_body(record)
    kept = json.loads(body)
    assert len(body) <= 200_000 and kept["result"] is None and kept["result_dropped"] is True
    assert kept["message_truncated"]["length"] == 250_000 and len(kept["message_truncated"]["sha256"]) == 64


# --- the migration tasks (pure ones: target, service, assemble) ------------------------------------------


class Bucket:
    """The plan bucket in memory: the S3 calls the document store makes (get_object, put_object,
    delete_object), with AWS's NoSuchKey for a key that is not there."""

    def __init__(self, documents: dict[str, Any]) -> None:
        self.objects = {key: json.dumps(doc).encode() for key, doc in documents.items()}

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": Key}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[Key])}

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
        self.objects[Key] = Body
        return {}

    def delete_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.objects.pop(Key, None)
        return {}


class InMemory:
    """Stands in for ``Clients``: the tasks' only client is S3."""

    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket

    def client(self, service: str) -> Bucket:
        assert service == "s3"
        return self.bucket


PREFIX = "work/vpc-0c4f7a1e9b2d3c5a6/plan"
SAMPLE = inventory()
TARGET = plan_target(SAMPLE, INTERFACES)
DOCUMENTS = {
    f"{PREFIX}/inventory.json": SAMPLE,
    f"{PREFIX}/target.json": TARGET,
    f"{PREFIX}/services/00000.json": SAMPLE["services"][0],
    f"{PREFIX}/steps/00000.json": service_steps(SAMPLE["services"][0], TARGET),
}
TASK_EVENTS = {
    "target": {"inventory_key": f"{PREFIX}/inventory.json", "prefix": PREFIX},
    "service": {"service_key": f"{PREFIX}/services/00000.json", "target_key": f"{PREFIX}/target.json"},
    "assemble": {
        "inventory_key": f"{PREFIX}/inventory.json",
        "target_key": f"{PREFIX}/target.json",
        "services": [{"steps_key": f"{PREFIX}/steps/00000.json"}],
        "execution_name": "plan",
    },
}


@pytest.fixture(autouse=True)
def plan_bucket(monkeypatch) -> None:
    monkeypatch.setenv("ENDPOINT_GUARD_PLAN_BUCKET", "plans")


def run_task(task: str, event: Any, documents: dict[str, Any]) -> None:
    make = {"target": tasks.make_target, "service": tasks.make_service, "assemble": tasks.make_assemble}[task]
    handler = make(InMemory(Bucket(documents)))  # type: ignore[arg-type]
    answer, err = outcome_of(handler, event, context(f"migration-{task}"))
    assert (err is not None and err.kind) or isinstance(answer, dict)


def test_the_sample_documents_plan_cleanly() -> None:
    for task, event in TASK_EVENTS.items():
        handler = {"target": tasks.make_target, "service": tasks.make_service, "assemble": tasks.make_assemble}[task]
        assert isinstance(handler(InMemory(Bucket(DOCUMENTS)))(event, context(task)), dict)  # type: ignore[arg-type]


@FAST
@given(st.sampled_from(sorted(TASK_EVENTS)), mutated(list(TASK_EVENTS.values())) | JSON)
def test_the_migration_tasks_answer_or_classify_any_input(task: str, event: Any) -> None:
    run_task(task, event, DOCUMENTS)


@FAST
@given(st.sampled_from(sorted(TASK_EVENTS)), st.sampled_from(sorted(DOCUMENTS)), st.data())
def test_the_migration_tasks_answer_or_classify_any_stored_document(task: str, key: str, data: st.DataObject) -> None:
    documents = {**DOCUMENTS, key: data.draw(mutated([DOCUMENTS[key]]) | JSON)}
    run_task(task, TASK_EVENTS[task], documents)


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        {"run": "r"},
        {"run": "../../etc", "mode": "report", "item": {"region": "us-east-1", "vpc_ids": ["vpc-0123456789abcdef0"]}},
        {"run": "r", "mode": "report", "item": {"region": "moon-1", "vpc_ids": ["vpc-0123456789abcdef0"]}},
        {"run": "r", "mode": "report", "item": {"region": "us-east-1", "vpc_ids": []}},
        {"run": "r", "mode": "report", "item": {"region": "us-east-1", "vpc_ids": ["vpc-0123456789abcdef0"] * 201}},
        {"run": "r", "mode": "report", "item": {"region": "us-east-1", "vpc_ids": ["subnet-0123456789abcdef0"]}},
        {"run": "r", "mode": "report", "item": {"region": ["us-east-1"], "vpc_ids": "vpc-0123456789abcdef0"}},
    ],
)
def test_a_sweep_chunk_refuses_a_malformed_item_before_any_aws_call(event: Any) -> None:
    from endpoint_guard.lambdas import sweep as sweep_tasks

    handler = sweep_tasks.make_chunk(InMemory(Bucket({})))  # type: ignore[arg-type]  # S3 only: EC2 would fail
    _, err = outcome_of(handler, event, context("sweep-chunk"))
    assert isinstance(err, InvalidEventError), err


@pytest.mark.parametrize("event", [None, {"mode": "report"}, {"run": "a b", "mode": "report"}, {"run": "r"}])
def test_a_sweep_report_refuses_a_malformed_request(event: Any) -> None:
    from endpoint_guard.lambdas import sweep as sweep_tasks

    _, err = outcome_of(sweep_tasks.make_report(InMemory(Bucket({}))), event, context("sweep-report"))  # type: ignore[arg-type]
    assert isinstance(err, InvalidEventError), err

"""Lambda, emulated just enough to test the deployed pipeline without Docker: a pool of separate
processes stands in for execution environments (each with its own module state, as in Lambda), and a
poller stands in for the SQS event source mapping (receive a batch, invoke, delete what succeeded, let
the batch item failures come back).

Tests use it against a moto server; nothing here is part of the deployed product.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from types import SimpleNamespace
from typing import Any

# --- the stack's queues and table -------------------------------------------------------------------


def create_stack(sqs: Any, dynamodb: Any, *, delay: int = 0) -> SimpleNamespace:
    """The template's work queue, dead-letter queue and state table, and the environment that points the
    functions at them."""
    work = sqs.create_queue(
        QueueName="endpoint-guard-work.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false", "DelaySeconds": str(delay)},
    )["QueueUrl"]
    dead = sqs.create_queue(QueueName="endpoint-guard-dlq")["QueueUrl"]
    dynamodb.create_table(
        TableName="endpoint-guard-state",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    env = {
        "ENDPOINT_GUARD_QUEUE_URL": work,
        "ENDPOINT_GUARD_STATE_TABLE": "endpoint-guard-state",
        "ENDPOINT_GUARD_DEAD_LETTER_QUEUE_URL": dead,
        "ENDPOINT_GUARD_MAX_ATTEMPTS": "2",
        # Real time here: pace fast enough never to wait (the burst simulation paces in simulated time).
        "ENDPOINT_GUARD_ENDPOINT_CALLS_PER_SECOND": "1000",
        "ENDPOINT_GUARD_ENDPOINT_CALL_BURST": "1000",
    }
    return SimpleNamespace(work=work, dead=dead, env=env)


# --- the event Lambda builds from a received batch ---------------------------------------------------


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    """The Lambda SQS event for messages from ReceiveMessage (asked with every system attribute)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),  # SQS's own checksum
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def context(
    function: str, account: str = "123456789012", region: str = "us-east-1", *, remaining_ms: int = 60_000
) -> Any:
    """The one fake Lambda context: what Powertools and the worker's time budget read."""
    return SimpleNamespace(
        function_name=function,
        memory_limit_in_mb=256,
        invoked_function_arn=f"arn:aws:lambda:{region}:{account}:function:{function}",
        aws_request_id=f"{function}-{os.getpid()}-{time.monotonic_ns()}",
        get_remaining_time_in_millis=lambda: remaining_ms,
    )


# --- one poll, in-process ----------------------------------------------------------------------------


def receive(sqs: Any, queue_url: str) -> list[dict]:
    return sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], VisibilityTimeout=30
    ).get("Messages", [])


def run_worker(
    sqs: Any, queue_url: str, ensure_endpoints: Callable[[Any, Any], Any], *, remaining_ms: int = 60_000
) -> tuple[dict, list[dict]]:
    """One event source mapping poll: receive a batch, invoke, delete what succeeded."""
    messages = receive(sqs, queue_url)
    response = ensure_endpoints(
        sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:work.fifo", "us-east-1"),
        context("endpoint-guard-ensure-endpoints", remaining_ms=remaining_ms),
    )
    settle(sqs, queue_url, messages, {f["itemIdentifier"] for f in response["batchItemFailures"]})
    return response, messages


# --- inside an execution environment (a pool process) --------------------------------------------------

_SPANS: list[tuple[str, float, float]] = []


def _start_environment(env: dict[str, str], hold_seconds: float) -> None:
    """Runs once per process: the function's environment, and a probe around each reconcile that
    records when it ran. ``hold_seconds`` stretches every reconcile so any overlap is visible."""
    os.environ.update(env)
    from endpoint_guard.lambdas.intake import make_intake
    from endpoint_guard.lambdas.observability import logger
    from endpoint_guard.lambdas.worker import make_worker
    from endpoint_guard.reconcile import run

    real = run.reconcile

    def probed(vpc_id: str, **kwargs: Any) -> Any:
        start = time.time()
        time.sleep(hold_seconds)
        try:
            return real(vpc_id, **kwargs)
        finally:
            _SPANS.append((vpc_id, start, time.time()))

    run.reconcile = probed  # type: ignore[assignment]  (reconcile_observed calls it through the module)
    logger.setLevel("CRITICAL")
    # One handler of each function per execution environment, as Lambda keeps them between invocations.
    _HANDLERS.update(intake=make_intake(), ensure_endpoints=make_worker())


_HANDLERS: dict[str, Callable[[Any, Any], Any]] = {}


def invoke(function: str, event: Any) -> dict:
    """Invoke a handler here. Returns its response or the error's type, and the reconciles it ran."""
    from endpoint_guard.lambdas.observability import metrics

    _SPANS.clear()
    try:
        response: Any = _HANDLERS[function](event, context(function))
        error = None
    except Exception as err:  # noqa: BLE001 (the emulated Lambda reports any failure, as the real one does)
        response, error = None, type(err).__name__
    metrics.clear_metrics()
    return {"response": response, "error": error, "spans": list(_SPANS), "pid": os.getpid()}


def _nap(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


# --- outside: the pool and the poller --------------------------------------------------------------------


def environments(env: dict[str, str], processes: int, hold_seconds: float = 0.0) -> ProcessPoolExecutor:
    """``processes`` warm execution environments."""
    pool = ProcessPoolExecutor(
        max_workers=processes,
        mp_context=get_context("spawn"),
        initializer=_start_environment,
        initargs=(env, hold_seconds),
    )
    pids = set(pool.map(_nap, [0.5] * processes))  # all of them up before anything is timed
    assert len(pids) == processes, pids
    return pool


def drain_fifo(
    sqs: Any,
    queue_url: str,
    pool: ProcessPoolExecutor,
    *,
    region: str = "us-east-1",
    deadline_seconds: float = 120,
    on_result: Callable[[dict, list[dict]], None] = lambda result, messages: None,
) -> int:
    """The SQS event source mapping for a FIFO queue, until the queue is empty: receive up to 10
    messages, invoke ensure_endpoints with them in a free environment, delete the ones that did not
    fail, and make the batch item failures visible again at once. Returns the number of invocations."""
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    running: dict[Future, list[dict]] = {}
    invocations = 0
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        received = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], VisibilityTimeout=120
        ).get("Messages", [])
        if received:
            running[pool.submit(invoke, "ensure_endpoints", sqs_event(received, queue_arn, region))] = received
            invocations += 1
        done, _ = wait(list(running), timeout=0 if received else 0.2, return_when=FIRST_COMPLETED)
        for future in done:
            messages, result = running.pop(future), future.result()
            on_result(result, messages)
            failed = (
                {f["itemIdentifier"] for f in result["response"]["batchItemFailures"]}
                if result["response"]
                else {m["MessageId"] for m in messages}
            )
            settle(sqs, queue_url, messages, failed)
        if not received and not running and _empty(sqs, queue_url):
            return invocations
    raise TimeoutError(f"{queue_url} not drained in {deadline_seconds} s")


def settle(sqs: Any, queue_url: str, messages: list[dict], failed: set[str]) -> None:
    """What the event source mapping does after an invocation: delete the messages that succeeded; the
    batch item failures come back (at once here, after the visibility timeout in AWS)."""
    for message in messages:
        if message["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _empty(sqs: Any, queue_url: str) -> bool:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return all(int(attributes.get(n, 0)) == 0 for n in names)

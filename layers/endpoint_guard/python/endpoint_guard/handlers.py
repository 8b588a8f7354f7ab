"""Lambda entry points. ``functions/*/app.py`` re-export these; the CLI calls ``intake`` too, so a hand-run
event takes the deployed code path.

    EventBridge rule -> intake (async; retries, then the DLQ) -> SQS FIFO queue, one message per VPC,
    grouped by VPC id -> ensure_endpoints (batches; partial failures retried, then the DLQ with the reason)

Without a queue configured (the CLI, the demo) the intake reconciles in-process instead of queueing.
"""

from __future__ import annotations

import functools
import json
import os
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from endpoint_guard import aws
from endpoint_guard.aws import Ec2Adapter, QueueAdapter, StateTable, StepFunctionsAdapter
from endpoint_guard.errors import EndpointGuardError, InvalidEventError, ReconcileFailedError
from endpoint_guard.events import Skip, Trigger, parse_event
from endpoint_guard.model import CheckedGroup
from endpoint_guard.pipeline import Mark, WorkItem, checked_group, covered
from endpoint_guard.resolve import Adapters, resolve
from endpoint_guard.settings import Settings, Wiring

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

SERVICE = "endpoint-guard"
NAMESPACE = "EndpointGuard"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
reasons = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)  # its own dimension set: Reason


def traced(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """The Powertools Tracer around a handler, built on the first invocation and only when tracing is
    on (template parameter Tracing=Active). Its aws_xray_sdk import is most of a cold start (see
    BENCHMARKS.md), so a stack that does not trace does not pay for it."""
    built: list[Callable[[Any, Any], Any]] = []

    @functools.wraps(handler)
    def invoke(event: Any, context: Any) -> Any:
        if not built:
            if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in ("1", "true", "yes", "on"):
                built.append(handler)
            else:
                from aws_lambda_powertools import Tracer

                built.append(Tracer(service=SERVICE).capture_lambda_handler(handler, capture_response=False))
        return built[0](event, context)

    return invoke


def _count(name: str, value: int = 1) -> None:
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def _skipped(kind: str, reason: str, **where: Any) -> dict:
    _count("EventsSkipped")
    if kind == Skip.CLUSTER_UNRESOLVED:
        _count("ClustersUnresolved")
    reasons.add_dimension(name="Reason", value=kind)
    reasons.add_metric(name="EventsSkippedByReason", unit=MetricUnit.Count, value=1)
    reasons.flush_metrics()
    logger.info("skipped", extra={"skip_kind": kind, "reason": reason, **where})
    return {**where, "kind": kind, "reason": reason}


def _failed(message: str, err: EndpointGuardError) -> None:
    _count("Failures")
    logger.error(message, extra={"error_kind": err.kind, "error": str(err), "retryable": err.retryable})


# --- intake: event -> VPCs -> queue ------------------------------------------------------------------


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False, clear_state=True)
@traced
def intake(event: Any, context: Any) -> dict:
    """Turn an event into one work item per VPC and queue them (or, with no queue configured, reconcile
    them here). Raises on invalid input, unusable settings and failed AWS calls, so Lambda retries and
    then dead-letters the event with the error; a duplicate delivery of an event does no second work."""
    _count("EventsReceived")
    try:
        wiring, settings = Wiring.from_env(), Settings.from_env()
        triggers = parse_event(event)
    except EndpointGuardError as err:
        _failed("rejected input", err)
        raise

    def accept(event: Any) -> dict:
        return _accept(triggers, wiring, settings, _own_account(context))

    if wiring.state_table and any(trigger.event_id for trigger in triggers) and isinstance(event, dict):
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

        try:
            return _idempotent(accept, wiring, context)(event=event)
        except IdempotencyAlreadyInProgressError:
            # The same event is being handled by another invocation right now: fail this one, so
            # Lambda retries it later and then gets that invocation's answer.
            logger.warning("duplicate still in progress; retrying later", extra={"skip_kind": Skip.DUPLICATE})
            raise
    return accept(event=event)


def _idempotent(function: Callable[..., dict], wiring: Wiring, context: Any) -> Callable[..., dict]:
    """Powertools Idempotency on the CloudTrail event id: EventBridge delivers at least once, and a
    second delivery gets the first one's answer. Inputs without an event id (hand-made requests) are
    never deduplicated. Built per call: the DynamoDB client is created on first use, not at import."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    def duplicate(response: Any, record: Any) -> Any:
        _skipped(Skip.DUPLICATE, "this event was already accepted", idempotency_key=record.idempotency_key)
        return response

    config = IdempotencyConfig(
        event_key_jmespath="detail.eventID || eventID",
        expires_after_seconds=wiring.idempotency_seconds,
        response_hook=duplicate,
    )
    config.register_lambda_context(context)
    store = DynamoDBPersistenceLayer(
        table_name=wiring.state_table, key_attr="id", expiry_attr="expiration", boto3_client=aws.client("dynamodb")
    )
    return idempotent_function(data_keyword_argument="event", persistence_store=store, config=config)(function)


def _accept(triggers: list[Trigger], wiring: Wiring, settings: Settings, own_account: str | None) -> dict:
    adapters = Adapters()
    items: list[WorkItem] = []
    skipped: list[dict] = []
    for trigger in triggers:
        logger.set_correlation_id(trigger.event_id)
        try:
            found = resolve(trigger, adapters, own_account)
        except EndpointGuardError as err:
            _failed("could not resolve the event's VPC", err)
            raise
        if found.skip_kind:
            skipped.append(
                _skipped(found.skip_kind, found.skip_reason, event_id=trigger.event_id, event_name=trigger.event_name)
            )
            continue
        items += [WorkItem(vpc_id, trigger.event_id, trigger.event_name) for vpc_id in found.vpc_ids]
    if wiring.queue_url:
        return {"queued": _queue(items, wiring), "skipped": skipped}
    return {"results": _reconcile_now(items, adapters.ec2, settings), "skipped": skipped}


def _queue(items: list[WorkItem], wiring: Wiring) -> list[dict]:
    queue = QueueAdapter(wiring.queue_url)
    nonce = uuid.uuid4().hex
    try:
        queue.send_fifo((item.to_message(), item.group_id, item.deduplication_id(nonce)) for item in items)
    except EndpointGuardError as err:
        _failed("could not queue the work", err)
        raise
    _count("VpcsQueued", len(items))
    for item in items:
        logger.info("queued", extra={"vpc_id": item.vpc_id, "event_name": item.event_name})
    return [{"vpc_id": i.vpc_id, "event_id": i.event_id, "event_name": i.event_name} for i in items]


def _reconcile_now(items: list[WorkItem], ec2: Ec2Adapter, settings: Settings) -> list[dict]:
    results, problems = [], []
    try:
        for vpc_id in dict.fromkeys(item.vpc_id for item in items):
            result, failed = _reconcile_vpc(vpc_id, ec2, settings)
            problems += [f"{vpc_id} {line}" for line in failed]
            results.append(result)
        if problems:
            raise ReconcileFailedError(",".join(r["vpc_id"] for r in results), problems)
    except EndpointGuardError as err:
        _failed("reconcile failed", err)
        raise
    return results


def _reconcile_vpc(
    vpc_id: str, ec2: Ec2Adapter, settings: Settings, checked: CheckedGroup | None = None
) -> tuple[dict, list[str]]:
    """Reconcile one VPC and count what happened: (the result document, its failed actions)."""
    # The decisions are imported on first use: the intake only needs them when it runs without a queue.
    from endpoint_guard.reconcile import failures, reconcile

    logger.append_keys(vpc_id=vpc_id)
    result = reconcile(vpc_id, adapter=ec2, settings=settings, checked_group=checked)
    statuses = [e["status"] for e in result["endpoints"]]
    _count("VpcsReconciled")
    _count("EndpointsCreated", statuses.count("created"))
    _count("EndpointsUpdated", statuses.count("updated"))
    _count("EndpointsDeferred", statuses.count("deferred"))
    _count("VpcsNotCompliant", 0 if result["compliant"] else 1)
    logger.info(
        "reconciled",
        extra={
            "compliant": result["compliant"],
            "endpoints": {e["service"]: e["status"] for e in result["endpoints"]},
            "dry_run": result["dry_run"],
        },
    )
    return result, failures(result)


def _own_account(context: Any) -> str | None:
    parts = str(getattr(context, "invoked_function_arn", "")).split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() and len(parts[4]) == 12 else None


# --- ensure_endpoints: the queue's consumer ----------------------------------------------------------


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False, clear_state=True)
@traced
def ensure_endpoints(event: dict, context: Any) -> dict:
    """Reconcile the VPCs of a batch from the FIFO queue. A failed message is reported as a batch item
    failure (with the rest of its VPC's messages behind it), so SQS redelivers it; on its last attempt,
    or when retrying cannot help, it goes to the DLQ with the reason instead."""
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        err = InvalidEventError("expected an SQS batch from the work queue (a hand-run goes through the intake)")
        _failed("rejected input", err)
        raise err
    # Imported here, not at the top: the intake shares this module and never needs Batch (~25 ms of
    # a cold start, see BENCHMARKS.md).
    from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response

    wiring, settings = Wiring.from_env(), Settings.from_env()
    worker = _Worker(wiring, settings)
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # A batch whose every message failed is answered like any other: with its item failures. Raising
    # instead would return the same messages to the queue, with a Lambda error on top.
    processor.raise_on_entire_batch_failure = False
    return process_partial_response(event=event, record_handler=worker.handle, processor=processor, context=context)


class _Worker:
    def __init__(self, wiring: Wiring, settings: Settings) -> None:
        self.wiring, self.settings = wiring, settings
        self.ec2 = Ec2Adapter()
        self.state = StateTable(wiring.state_table) if wiring.state_table else None
        self.marks: dict[str, Mark] = {}  # per VPC, its mark as this batch knows it

    def _mark(self, vpc_id: str) -> Mark:
        """The VPC's mark: read once per batch, then kept up to date here (a burst comes in one batch)."""
        if vpc_id not in self.marks:
            self.marks[vpc_id] = self.state.mark(vpc_id) if self.state else Mark()
        return self.marks[vpc_id]

    def handle(self, record: SQSRecord) -> dict:
        logger.remove_keys(["vpc_id"])
        try:
            item = WorkItem.from_message(record.body)
        except EndpointGuardError as err:
            _failed("unreadable queue message", err)
            return self._dead_letter(record, None, err)
        logger.set_correlation_id(item.event_id)
        logger.append_keys(vpc_id=item.vpc_id)
        sent_ms = int(record.attributes.sent_timestamp)
        try:
            mark = self._mark(item.vpc_id)
            if covered(sent_ms, mark.reconciled_from):
                return _skipped(
                    Skip.COVERED, "a later reconcile of this VPC already covered this event", vpc_id=item.vpc_id
                )
            started_ms = int(time.time() * 1000)
            trusted = mark.group_to_trust(started_ms // 1000, self.wiring.group_recheck_seconds)
            result, problems = _reconcile_vpc(item.vpc_id, self.ec2, self.settings, trusted)
            if problems:
                raise ReconcileFailedError(item.vpc_id, problems)
            if result["deferred_route_tables"] and self.wiring.migration_state_machine_arn and not result["dry_run"]:
                result["migration_execution_arn"] = self._plan_migration(result)
            if self.state and not self.settings.dry_run:
                group = checked_group(result, started_ms // 1000)
                self.state.mark_reconciled(
                    item.vpc_id, started_ms, started_ms // 1000 + self.wiring.watermark_seconds, group
                )
                self.marks[item.vpc_id] = Mark(started_ms, group or mark.group)
        except EndpointGuardError as err:
            _failed("reconcile failed", err)
            attempt = int(record.attributes.approximate_receive_count)
            if err.retryable and attempt < self.wiring.max_attempts:
                raise  # a batch item failure: SQS redelivers it after the visibility timeout
            return self._dead_letter(record, item, err)
        return {
            "vpc_id": item.vpc_id,
            "compliant": result["compliant"],
            "migration_execution_arn": result["migration_execution_arn"],
        }

    def _plan_migration(self, result: dict) -> str:
        """The S3 gateway was deferred because workloads would be disrupted: start the workflow that plans
        the move to a new VPC, once per VPC and deferred state (the execution name says which)."""
        from endpoint_guard.migration import execution_name  # the planner is rarely needed here

        name = execution_name(result["vpc_id"], result["deferred_route_tables"])
        arn, started = StepFunctionsAdapter().start_once(
            self.wiring.migration_state_machine_arn,
            name,
            {
                "vpc_id": result["vpc_id"],
                "region": result["region"],
                "deferred_route_tables": result["deferred_route_tables"],
            },
        )
        _count("MigrationPlansStarted", 1 if started else 0)
        logger.info("migration plan", extra={"execution_arn": arn, "started": started})
        return arn

    def _dead_letter(self, record: SQSRecord, item: WorkItem | None, err: EndpointGuardError) -> dict:
        """Park the message in the DLQ with why, and let it leave the work queue (so the VPC's later
        messages are not blocked behind it). Without a DLQ configured, it stays a failure."""
        if not self.wiring.dead_letter_queue_url:
            raise err
        reason = {
            "error_kind": err.kind,
            "error": str(err),
            "retryable": err.retryable,
            "attempts": int(record.attributes.approximate_receive_count),
            "vpc_id": item.vpc_id if item else None,
            "event_id": item.event_id if item else None,
            "event_name": item.event_name if item else None,
            "message_id": record.message_id,
            "message": record.body,
        }
        QueueAdapter(self.wiring.dead_letter_queue_url).send(
            json.dumps(reason), {"ErrorKind": err.kind, "ErrorMessage": str(err)}
        )
        _count("DeadLettered")
        logger.error("dead-lettered", extra={"error_kind": err.kind, "error": str(err)})
        return reason

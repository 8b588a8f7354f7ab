"""The reconcile worker (EnsureEndpoints function): a batch from the FIFO queue, one VPC per message.
Thin: Powertools Batch (FIFO partial processor) around the worker use case."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from endpoint_guard.aws.base import Clients
from endpoint_guard.errors import InvalidEventError
from endpoint_guard.lambdas.observability import Handler, LambdaObserver, logger, metrics, traced
from endpoint_guard.lambdas.runtime import Container
from endpoint_guard.settings import Settings, Wiring

if TYPE_CHECKING:  # pragma: no cover
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from endpoint_guard.worker.usecase import Worker


def make_worker(clients: Clients | None = None) -> Handler:
    container = Container(clients)

    @metrics.log_metrics
    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    def ensure_endpoints(event: Any, context: Any) -> dict[str, Any]:
        """Reconcile the VPCs of a batch. A failed message is reported as a batch item failure (with the
        rest of its VPC's messages behind it), so SQS redelivers it; on its last attempt, or when
        retrying cannot help, it goes to the DLQ with the reason instead."""
        observer = LambdaObserver()
        if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
            err = InvalidEventError("expected an SQS batch from the work queue (a hand-run goes through the intake)")
            observer.failed("rejected input", err)
            raise err
        # Imported here: the intake shares the layer and never needs Batch (~25 ms of a cold start).
        from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response

        worker = build_worker(container.clients, Wiring.from_env(), Settings.from_env(), observer)
        processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        # A batch whose every message failed is answered like any other: with its item failures.
        # Raising instead would return the same messages to the queue, with a Lambda error on top.
        processor.raise_on_entire_batch_failure = False
        handle = functools.partial(_handle, worker)
        return dict(process_partial_response(event=event, record_handler=handle, processor=processor, context=context))

    return ensure_endpoints


def _handle(worker: Worker, record: SQSRecord) -> dict[str, Any]:
    from endpoint_guard.worker.usecase import Delivery

    delivery = Delivery(
        body=record.body,
        message_id=record.message_id,
        sent_ms=int(record.attributes.sent_timestamp),
        receive_count=int(record.attributes.approximate_receive_count),
    )
    return worker.handle(delivery)


def build_worker(clients: Clients, wiring: Wiring, settings: Settings, observer: LambdaObserver) -> Worker:
    """The worker use case with the deployed collaborators."""
    from endpoint_guard.aws import Ec2Adapter, QueueAdapter, StateTable, StepFunctionsAdapter
    from endpoint_guard.reconcile.run import reconcile_observed
    from endpoint_guard.worker.usecase import Worker, WorkerRules

    ec2 = Ec2Adapter(clients)
    start = None
    if wiring.migration_state_machine_arn:
        start = functools.partial(StepFunctionsAdapter(clients).start_once, wiring.migration_state_machine_arn)
    return Worker(
        reconcile=lambda vpc_id, trusted: reconcile_observed(
            vpc_id, ec2=ec2, settings=settings, observer=observer, checked_group=trusted
        ),
        observer=observer,
        rules=WorkerRules(
            max_attempts=wiring.max_attempts,
            group_recheck_seconds=wiring.group_recheck_seconds,
            watermark_seconds=wiring.watermark_seconds,
            dry_run=settings.dry_run,
        ),
        marks=StateTable(wiring.state_table, clients) if wiring.state_table else None,
        dead_letters=QueueAdapter(wiring.dead_letter_queue_url, clients) if wiring.dead_letter_queue_url else None,
        start_migration=start,
    )

"""The worker's use case: one queue message, one VPC. Its rules, with every collaborator a parameter:

- **covered**: a message sent before the VPC's last successful reconcile started has nothing to do;
- **trust**: an earlier read of the managed group stands while it is young enough (``Mark.group_to_trust``);
- **retry or dead-letter**: a failure is retried (raised, so SQS redelivers it) while a retry can help and
  attempts remain; otherwise it goes to the dead-letter queue with the reason and leaves the work queue;
- **migration start**: a deferred S3 gateway starts the workflow that plans the move, once per state.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from endpoint_guard.errors import EndpointGuardError, ReconcileFailedError
from endpoint_guard.model import CheckedGroup, Mark
from endpoint_guard.observe import Observer, Skip
from endpoint_guard.worker.messages import WorkItem, checked_group, covered

if TYPE_CHECKING:  # pragma: no cover  (the reconcile is not imported on the intake's path)
    from endpoint_guard.reconcile.result import ResultDocument

    # Reconcile a VPC (trusting this read of its managed group, if any): (result document, failed actions).
    Reconciler = Callable[[str, CheckedGroup | None], tuple[ResultDocument, list[str]]]
    # Start the migration-plan execution ``name`` with this input: (its ARN, whether this call started it).
    MigrationStarter = Callable[[str, dict[str, Any]], tuple[str, bool]]


class MarkStore(Protocol):
    def mark(self, vpc_id: str) -> Mark: ...
    def mark_reconciled(
        self, vpc_id: str, started_ms: int, expires_at: int, group: CheckedGroup | None = None
    ) -> None: ...


class DeadLetters(Protocol):
    def send(self, body: str, attributes: dict[str, str]) -> None: ...


@dataclass(frozen=True)
class Delivery:
    """One delivery of a queue message, as the worker needs it."""

    body: str
    message_id: str
    sent_ms: int
    receive_count: int


@dataclass(frozen=True)
class WorkerRules:
    max_attempts: int = 3
    group_recheck_seconds: int = 21600
    watermark_seconds: int = 86400
    dry_run: bool = False


class Worker:
    """Handles the messages of one batch; keeps each VPC's mark for the batch (a burst comes in one)."""

    def __init__(
        self,
        *,
        reconcile: Reconciler,
        observer: Observer,
        rules: WorkerRules,
        marks: MarkStore | None = None,
        dead_letters: DeadLetters | None = None,
        start_migration: MigrationStarter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.reconcile, self.observer, self.rules = reconcile, observer, rules
        self.marks, self.dead_letters, self.start_migration, self.clock = marks, dead_letters, start_migration, clock
        self._known: dict[str, Mark] = {}

    def _mark(self, vpc_id: str) -> Mark:
        if vpc_id not in self._known:
            self._known[vpc_id] = self.marks.mark(vpc_id) if self.marks else Mark()
        return self._known[vpc_id]

    def handle(self, delivery: Delivery) -> dict[str, Any]:
        """The message's outcome; raises to have SQS deliver it again."""
        self.observer.about(vpc_id=None)
        try:
            item = WorkItem.from_message(delivery.body)
        except EndpointGuardError as err:
            self.observer.failed("unreadable queue message", err)
            return self._dead_letter(delivery, None, err)
        self.observer.about(event_id=item.event_id, vpc_id=item.vpc_id)
        try:
            return self._reconcile(item, delivery)
        except EndpointGuardError as err:
            self.observer.failed("reconcile failed", err)
            if err.retryable and delivery.receive_count < self.rules.max_attempts:
                raise  # a batch item failure: SQS redelivers it after the visibility timeout
            return self._dead_letter(delivery, item, err)

    def _reconcile(self, item: WorkItem, delivery: Delivery) -> dict[str, Any]:
        mark = self._mark(item.vpc_id)
        if covered(delivery.sent_ms, mark.reconciled_from):
            return self.observer.skipped(
                Skip.COVERED, "a later reconcile of this VPC already covered this event", vpc_id=item.vpc_id
            )
        started_ms = int(self.clock() * 1000)
        trusted = mark.group_to_trust(started_ms // 1000, self.rules.group_recheck_seconds)
        result, problems = self.reconcile(item.vpc_id, trusted)
        if problems:
            raise ReconcileFailedError(item.vpc_id, problems)
        if result["deferred_route_tables"] and self.start_migration and not result["dry_run"]:
            result["migration_execution_arn"] = self._plan_migration(result)
        if self.marks and not self.rules.dry_run:
            group = checked_group(result, started_ms // 1000)
            expires = started_ms // 1000 + self.rules.watermark_seconds
            self.marks.mark_reconciled(item.vpc_id, started_ms, expires, group)
            self._known[item.vpc_id] = Mark(started_ms, group or mark.group)
        return {
            "vpc_id": item.vpc_id,
            "compliant": result["compliant"],
            "migration_execution_arn": result["migration_execution_arn"],
        }

    def _plan_migration(self, result: ResultDocument) -> str:
        """The S3 gateway was deferred because workloads would be disrupted: start the workflow that plans
        the move to a new VPC, once per VPC and deferred state (the execution name says which)."""
        from endpoint_guard.migration.document import execution_name  # the planner is rarely needed here

        assert self.start_migration is not None
        name = execution_name(result["vpc_id"], [dict(t) for t in result["deferred_route_tables"]])
        arn, started = self.start_migration(
            name,
            {
                "vpc_id": result["vpc_id"],
                "region": result["region"],
                "deferred_route_tables": result["deferred_route_tables"],
            },
        )
        self.observer.count("MigrationPlansStarted", 1 if started else 0)
        self.observer.info("migration plan", execution_arn=arn, started=started)
        return arn

    def _dead_letter(self, delivery: Delivery, item: WorkItem | None, err: EndpointGuardError) -> dict[str, Any]:
        """Park the message in the DLQ with why, and let it leave the work queue (so the VPC's later
        messages are not blocked behind it). Without a DLQ configured, it stays a failure."""
        if self.dead_letters is None:
            raise err
        reason = dead_letter_record(delivery, item, err)
        self.dead_letters.send(json.dumps(reason), {"ErrorKind": err.kind, "ErrorMessage": str(err)})
        self.observer.count("DeadLettered")
        self.observer.info("dead-lettered", error_kind=err.kind, error=str(err))
        return reason


def dead_letter_record(delivery: Delivery, item: WorkItem | None, err: EndpointGuardError) -> dict[str, Any]:
    """What the DLQ keeps of a message that will not be retried."""
    return {
        "error_kind": err.kind,
        "error": str(err),
        "retryable": err.retryable,
        "attempts": delivery.receive_count,
        "vpc_id": item.vpc_id if item else None,
        "event_id": item.event_id if item else None,
        "event_name": item.event_name if item else None,
        "message_id": delivery.message_id,
        "message": delivery.body,
    }

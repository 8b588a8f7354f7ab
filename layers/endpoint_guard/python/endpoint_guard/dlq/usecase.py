"""Read and replay the dead-letter queue: what the operator's ``endpoint-guard dlq`` runs."""

from __future__ import annotations

from typing import Any, Protocol

from endpoint_guard.dlq.records import Record, parse_record, selected


class DeadLetterQueue(Protocol):
    def receive_all(self, limit: int) -> list[dict[str, Any]]: ...
    def delete(self, receipt: str) -> None: ...


class Requeue(Protocol):
    def __call__(self, record: Record) -> None:
        """Send the record's work (or event) through again."""


def list_records(queue: DeadLetterQueue, limit: int = 1000) -> list[Record]:
    """Every record in the queue (up to ``limit``), oldest first. Reading leaves them in the queue."""
    return sorted((parse_record(m) for m in queue.receive_all(limit)), key=lambda r: (r.sent_ms, r.message_id))


def replay(
    queue: DeadLetterQueue,
    requeue: Requeue,
    *,
    kind: str | None = None,
    vpc_id: str | None = None,
    dry_run: bool = False,
    limit: int = 1000,
) -> tuple[list[Record], list[Record]]:
    """Send again what can be retried (and matches the filters), then remove it from the queue; leave
    the rest. Returns (replayed, left)."""
    replayed, left = [], []
    for record in list_records(queue, limit):
        if not (record.replayable and selected(record, kind, vpc_id)):
            left.append(record)
            continue
        if not dry_run:
            requeue(record)
            queue.delete(record.receipt)
        replayed.append(record)
    return replayed, left

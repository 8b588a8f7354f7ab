"""``endpoint-guard dlq list`` and ``endpoint-guard dlq replay``: the dead-letter queue for operators."""

from __future__ import annotations

import argparse
import datetime
import json
import uuid
from typing import Any

from endpoint_guard.errors import ConfigurationError


def add_commands(sub: Any, common: Any) -> None:
    dlq = sub.add_parser("dlq", help="read and replay the dead-letter queue")
    commands = dlq.add_subparsers(dest="dlq_command", required=True, parser_class=type(dlq))
    listing = commands.add_parser("list", help="each record: when, kind, error, retryable, VPC, event id")
    replaying = commands.add_parser(
        "replay", help="re-queue what can be retried (and matches), remove it from the DLQ, leave the rest"
    )
    replaying.add_argument("--kind", help="only records of this error kind (see dlq list)")
    replaying.add_argument("--vpc", help="only records of this VPC")
    replaying.add_argument("--dry-run", action="store_true", help="say what would be replayed, change nothing")
    for command in (listing, replaying):
        command.add_argument("--stack", help="the deployed stack: its DeadLetterQueue and WorkQueue")
        command.add_argument("--dlq-url", help="the dead-letter queue's URL (instead of --stack)")
        command.add_argument("--work-queue-url", help="the work queue's URL, for replay (instead of --stack)")
        common(command)


def run(args: argparse.Namespace, clients: Any, settings: Any, observer: Any) -> int:
    from endpoint_guard.aws import QueueAdapter
    from endpoint_guard.dlq import list_records, replay

    dlq_url, work_url = _queues(args, clients)
    dead = QueueAdapter(dlq_url, clients)
    if args.dlq_command == "list":
        records = list_records(dead)
        print(json.dumps([r.as_dict() for r in records], indent=2) if args.json else _table(records))
        return 0
    if not work_url and not args.dry_run:
        raise ConfigurationError("replay needs the work queue: --stack or --work-queue-url")
    requeue = _requeue(QueueAdapter(work_url, clients) if work_url else None, clients, settings, observer)
    replayed, left = replay(dead, requeue, kind=args.kind, vpc_id=args.vpc, dry_run=args.dry_run)
    if args.json:
        print(json.dumps({"replayed": [r.as_dict() for r in replayed], "left": [r.as_dict() for r in left]}, indent=2))
    else:
        verb = "would replay" if args.dry_run else "replayed"
        print(f"{verb} {len(replayed)} record(s); {len(left)} left in the dead-letter queue")
        for record in replayed:
            print(f"  {record.source} {record.kind} {record.vpc_id or record.event_id or record.message_id}")
    return 0


def _queues(args: argparse.Namespace, clients: Any) -> tuple[str, str | None]:
    def from_stack(logical: str) -> str | None:
        """A queue's URL: a queue's physical id is its URL."""
        if not args.stack:
            return None
        found = clients.client("cloudformation").describe_stack_resource(
            StackName=args.stack, LogicalResourceId=logical
        )
        return str(found["StackResourceDetail"]["PhysicalResourceId"])

    dlq_url = args.dlq_url or from_stack("DeadLetterQueue")
    work_url = args.work_queue_url or from_stack("WorkQueue")
    if not dlq_url:
        raise ConfigurationError("which dead-letter queue? --stack or --dlq-url")
    return dlq_url, work_url


def _requeue(work: Any, clients: Any, settings: Any, observer: Any) -> Any:
    """A worker record goes back on the work queue as it was; an intake or EventBridge record goes
    through the intake again, which queues its VPCs; a scheduled sweep's record starts the sweep."""

    def requeue(record: Any) -> None:
        if record.state_machine is not None:  # a scheduled sweep that never started: start it now
            clients.client("stepfunctions").start_execution(
                stateMachineArn=record.state_machine, input=json.dumps(record.event)
            )
            return
        if record.work_message is not None:
            dedup = uuid.uuid4().hex
            work.send_fifo([(record.work_message, record.vpc_id, dedup)])
            return
        from endpoint_guard.aws import Services
        from endpoint_guard.intake import handle, parse_event

        handle(
            parse_event(record.event),
            aws=Services(clients),
            own_account=None,
            observer=observer,
            settings=settings,
            queue=work,
        )

    return requeue


def _table(records: list[Any]) -> str:
    if not records:
        return "the dead-letter queue is empty"
    rows = [("when (UTC)", "source", "kind", "retryable", "VPC", "event id", "error")]
    for r in records:
        when = datetime.datetime.fromtimestamp(r.sent_ms / 1000, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
        rows.append(
            (when, r.source, r.kind, "yes" if r.retryable else "no", r.vpc_id or "-", r.event_id or "-", r.error[:80])
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)

"""The worker's use case: one queue message, one VPC. Its rules, with every collaborator a parameter:

- **covered**: a message sent before the VPC's last successful reconcile started has nothing to do;
- **trust**: an earlier read of the managed group stands while it is young enough (``Mark.group_to_trust``);
- **budget**: a VPC is not started when the invocation could not finish it (``vpc_seconds``, or as long
  as the slowest VPC of the batch so far took), and a VPC whose next endpoint call would wait past the
  deadline stops there; both go back to the queue unattempted (``handed_back``);
- **retry or dead-letter**: a failure is retried (raised, so SQS redelivers it) while a retry can help and
  attempts remain; otherwise it goes to the dead-letter queue with the reason and leaves the work queue.
  Attempts are the VPC's failed reconciles (kept with its mark), not deliveries;
- **bookkeeping**: a failure to record a success never turns the success into a failure;
- **migration start**: a deferred S3 gateway starts the workflow that plans the move, once per state;
- **DNS drift**: a message about DNS attributes turned off reads them, and turns them back on only if
  endpoint-guard never did before for the VPC (then it reports who fights it);
- **release**: a message about a delete that endpoint-guard's resources blocked releases them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from endpoint_guard.errors import EndpointGuardError, OutOfTimeError
from endpoint_guard.model import CheckedGroup, DnsDrift, Mark
from endpoint_guard.observe import Observer, Skip
from endpoint_guard.worker.messages import WorkItem, checked_group, covered
from endpoint_guard.worker.pacing import Budget, Pacer

if TYPE_CHECKING:  # pragma: no cover  (the reconcile is not imported on the intake's path)
    from endpoint_guard.reconcile.result import ResultDocument

    # Reconcile a VPC (trusting this read of its managed group, if any; pacing its endpoint calls with
    # the pacer, if any; answering a DNS-off call, if any): the result document. Raises
    # ReconcileFailedError when actions failed.
    # (VPC, the group's last read, the pace, DNS drift, whether to read the workloads and judge their pulls)
    Reconciler = Callable[[str, CheckedGroup | None, Pacer | None, DnsDrift | None, bool], ResultDocument]
    # Release endpoint-guard's resources in a VPC (the subnet id, or "vpc" for all of them): the release
    # document. Raises ReconcileFailedError when actions failed.
    Releaser = Callable[[str, str, Pacer | None], dict[str, Any]]
    # Start the migration-plan execution ``name`` with this input: (its ARN, whether this call started it).
    MigrationStarter = Callable[[str, dict[str, Any]], tuple[str, bool]]


class MarkStore(Protocol):
    def mark(self, vpc_id: str) -> Mark: ...
    def mark_reconciled(
        self,
        vpc_id: str,
        started_ms: int,
        expires_at: int,
        group: CheckedGroup | None = None,
        *,
        paths: bool = False,
        deferred: bool = False,
    ) -> None: ...
    def record_deferred(self, vpc_id: str, region: str, account: str | None, tables: list[str], at: int) -> None: ...
    def forget_deferred(self, vpc_id: str) -> None: ...
    def record_failure(self, vpc_id: str, expires_at: int) -> int: ...
    def forget_failures(self, vpc_id: str) -> None: ...
    def dns_restored_at(self, vpc_id: str) -> int | None: ...
    def record_dns_restore(self, vpc_id: str, at_ms: int) -> None: ...
    def record_resources(self, vpc_id: str, resource_ids: Iterable[str], expires_at: int) -> None: ...
    def record_release(self, vpc_id: str, at_s: int, expires_at: int) -> None: ...


@dataclass(frozen=True)
class Place:
    """Where a VPC's work is done: its account-Region's reconcile and release, the state table's view of
    it, and its pace. A single-account worker has one; a hub's has one per member account-Region."""

    reconcile: Reconciler
    marks: MarkStore | None = None
    pacer: Pacer | None = None
    release: Releaser | None = None


class DeadLetters(Protocol):
    def send(self, body: str, attributes: dict[str, str]) -> None: ...


@dataclass(frozen=True)
class Delivery:
    """One delivery of a queue message, as the worker needs it."""

    body: str
    message_id: str
    sent_ms: int
    receive_count: int
    group_id: str | None = None


class HandedBackError(EndpointGuardError):
    """The message goes back to the queue unattempted: this invocation has no time left for it."""

    kind = "handed_back"
    retryable = True


@dataclass(frozen=True)
class WorkerRules:
    max_attempts: int = 3
    group_recheck_seconds: int = 21600
    watermark_seconds: int = 86400
    dry_run: bool = False
    # What a VPC needs besides waiting for endpoint-call slots (its reads and other calls): a VPC is only
    # started with at least this much of the budget left.
    vpc_seconds: float = 10.0
    # The endpoint calls a fresh VPC needs (the default profile's four endpoints).
    endpoint_calls_per_vpc: int = 4
    # After a release for its owner's delete (a teardown is under way), the VPC's other work is skipped
    # for this long: a reconcile would put back what the owner's next attempt needs gone.
    release_quiet_seconds: int = 3600


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
        budget: Budget | None = None,
        pacer: Pacer | None = None,
        release: Releaser | None = None,
        places: Callable[[str, str], Place] | None = None,
    ) -> None:
        """``reconcile``, ``marks``, ``pacer`` and ``release`` are the worker's own account-Region's;
        ``places(account, region)`` gives a hub's member account-Regions' (kept for the batch)."""
        self.observer, self.rules, self.dead_letters, self.start_migration = (
            observer,
            rules,
            dead_letters,
            start_migration,
        )
        self.clock, self.budget = clock, budget
        self.home = Place(reconcile, marks, pacer, release)
        self._places = places
        self._visited: dict[str, Place] = {}
        self._known: dict[str, Mark] = {}
        # Message groups handed back, with how long to wait before they are worth another try.
        self.handed_back: dict[str, float] = {}
        self._out_of_time: OutOfTimeError | None = None
        # The longest a VPC of this batch took: when AWS is slow, each VPC after it is only started
        # with that much left (not just ``vpc_seconds``), so a slow batch hands back before the timeout.
        self._slowest = 0.0

    def place(self, item: WorkItem) -> Place:
        """The item's account-Region. Raises ConfigurationError for a member's item without a hub."""
        if not item.scope:
            return self.home
        if self._places is None:
            from endpoint_guard.errors import ConfigurationError

            raise ConfigurationError(
                f"work for account {item.account} in {item.region}, but this worker is not a hub's (FleetMode)"
            )
        if item.scope not in self._visited:
            assert item.account and item.region
            self._visited[item.scope] = self._places(item.account, item.region)
        return self._visited[item.scope]

    def _marks_of(self, item: WorkItem | None) -> MarkStore | None:
        """The item's state-table view for its bookkeeping; None where it has no place."""
        if item is None or (item.scope and self._places is None):
            return None
        return self.place(item).marks

    def _mark(self, item: WorkItem, place: Place) -> Mark:
        if item.key not in self._known:
            self._known[item.key] = place.marks.mark(item.vpc_id) if place.marks else Mark()
        return self._known[item.key]

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
        except OutOfTimeError as err:
            self._out_of_time = err
            return self._hand_back(delivery, item, err)
        except EndpointGuardError as err:
            self.observer.failed("reconcile failed", err)
            attempt = self._attempt(item, delivery)
            if err.retryable and attempt < self.rules.max_attempts:
                raise  # a batch item failure: SQS redelivers it after the visibility timeout
            return self._dead_letter(delivery, item, err, attempt)

    def _time_for_a_vpc(self, place: Place) -> bool:
        """Whether a fresh VPC could be finished: its reads and calls, and its endpoint calls' slots as
        far as this worker last saw the pace."""
        if self.budget is None:
            return True
        if not self.budget.allows(self.clock(), max(self.rules.vpc_seconds, self._slowest)):
            return False
        return place.pacer is None or place.pacer.can_start(self.rules.endpoint_calls_per_vpc)

    def _hand_back(self, delivery: Delivery, item: WorkItem, err: OutOfTimeError) -> dict[str, Any]:
        group = delivery.group_id or item.group_id
        self.handed_back[group] = max(self.handed_back.get(group, 0.0), err.retry_after)
        self.observer.count("HandedBack")
        self.observer.info("handed back", reason=str(err))
        raise HandedBackError(str(err)) from err

    def _attempt(self, item: WorkItem, delivery: Delivery) -> int:
        """This failure's attempt number: the VPC's failed reconciles since its last success, as the
        state table counts them (hand-backs and cut-short deliveries do not count). Without a table, or
        when it cannot count, the delivery's receive count stands in."""
        marks = self._marks_of(item)
        if marks is None:
            return delivery.receive_count
        try:
            return marks.record_failure(item.vpc_id, int(self.clock()) + self.rules.watermark_seconds)
        except EndpointGuardError as err:
            self.observer.failed("could not count the failed attempt", err)
            return delivery.receive_count

    def _reconcile(self, item: WorkItem, delivery: Delivery) -> dict[str, Any]:
        place = self.place(item)
        mark = self._mark(item, place)
        # A plain reconcile does not cover an event about the workloads' paths: only one that judged them.
        since = mark.paths_from if item.about_paths else mark.reconciled_from
        if not item.special and covered(delivery.sent_ms, since):  # settled even when out of time
            return self.observer.skipped(
                Skip.COVERED, "a later reconcile of this VPC already covered this event", vpc_id=item.vpc_id
            )
        if not item.release and mark.released_at is not None:
            since = int(self.clock()) - mark.released_at
            if since < self.rules.release_quiet_seconds:
                return self.observer.skipped(
                    Skip.STANDING_ASIDE,
                    f"endpoint-guard released its resources here {since} s ago for the owner's delete; it stands "
                    f"aside for {self.rules.release_quiet_seconds} s",
                    vpc_id=item.vpc_id,
                )
        if self._out_of_time is None and not self._time_for_a_vpc(place):
            self._out_of_time = OutOfTimeError("too little of the invocation left to start a VPC", 1.0)
        if self._out_of_time is not None:
            raise self._out_of_time
        if item.release:
            return self._release(item, place)
        started_ms = int(self.clock() * 1000)
        # After a call that may have broken the group, its last read is not trusted: it is read again.
        trusted = None if item.drift else mark.group_to_trust(started_ms // 1000, self.rules.group_recheck_seconds)
        drift = None
        if item.dns_off_by:
            drift = DnsDrift(item.dns_off_by, place.marks.dns_restored_at(item.vpc_id) if place.marks else None)
        try:
            result = place.reconcile(item.vpc_id, trusted, place.pacer, drift, item.about_paths)
        finally:
            self._slowest = max(self._slowest, self.clock() - started_ms / 1000)
        if result.get("dns_restored") and place.marks and not result["dry_run"]:
            self._remember_dns_restore(place.marks, item.vpc_id, started_ms)
        changed = not result["dry_run"] and any(a["status"] == "done" for a in result.get("actions", []))
        if item.drift:
            result["drift"] = item.drift
            self.observer.count("DriftRepaired", 1 if changed else 0)
            self.observer.info("drift", drift=item.drift, repaired=changed)
        if changed and place.marks:
            self._remember_resources(place.marks, result, started_ms)
        if result["deferred_route_tables"] and self.start_migration and not result["dry_run"]:
            result["migration_execution_arn"] = self._plan_migration(result, item)
        if place.marks and not self.rules.dry_run:
            self._remember(place.marks, item, mark, result, started_ms)
        return {
            "vpc_id": item.vpc_id,
            "compliant": result["compliant"],
            "migration_execution_arn": result["migration_execution_arn"],
        }

    def _remember(self, marks: MarkStore, item: WorkItem, mark: Mark, result: ResultDocument, started_ms: int) -> None:
        """The VPC's mark after a reconcile, and what it deferred (for the maintenance window)."""
        group = checked_group(result, started_ms // 1000)
        paths_from = started_ms if item.about_paths else mark.paths_from
        deferred = [str(d["route_table_id"]) for d in result["deferred_route_tables"]]
        self._known[item.key] = Mark(started_ms, group or mark.group, paths_from=paths_from, deferred=bool(deferred))
        try:
            expires = started_ms // 1000 + self.rules.watermark_seconds
            if deferred:  # what the maintenance window takes (deferred.approval.window_targets)
                marks.record_deferred(item.vpc_id, result["region"], item.account, deferred, started_ms // 1000)
            elif mark.deferred:
                marks.forget_deferred(item.vpc_id)
            marks.mark_reconciled(
                item.vpc_id, started_ms, expires, group, paths=item.about_paths, deferred=bool(deferred)
            )
        except EndpointGuardError as err:
            # The VPC is done; only the record of it is missing (the next event reconciles it again).
            self.observer.failed("could not record the reconcile", err)
            self.observer.count("BookkeepingFailures")

    def _remember_dns_restore(self, marks: MarkStore, vpc_id: str, started_ms: int) -> None:
        try:
            marks.record_dns_restore(vpc_id, started_ms)
        except EndpointGuardError as err:  # the restore is done; without the record a second one may follow
            self.observer.failed("could not record the DNS restore", err)
            self.observer.count("BookkeepingFailures")

    # How long the ids of what endpoint-guard made are kept (they find the VPC of a deleted one).
    RESOURCE_RECORD_DAYS = 400

    def _remember_resources(self, marks: MarkStore, result: ResultDocument, started_ms: int) -> None:
        """After a reconcile that changed something: which VPC endpoint-guard's endpoints, group, and the
        subnets and route tables they use are in (a later event about one, once deleted, finds it)."""
        ids = {result["security_group_id"]} if result["security_group_id"] else set()
        for e in result["endpoints"]:
            if e["managed"] and e["endpoint_id"]:
                ids.update([e["endpoint_id"], *e.get("subnet_ids", []), *e.get("route_table_ids", [])])
        try:
            marks.record_resources(result["vpc_id"], ids, started_ms // 1000 + self.RESOURCE_RECORD_DAYS * 86400)
        except EndpointGuardError as err:  # the reconcile is done; only the lookup aid is missing
            self.observer.failed("could not record the managed resources", err)
            self.observer.count("BookkeepingFailures")

    def _release(self, item: WorkItem, place: Place) -> dict[str, Any]:
        """A delete of the owner's failed on endpoint-guard's resources: take them out of the way (the
        owner's next attempt succeeds). Not a reconcile: the VPC's mark is left as it was."""
        if place.release is None:
            return self.observer.skipped(
                Skip.NO_EFFECT, "releasing on DependencyViolation is turned off", vpc_id=item.vpc_id
            )
        assert item.release is not None
        done = place.release(item.vpc_id, item.release, place.pacer)
        if done["actions"] and place.marks is not None and not self.rules.dry_run:
            now = int(self.clock())
            try:
                place.marks.record_release(item.vpc_id, now, now + self.rules.watermark_seconds)
                self._known[item.key] = dataclasses.replace(self._mark(item, place), released_at=now)
            except EndpointGuardError as err:  # released all the same; only the quiet time is lost
                self.observer.failed("could not record the release", err)
                self.observer.count("BookkeepingFailures")
        self.observer.count("Releases", 1 if done["actions"] else 0)
        self.observer.info("released", subnet_id=done["subnet_id"], actions=[a["description"] for a in done["actions"]])
        return {"vpc_id": item.vpc_id, "released": done["released"], "actions": len(done["actions"])}

    def _plan_migration(self, result: ResultDocument, item: WorkItem) -> str:
        """The S3 gateway was deferred because workloads would be disrupted: start the workflow that plans
        the move to a new VPC, once per VPC and deferred state (the execution name says which)."""
        from endpoint_guard.migration.document import execution_name  # the planner is rarely needed here

        assert self.start_migration is not None
        name = execution_name(result["vpc_id"], [dict(t) for t in result["deferred_route_tables"]])
        document: dict[str, Any] = {
            "vpc_id": result["vpc_id"],
            "region": result["region"],
            "deferred_route_tables": result["deferred_route_tables"],
        }
        if item.account:  # a member's VPC: the workflow's tasks reach it through the member role
            document["account"] = item.account
        arn, started = self.start_migration(name, document)
        self.observer.count("MigrationPlansStarted", 1 if started else 0)
        self.observer.info("migration plan", execution_arn=arn, started=started)
        return arn

    def _dead_letter(
        self, delivery: Delivery, item: WorkItem | None, err: EndpointGuardError, attempt: int | None = None
    ) -> dict[str, Any]:
        """Park the message in the DLQ with why, and let it leave the work queue (so the VPC's later
        messages are not blocked behind it). Without a DLQ configured, it stays a failure."""
        if self.dead_letters is None:
            raise err
        reason = dead_letter_record(delivery, item, err, attempt)
        self.dead_letters.send(dead_letter_body(reason), {"ErrorKind": err.kind, "ErrorMessage": str(err)})
        marks = self._marks_of(item) if attempt is not None else None
        if item is not None and marks is not None:
            try:  # a later event for the VPC starts with a fresh count of attempts
                marks.forget_failures(item.vpc_id)
            except EndpointGuardError as failure:
                self.observer.failed("could not reset the count of failed attempts", failure)
        self.observer.count("DeadLettered")
        self.observer.info("dead-lettered", error_kind=err.kind, error=str(err))
        return reason


def dead_letter_record(
    delivery: Delivery, item: WorkItem | None, err: EndpointGuardError, attempt: int | None = None
) -> dict[str, Any]:
    """What the DLQ keeps of a message that will not be retried: the error's kind and AWS codes, whether
    a retry could have helped, the attempts, and the partial result (what was done stays done)."""
    return {
        "error_kind": err.kind,
        "error": str(err),
        "retryable": err.retryable,
        "aws_codes": list(getattr(err, "codes", ()) or ([err.code] if hasattr(err, "code") else [])),
        "attempts": attempt if attempt is not None else delivery.receive_count,
        "result": getattr(err, "result", None),
        "vpc_id": item.vpc_id if item else None,
        "event_id": item.event_id if item else None,
        "event_name": item.event_name if item else None,
        "message_id": delivery.message_id,
        "message": delivery.body,
    }


# SQS takes a message of at most 256 KiB; the record keeps well under it.
MAX_RECORD_BYTES = 200_000


def dead_letter_body(record: dict[str, Any]) -> str:
    """The record as the DLQ message: JSON in ASCII (every character SQS accepts), within the size SQS
    takes. An oversize record drops its partial result first, then keeps the head of the original
    message with its length and SHA-256 (the original stays findable in the work queue's logs)."""
    body = json.dumps(record, default=str)
    if len(body) <= MAX_RECORD_BYTES:
        return body
    trimmed = {**record, "result": None, "result_dropped": True}
    body = json.dumps(trimmed, default=str)
    if len(body) <= MAX_RECORD_BYTES:
        return body
    message = str(record.get("message") or "")
    trimmed["message"] = message[: MAX_RECORD_BYTES // 4]
    trimmed["message_truncated"] = {"length": len(message), "sha256": hashlib.sha256(message.encode()).hexdigest()}
    return json.dumps(trimmed, default=str)[:MAX_RECORD_BYTES]

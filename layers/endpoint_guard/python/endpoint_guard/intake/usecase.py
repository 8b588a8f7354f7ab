"""The intake's use case: parsed triggers in, one work item per VPC out, handed to a sink (the FIFO
queue when deployed, an in-process reconcile for the CLI). Collaborators are parameters."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from endpoint_guard.aws import Services
from endpoint_guard.errors import EndpointGuardError, ReconcileFailedError
from endpoint_guard.intake.events import Trigger
from endpoint_guard.intake.resolve import Records, resolve
from endpoint_guard.observe import Observer, Skip
from endpoint_guard.settings import Settings
from endpoint_guard.worker.messages import WorkItem, released_subnet

if TYPE_CHECKING:  # pragma: no cover  (the reconcile is imported only where it runs)
    from endpoint_guard.reconcile.result import ResultDocument


class FifoQueue(Protocol):
    def send_fifo(self, messages: Iterable[tuple[str, str, str]]) -> None: ...


@dataclass
class Accepted:
    items: list[WorkItem] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def accept(
    triggers: list[Trigger],
    *,
    aws: Services,
    own_account: str | None,
    observer: Observer,
    own_roles: frozenset[str] = frozenset(),
    records: Records | None = None,
) -> Accepted:
    """The VPCs the triggers concern, and the skips with their reasons. Raises when a lookup fails.
    ``own_roles``: endpoint-guard's roles, whose calls never trigger it; ``records``: the VPCs of the
    resources it manages, for events about deleted ones."""
    accepted = Accepted()
    for trigger in triggers:
        observer.about(event_id=trigger.event_id)
        try:
            found = resolve(trigger, aws, own_account, own_roles, records)
        except EndpointGuardError as err:
            observer.failed("could not resolve the event's VPC", err)
            raise
        if found.skip_kind:
            accepted.skipped.append(
                observer.skipped(
                    found.skip_kind, found.skip_reason or "", event_id=trigger.event_id, event_name=trigger.event_name
                )
            )
            continue
        accepted.items += [
            WorkItem(vpc_id, trigger.event_id, trigger.event_name, trigger.dns_off_by, trigger.release, trigger.drift)
            for vpc_id in found.vpc_ids
        ]
    return accepted


def enqueue(items: list[WorkItem], queue: FifoQueue, observer: Observer) -> list[dict[str, Any]]:
    """One message per VPC on the FIFO queue (group = VPC id)."""
    nonce = uuid.uuid4().hex
    try:
        queue.send_fifo((item.to_message(), item.group_id, item.deduplication_id(nonce)) for item in items)
    except EndpointGuardError as err:
        observer.failed("could not queue the work", err)
        raise
    observer.count("VpcsQueued", len(items))
    for item in items:
        observer.info("queued", vpc_id=item.vpc_id, event_name=item.event_name)
    return [{"vpc_id": i.vpc_id, "event_id": i.event_id, "event_name": i.event_name} for i in items]


def reconcile_now(
    items: list[WorkItem],
    reconcile: Callable[[str], tuple[ResultDocument, list[str]]],
    observer: Observer,
) -> list[ResultDocument]:
    """Reconcile each VPC once, here and now (no queue). Raises ReconcileFailedError when any action
    failed, after every VPC had its turn."""
    results: list[ResultDocument] = []
    problems: list[str] = []
    try:
        for vpc_id in dict.fromkeys(item.vpc_id for item in items):
            result, failed = reconcile(vpc_id)
            problems += [f"{vpc_id} {line}" for line in failed]
            results.append(result)
        if problems:
            raise ReconcileFailedError(",".join(r["vpc_id"] for r in results), problems)
    except EndpointGuardError as err:
        observer.failed("reconcile failed", err)
        raise
    return results


def handle(
    triggers: list[Trigger],
    *,
    aws: Services,
    own_account: str | None,
    observer: Observer,
    settings: Settings,
    queue: FifoQueue | None = None,
    own_roles: frozenset[str] = frozenset(),
    records: Records | None = None,
) -> dict[str, Any]:
    """The whole intake: accept, then queue the work (deployed) or, without a queue, reconcile it here
    (the CLI's ``invoke`` and ``ensure``)."""
    accepted = accept(
        triggers, aws=aws, own_account=own_account, observer=observer, own_roles=own_roles, records=records
    )
    if queue is not None:
        return {"queued": enqueue(accepted.items, queue, observer), "skipped": accepted.skipped}
    # The decisions are imported on first use: the deployed intake always has a queue.
    from endpoint_guard.model import DnsDrift
    from endpoint_guard.reconcile.run import reconcile_observed, release

    output: dict[str, Any] = {"skipped": accepted.skipped}
    releases = [i for i in accepted.items if i.release]
    if releases and settings.release_on_dependency_violation:
        output["released"] = [
            release(
                i.vpc_id,
                ec2=aws.ec2,
                subnet_id=released_subnet(i.release),
                dry_run=settings.dry_run,
            )
            for i in releases
        ]
    elif releases:
        output["skipped"] += [
            observer.skipped(Skip.NO_EFFECT, "ReleaseOnDependencyViolation is false", event_name=i.event_name)
            for i in releases
        ]
    # A hand-run answering a DNS-off event turns the attributes back on: it has no memory of an earlier
    # restore (the worker has, in the state table) and a person asked for it.
    drift = {i.vpc_id: DnsDrift(i.dns_off_by) for i in accepted.items if i.dns_off_by}
    output["results"] = reconcile_now(
        [i for i in accepted.items if not i.release],
        lambda vpc_id: reconcile_observed(
            vpc_id, ec2=aws.ec2, settings=settings, observer=observer, dns_drift=drift.get(vpc_id)
        ),
        observer,
    )
    return output

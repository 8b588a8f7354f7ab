"""The intake's use case: parsed triggers in, one work item per VPC out, handed to a sink (the FIFO
queue when deployed, an in-process reconcile for the CLI). Collaborators are parameters."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from endpoint_guard.aws import Services
from endpoint_guard.errors import EndpointGuardError, ReconcileFailedError
from endpoint_guard.intake.resolve import Records, resolve
from endpoint_guard.intake.shapes import Trigger
from endpoint_guard.observe import Observer, Skip
from endpoint_guard.settings import Settings
from endpoint_guard.worker.messages import WorkItem, released_subnet

if TYPE_CHECKING:  # pragma: no cover  (the reconcile is imported only where it runs)
    from endpoint_guard.reconcile.result import ResultDocument


class FifoQueue(Protocol):
    def send_fifo(self, messages: Iterable[tuple[str, str, str]]) -> None: ...


@dataclass(frozen=True)
class Hub:
    """A hub's intake: the account-Regions it manages and how it reaches a member's. Events come from
    the spokes' forward rules (the fleet bus admits the Organization); the hub's own account-Region is
    reached directly, and its work keeps the single-account keys."""

    home_account: str | None
    home_region: str
    accounts: frozenset[str]  # the enrolled accounts; empty: every account the fleet bus admits
    regions: frozenset[str]  # the enrolled Regions
    member_role: str  # the member role's name: its calls are endpoint-guard's own
    reach: Callable[[str, str], Services]

    def refusal(self, account: str | None, region: str | None) -> str | None:
        """Why an event from this account-Region is not the hub's to handle; None when it is."""
        if account is None or region is None:
            return (
                None
                if self.is_home(account, region)
                else f"an event without its account and Region ({account}, {region})"
            )
        if not (account.isdigit() and len(account) == 12):
            return f"account {account!r} is not an account id"
        if self.accounts and account not in self.accounts and account != self.home_account:
            return f"account {account} is not enrolled (FleetAccounts: {', '.join(sorted(self.accounts))})"
        if region not in self.regions:
            return f"Region {region} is not enrolled (the hub covers {', '.join(sorted(self.regions))})"
        return None

    def is_home(self, account: str | None, region: str | None) -> bool:
        return account in (None, self.home_account) and region in (None, self.home_region)

    def own_call(self, caller: str | None) -> bool:
        """A call made through the member role, in any account: the hub's own change."""
        return bool(caller and caller.endswith(f":role/{self.member_role}"))

    def at_owners(
        self, shared: Iterable[tuple[str, str]], region: str | None
    ) -> list[tuple[str, tuple[str | None, str | None]]]:
        """A shared VPC whose owner the hub manages too (a network account that shares its VPCs, say)
        is reconciled in the owner's account: (vpc id, where) for each such VPC."""
        region = region or self.home_region
        return [
            (vpc_id, (None, None) if self.is_home(owner, region) else (owner, region))
            for vpc_id, owner in shared
            if self.refusal(owner, region) is None
        ]

    def skip(self, trigger: Trigger) -> tuple[str, str] | None:
        """(kind, reason) when the hub leaves the trigger alone: not enrolled, or its own call."""
        refusal = self.refusal(trigger.account, trigger.region)
        if refusal is not None:
            return Skip.NOT_ENROLLED, refusal
        if self.own_call(trigger.caller):
            return Skip.OWN_CALL, f"endpoint-guard's own call ({trigger.caller}): nothing drifted"
        return None


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
    hub: Hub | None = None,
) -> Accepted:
    """The VPCs the triggers concern, and the skips with their reasons. Raises when a lookup fails.
    ``own_roles``: endpoint-guard's roles, whose calls never trigger it; ``records``: the VPCs of the
    resources it manages, for events about deleted ones; ``hub``: the fleet a hub manages (its events
    come from many account-Regions, each resolved in its own)."""
    accepted = Accepted()
    for trigger in triggers:
        observer.about(event_id=trigger.event_id)
        where: tuple[str | None, str | None] = (None, None)
        services, recorded, owner, acting = aws, records, own_account, own_account
        if hub is not None:
            if skip := hub.skip(trigger):
                kind, reason = skip
                accepted.skipped.append(
                    observer.skipped(kind, reason, event_id=trigger.event_id, event_name=trigger.event_name)
                )
                continue
            owner = None  # enrolment stands for the account check
            acting = trigger.account or hub.home_account
            if not hub.is_home(trigger.account, trigger.region):
                assert trigger.account and trigger.region
                where = (trigger.account, trigger.region)
                services = hub.reach(trigger.account, trigger.region)
                recorded = records.within(f"{trigger.account}/{trigger.region}/") if records is not None else None
        try:
            found = resolve(trigger, services, owner, own_roles, recorded, acting_account=acting)
        except EndpointGuardError as err:
            observer.failed("could not resolve the event's VPC", err)
            raise
        at_owner = hub.at_owners(found.shared, trigger.region) if hub is not None else []
        accepted.items += [
            WorkItem(vpc_id, trigger.event_id, trigger.event_name, trigger.dns_off_by, None, trigger.drift, *there)
            for vpc_id, there in at_owner
        ]
        if found.skip_kind and not at_owner:
            accepted.skipped.append(
                observer.skipped(
                    found.skip_kind, found.skip_reason or "", event_id=trigger.event_id, event_name=trigger.event_name
                )
            )
            continue
        accepted.items += [
            WorkItem(
                vpc_id, trigger.event_id, trigger.event_name, trigger.dns_off_by, trigger.release, trigger.drift, *where
            )
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
    reconcile: Callable[[WorkItem], tuple[ResultDocument, list[str]]],
    observer: Observer,
) -> list[ResultDocument]:
    """Reconcile each VPC once, here and now (no queue). Raises ReconcileFailedError when any action
    failed, after every VPC had its turn."""
    results: list[ResultDocument] = []
    problems: list[str] = []
    try:
        for item in {item.key: item for item in items}.values():  # each VPC once, in order
            result, failed = reconcile(item)
            problems += [f"{item.vpc_id} {line}" for line in failed]
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
    hub: Hub | None = None,
) -> dict[str, Any]:
    """The whole intake: accept, then queue the work (deployed) or, without a queue, reconcile it here
    (the CLI's ``invoke`` and ``ensure``)."""
    accepted = accept(
        triggers, aws=aws, own_account=own_account, observer=observer, own_roles=own_roles, records=records, hub=hub
    )
    if queue is not None:
        return {"queued": enqueue(accepted.items, queue, observer), "skipped": accepted.skipped}
    # The decisions are imported on first use: the deployed intake always has a queue.
    from endpoint_guard.cost.aware import reconcile_profiled
    from endpoint_guard.model import DnsDrift
    from endpoint_guard.reconcile.run import release

    output: dict[str, Any] = {"skipped": accepted.skipped}

    def services_of(item: WorkItem) -> Services:
        return hub.reach(item.account, item.region) if hub and item.account and item.region else aws

    def ec2_of(item: WorkItem) -> Any:
        return services_of(item).ec2

    releases = [i for i in accepted.items if i.release]
    if releases and settings.release_on_dependency_violation:
        output["released"] = [
            release(
                i.vpc_id,
                ec2=ec2_of(i),
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
    drift = {i.key: DnsDrift(i.dns_off_by) for i in accepted.items if i.dns_off_by}
    # A person is watching: each VPC's workloads are read and their pulls judged (reconcile.pull), the
    # account-Region's workloads once for all its VPCs.
    from endpoint_guard.aws.workloads import PullPathReads, pull_path

    paths: dict[int, PullPathReads] = {}

    def paths_of(item: WorkItem) -> PullPathReads:
        clients = services_of(item).clients
        return paths.setdefault(id(clients), pull_path(clients, settings))

    output["results"] = reconcile_now(
        [i for i in accepted.items if not i.release],
        lambda item: reconcile_profiled(
            item.vpc_id,
            aws=services_of(item),
            ec2=ec2_of(item),
            settings=settings,
            observer=observer,
            dns_drift=drift.get(item.key),
            workloads=paths_of(item),
        ),
        observer,
    )
    return output

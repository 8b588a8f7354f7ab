"""Security Hub, out, as a use case: after a reconcile, the VPC's findings imported when they changed
since the last import (the state table keeps a digest), fixed ones resolved and archived. Best effort:
Security Hub off in the account, or any failure, is one log line and a metric, never a failed reconcile
(so never a retry loop). Collaborators are parameters."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from endpoint_guard.errors import AwsCallError
from endpoint_guard.securityhub.findings import digest, findings_for, resolved, vpc_finding_id

Raw = dict[str, Any]
NOT_ENABLED = ("InvalidAccessException", "AccessDeniedException")


class FindingsPort(Protocol):
    def active(self, id_prefix: str) -> list[Raw]: ...
    def import_findings(self, findings: list[Raw]) -> None: ...


class DigestStore(Protocol):
    def findings_digest(self, vpc_id: str) -> str | None: ...
    def record_findings_digest(self, vpc_id: str, digest: str, at: int) -> None: ...


def publish(
    result: Mapping[str, Any],
    *,
    hub: FindingsPort,
    account: str,
    partition: str,
    now: float,
    store: DigestStore | None,
    observer: Any,
) -> str:
    """What happened: "unchanged", "imported", "not_enabled" or "failed"."""
    stamp = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    current = findings_for(result, account=account, partition=partition, now=stamp)
    judged = "workloads" in result  # only a run that read the workloads says which are blocked
    vpc_id = str(result["vpc_id"])
    try:
        previous = store.findings_digest(vpc_id) if store else None
        work_part = (previous or "").partition(":")[2]
        fresh = f"{digest(current[:1])}:{digest(current[1:]) if judged else work_part}"
        if fresh == previous:
            return "unchanged"
        prefix = vpc_finding_id(str(result["region"]), account, vpc_id)
        active = {str(f["Id"]): f for f in hub.active(prefix)}
        wanted = [current[0]] if current[0]["Compliance"]["Status"] == "FAILED" or prefix in active else []
        if judged:
            wanted += current[1:]
            ids = {str(f["Id"]) for f in current}
            wanted += resolved((f for i, f in active.items() if i != prefix and i not in ids), stamp)
        if wanted:
            hub.import_findings(wanted)
        if store:
            store.record_findings_digest(vpc_id, fresh, int(now))
    except AwsCallError as err:
        if err.code in NOT_ENABLED:
            observer.count("SecurityHubUnavailable")
            observer.info("security hub not enabled: findings not imported", vpc_id=vpc_id, account=account)
            return "not_enabled"
        observer.count("SecurityHubFailures")
        observer.failed("could not import the Security Hub findings", err)
        return "failed"
    observer.count("SecurityHubFindingsImported", len(wanted))
    return "imported"


def publisher(
    hub: Callable[[], FindingsPort],
    account: Callable[[], str],
    partition: Callable[[], str],
    store: DigestStore | None,
    observer: Any,
) -> Callable[[Mapping[str, Any], float], str]:
    """``publish`` bound to one account-Region's collaborators (each made on first use: a member role is
    assumed only when a VPC of that account is worked on)."""

    def run(result: Mapping[str, Any], now: float) -> str:
        try:
            owner, where = account(), partition()
        except AwsCallError as err:
            observer.count("SecurityHubFailures")
            observer.failed("could not tell the account for the Security Hub findings", err)
            return "failed"
        return publish(result, hub=hub(), account=owner, partition=where, now=now, store=store, observer=observer)

    return run

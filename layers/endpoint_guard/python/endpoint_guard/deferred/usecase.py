"""Adding the S3 gateway to deferred route tables once someone accepted the interruption: by hand
(``ensure --apply-deferred``) or by the maintenance window, one table at a time. Collaborators are
parameters: the EC2 port, the pull path's reads, the pace."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from endpoint_guard.deferred.behind import behind
from endpoint_guard.model import ALL_TABLES

if TYPE_CHECKING:  # pragma: no cover
    from endpoint_guard.profile import ServiceSpec
    from endpoint_guard.reconcile.apply import Pacer
    from endpoint_guard.reconcile.ports import Ec2Port, WorkloadPort
    from endpoint_guard.reconcile.result import ResultDocument
    from endpoint_guard.settings import Settings

Raw = dict[str, Any]


def iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def apply_deferred(
    vpc_id: str,
    *,
    ec2: Ec2Port,
    settings: Settings,
    who: str,
    now: float,
    route_tables: Iterable[str] = (),
    workloads: WorkloadPort | None = None,
    pace: Pacer | None = None,
    announce: Callable[[list[Raw]], None] = lambda _: None,
    profile: tuple[ServiceSpec, ...] | None = None,
    judge: bool = True,
) -> ResultDocument:
    """Give ``route_tables`` (none named: every deferred one) the gateway although workloads run behind
    them. First a read-only run finds what is deferred and what runs behind each table, handed to
    ``announce`` before anything changes; then (unless ``settings.dry_run``) the reconcile that adds them.
    The result's ``apply_deferred`` says who asked, when, which tables and what ran behind them.
    ``profile``: the services to reconcile (the window's: the S3 gateway alone); ``judge``: whether the
    run that changes things also judges the workloads' pulls (the preview always reads them)."""
    from endpoint_guard.reconcile.run import reconcile

    asked = sorted(set(route_tables))
    dry = dataclasses.replace(settings, dry_run=True)
    preview = reconcile(vpc_id, ec2=ec2, settings=dry, workloads=workloads, profile=profile)
    deferred = [str(d["route_table_id"]) for d in preview["deferred_route_tables"]]
    chosen = [rt for rt in deferred if rt in asked] if asked else deferred
    tables = [t for t in behind(preview) if t["route_table_id"] in chosen]
    announce(tables)
    result = reconcile(
        vpc_id,
        ec2=ec2,
        settings=settings,
        workloads=workloads if judge else None,
        pace=pace,
        apply_deferred=frozenset(chosen) if asked else frozenset({ALL_TABLES}),
        profile=profile,
    )
    applied = [str(d["route_table_id"]) for d in result["applied_deferred_route_tables"]]
    result["apply_deferred"] = {
        "by": who,
        "at": iso(now),
        "asked": asked or [ALL_TABLES],
        "route_tables": applied,
        "not_deferred": sorted(set(asked) - set(deferred)),
        "behind": tables,
        "dry_run": settings.dry_run,
    }
    return result

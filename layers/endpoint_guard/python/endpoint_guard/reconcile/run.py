"""Read a VPC, decide, apply, report: the reconcile every entry point runs."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from typing import Any, TypedDict

from endpoint_guard.errors import AwsCallError, VpcNotFoundError
from endpoint_guard.model import (
    CheckedGroup,
    DnsDrift,
    Snapshot,
    cidrs_from_route_tables,
    egress_being_set_up,
    endpoint_from_api,
    eni_from_api,
    is_managed,
    route_tables_from_api,
    security_group_from_api,
    subnets_from_api,
)
from endpoint_guard.observe import Observer
from endpoint_guard.profile import INTERFACE, ServiceSpec, load_profile, specs
from endpoint_guard.pullpath import evaluate
from endpoint_guard.reconcile.actions import (
    FACT_DNS,
    FACT_EGRESS,
    FACT_ENIS,
    FACT_SECURITY_GROUP,
    FACT_ZONES,
    TARGET_SECURITY_GROUP,
    Operation,
    Plan,
)
from endpoint_guard.reconcile.apply import Applied, Pacer, apply
from endpoint_guard.reconcile.central import central_services
from endpoint_guard.reconcile.planner import plan
from endpoint_guard.reconcile.ports import Ec2Port, WorkloadPort
from endpoint_guard.reconcile.projected import projected
from endpoint_guard.reconcile.pull import judged, required_services
from endpoint_guard.reconcile.reads import facts_needed, offers_from_endpoints, trusted_group
from endpoint_guard.reconcile.release import plan_prune, plan_release
from endpoint_guard.reconcile.result import ActionEntry, ResultDocument, action_entry, failures, result_document
from endpoint_guard.settings import Settings


def read_snapshot(
    ec2: Ec2Port,
    vpc_id: str,
    profile: tuple[ServiceSpec, ...],
    settings: Settings,
    checked_group: CheckedGroup | None = None,
) -> Snapshot:
    """The core read (route tables, endpoints, subnets; the service offers unless the VPC's endpoints
    already name them, see reads.offers_from_endpoints), then only the facts the decision
    says it needs. The VPC itself is not described: every VPC has a main route table (none means the VPC
    does not exist), and the route tables' local routes name its CIDR blocks. The security group is not
    read when ``checked_group`` (an earlier read) still stands for it (reads.trusted_group)."""
    return complete_snapshot(ec2, read_core(ec2, vpc_id), profile, settings, checked_group)


def read_core(ec2: Ec2Port, vpc_id: str) -> Snapshot:
    """Route tables, endpoints and subnets: the three reads every reconcile makes."""
    raw_route_tables = ec2.route_tables(vpc_id)
    if not raw_route_tables:
        raise VpcNotFoundError(vpc_id)
    endpoints = ec2.vpc_endpoints(vpc_id)
    raw_subnets = ec2.subnets(vpc_id)
    route_tables = route_tables_from_api(raw_route_tables, raw_subnets)
    v4, v6 = cidrs_from_route_tables(raw_route_tables)
    return Snapshot(
        vpc_id=vpc_id,
        region=ec2.region,
        partition=ec2.partition,
        cidrs_v4=v4,
        cidrs_v6=v6,
        subnets=subnets_from_api(raw_subnets, route_tables),
        route_tables=route_tables,
        endpoints=tuple(endpoint_from_api(e) for e in endpoints),
        raw_route_tables=tuple(raw_route_tables),
    )


def complete_snapshot(
    ec2: Ec2Port,
    snapshot: Snapshot,
    profile: tuple[ServiceSpec, ...],
    settings: Settings,
    checked_group: CheckedGroup | None = None,
) -> Snapshot:
    """The core snapshot with the service offers and the facts the plan needs for ``profile``."""
    vpc_id = snapshot.vpc_id
    # A compliant VPC's own endpoints name its services: the offers are read only when they cannot.
    offers = offers_from_endpoints(snapshot, profile)
    if offers is None:
        offers = ec2.service_offers((s.short, s.type) for s in profile)
    snapshot = dataclasses.replace(snapshot, offers=offers)
    needed = facts_needed(snapshot, profile, settings)
    extra: dict[str, Any] = {}
    if FACT_DNS in needed:
        extra["dns_support"], extra["dns_hostnames"] = ec2.dns_attributes(vpc_id)
    if FACT_SECURITY_GROUP in needed:
        trusted = trusted_group(snapshot, profile, checked_group)
        if trusted is None:
            raw_group = ec2.managed_security_group(vpc_id)
            if raw_group and not is_managed(raw_group):
                extra["security_group_clash"], raw_group = str(raw_group["GroupId"]), None
            extra["security_group"] = security_group_from_api(raw_group) if raw_group else None
        else:
            extra["security_group"] = trusted
        extra["security_group_read"], extra["security_group_trusted"] = True, trusted is not None
    if FACT_ENIS in needed:
        extra["enis"] = tuple(eni_from_api(e) for e in ec2.network_interfaces(vpc_id))
    if FACT_ZONES in needed:
        try:
            zones = ec2.private_hosted_zones(vpc_id)
        except AwsCallError as err:
            if err.retryable:
                raise
            # Refused (a role without route53:ListHostedZonesByVPC): placed as if none were central.
        else:
            interface = [s.short for s in profile if s.type == INTERFACE]
            extra["central_zones"] = central_services(zones, interface, snapshot.region)
    if FACT_EGRESS in needed:
        try:
            nats, attachments = ec2.egress(vpc_id)
        except AwsCallError as err:
            if err.retryable:
                raise
            # Refused (a spoke's member role from before this read): place as before, without waiting.
        else:
            now = datetime.datetime.now(datetime.UTC)
            extra["egress_pending"] = egress_being_set_up(nats, attachments, snapshot.raw_route_tables, now)
    return dataclasses.replace(snapshot, **extra)


def reconcile(
    vpc_id: str,
    *,
    ec2: Ec2Port,
    settings: Settings,
    profile: tuple[ServiceSpec, ...] | None = None,
    checked_group: CheckedGroup | None = None,
    pace: Pacer | None = None,
    dns_drift: DnsDrift | None = None,
    workloads: WorkloadPort | None = None,
    apply_deferred: frozenset[str] = frozenset(),
) -> ResultDocument:
    """Make ``vpc_id`` hold the profile's endpoints (or, with ``settings.dry_run``, say what that takes).
    ``checked_group``: what an earlier run read of the managed group, if it is recent enough to trust.
    ``pace``: asked before each endpoint call (the worker's share of the account-Region's bucket).
    ``dns_drift``: the reconcile answers a call that turned the DNS attributes off (they are read).
    ``workloads``: the pull path's reads: the VPC's ECS workloads decide which isolated tables get the
    layers-only gateway and which endpoints they cannot start without, and each one's path is judged
    on the VPC as the run leaves it (the result's ``workloads``; see reconcile.pull).
    ``apply_deferred``: route tables (or ``model.ALL_TABLES``) whose interruption was accepted: the S3
    gateway goes on them although workloads run there (the result's ``applied_deferred_route_tables``)."""
    profile = profile or load_profile(settings.extra_services)
    if dns_drift is not None or workloads is not None:
        settings = dataclasses.replace(settings, verify_dns=True)
    snapshot = read_core(ec2, vpc_id)
    found = None
    if workloads is not None:
        found = workloads.workloads_in({s.subnet_id for s in snapshot.subnets})
        snapshot = dataclasses.replace(snapshot, workload_subnets=frozenset(sid for w in found for sid in w.subnet_ids))
        profile = profile + specs(required_services(snapshot, found, profile, settings))
    snapshot = complete_snapshot(ec2, snapshot, profile, settings, checked_group)
    snapshot = dataclasses.replace(snapshot, dns_drift=dns_drift, apply_deferred=apply_deferred)
    the_plan = plan(snapshot, profile, settings)
    applied = None if settings.dry_run else apply(the_plan, ec2, pace)
    result = result_document(snapshot, the_plan, applied, settings.dry_run)
    if workloads is not None and found is not None:
        network = workloads.network(projected(snapshot, the_plan, result))
        result = judged(result, evaluate(network, found, (s.short for s in profile)))
    return result


def reconcile_observed(
    vpc_id: str,
    *,
    ec2: Ec2Port,
    settings: Settings,
    observer: Observer,
    checked_group: CheckedGroup | None = None,
    pace: Pacer | None = None,
    dns_drift: DnsDrift | None = None,
    profile: tuple[ServiceSpec, ...] | None = None,
    workloads: WorkloadPort | None = None,
    apply_deferred: frozenset[str] = frozenset(),
) -> tuple[ResultDocument, list[str]]:
    """Reconcile one VPC and report what happened: (the result document, its failed actions)."""
    observer.about(vpc_id=vpc_id)
    result = reconcile(
        vpc_id,
        ec2=ec2,
        settings=settings,
        profile=profile,
        checked_group=checked_group,
        pace=pace,
        dns_drift=dns_drift,
        workloads=workloads,
        apply_deferred=apply_deferred,
    )
    statuses = [e["status"] for e in result["endpoints"]]
    observer.count("VpcsReconciled")
    observer.count("EndpointsCreated", statuses.count("created"))
    observer.count("EndpointsUpdated", statuses.count("updated"))
    observer.count("EndpointsDeferred", statuses.count("deferred"))
    observer.count("VpcsNotCompliant", 0 if result["compliant"] else 1)
    observer.count("DnsAttributesRestored", 1 if result["dns_restored"] and not result["dry_run"] else 0)
    if "workloads_summary" in result:
        observer.count("WorkloadsBlocked", result["workloads_summary"]["blocked"])
        observer.count("WorkloadsViaNat", result["workloads_summary"]["via_nat"])
    observer.info(
        "reconciled",
        compliant=result["compliant"],
        endpoints={e["service"]: e["status"] for e in result["endpoints"]},
        dry_run=result["dry_run"],
    )
    return result, failures(result)


class ReleaseDocument(TypedDict):
    """What ``release`` did (or, dry, would do) in a VPC."""

    vpc_id: str
    region: str
    dry_run: bool
    subnet_id: str | None  # the one subnet released, or None for the whole VPC
    released: bool  # every action done (or nothing of endpoint-guard's was there)
    actions: list[ActionEntry]


def release(
    vpc_id: str,
    *,
    ec2: Ec2Port,
    subnet_id: str | None = None,
    dry_run: bool = False,
    pace: Pacer | None = None,
    wait: Callable[[list[str]], None] | None = None,
) -> ReleaseDocument:
    """Take endpoint-guard's resources out of the VPC (or out of ``subnet_id``): see release.plan_release.
    ``wait`` (the CLI's) waits for deleted interface endpoints to let go of the group's ENIs before the
    group is deleted; without it a group still in use fails this time (DependencyViolation, retryable)."""
    endpoints = [endpoint_from_api(e) for e in ec2.vpc_endpoints(vpc_id)]
    group_id = None
    if subnet_id is None:
        raw_group = ec2.managed_security_group(vpc_id)
        group_id = str(raw_group["GroupId"]) if raw_group and is_managed(raw_group) else None
    the_plan = plan_release(vpc_id, endpoints, group_id, subnet_id)
    if dry_run:
        entries = [action_entry(a, i, None, True) for i, a in enumerate(the_plan.actions)]
    else:
        endpoints_part = Plan(vpc_id, [a for a in the_plan.actions if a.target != TARGET_SECURITY_GROUP])
        group_part = Plan(vpc_id, [a for a in the_plan.actions if a.target == TARGET_SECURITY_GROUP])
        done = apply(endpoints_part, ec2, pace)
        failed = any(done.errors)
        deleted = [
            i
            for a in endpoints_part.actions
            if a.operation is Operation.DELETE_VPC_ENDPOINTS
            for i in a.params["VpcEndpointIds"]
        ]
        if group_part.actions and deleted and wait is not None and not failed:
            wait(deleted)
        # After a failed endpoint delete the group is still in use: it waits for a later attempt.
        group_done = (
            Applied(
                ["skipped: an earlier endpoints action failed"] * len(group_part.actions),
                codes=[None] * len(group_part.actions),
            )
            if failed
            else apply(group_part, ec2, None)
        )
        entries = [action_entry(a, i, done, False) for i, a in enumerate(endpoints_part.actions)]
        entries += [action_entry(a, i, group_done, False) for i, a in enumerate(group_part.actions)]
    return {
        "vpc_id": vpc_id,
        "region": ec2.region,
        "dry_run": dry_run,
        "subnet_id": subnet_id,
        "released": not dry_run and all(e["status"] == "done" for e in entries),
        "actions": entries,
    }


def prune(vpc_id: str, *, ec2: Ec2Port, endpoint_ids: list[str], dry_run: bool = False) -> list[ActionEntry]:
    """Delete endpoint-guard's own interface endpoints among ``endpoint_ids`` (release.plan_prune)."""
    the_plan = plan_prune(vpc_id, [endpoint_from_api(e) for e in ec2.vpc_endpoints(vpc_id)], endpoint_ids)
    done = None if dry_run else apply(the_plan, ec2, None)
    return [action_entry(a, i, done, dry_run) for i, a in enumerate(the_plan.actions)]


def wait_until_gone(
    ec2: Ec2Port, vpc_id: str, endpoint_ids: list[str], *, sleep: Callable[[float], None], timeout: float = 600.0
) -> None:
    """Poll until the endpoints are deleted (AWS takes a while to release an interface endpoint's ENIs),
    for at most ``timeout`` seconds; the group's delete then tells whether it was long enough."""
    waited = 0.0
    while waited < timeout:
        live = {e["VpcEndpointId"] for e in ec2.vpc_endpoints(vpc_id) if endpoint_from_api(e).live}
        if not live & set(endpoint_ids):
            return
        sleep(10.0)
        waited += 10.0

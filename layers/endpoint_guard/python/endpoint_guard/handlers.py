"""Lambda entry points. ``functions/*/app.py`` re-export these; the CLI calls them too, so a hand-run
event takes exactly the deployed code path."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from endpoint_guard.aws import Ec2Adapter
from endpoint_guard.errors import EndpointGuardError, ReconcileFailedError
from endpoint_guard.events import Trigger, foreign_account, parse_event
from endpoint_guard.reconcile import failures, reconcile
from endpoint_guard.settings import Settings

logger = Logger(service="endpoint-guard")
metrics = Metrics(namespace="EndpointGuard", service="endpoint-guard")


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False, clear_state=True)
def ensure_endpoints(event: dict, context: Any) -> dict:
    """Reconcile the VPC(s) an event names. Raises (so Lambda retries, then dead-letters the event with
    the error) when the input is invalid or an AWS call failed; returns the result documents otherwise."""
    metrics.add_metric(name="EventsReceived", unit=MetricUnit.Count, value=1)
    try:
        triggers = parse_event(event)
        settings = Settings.from_env()
    except EndpointGuardError as err:
        metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=1)
        logger.error("rejected input", extra={"error_kind": err.kind, "error": str(err)})
        raise
    adapter = Ec2Adapter()
    own_account = _own_account(context)
    results: list[dict] = []
    skipped: list[dict] = []
    problems: list[str] = []
    for trigger in triggers:
        logger.set_correlation_id(trigger.event_id)
        try:
            vpc_ids, skip_reason = _vpcs(trigger, adapter, own_account)
        except EndpointGuardError as err:
            metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=1)
            logger.error("could not resolve the event's VPC", extra={"error_kind": err.kind, "error": str(err)})
            raise
        if skip_reason:
            metrics.add_metric(name="EventsSkipped", unit=MetricUnit.Count, value=1)
            logger.info("skipped", extra={"event_name": trigger.event_name, "reason": skip_reason})
            skipped.append({"event_id": trigger.event_id, "event_name": trigger.event_name, "reason": skip_reason})
            continue
        for vpc_id in vpc_ids:
            logger.append_keys(vpc_id=vpc_id)
            try:
                result = reconcile(vpc_id, adapter=adapter, settings=settings)
            except EndpointGuardError as err:
                metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=1)
                logger.error("reconcile failed", extra={"error_kind": err.kind, "error": str(err)})
                raise
            _count(result)
            logger.info(
                "reconciled",
                extra={
                    "compliant": result["compliant"],
                    "endpoints": {e["service"]: e["status"] for e in result["endpoints"]},
                    "dry_run": result["dry_run"],
                },
            )
            problems += [f"{vpc_id} {line}" for line in failures(result)]
            results.append(result)
    if problems:
        raise ReconcileFailedError(",".join(r["vpc_id"] for r in results), problems)
    return {"results": results, "skipped": skipped}


def _own_account(context: Any) -> str | None:
    parts = str(getattr(context, "invoked_function_arn", "")).split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() and len(parts[4]) == 12 else None


def _vpcs(trigger: Trigger, adapter: Ec2Adapter, own_account: str | None) -> tuple[tuple[str, ...], str | None]:
    """The VPCs to reconcile for a trigger, or the reason to skip it."""
    if trigger.skip_reason:
        return (), trigger.skip_reason
    if foreign_account(trigger, own_account):
        return (), f"event from account {trigger.account}; this function manages account {own_account}"
    vpc_ids = tuple(dict.fromkeys(trigger.vpc_ids + adapter.vpcs_of(trigger.subnet_ids, trigger.route_table_ids)))
    if not vpc_ids:
        return (), "the subnets and route tables the event names no longer exist"
    return vpc_ids, None


def _count(result: dict) -> None:
    metrics.add_metric(name="VpcsReconciled", unit=MetricUnit.Count, value=1)
    statuses = [e["status"] for e in result["endpoints"]]
    for name, status in (
        ("EndpointsCreated", "created"),
        ("EndpointsUpdated", "updated"),
        ("EndpointsDeferred", "deferred"),
    ):
        if statuses.count(status):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=statuses.count(status))
    if not result["compliant"]:
        metrics.add_metric(name="VpcsNotCompliant", unit=MetricUnit.Count, value=1)

"""Lambda entry points. ``functions/*/app.py`` re-export these; the CLI calls them too, so a hand-run
event takes exactly the deployed code path."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from endpoint_guard.aws import Ec2Adapter
from endpoint_guard.errors import EndpointGuardError, ReconcileFailedError
from endpoint_guard.events import parse_event
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
    results: list[dict] = []
    skipped: list[dict] = []
    problems: list[str] = []
    for trigger in triggers:
        logger.set_correlation_id(trigger.event_id)
        if trigger.skip_reason:
            metrics.add_metric(name="EventsSkipped", unit=MetricUnit.Count, value=1)
            logger.info("skipped", extra={"event_name": trigger.event_name, "reason": trigger.skip_reason})
            skipped.append(
                {"event_id": trigger.event_id, "event_name": trigger.event_name, "reason": trigger.skip_reason}
            )
            continue
        for vpc_id in trigger.vpc_ids:
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

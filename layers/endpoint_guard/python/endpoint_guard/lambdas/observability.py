"""Powertools for the Lambda entry points: the logger, EMF metrics, the lazily built Tracer, and the
``Observer`` the use cases report to."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from endpoint_guard.errors import EndpointGuardError
from endpoint_guard.observe import Skip, skip_entry

SERVICE = "endpoint-guard"
NAMESPACE = "EndpointGuard"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
reasons = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)  # its own dimension set: Reason

Handler = Callable[[Any, Any], Any]


def traced(handler: Handler) -> Handler:
    """The Powertools Tracer around a handler, built on the first invocation and only when tracing is
    on (template parameter Tracing=Active). Its aws_xray_sdk import is most of a cold start (see
    BENCHMARKS.md), so a stack that does not trace does not pay for it."""
    built: list[Handler] = []

    @functools.wraps(handler)
    def invoke(event: Any, context: Any) -> Any:
        if not built:
            from endpoint_guard.settings import parse_flag

            if parse_flag("POWERTOOLS_TRACE_DISABLED", os.environ.get("POWERTOOLS_TRACE_DISABLED"), False):
                built.append(handler)
            else:
                from aws_lambda_powertools import Tracer

                built.append(Tracer(service=SERVICE).capture_lambda_handler(handler, capture_response=False))
        return built[0](event, context)

    return invoke


class LambdaObserver:
    """Logs with the Powertools logger and, unless ``emit_metrics`` is off (the CLI), counts in EMF."""

    def __init__(self, *, emit_metrics: bool = True) -> None:
        self.emit_metrics = emit_metrics

    def count(self, name: str, value: int = 1) -> None:
        if value and self.emit_metrics:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def skipped(self, kind: str, reason: str, **where: Any) -> dict[str, Any]:
        self.count("EventsSkipped")
        if kind == Skip.CLUSTER_UNRESOLVED:
            self.count("ClustersUnresolved")
        if self.emit_metrics:
            reasons.add_dimension(name="Reason", value=kind)
            reasons.add_metric(name="EventsSkippedByReason", unit=MetricUnit.Count, value=1)
            reasons.flush_metrics()
        logger.info("skipped", extra={"skip_kind": kind, "reason": reason, **where})
        return skip_entry(kind, reason, **where)

    def failed(self, message: str, err: EndpointGuardError) -> None:
        self.count("Failures")
        logger.error(message, extra={"error_kind": err.kind, "error": str(err), "retryable": err.retryable})

    def info(self, message: str, **extra: Any) -> None:
        logger.info(message, extra=extra)

    def about(self, *, event_id: str | None = None, vpc_id: str | None = None) -> None:
        if event_id is not None:
            logger.set_correlation_id(event_id)
        if vpc_id is None:
            logger.remove_keys(["vpc_id"])
        else:
            logger.append_keys(vpc_id=vpc_id)

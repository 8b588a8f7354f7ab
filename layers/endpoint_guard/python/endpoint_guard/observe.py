"""How use cases report what they did, without knowing where it goes: the ``Observer`` protocol. The
Lambda entry points pass one that logs with Powertools and emits EMF metrics (``lambdas.observability``);
the CLI passes one that only logs; unit tests pass ``Recorded``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from endpoint_guard.errors import EndpointGuardError


class Skip:
    """Why an event needs no reconcile: a short, stable kind for metrics (the Reason dimension)."""

    FAILED_CALL = "failed_call"
    NOT_CLOUDTRAIL = "not_cloudtrail"
    NOT_HANDLED = "not_handled"
    GATEWAY_ASSOCIATION = "gateway_association"
    NO_AWSVPC = "no_awsvpc"
    FOREIGN_ACCOUNT = "foreign_account"
    GONE = "gone"
    CLUSTER_UNRESOLVED = "cluster_unresolved"
    DUPLICATE = "duplicate"
    COVERED = "covered"
    NO_EFFECT = "no_effect"  # a handled call that changed nothing endpoint-guard depends on
    OPTED_OUT = "opted_out"  # the VPC is tagged endpoint-guard:ignore = true
    STANDING_ASIDE = "standing_aside"  # endpoint-guard released the VPC's resources for its owner's delete
    OWN_CALL = "own_call"  # made by endpoint-guard's own roles: never a trigger (no loops)
    NOT_ENROLLED = "not_enrolled"  # a hub got an event from an account or Region it does not manage
    SHARED_VPC = "shared_vpc"  # the VPC is another account's, shared with this one: only its owner can act


class Observer(Protocol):
    def count(self, name: str, value: int = 1) -> None:
        """Add ``value`` to the metric ``name`` (nothing for 0)."""

    def skipped(self, kind: str, reason: str, **where: Any) -> dict[str, Any]:
        """Record a skip with its reason kind; returns the skip as the handlers report it."""

    def failed(self, message: str, err: EndpointGuardError) -> None:
        """Record a failure with its classification."""

    def info(self, message: str, **extra: Any) -> None: ...

    def about(self, *, event_id: str | None = None, vpc_id: str | None = None) -> None:
        """The event and VPC the next lines are about (None for VPC: no longer about one)."""


def skip_entry(kind: str, reason: str, **where: Any) -> dict[str, Any]:
    return {**where, "kind": kind, "reason": reason}


@dataclass
class Recorded:
    """An observer that keeps everything, for tests and for callers that only want the outcome."""

    counts: dict[str, int] = field(default_factory=dict)
    skips: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (message, error kind)
    lines: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def count(self, name: str, value: int = 1) -> None:
        if value:
            self.counts[name] = self.counts.get(name, 0) + value

    def skipped(self, kind: str, reason: str, **where: Any) -> dict[str, Any]:
        entry = skip_entry(kind, reason, **where)
        self.skips.append(entry)
        self.count("EventsSkipped")
        return entry

    def failed(self, message: str, err: EndpointGuardError) -> None:
        self.failures.append((message, err.kind))
        self.count("Failures")

    def info(self, message: str, **extra: Any) -> None:
        self.lines.append((message, extra))

    def about(self, *, event_id: str | None = None, vpc_id: str | None = None) -> None:
        return None

"""Approvals (pure): who accepted that a VPC's deferred route tables get the S3 gateway in a maintenance
window, for which tables, until when. Kept in the state table (``aws.state.StateTable``); a VPC tagged
``endpoint-guard:apply-deferred = window`` is approved the same way for every deferred table, for as long
as the tag stays."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from endpoint_guard.errors import ConfigurationError
from endpoint_guard.model import ALL_TABLES, tags_of

WINDOW_TAG = "endpoint-guard:apply-deferred"
WINDOW_TAG_VALUE = "window"
APPROVAL_REQUIRED, APPROVAL_NONE = "required", "none"
DEFAULT_EXPIRES = "7d"
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d{1,4})\s*([mhdw])\s*$", re.IGNORECASE)
LONGEST = 366 * 86400


def seconds_of(text: str) -> int:
    """A duration such as 30m, 12h, 7d or 2w, in seconds (at most a year)."""
    found = _DURATION.match(text or "")
    if not found:
        raise ConfigurationError(f"--expires {text!r}: expected a number and m, h, d or w (7d, 12h)")
    seconds = int(found.group(1)) * _UNITS[found.group(2).lower()]
    if not 0 < seconds <= LONGEST:
        raise ConfigurationError(f"--expires {text!r}: between 1 minute and a year")
    return seconds


@dataclass(frozen=True)
class Approval:
    vpc_id: str
    region: str
    account: str | None = None  # None: the stack's own account
    route_tables: tuple[str, ...] = (ALL_TABLES,)
    by: str = ""
    at: int = 0  # epoch seconds
    until: int | None = None  # epoch seconds; None: while the VPC's tag stays
    source: str = "approval"  # "approval" (the state table) or "tag"

    def active(self, now: float) -> bool:
        return self.until is None or now < self.until

    def tables(self, deferred: list[str]) -> list[str]:
        """The deferred route tables this approval lets the window change, in order."""
        if ALL_TABLES in self.route_tables:
            return sorted(deferred)
        return sorted(set(deferred).intersection(self.route_tables))

    def document(self) -> dict[str, Any]:
        return {
            "vpc_id": self.vpc_id,
            "account": self.account,
            "region": self.region,
            "route_tables": list(self.route_tables),
            "by": self.by,
            "at": self.at,
            "until": self.until,
            "source": self.source,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Approval:
        return cls(
            vpc_id=str(doc["vpc_id"]),
            region=str(doc["region"]),
            account=str(doc["account"]) if doc.get("account") else None,
            route_tables=tuple(str(r) for r in doc.get("route_tables") or (ALL_TABLES,)),
            by=str(doc.get("by", "")),
            at=int(doc.get("at") or 0),
            until=int(doc["until"]) if doc.get("until") is not None else None,
            source=str(doc.get("source", "approval")),
        )


def tag_approval(vpc: dict[str, Any], region: str, account: str | None) -> Approval | None:
    """The approval a VPC's own tag gives (DescribeVpcs' shape), if it carries it."""
    if tags_of(vpc).get(WINDOW_TAG, "").strip().lower() != WINDOW_TAG_VALUE:
        return None
    return Approval(
        vpc_id=str(vpc["VpcId"]),
        region=region,
        account=account,
        by=f"tag {WINDOW_TAG}={WINDOW_TAG_VALUE}",
        source="tag",
    )


@dataclass(frozen=True)
class WindowTarget:
    """One VPC the window visits: where it is, and what lets it change which deferred tables."""

    vpc_id: str
    region: str
    account: str | None
    approval: Approval | None = None  # None under DeferredGatewayApproval = none, with no approval
    deferred: tuple[str, ...] = field(default=())  # what the last reconcile deferred, as recorded

    def document(self) -> dict[str, Any]:
        return {
            "vpc_id": self.vpc_id,
            "region": self.region,
            "account": self.account,
            "approval": self.approval.document() if self.approval else None,
            "deferred_route_tables": list(self.deferred),
        }


def window_targets(
    approvals: list[Approval],
    deferred: dict[tuple[str | None, str, str], tuple[str, ...]],
    *,
    mode: str,
    now: float,
) -> list[WindowTarget]:
    """The VPCs a window takes: the approved ones (an expired approval counts for nothing) and, with
    ``mode`` none, every VPC recorded as deferred. ``deferred``: (account, region, VPC) -> its deferred
    route tables, as the worker recorded them. A tag and a record for one VPC: the record's tables."""
    chosen: dict[tuple[str | None, str, str], Approval] = {}
    for approval in sorted(approvals, key=lambda a: a.source != "approval"):  # records before tags
        key = (approval.account, approval.region, approval.vpc_id)
        if approval.active(now) and key not in chosen:
            chosen[key] = approval
    keys = set(chosen) | (set(deferred) if mode == APPROVAL_NONE else set())
    return [
        WindowTarget(vpc, region, account, chosen.get((account, region, vpc)), deferred.get((account, region, vpc), ()))
        for account, region, vpc in sorted(keys, key=lambda k: (k[0] or "", k[1], k[2]))
    ]


Lookup = Callable[[str], "Approval | None"]


def standing(
    vpc: dict[str, Any], region: str, account: str | None, lookup: Lookup | None, now: float
) -> dict[str, Any] | None:
    """The approval that stands for a VPC (DescribeVpcs' shape): its record in the state table
    (``lookup``, when there is one) before its tag; None when neither stands."""
    recorded = lookup(str(vpc["VpcId"])) if lookup else None
    found = recorded if recorded and recorded.active(now) else tag_approval(vpc, region, account)
    return found.document() if found else None

"""The hop between the intake (events -> VPCs) and the reconcile worker: one queue message per VPC.

Pure: the message format, the FIFO group and deduplication ids, and the rule that collapses bursts.
The queue is SQS FIFO with the VPC (in a hub: account/Region/VPC) as message group, so SQS never hands two messages of one VPC to
two workers at once: one VPC is never reconciled twice concurrently, and different VPCs run in parallel.
"""

from __future__ import annotations

import hashlib
import json
import re
import reprlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from endpoint_guard.errors import InvalidEventError
from endpoint_guard.model import CheckedGroup, valid_vpc_id

if TYPE_CHECKING:  # pragma: no cover
    from endpoint_guard.reconcile.result import ResultDocument

MESSAGE_VERSION = 1
# A DeleteVpc failed with DependencyViolation: release the whole VPC (a subnet id releases that subnet).
RELEASE_VPC = "vpc"
# The EC2 calls that change a hop of the workloads' pulls: a security group's egress, a network ACL's
# rules or associations, the VPC's DHCP options (the intake's PathChanges handlers).
PATH_CALLS = (
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupEgress",
    "CreateNetworkAclEntry",
    "ReplaceNetworkAclEntry",
    "DeleteNetworkAclEntry",
    "ReplaceNetworkAclAssociation",
    "AssociateDhcpOptions",
)
# Events about a VPC's workloads or the hops of their pulls: the reconcile of such an item reads the
# workloads and judges their paths (the pull path's reads; a plain VPC event stays at its few calls).
PATH_EVENTS = frozenset({"CreateCluster", "CreateService", "UpdateService", "RunTask", *PATH_CALLS})
ACCOUNT = re.compile(r"[0-9]{12}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]")


def released_subnet(release: str | None) -> str | None:
    """The subnet a release takes endpoint-guard's endpoints out of; None when it releases the VPC."""
    return None if release in (None, RELEASE_VPC) else release


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class WorkItem:
    """Reconcile this VPC, because of this event."""

    vpc_id: str
    event_id: str | None = None
    event_name: str | None = None
    # The event turned the VPC's DNS attributes off; who made the call (the reconcile reads them).
    dns_off_by: str | None = None
    # A delete failed on endpoint-guard's resources: "vpc" (release the VPC) or the subnet to leave.
    release: str | None = None
    # The call may have broken what endpoint-guard built ("<call> by <who>"): the reconcile reads
    # everything again (no trusted group) and names the drift it repairs.
    drift: str | None = None
    # A hub's work: the member account and Region the VPC is in (None: the worker's own account-Region).
    account: str | None = None
    region: str | None = None

    @property
    def scope(self) -> str:
        """The prefix that keeps a hub's VPCs of different account-Regions apart in the state table and
        the queue's message groups ("" in a single-account stack: the keys are as they always were)."""
        return f"{self.account}/{self.region}/" if self.account and self.region else ""

    @property
    def key(self) -> str:
        return self.scope + self.vpc_id

    @property
    def about_paths(self) -> bool:
        """Whether the event was about the VPC's workloads or their paths (``PATH_EVENTS``)."""
        return self.event_name in PATH_EVENTS

    @property
    def special(self) -> bool:
        """Work a plain reconcile does not do (it reads no DNS attributes and releases nothing): never
        settled as covered by one."""
        return bool(self.dns_off_by or self.release or self.drift)

    def to_message(self) -> str:
        body = {
            "version": MESSAGE_VERSION,
            "vpc_id": self.vpc_id,
            "event_id": self.event_id,
            "event_name": self.event_name,
        }
        body.update(
            {
                k: v
                for k, v in (
                    ("dns_off_by", self.dns_off_by),
                    ("release", self.release),
                    ("drift", self.drift),
                    ("account", self.account),
                    ("region", self.region),
                )
                if v
            }
        )
        return json.dumps(body, sort_keys=True)

    @classmethod
    def from_message(cls, body: object) -> WorkItem:
        """The work item a message carries; InvalidEventError for anything else (not JSON, nested too
        deep to read, a field of the wrong type, an id that is not a VPC id)."""
        if not isinstance(body, str):
            raise InvalidEventError("queue message body is not text")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as err:
            raise InvalidEventError(f"queue message is not JSON we can read: {type(err).__name__}") from err
        if not isinstance(data, dict) or "vpc_id" not in data:
            raise InvalidEventError(f"queue message without a vpc_id: {reprlib.repr(body)}")
        if data.get("version") != MESSAGE_VERSION:
            raise InvalidEventError(
                f"queue message version {reprlib.repr(data.get('version'))}; expected {MESSAGE_VERSION}"
            )
        event_id, event_name = data.get("event_id"), data.get("event_name")
        release = data.get("release")
        if release is not None and not (
            isinstance(release, str) and (release == RELEASE_VPC or release.startswith("subnet-"))
        ):
            raise InvalidEventError(f"queue message with an unknown release: {reprlib.repr(release)}")
        account, region = data.get("account"), data.get("region")
        if (account, region) != (None, None) and not (
            isinstance(account, str)
            and ACCOUNT.fullmatch(account)
            and isinstance(region, str)
            and REGION.fullmatch(region)
        ):
            raise InvalidEventError(
                f"queue message with account {reprlib.repr(account)} and region {reprlib.repr(region)}: "
                "expected a 12-digit account id and a Region name, or neither"
            )
        return cls(
            valid_vpc_id(data["vpc_id"]),
            event_id if isinstance(event_id, str) else None,
            event_name if isinstance(event_name, str) else None,
            _text(data.get("dns_off_by")),
            release,
            _text(data.get("drift")),
            account,
            region,
        )

    @property
    def group_id(self) -> str:
        """The FIFO message group: everything about one VPC is processed in order, one at a time."""
        return self.key

    def deduplication_id(self, nonce: str) -> str:
        """Same event, same VPC: same id, so SQS drops a resend within its 5-minute window. Requests
        without an event id (a hand-run) are never duplicates of each other: ``nonce`` makes them unique."""
        key = f"{self.event_id}|{self.key}" if self.event_id else f"request|{self.key}|{nonce}"
        return hashlib.sha256(key.encode()).hexdigest()


def covered(sent_ms: int, reconciled_from_ms: int | None) -> bool:
    """True when a successful reconcile of the VPC started after this message was sent.

    The message was sent after the API call it reports had completed (CloudTrail records a call after
    it returns), so a reconcile that started later read the VPC with that change in it: the message has
    nothing left to do. This is what collapses a burst of events for one VPC into one reconcile.
    """
    return reconciled_from_ms is not None and sent_ms < reconciled_from_ms


def checked_group(result: ResultDocument, started_s: int) -> CheckedGroup | None:
    """What a successful reconcile proved about the managed group: when it read the group's rules (and
    fixed them), they were TCP 443 from the VPC's CIDR blocks. None when it did not read them."""
    if result["dry_run"] or result["security_group_rules"] != "read" or not result["security_group_id"]:
        return None
    return CheckedGroup(result["security_group_id"], tuple(result["vpc_cidrs"]), started_s)

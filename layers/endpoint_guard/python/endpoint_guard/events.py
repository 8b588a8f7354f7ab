"""Turn what the function receives into the VPCs to reconcile, or a named reason to skip it.

Accepted: the EventBridge envelope of a CloudTrail API call, a raw CloudTrail record, a
``{"Records": [...]}`` file, and a plain ``{"vpc_id": "vpc-..."}`` request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from endpoint_guard.errors import InvalidEventError

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
EXPECTED = (
    "an EventBridge 'AWS API Call via CloudTrail' event, a CloudTrail record, "
    'a {"Records": [...]} file, or {"vpc_id": "vpc-..."}'
)


@dataclass(frozen=True)
class Trigger:
    """One thing to act on: the VPCs it names, or why it is skipped."""

    event_id: str | None
    event_name: str | None
    vpc_ids: tuple[str, ...] = ()
    skip_reason: str | None = None


def _dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _create_vpc(detail: dict) -> tuple[str, ...]:
    vpc_id = _dig(detail, "responseElements", "vpc", "vpcId")
    if not vpc_id:
        raise InvalidEventError("CreateVpc event without responseElements.vpc.vpcId")
    return (vpc_id,)


# (eventSource, eventName) -> the VPC ids the call created or touched. Keyed on both: eventName alone is
# ambiguous (CreateCluster belongs to ECS, EKS, Redshift, MemoryDB...).
HANDLERS: dict[tuple[str, str], Callable[[dict], tuple[str, ...]]] = {
    ("ec2.amazonaws.com", "CreateVpc"): _create_vpc,
}


def _from_cloudtrail(detail: dict, event_id: str | None) -> Trigger:
    source, name = detail.get("eventSource"), detail.get("eventName")
    event_id = detail.get("eventID") or event_id
    if not source or not name:
        raise InvalidEventError(f"CloudTrail detail without eventSource/eventName; expected {EXPECTED}")
    if detail.get("errorCode"):
        return Trigger(event_id, name, skip_reason=f"failed call: {source} {name} returned {detail['errorCode']}")
    handler = HANDLERS.get((source, name))
    if handler is None:
        return Trigger(event_id, name, skip_reason=f"not a call endpoint-guard acts on: {source} {name}")
    vpc_ids = handler(detail)
    for vpc_id in vpc_ids:
        _check_vpc_id(vpc_id)
    return Trigger(event_id, name, vpc_ids=vpc_ids)


def _check_vpc_id(vpc_id: Any) -> str:
    if not isinstance(vpc_id, str) or not VPC_ID.match(vpc_id):
        raise InvalidEventError(f"{vpc_id!r} is not a VPC id (vpc- followed by 8 or 17 hex digits)")
    return vpc_id


def parse_event(event: Any) -> list[Trigger]:
    """What to do with ``event``. Raises InvalidEventError, naming what was expected, for anything else."""
    if not isinstance(event, dict):
        raise InvalidEventError(f"expected a JSON object: {EXPECTED}")
    if "detail-type" in event and "detail" in event:
        envelope = EventBridgeEvent(event)
        if envelope.detail_type != CLOUDTRAIL_DETAIL_TYPE:
            return [
                Trigger(
                    envelope.get_id,
                    envelope.detail_type,
                    skip_reason=f"not a CloudTrail API call event: {envelope.detail_type}",
                )
            ]
        if not isinstance(envelope.detail, dict):
            raise InvalidEventError(f"EventBridge event with no detail object; expected {EXPECTED}")
        return [_from_cloudtrail(envelope.detail, envelope.get_id)]
    if isinstance(event.get("Records"), list):
        if not all(isinstance(r, dict) for r in event["Records"]):
            raise InvalidEventError(f"Records must hold CloudTrail record objects; expected {EXPECTED}")
        return [_from_cloudtrail(r, None) for r in event["Records"]]
    if "eventSource" in event and "eventName" in event:
        return [_from_cloudtrail(event, None)]
    if "vpc_id" in event:
        return [Trigger(None, "request", vpc_ids=(_check_vpc_id(event["vpc_id"]),))]
    raise InvalidEventError(f"unrecognised input with keys {sorted(event)[:6]}; expected {EXPECTED}")

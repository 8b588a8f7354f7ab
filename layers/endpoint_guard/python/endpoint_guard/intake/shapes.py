"""CloudTrail's shapes, read (pure): the trigger an event makes and the targets a call names, and the
helpers that dig ids and flags out of either CloudTrail shape (older EC2 APIs' lower camel keys, newer
ones' per-operation wrappers)."""

from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Trigger:
    """One thing to act on: the VPCs it names (directly, or through subnets, route tables and ECS
    clusters that the adapters resolve), or why it is skipped."""

    event_id: str | None
    event_name: str | None
    vpc_ids: tuple[str, ...] = ()
    subnet_ids: tuple[str, ...] = ()
    route_table_ids: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    account: str | None = None
    skip_reason: str | None = None
    skip_kind: str | None = None
    dns_off_by: str | None = None  # the call turned the VPC's DNS attributes off; who made it
    release: str | None = None  # a delete failed on endpoint-guard's resources: RELEASE_VPC or the subnet id
    endpoint_ids: tuple[str, ...] = ()  # VPC endpoints the call touched (their VPC is looked up)
    group_ids: tuple[str, ...] = ()  # security groups the call touched (only endpoint-guard's count)
    drift: str | None = None  # the call may have broken what endpoint-guard built: "<call> by <who>"
    caller: str | None = None  # the role (session issuer) or user that made the call
    region: str | None = None  # the Region the call was made in (a hub's events come from many)
    path_group_ids: tuple[str, ...] = ()  # groups whose egress changed (found where they are in use)
    acl_ids: tuple[str, ...] = ()  # network ACLs whose rules or associations changed


@dataclass(frozen=True)
class Targets:
    vpc_ids: tuple[str, ...] = ()
    subnet_ids: tuple[str, ...] = ()
    route_table_ids: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    skip_reason: str | None = None
    skip_kind: str | None = None
    dns_off_by: str | None = None
    release: str | None = None
    endpoint_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    drift: bool = False
    path_group_ids: tuple[str, ...] = ()  # groups whose egress changed: their VPC is where they are in use
    acl_ids: tuple[str, ...] = ()  # network ACLs whose rules or associations changed
    path: bool = False  # the call changes a hop of the workloads' pulls


def dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def show(value: Any) -> str:
    """A value from the event, for an error message: bounded in length and depth."""
    return reprlib.repr(value)


def text(value: Any) -> str | None:
    """A string field of the event, or None when it is missing or not a string."""
    return value if isinstance(value, str) and value else None


def ids(value: Any, prefix: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(sorted({v for v in items if isinstance(v, str) and v.startswith(prefix)}))


def request_parameters(detail: dict[str, Any]) -> dict[str, Any]:
    """The call's parameters with their keys in lower camel case, whichever way CloudTrail wrote them:
    older EC2 APIs as ``{"vpcId": ...}``, newer ones wrapped per operation with upper camel keys
    (``{"ModifyVpcAttributeRequest": {"VpcId": ...}}``)."""
    params = detail.get("requestParameters")
    if not isinstance(params, dict):
        return {}
    if len(params) == 1:
        [(key, inner)] = params.items()
        if isinstance(key, str) and key.endswith("Request") and isinstance(inner, dict):
            params = inner
    return {(k[:1].lower() + k[1:] if isinstance(k, str) else k): v for k, v in params.items()}


def flag(value: Any) -> bool | None:
    """A boolean parameter as CloudTrail records it: ``{"value": false}``, ``{"Value": "false"}`` or bare."""
    if isinstance(value, dict):
        value = value.get("value", value.get("Value"))
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def actor(detail: dict[str, Any]) -> str | None:
    """Who made the call, as precisely as the record says: the ARN, else the principal or the type."""
    identity = detail.get("userIdentity")
    if not isinstance(identity, dict):
        return None
    issuer = dig(identity, "sessionContext", "sessionIssuer", "arn")
    return text(identity.get("arn")) or text(issuer) or text(identity.get("principalId")) or text(identity.get("type"))


def caller(detail: dict[str, Any]) -> str | None:
    """The IAM role behind an assumed-role session (its ARN, as a function's role has it), or the user."""
    identity = detail.get("userIdentity")
    if not isinstance(identity, dict):
        return None
    return text(dig(identity, "sessionContext", "sessionIssuer", "arn")) or text(identity.get("arn"))


MAX_IDS = 200  # far more ids than any one call names


def ids_in(value: Any, prefix: str, found: set[str] | None = None) -> tuple[str, ...]:
    """Every id with ``prefix`` anywhere in ``value``, however CloudTrail wrapped it: plain strings,
    lists, ``{"items": [...]}`` sets, ``{"tag": 1, "content": "..."}`` pairs, nested request objects."""
    found = set() if found is None else found
    stack = [value]
    while stack and len(found) < MAX_IDS:
        item = stack.pop()
        if isinstance(item, str):
            if re.fullmatch(re.escape(prefix) + "[0-9a-f]{8,17}", item):  # not vpc-cidr-assoc-..., sgr-...
                found.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return tuple(sorted(found))

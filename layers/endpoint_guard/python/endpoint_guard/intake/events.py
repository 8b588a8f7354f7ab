"""Turn what the function receives into the VPCs to reconcile, or a named reason to skip it.

Accepted: the EventBridge envelope of a CloudTrail API call, a raw CloudTrail record, a
``{"Records": [...]}`` file (or a bare array of records), and the plain requests ``{"vpc_id": "vpc-..."}``
and ``{"cluster": "<name or ARN>"}``.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from endpoint_guard.errors import InvalidEventError
from endpoint_guard.model import VPC_ID, valid_vpc_id
from endpoint_guard.observe import Skip
from endpoint_guard.worker.messages import RELEASE_VPC

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
EXPECTED = (
    "an EventBridge 'AWS API Call via CloudTrail' event, a CloudTrail record, "
    'a {"Records": [...]} file, {"vpc_id": "vpc-..."} or {"cluster": "<name or ARN>"}'
)
# An ECS cluster tag that names the VPC(s) the cluster's tasks will use, space-separated (tag values may
# not contain commas): endpoint-guard:vpc-ids = "vpc-0abc... vpc-0def...".
CLUSTER_VPC_TAG = "endpoint-guard:vpc-ids"


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


def _dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _show(value: Any) -> str:
    """A value from the event, for an error message: bounded in length and depth."""
    return reprlib.repr(value)


def _text(value: Any) -> str | None:
    """A string field of the event, or None when it is missing or not a string."""
    return value if isinstance(value, str) and value else None


def _ids(value: Any, prefix: str) -> tuple[str, ...]:
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


def _flag(value: Any) -> bool | None:
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
    issuer = _dig(identity, "sessionContext", "sessionIssuer", "arn")
    return (
        _text(identity.get("arn")) or _text(issuer) or _text(identity.get("principalId")) or _text(identity.get("type"))
    )


def caller(detail: dict[str, Any]) -> str | None:
    """The IAM role behind an assumed-role session (its ARN, as a function's role has it), or the user."""
    identity = detail.get("userIdentity")
    if not isinstance(identity, dict):
        return None
    return _text(_dig(identity, "sessionContext", "sessionIssuer", "arn")) or _text(identity.get("arn"))


def _modify_vpc_attribute(detail: dict[str, Any]) -> Targets:
    """ModifyVpcAttribute: only turning enableDnsSupport or enableDnsHostnames off matters (the private
    DNS of the interface endpoints stops resolving)."""
    params = request_parameters(detail)
    vpc_id = params.get("vpcId")
    if not vpc_id:
        raise InvalidEventError("ModifyVpcAttribute event without requestParameters.vpcId")
    if any(_flag(params.get(name)) is False for name in ("enableDnsSupport", "enableDnsHostnames")):
        return Targets(vpc_ids=(vpc_id,), dns_off_by=actor(detail) or "an unknown caller")
    return Targets(skip_reason="the call did not turn the VPC's DNS attributes off", skip_kind=Skip.NO_EFFECT)


DEPENDENCY_VIOLATION = ("DependencyViolation", "Client.DependencyViolation")
BLOCKABLE_DELETES = {("ec2.amazonaws.com", "DeleteSubnet"), ("ec2.amazonaws.com", "DeleteVpc")}


def _blocked_delete(name: str, detail: dict[str, Any]) -> Targets | None:
    """A DeleteSubnet or DeleteVpc that failed with DependencyViolation: endpoint-guard's resources may
    be what stands in the way (the worker checks, and releases only its own)."""
    if detail.get("errorCode") not in DEPENDENCY_VIOLATION:
        return None
    params = request_parameters(detail)
    if name == "DeleteSubnet" and (found := _ids(params.get("subnetId"), "subnet-")):
        return Targets(subnet_ids=found, release=found[0])
    if name == "DeleteVpc" and isinstance(params.get("vpcId"), str):
        return Targets(vpc_ids=(params["vpcId"],), release=RELEASE_VPC)
    raise InvalidEventError(f"failed {name} event without the id it tried to delete")


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


def _drift(detail: dict[str, Any]) -> Targets:
    """A call that may have broken what endpoint-guard built (an endpoint deleted or modified, the managed
    group deleted or its rules cut, a route table swapped or deleted, a CIDR block added or removed, a
    subnet deleted): the ids it names, in the request or the response, in either CloudTrail shape. The
    intake finds their VPC; an id endpoint-guard does not manage leads nowhere."""
    where = [detail.get("requestParameters"), detail.get("responseElements")]
    targets = Targets(
        vpc_ids=ids_in(where, "vpc-"),
        subnet_ids=ids_in(detail.get("requestParameters"), "subnet-"),
        route_table_ids=ids_in(where, "rtb-"),
        endpoint_ids=ids_in(detail.get("requestParameters"), "vpce-"),
        group_ids=ids_in(detail.get("requestParameters"), "sg-"),
        drift=True,
    )
    if not (
        targets.vpc_ids or targets.subnet_ids or targets.route_table_ids or targets.endpoint_ids or targets.group_ids
    ):
        return Targets(
            skip_reason=f"{detail.get('eventName')} names nothing endpoint-guard can look up", skip_kind=Skip.GONE
        )
    return targets


# The calls that can undo what endpoint-guard built (see _drift).
DRIFT_CALLS = (
    "DeleteVpcEndpoints",
    "ModifyVpcEndpoint",
    "DeleteSecurityGroup",
    "RevokeSecurityGroupIngress",
    "ModifySecurityGroupRules",
    "ReplaceRouteTableAssociation",
    "DisassociateRouteTable",
    "DeleteRouteTable",
    "AssociateVpcCidrBlock",
    "DisassociateVpcCidrBlock",
    "DeleteSubnet",
)


def _create_vpc(detail: dict[str, Any]) -> Targets:
    vpc_id = _dig(detail, "responseElements", "vpc", "vpcId")
    if not vpc_id:
        raise InvalidEventError("CreateVpc event without responseElements.vpc.vpcId")
    return Targets(vpc_ids=(vpc_id,))


def _in_vpc(*paths: tuple[str, ...]) -> Callable[[dict[str, Any]], Targets]:
    """Events whose request or response names the VPC itself (CreateSubnet, CreateRouteTable)."""

    def handler(detail: dict[str, Any]) -> Targets:
        for path in paths:
            if vpc_id := _dig(detail, *path):
                return Targets(vpc_ids=(vpc_id,))
        raise InvalidEventError(f"{detail.get('eventName')} event without a VPC id at {'.'.join(paths[0])}")

    return handler


def _associate_route_table(detail: dict[str, Any]) -> Targets:
    params = detail.get("requestParameters")
    params = params if isinstance(params, dict) else {}
    if not params.get("routeTableId"):
        raise InvalidEventError("AssociateRouteTable event without requestParameters.routeTableId")
    if not params.get("subnetId"):
        return Targets(
            skip_reason="route table associated with a gateway, not a subnet", skip_kind=Skip.GATEWAY_ASSOCIATION
        )
    found = _ids(params["routeTableId"], "rtb-")
    if not found:
        raise InvalidEventError(
            f"AssociateRouteTable event with no usable route table id: {_show(params['routeTableId'])}"
        )
    return Targets(route_table_ids=found)


DEFAULT_ROUTES = ("0.0.0.0/0", "::/0")


def _default_route(detail: dict[str, Any]) -> Targets:
    """CreateRoute / ReplaceRoute / DeleteRoute: a table's default route decides its tier (public,
    private, isolated), so a change of it moves the table's subnets between tiers. The usual case: a
    pipeline associates its private tables with their subnets, and routes them to a NAT gateway only
    once the gateway is up, minutes later; that route makes them private, and they get the S3 gateway.
    Other routes change no tier."""
    params = detail.get("requestParameters")
    params = params if isinstance(params, dict) else {}
    if not params.get("routeTableId"):
        raise InvalidEventError(f"{detail.get('eventName')} event without requestParameters.routeTableId")
    destination = params.get("destinationCidrBlock") or params.get("destinationIpv6CidrBlock")
    if destination not in DEFAULT_ROUTES:
        return Targets(
            skip_reason=f"a route to {destination or params.get('destinationPrefixListId') or 'a prefix list'} "
            "does not change its table's tier (only the default route does)",
            skip_kind=Skip.NO_EFFECT,
        )
    found = _ids(params["routeTableId"], "rtb-")
    if not found:
        raise InvalidEventError(
            f"{detail.get('eventName')} event with no usable route table id: {_show(params['routeTableId'])}"
        )
    return Targets(route_table_ids=found)


def _awsvpc_workload(detail: dict[str, Any]) -> Targets:
    """ECS CreateService / UpdateService / RunTask: the VPC of the awsvpc subnets (security groups may be
    absent from the request)."""
    subnets = _dig(detail, "requestParameters", "networkConfiguration", "awsvpcConfiguration", "subnets")
    if not subnets:
        return Targets(skip_reason="no awsvpc network configuration in the request", skip_kind=Skip.NO_AWSVPC)
    found = _ids(subnets, "subnet-")
    if not found:
        raise InvalidEventError(f"{detail.get('eventName')} event with no usable subnet ids: {_show(subnets)}")
    return Targets(subnet_ids=found)


def vpc_ids_in_tags(tags: Any) -> tuple[str, ...]:
    """The VPC ids a cluster's ``endpoint-guard:vpc-ids`` tag names. Takes the tag list as CloudTrail
    (``key``/``value``) and DescribeClusters (the same, lower case) write it; other tags are ignored."""
    if not isinstance(tags, list):
        return ()
    found: set[str] = set()
    for tag in tags:
        if isinstance(tag, dict) and tag.get("key") == CLUSTER_VPC_TAG and isinstance(tag.get("value"), str):
            words = re.split(r"[\s,;+/]+", tag["value"])
            found.update(w for w in words if VPC_ID.fullmatch(w))
    return tuple(sorted(found))


def _create_cluster(detail: dict[str, Any]) -> Targets:
    """ECS CreateCluster: the cluster has no VPC of its own. Its tag may name VPCs; its services,
    container instances and capacity providers are looked up by the intake (most appear later, with
    their own events)."""
    cluster = _dig(detail, "responseElements", "cluster", "clusterArn") or _dig(
        detail, "requestParameters", "clusterName"
    )
    if not isinstance(cluster, str) or not cluster:
        raise InvalidEventError(
            "CreateCluster event that names no cluster: "
            "expected responseElements.cluster.clusterArn or requestParameters.clusterName"
        )
    return Targets(vpc_ids=vpc_ids_in_tags(_dig(detail, "requestParameters", "tags")), clusters=(cluster,))


# (eventSource, eventName) -> what the call created or touched. Keyed on both: eventName alone is
# ambiguous (CreateCluster belongs to ECS, EKS, Redshift, MemoryDB...).
HANDLERS: dict[tuple[str, str], Callable[[dict[str, Any]], Targets]] = {
    ("ec2.amazonaws.com", "CreateVpc"): _create_vpc,
    ("ec2.amazonaws.com", "CreateSubnet"): _in_vpc(
        ("responseElements", "subnet", "vpcId"), ("requestParameters", "vpcId")
    ),
    ("ec2.amazonaws.com", "CreateRouteTable"): _in_vpc(
        ("responseElements", "routeTable", "vpcId"), ("requestParameters", "vpcId")
    ),
    ("ec2.amazonaws.com", "AssociateRouteTable"): _associate_route_table,
    **{("ec2.amazonaws.com", name): _default_route for name in ("CreateRoute", "ReplaceRoute", "DeleteRoute")},
    ("ec2.amazonaws.com", "ModifyVpcAttribute"): _modify_vpc_attribute,
    **{("ec2.amazonaws.com", name): _drift for name in DRIFT_CALLS},
    ("ecs.amazonaws.com", "CreateCluster"): _create_cluster,
    ("ecs.amazonaws.com", "CreateService"): _awsvpc_workload,
    ("ecs.amazonaws.com", "UpdateService"): _awsvpc_workload,
    ("ecs.amazonaws.com", "RunTask"): _awsvpc_workload,
}


def _account(detail: dict[str, Any], envelope_account: Any) -> str | None:
    return (
        _text(envelope_account)
        or _text(detail.get("recipientAccountId"))
        or _text(_dig(detail, "userIdentity", "accountId"))
    )


def _from_cloudtrail(
    detail: dict[str, Any], event_id: Any, envelope_account: Any = None, envelope_region: Any = None
) -> Trigger:
    source, name = _text(detail.get("eventSource")), _text(detail.get("eventName"))
    event_id = _text(detail.get("eventID")) or _text(event_id)
    account = _account(detail, envelope_account)
    region = _text(envelope_region) or _text(detail.get("awsRegion"))
    if not source or not name:
        raise InvalidEventError(f"CloudTrail detail without eventSource/eventName strings; expected {EXPECTED}")
    # A delete that endpoint-guard's resources blocked is the one failed call it acts on.
    blocked = _blocked_delete(name, detail) if (source, name) in BLOCKABLE_DELETES else None
    if blocked is not None:
        targets = blocked
    elif detail.get("errorCode"):
        return Trigger(
            event_id,
            name,
            account=account,
            region=region,
            skip_reason=f"failed call: {source} {name} returned {_show(detail['errorCode'])}",
            skip_kind=Skip.FAILED_CALL,
        )
    elif (handler := HANDLERS.get((source, name))) is None:
        return Trigger(
            event_id,
            name,
            account=account,
            region=region,
            skip_reason=f"not a call endpoint-guard acts on: {source} {name}",
            skip_kind=Skip.NOT_HANDLED,
        )
    else:
        targets = handler(detail)
    for vpc_id in targets.vpc_ids:
        valid_vpc_id(vpc_id)
    return Trigger(
        event_id,
        name,
        vpc_ids=targets.vpc_ids,
        subnet_ids=targets.subnet_ids,
        route_table_ids=targets.route_table_ids,
        clusters=targets.clusters,
        account=account,
        region=region,
        skip_reason=targets.skip_reason,
        skip_kind=targets.skip_kind,
        dns_off_by=targets.dns_off_by,
        release=targets.release,
        endpoint_ids=targets.endpoint_ids,
        group_ids=targets.group_ids,
        drift=f"{name} by {actor(detail) or 'an unknown caller'}" if targets.drift or targets.dns_off_by else None,
        caller=caller(detail),
    )


def foreign_account(trigger: Trigger, own_account: str | None) -> bool:
    """True when the event comes from another account than the function's own (when both are known)."""
    return bool(own_account and trigger.account and trigger.account != own_account)


def _from_envelope(event: dict[str, Any]) -> Trigger:
    if not isinstance(event["detail-type"], str) or not isinstance(event["detail"], dict):
        # An EventBridge pattern has the same keys, with lists for values.
        raise InvalidEventError(
            f"this looks like an EventBridge pattern or a broken envelope, not an event; expected {EXPECTED}"
        )
    envelope = EventBridgeEvent(event)
    event_id = _text(event.get("id"))  # optional here: the data class raises KeyError on a missing field
    if envelope.detail_type != CLOUDTRAIL_DETAIL_TYPE:
        return Trigger(
            event_id,
            envelope.detail_type,
            skip_reason=f"not a CloudTrail API call event: {envelope.detail_type}",
            skip_kind=Skip.NOT_CLOUDTRAIL,
        )
    return _from_cloudtrail(envelope.detail, event_id, event.get("account"), event.get("region"))


MAX_NAME = 2048  # an ECS cluster name or ARN is far shorter


def parse_event(event: Any) -> list[Trigger]:
    """What to do with ``event``. Raises InvalidEventError, naming what was expected, for anything else
    (whatever its shape: a field of the wrong type, nesting too deep for Python, a huge value)."""
    try:
        return _parse(event)
    except InvalidEventError:
        raise
    except (TypeError, AttributeError, KeyError, ValueError, RecursionError) as err:
        raise InvalidEventError(f"malformed event ({type(err).__name__}); expected {EXPECTED}") from err


def _parse(event: Any) -> list[Trigger]:
    if isinstance(event, list) and event and all(isinstance(r, dict) and "eventSource" in r for r in event):
        return [_from_cloudtrail(r, None) for r in event]  # a bare array of records, as some exports write them
    if not isinstance(event, dict):
        raise InvalidEventError(f"expected a JSON object: {EXPECTED}")
    if "detail-type" in event and "detail" in event:
        return [_from_envelope(event)]
    if isinstance(event.get("Records"), list):
        if not all(isinstance(r, dict) for r in event["Records"]):
            raise InvalidEventError(f"Records must hold CloudTrail record objects; expected {EXPECTED}")
        return [_from_cloudtrail(r, None) for r in event["Records"]]
    if "eventSource" in event and "eventName" in event:
        return [_from_cloudtrail(event, None)]
    if "vpc_id" in event:
        return [Trigger(None, "request", vpc_ids=(valid_vpc_id(event["vpc_id"]),))]
    if "cluster" in event:
        cluster = event["cluster"]
        if not isinstance(cluster, str) or not cluster.strip() or len(cluster) > MAX_NAME:
            raise InvalidEventError('"cluster" must be an ECS cluster name or ARN')
        return [Trigger(None, "request", clusters=(event["cluster"].strip(),))]
    raise InvalidEventError(f"unrecognised input with keys {_show(sorted(map(str, event))[:6])}; expected {EXPECTED}")

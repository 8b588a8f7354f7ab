"""Turn what the function receives into the VPCs to reconcile, or a named reason to skip it.

Accepted: the EventBridge envelope of a CloudTrail API call, a raw CloudTrail record, a
``{"Records": [...]}`` file (or a bare array of records), and the plain requests ``{"vpc_id": "vpc-..."}``
and ``{"cluster": "<name or ARN>"}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from endpoint_guard.errors import InvalidEventError
from endpoint_guard.intake import securityhub
from endpoint_guard.intake.changes import (
    BLOCKABLE_DELETES,
    DRIFT_CALLS,
    blocked_delete,
    drift,
    modify_vpc_attribute,
    path_change,
)
from endpoint_guard.intake.shapes import (
    Targets,
    Trigger,
    actor,
    caller,
    dig,
    ids,
    show,
    text,
)
from endpoint_guard.model import VPC_ID, valid_vpc_id
from endpoint_guard.observe import Skip
from endpoint_guard.worker.messages import PATH_CALLS

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
EXPECTED = (
    "an EventBridge 'AWS API Call via CloudTrail' or 'Security Hub Findings - Imported' event, a CloudTrail record, "
    'a {"Records": [...]} file, {"vpc_id": "vpc-..."} or {"cluster": "<name or ARN>"}'
)
# An ECS cluster tag that names the VPC(s) the cluster's tasks will use, space-separated (tag values may
# not contain commas): endpoint-guard:vpc-ids = "vpc-0abc... vpc-0def...".
CLUSTER_VPC_TAG = "endpoint-guard:vpc-ids"


def _create_vpc(detail: dict[str, Any]) -> Targets:
    vpc_id = dig(detail, "responseElements", "vpc", "vpcId")
    if not vpc_id:
        raise InvalidEventError("CreateVpc event without responseElements.vpc.vpcId")
    return Targets(vpc_ids=(vpc_id,))


def _in_vpc(*paths: tuple[str, ...]) -> Callable[[dict[str, Any]], Targets]:
    """Events whose request or response names the VPC itself (CreateSubnet, CreateRouteTable)."""

    def handler(detail: dict[str, Any]) -> Targets:
        for path in paths:
            if vpc_id := dig(detail, *path):
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
    found = ids(params["routeTableId"], "rtb-")
    if not found:
        raise InvalidEventError(
            f"AssociateRouteTable event with no usable route table id: {show(params['routeTableId'])}"
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
    found = ids(params["routeTableId"], "rtb-")
    if not found:
        raise InvalidEventError(
            f"{detail.get('eventName')} event with no usable route table id: {show(params['routeTableId'])}"
        )
    return Targets(route_table_ids=found)


def _awsvpc_workload(detail: dict[str, Any]) -> Targets:
    """ECS CreateService / UpdateService / RunTask: the VPC of the awsvpc subnets (security groups may be
    absent from the request)."""
    subnets = dig(detail, "requestParameters", "networkConfiguration", "awsvpcConfiguration", "subnets")
    if not subnets:
        return Targets(skip_reason="no awsvpc network configuration in the request", skip_kind=Skip.NO_AWSVPC)
    found = ids(subnets, "subnet-")
    if not found:
        raise InvalidEventError(f"{detail.get('eventName')} event with no usable subnet ids: {show(subnets)}")
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
    cluster = dig(detail, "responseElements", "cluster", "clusterArn") or dig(
        detail, "requestParameters", "clusterName"
    )
    if not isinstance(cluster, str) or not cluster:
        raise InvalidEventError(
            "CreateCluster event that names no cluster: "
            "expected responseElements.cluster.clusterArn or requestParameters.clusterName"
        )
    return Targets(vpc_ids=vpc_ids_in_tags(dig(detail, "requestParameters", "tags")), clusters=(cluster,))


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
    ("ec2.amazonaws.com", "ModifyVpcAttribute"): modify_vpc_attribute,
    **{("ec2.amazonaws.com", name): drift for name in DRIFT_CALLS},
    **{("ec2.amazonaws.com", name): path_change for name in PATH_CALLS},
    ("ecs.amazonaws.com", "CreateCluster"): _create_cluster,
    ("ecs.amazonaws.com", "CreateService"): _awsvpc_workload,
    ("ecs.amazonaws.com", "UpdateService"): _awsvpc_workload,
    ("ecs.amazonaws.com", "RunTask"): _awsvpc_workload,
}


def _account(detail: dict[str, Any], envelope_account: Any) -> str | None:
    return (
        text(envelope_account)
        or text(detail.get("recipientAccountId"))
        or text(dig(detail, "userIdentity", "accountId"))
    )


def _from_cloudtrail(
    detail: dict[str, Any], event_id: Any, envelope_account: Any = None, envelope_region: Any = None
) -> Trigger:
    source, name = text(detail.get("eventSource")), text(detail.get("eventName"))
    event_id = text(detail.get("eventID")) or text(event_id)
    account = _account(detail, envelope_account)
    region = text(envelope_region) or text(detail.get("awsRegion"))
    if not source or not name:
        raise InvalidEventError(f"CloudTrail detail without eventSource/eventName strings; expected {EXPECTED}")
    # A delete that endpoint-guard's resources blocked is the one failed call it acts on.
    blocked = blocked_delete(name, detail) if (source, name) in BLOCKABLE_DELETES else None
    if blocked is not None:
        targets = blocked
    elif detail.get("errorCode"):
        return Trigger(
            event_id,
            name,
            account=account,
            region=region,
            skip_reason=f"failed call: {source} {name} returned {show(detail['errorCode'])}",
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
        path_group_ids=targets.path_group_ids,
        acl_ids=targets.acl_ids,
    )


def foreign_account(trigger: Trigger, own_account: str | None) -> bool:
    """True when the event comes from another account than the function's own (when both are known)."""
    return bool(own_account and trigger.account and trigger.account != own_account)


def _from_envelope(event: dict[str, Any]) -> list[Trigger]:
    if not isinstance(event["detail-type"], str) or not isinstance(event["detail"], dict):
        # An EventBridge pattern has the same keys, with lists for values.
        raise InvalidEventError(
            f"this looks like an EventBridge pattern or a broken envelope, not an event; expected {EXPECTED}"
        )
    envelope = EventBridgeEvent(event)
    event_id = text(event.get("id"))  # optional here: the data class raises KeyError on a missing field
    if envelope.detail_type == securityhub.DETAIL_TYPE:
        return securityhub.from_findings(event)
    if envelope.detail_type != CLOUDTRAIL_DETAIL_TYPE:
        return [
            Trigger(
                event_id,
                envelope.detail_type,
                skip_reason=f"not a CloudTrail API call event: {envelope.detail_type}",
                skip_kind=Skip.NOT_CLOUDTRAIL,
            )
        ]
    return [_from_cloudtrail(envelope.detail, event_id, event.get("account"), event.get("region"))]


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
        return _from_envelope(event)
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
    raise InvalidEventError(f"unrecognised input with keys {show(sorted(map(str, event))[:6])}; expected {EXPECTED}")

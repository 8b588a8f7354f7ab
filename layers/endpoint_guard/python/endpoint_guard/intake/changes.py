"""The intake's handlers for calls that change a VPC after it is built (pure): DNS attributes turned
off, a delete that endpoint-guard's resources blocked, the calls that may undo what it built (drift),
and those that change a hop of the workloads' pulls (security group egress, network ACLs, DHCP
options)."""

from __future__ import annotations

from typing import Any

from endpoint_guard.errors import InvalidEventError
from endpoint_guard.intake.shapes import Targets, actor, flag, ids, ids_in, request_parameters
from endpoint_guard.observe import Skip
from endpoint_guard.worker.messages import RELEASE_VPC


def modify_vpc_attribute(detail: dict[str, Any]) -> Targets:
    """ModifyVpcAttribute: only turning enableDnsSupport or enableDnsHostnames off matters (the private
    DNS of the interface endpoints stops resolving)."""
    params = request_parameters(detail)
    vpc_id = params.get("vpcId")
    if not vpc_id:
        raise InvalidEventError("ModifyVpcAttribute event without requestParameters.vpcId")
    if any(flag(params.get(name)) is False for name in ("enableDnsSupport", "enableDnsHostnames")):
        return Targets(vpc_ids=(vpc_id,), dns_off_by=actor(detail) or "an unknown caller")
    return Targets(skip_reason="the call did not turn the VPC's DNS attributes off", skip_kind=Skip.NO_EFFECT)


DEPENDENCY_VIOLATION = ("DependencyViolation", "Client.DependencyViolation")
BLOCKABLE_DELETES = {("ec2.amazonaws.com", "DeleteSubnet"), ("ec2.amazonaws.com", "DeleteVpc")}


def blocked_delete(name: str, detail: dict[str, Any]) -> Targets | None:
    """A DeleteSubnet or DeleteVpc that failed with DependencyViolation: endpoint-guard's resources may
    be what stands in the way (the worker checks, and releases only its own)."""
    if detail.get("errorCode") not in DEPENDENCY_VIOLATION:
        return None
    params = request_parameters(detail)
    if name == "DeleteSubnet" and (found := ids(params.get("subnetId"), "subnet-")):
        return Targets(subnet_ids=found, release=found[0])
    if name == "DeleteVpc" and isinstance(params.get("vpcId"), str):
        return Targets(vpc_ids=(params["vpcId"],), release=RELEASE_VPC)
    raise InvalidEventError(f"failed {name} event without the id it tried to delete")


def drift(detail: dict[str, Any]) -> Targets:
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


# The calls that can undo what endpoint-guard built (see drift).
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


# Groups and ACLs change all the time (``worker.messages.PATH_CALLS``): the intake keeps such a call only when, with one
# read, the group is found on a network interface in use (a task, an instance, an endpoint) or the ACL on
# a subnet, and goes to that VPC.


def path_change(detail: dict[str, Any]) -> Targets:
    """A call that may break (or mend) the workloads' pulls: its group, ACL or VPC, in either CloudTrail
    shape (the worker reads the workloads and judges their paths again)."""
    params = request_parameters(detail)
    if detail.get("eventName") == "AssociateDhcpOptions":
        found = ids(params.get("vpcId"), "vpc-")
        if not found:
            raise InvalidEventError("AssociateDhcpOptions event without requestParameters.vpcId")
        return Targets(vpc_ids=found, path=True)
    groups = ids_in(params.get("groupId"), "sg-")
    acls = ids_in(params.get("networkAclId"), "acl-")
    if not (groups or acls):
        return Targets(skip_reason=f"{detail.get('eventName')} names no group or ACL", skip_kind=Skip.GONE)
    return Targets(path_group_ids=groups, acl_ids=acls, path=True)

"""Carry out a plan's typed actions through the EC2 port, in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from endpoint_guard.errors import AwsCallError, EndpointGuardError
from endpoint_guard.reconcile.actions import SECURITY_GROUP_REF, TARGET_SECURITY_GROUP, Action, Operation, Plan
from endpoint_guard.reconcile.ports import Ec2Port


@dataclass
class Applied:
    """What happened: per action (same order as the plan) an error or None; ids produced, by target."""

    errors: list[str | None] = field(default_factory=list)
    created_ids: dict[str, str] = field(default_factory=dict)
    # Per action: the AWS error code and whether a retry may cure it (None where it did not fail on AWS).
    codes: list[tuple[str, bool] | None] = field(default_factory=list)

    def target_error(self, plan: Plan, target: str) -> str | None:
        return next((e for a, e in zip(plan.actions, self.errors, strict=False) if a.target == target and e), None)


class Pacer(Protocol):
    """The account-Region's endpoint pace (``worker.pacing.Pacer``). ``reserve`` takes the slots of a
    plan's endpoint calls before the first of them; calling it waits for the next slot. Both raise
    OutOfTimeError when the invocation cannot wait that long."""

    def reserve(self, calls: int) -> None: ...
    def __call__(self) -> None: ...


ENDPOINT_OPERATIONS = frozenset(
    {Operation.CREATE_VPC_ENDPOINT, Operation.MODIFY_VPC_ENDPOINT, Operation.DELETE_VPC_ENDPOINTS}
)


def apply(plan: Plan, ec2: Ec2Port, pace: Pacer | None = None) -> Applied:
    """A failed action fails its target; later actions that require a failed target are skipped, the
    rest still run. ``pace`` is asked before every endpoint call (EC2 throttles those hardest); when it
    runs out of time the error goes up, and what was done stays done."""
    applied = Applied()
    failed: set[str] = set()
    group_id: str | None = None
    if pace is not None:  # all the VPC's slots, or none of its changes
        pace.reserve(sum(1 for a in plan.actions if a.operation in ENDPOINT_OPERATIONS))
    for action in plan.actions:
        blocked = [t for t in action.requires if t in failed]
        if blocked:
            applied.errors.append(f"skipped: an earlier {', '.join(blocked)} action failed")
            applied.codes.append(None)
            failed.add(action.target)
            continue
        if pace is not None and action.operation in ENDPOINT_OPERATIONS:
            pace()
        try:
            produced = _carry_out(action, _resolve(action.params, group_id), ec2)
        except EndpointGuardError as err:
            applied.errors.append(str(err))
            applied.codes.append(
                (err.code, err.retryable) if isinstance(err, AwsCallError) else (err.kind, err.retryable)
            )
            failed.add(action.target)
            continue
        applied.errors.append(None)
        applied.codes.append(None)
        if action.target == TARGET_SECURITY_GROUP and action.operation is Operation.CREATE_SECURITY_GROUP:
            group_id = produced
        if produced:
            applied.created_ids[action.target] = produced
    return applied


def _carry_out(action: Action, params: dict[str, Any], ec2: Ec2Port) -> str | None:
    match action.operation:
        case Operation.ENABLE_VPC_ATTRIBUTE:
            ec2.enable_vpc_attribute(params["VpcId"], params["Attribute"])
        case Operation.CREATE_SECURITY_GROUP:
            return ec2.create_security_group(params)
        case Operation.AUTHORIZE_INGRESS:
            ec2.authorize_ingress(params["GroupId"], params["IpPermissions"])
        case Operation.REVOKE_INGRESS:
            ec2.revoke_ingress(params["GroupId"], params["IpPermissions"])
        case Operation.CREATE_VPC_ENDPOINT:
            return ec2.create_vpc_endpoint(params)
        case Operation.MODIFY_VPC_ENDPOINT:
            ec2.modify_vpc_endpoint(params)
        case Operation.DELETE_VPC_ENDPOINTS:
            ec2.delete_vpc_endpoints(params["VpcEndpointIds"])
        case Operation.DELETE_SECURITY_GROUP:
            ec2.delete_security_group(params["GroupId"])
    return None


def _resolve(params: dict[str, Any], group_id: str | None) -> dict[str, Any]:
    """Put the id of the group this run created where the plan wrote SECURITY_GROUP_REF."""
    if group_id is None:
        return params
    resolved = dict(params)
    for key in ("SecurityGroupIds", "AddSecurityGroupIds"):
        if key in resolved:
            resolved[key] = [group_id if g == SECURITY_GROUP_REF else g for g in resolved[key]]
    if resolved.get("GroupId") == SECURITY_GROUP_REF:
        resolved["GroupId"] = group_id
    return resolved

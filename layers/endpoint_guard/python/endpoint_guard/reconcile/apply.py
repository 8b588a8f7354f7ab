"""Carry out a plan's typed actions through the EC2 port, in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from endpoint_guard.errors import EndpointGuardError
from endpoint_guard.reconcile.actions import SECURITY_GROUP_REF, TARGET_SECURITY_GROUP, Action, Operation, Plan
from endpoint_guard.reconcile.ports import Ec2Port


@dataclass
class Applied:
    """What happened: per action (same order as the plan) an error or None; ids produced, by target."""

    errors: list[str | None] = field(default_factory=list)
    created_ids: dict[str, str] = field(default_factory=dict)

    def target_error(self, plan: Plan, target: str) -> str | None:
        return next((e for a, e in zip(plan.actions, self.errors, strict=False) if a.target == target and e), None)


def apply(plan: Plan, ec2: Ec2Port) -> Applied:
    """A failed action fails its target; later actions that require a failed target are skipped, the
    rest still run."""
    applied = Applied()
    failed: set[str] = set()
    group_id: str | None = None
    for action in plan.actions:
        blocked = [t for t in action.requires if t in failed]
        if blocked:
            applied.errors.append(f"skipped: an earlier {', '.join(blocked)} action failed")
            failed.add(action.target)
            continue
        try:
            produced = _carry_out(action, _resolve(action.params, group_id), ec2)
        except EndpointGuardError as err:
            applied.errors.append(str(err))
            failed.add(action.target)
            continue
        applied.errors.append(None)
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

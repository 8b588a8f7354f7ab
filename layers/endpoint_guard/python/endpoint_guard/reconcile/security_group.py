"""The dedicated security group of the interface endpoints: TCP 443 from the VPC's CIDR blocks, and
nothing else (pure)."""

from __future__ import annotations

from typing import Any

from endpoint_guard.model import IngressRule, Snapshot
from endpoint_guard.reconcile.actions import (
    SECURITY_GROUP_DESCRIPTION,
    SECURITY_GROUP_NAME,
    SECURITY_GROUP_REF,
    TARGET_SECURITY_GROUP,
    Action,
    Operation,
    Plan,
    managed_tags,
)


def desired_ingress(snapshot: Snapshot) -> frozenset[IngressRule]:
    """TCP 443 from each of the VPC's CIDR blocks, and nothing else."""
    return frozenset(IngressRule("tcp", 443, 443, c) for c in snapshot.cidrs)


def plan_security_group(snapshot: Snapshot, result: Plan) -> None:
    """Create the group when it is missing, then hold its ingress to the desired rules."""
    desired = desired_ingress(snapshot)
    group = snapshot.security_group
    current = group.ingress if group else frozenset()
    if group is None:
        result.actions.append(
            Action(
                kind="create_security_group",
                target=TARGET_SECURITY_GROUP,
                description=f"create security group {SECURITY_GROUP_NAME} in {snapshot.vpc_id}",
                operation=Operation.CREATE_SECURITY_GROUP,
                params={
                    "GroupName": SECURITY_GROUP_NAME,
                    "Description": SECURITY_GROUP_DESCRIPTION,
                    "VpcId": snapshot.vpc_id,
                    "TagSpecifications": [
                        {"ResourceType": "security-group", "Tags": managed_tags(SECURITY_GROUP_NAME)}
                    ],
                },
            )
        )
    group_id = group.group_id if group else SECURITY_GROUP_REF
    group_label = group.group_id if group else f"the new group {SECURITY_GROUP_NAME}"
    missing = sorted(desired - current, key=lambda r: r.cidr)
    extra = sorted(current - desired, key=lambda r: r.cidr)
    if missing:
        result.actions.append(
            Action(
                kind="authorize_ingress",
                target=TARGET_SECURITY_GROUP,
                description=f"allow TCP 443 into {group_label} from {', '.join(r.cidr for r in missing)}",
                operation=Operation.AUTHORIZE_INGRESS,
                params={"GroupId": group_id, "IpPermissions": permissions(missing)},
                requires=(TARGET_SECURITY_GROUP,),
            )
        )
    if extra:
        result.actions.append(
            Action(
                kind="revoke_ingress",
                target=TARGET_SECURITY_GROUP,
                description=f"remove ingress rules from {group_label} that are not TCP 443 from the VPC: "
                + ", ".join(f"{r.protocol}:{r.from_port}-{r.to_port} from {r.cidr}" for r in extra),
                operation=Operation.REVOKE_INGRESS,
                params={"GroupId": group_id, "IpPermissions": permissions(extra)},
                requires=(TARGET_SECURITY_GROUP,),
            )
        )


def permissions(rules: list[IngressRule]) -> list[dict[str, Any]]:
    """Ingress rules as the API's IpPermissions, one entry per protocol and port range."""
    grouped: dict[tuple[str, int | None, int | None], dict[str, Any]] = {}
    for r in rules:
        perm = grouped.setdefault(
            (r.protocol, r.from_port, r.to_port),
            {"IpProtocol": r.protocol, "IpRanges": [], "Ipv6Ranges": []},
        )
        if r.from_port is not None:
            perm["FromPort"], perm["ToPort"] = r.from_port, r.to_port
        if ":" in r.cidr:
            perm["Ipv6Ranges"].append({"CidrIpv6": r.cidr})
        else:
            perm["IpRanges"].append({"CidrIp": r.cidr})
    return [{k: v for k, v in p.items() if v != []} for p in grouped.values()]

"""Standing aside: take out what endpoint-guard created in a VPC (its tagged endpoints and security
group, nothing else) so the VPC's owner can delete it, or take one subnet out of its endpoints so the
owner can delete that subnet (pure planning; ``run.release`` reads and applies)."""

from __future__ import annotations

from collections.abc import Iterable

from endpoint_guard.model import Endpoint
from endpoint_guard.profile import INTERFACE
from endpoint_guard.reconcile.actions import TARGET_SECURITY_GROUP, Action, Operation, Plan

TARGET_ENDPOINTS = "endpoints"


def plan_release(vpc_id: str, endpoints: Iterable[Endpoint], group_id: str | None, subnet_id: str | None) -> Plan:
    """With ``subnet_id``: every managed interface endpoint in that subnet leaves it (an endpoint whose
    only subnet it is, is deleted: an interface endpoint cannot have none). Without: every managed
    endpoint is deleted, then the managed group (after the endpoints, whose ENIs use it)."""
    ours = sorted((e for e in endpoints if e.managed and e.live), key=lambda e: e.endpoint_id)
    plan = Plan(vpc_id=vpc_id)
    if subnet_id is not None:
        in_subnet = [e for e in ours if e.type == INTERFACE and subnet_id in e.subnet_ids]
        gone = [e.endpoint_id for e in in_subnet if len(e.subnet_ids) == 1]
        for e in in_subnet:
            if e.endpoint_id not in gone:
                plan.actions.append(
                    Action(
                        kind="remove_subnet",
                        target=TARGET_ENDPOINTS,
                        description=f"take {subnet_id} out of {e.endpoint_id}",
                        operation=Operation.MODIFY_VPC_ENDPOINT,
                        params={"VpcEndpointId": e.endpoint_id, "RemoveSubnetIds": [subnet_id]},
                    )
                )
        if gone:
            plan.actions.append(_delete(gone, f"(their only subnet is {subnet_id})"))
        return plan
    if ours:
        plan.actions.append(_delete([e.endpoint_id for e in ours], "(made by endpoint-guard)"))
    if group_id:
        plan.actions.append(
            Action(
                kind="delete_security_group",
                target=TARGET_SECURITY_GROUP,
                description=f"delete security group {group_id} (made by endpoint-guard)",
                operation=Operation.DELETE_SECURITY_GROUP,
                params={"GroupId": group_id},
                requires=(TARGET_ENDPOINTS,),
            )
        )
    return plan


def plan_prune(vpc_id: str, endpoints: Iterable[Endpoint], endpoint_ids: Iterable[str]) -> Plan:
    """Delete the endpoints among ``endpoint_ids`` that are endpoint-guard's own live interface endpoints
    (the cost-aware profile's ``prunable``: they clearly do not pay). Anyone else's is never touched."""
    asked = set(endpoint_ids)
    ours = sorted(
        e.endpoint_id for e in endpoints if e.endpoint_id in asked and e.managed and e.live and e.type == INTERFACE
    )
    plan = Plan(vpc_id=vpc_id)
    if ours:
        plan.actions.append(_delete(ours, "(made by endpoint-guard; they do not pay here)"))
    return plan


def _delete(endpoint_ids: list[str], why: str) -> Action:
    return Action(
        kind="delete_endpoints",
        target=TARGET_ENDPOINTS,
        description=f"delete {', '.join(endpoint_ids)} {why}",
        operation=Operation.DELETE_VPC_ENDPOINTS,
        params={"VpcEndpointIds": endpoint_ids},
    )

"""From a parsed trigger to the VPCs to reconcile, asking AWS where the event only names subnets, route
tables or an ECS cluster. Every way of finding nothing is a named skip, not an error."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from endpoint_guard.aws import Services
from endpoint_guard.intake.events import foreign_account, vpc_ids_in_tags
from endpoint_guard.intake.shapes import Trigger
from endpoint_guard.model import IGNORE_TAG, ignored
from endpoint_guard.observe import Skip


@dataclass(frozen=True)
class Resolution:
    vpc_ids: tuple[str, ...] = ()
    skip_kind: str | None = None
    skip_reason: str | None = None
    # VPCs another account owns and shares with the acting one (RAM): vpc id -> owner. Only the owner
    # can create endpoints in them (AWS refuses a participant: "does not support shared VPCs").
    shared: tuple[tuple[str, str], ...] = ()


class Records(Protocol):
    """What endpoint-guard recorded of the resources it manages (the state table): their VPCs by id."""

    def vpcs_of_resources(self, resource_ids: Iterable[str]) -> tuple[str, ...]: ...

    def within(self, scope: str) -> Records:
        """The records of one member account-Region (a hub's)."""


def resolve(
    trigger: Trigger,
    aws: Services,
    own_account: str | None,
    own_roles: frozenset[str] = frozenset(),
    records: Records | None = None,
    acting_account: str | None = None,
) -> Resolution:
    """``acting_account``: the account the lookups (and the reconcile) act in, when known (default
    ``own_account``): a VPC owned by another account is returned in ``shared``, not in ``vpc_ids``."""
    acting_account = acting_account or own_account
    if trigger.skip_reason:
        return Resolution(skip_kind=trigger.skip_kind or Skip.NOT_HANDLED, skip_reason=trigger.skip_reason)
    if foreign_account(trigger, own_account):
        return Resolution(
            skip_kind=Skip.FOREIGN_ACCOUNT,
            skip_reason=f"event from account {trigger.account}; this function manages account {own_account}",
        )
    if trigger.caller and trigger.caller in own_roles:
        return Resolution(
            skip_kind=Skip.OWN_CALL, skip_reason=f"endpoint-guard's own call ({trigger.caller}): nothing drifted"
        )
    found = _named_vpcs(trigger, aws, records)
    unresolved, missing = [], []
    for cluster in trigger.clusters:
        vpcs = cluster_vpcs(cluster, aws)
        if vpcs is None:
            missing.append(cluster)
        elif not vpcs:
            unresolved.append(cluster)
        else:
            found += vpcs
    vpc_ids = tuple(dict.fromkeys(found))
    shared: tuple[tuple[str, str], ...] = ()
    if vpc_ids and not trigger.release:  # a release only removes endpoint-guard's own: ignore or not
        described = aws.lookups.vpcs(vpc_ids)
        ignored_ids = {v["VpcId"] for v in described if ignored(v)}
        if ignored_ids == set(vpc_ids):
            return Resolution(
                skip_kind=Skip.OPTED_OUT,
                skip_reason=f"{', '.join(vpc_ids)} tagged {IGNORE_TAG} = true: endpoint-guard leaves it alone",
            )
        shared = tuple(
            (str(v["VpcId"]), str(v["OwnerId"]))
            for v in described
            if acting_account and v.get("OwnerId") not in (None, acting_account) and v["VpcId"] not in ignored_ids
        )
        vpc_ids = tuple(v for v in vpc_ids if v not in ignored_ids and v not in dict(shared))
        if shared and not vpc_ids:
            return Resolution(
                skip_kind=Skip.SHARED_VPC,
                skip_reason="; ".join(
                    f"{vpc} is account {owner}'s, shared with {acting_account}: only its owner can create "
                    "endpoints in it (endpoint-guard acts on it there)"
                    for vpc, owner in shared
                ),
                shared=shared,
            )
    if vpc_ids:
        return Resolution(vpc_ids, shared=shared)
    if unresolved:
        return Resolution(
            skip_kind=Skip.CLUSTER_UNRESOLVED,
            skip_reason=(
                f"cluster {', '.join(unresolved)} has no VPC yet (no endpoint-guard:vpc-ids tag, awsvpc service, "
                "container instance or Auto Scaling capacity provider); its services and tasks will trigger later"
            ),
        )
    if missing:
        return Resolution(skip_kind=Skip.GONE, skip_reason=f"cluster {', '.join(missing)} does not exist (any more)")
    if trigger.path_group_ids or trigger.acl_ids:
        named = ", ".join((*trigger.path_group_ids, *trigger.acl_ids))
        return Resolution(
            skip_kind=Skip.NO_EFFECT,
            skip_reason=f"{named}: on no network interface in use, or on no subnet (no pull crosses it)",
        )
    return Resolution(
        skip_kind=Skip.GONE,
        skip_reason="what the event names no longer exists, or is not endpoint-guard's (nothing to repair)",
    )


def _named_vpcs(trigger: Trigger, aws: Services, records: Records | None) -> list[str]:
    """The VPCs of what the trigger names (clusters aside): its VPCs, those of its subnets, route tables,
    endpoints and endpoint-guard's groups, and, for a hop of the pulls, those where its group is in use
    or its ACL is on a subnet (one read each); for drift on something deleted since, the records'."""
    found = list(trigger.vpc_ids)
    found += aws.lookups.vpcs_of(trigger.subnet_ids, trigger.route_table_ids)
    found += aws.lookups.vpcs_of_endpoints(trigger.endpoint_ids)
    found += aws.lookups.vpcs_of_managed_groups(trigger.group_ids)
    if trigger.path_group_ids:
        found += aws.lookups.vpcs_of_groups_in_use(trigger.path_group_ids)
    if trigger.acl_ids:
        found += aws.lookups.vpcs_of_acls(trigger.acl_ids)
    if trigger.drift and not found and records is not None:  # deleted since: what endpoint-guard recorded
        found += records.vpcs_of_resources(
            (*trigger.endpoint_ids, *trigger.group_ids, *trigger.subnet_ids, *trigger.route_table_ids)
        )
    return found


def cluster_vpcs(cluster: str, aws: Services) -> tuple[str, ...] | None:
    """The VPCs an ECS cluster uses, from everything the cluster says about itself: its
    ``endpoint-guard:vpc-ids`` tag, its services' awsvpc subnets, its container instances, and the
    subnets of its capacity providers' Auto Scaling groups. None when the cluster does not exist."""
    described = aws.ecs.cluster(cluster)
    if described is None:
        return None
    arn = described["clusterArn"]
    vpcs = set(vpc_ids_in_tags(described.get("tags")))
    subnets = set(aws.ecs.service_subnets(arn))
    groups = aws.ecs.capacity_provider_groups(described.get("capacityProviders") or [])
    subnets.update(aws.autoscaling.group_subnets(groups))
    vpcs.update(aws.lookups.vpcs_of(subnets))
    vpcs.update(aws.lookups.vpcs_of_instances(aws.ecs.container_instance_ids(arn)))
    return tuple(sorted(vpcs))

"""The security group hop, both ends: the endpoint's groups must admit TCP 443 from the workload (by a
range covering its subnet, or one of its groups), and the workload's groups must let 443 out to the
endpoint (its subnets' ranges or groups) and, for the S3 gateway, to the S3 prefix list (or ranges
covering every entry of it). A group that was not read is "unverified", never assumed open."""

from __future__ import annotations

from collections.abc import Iterable

from endpoint_guard.model import Subnet
from endpoint_guard.pullpath.model import (
    EFFECT_BLOCKED,
    EFFECT_UNVERIFIED,
    HOP_SECURITY_GROUP,
    HTTPS,
    GroupRules,
    Network,
    Problem,
    Rule,
    Workload,
    covers,
)
from endpoint_guard.pullpath.paths import S3, endpoint_subnet_for, interface_endpoint

TASK_GROUP = "the tasks' group"


def _groups(net: Network, ids: Iterable[str]) -> tuple[list[GroupRules], list[str]]:
    found, unread = [], []
    for gid in ids:
        if gid in net.groups:
            found.append(net.groups[gid])
        else:
            unread.append(gid)
    return found, unread


def _reaches(rule: Rule, cidrs: list[str], groups: Iterable[str], prefix_list: str | None = None) -> bool:
    """Whether an HTTPS rule admits (or lets out to) every one of ``cidrs``, or names one of ``groups``
    or the prefix list."""
    if not rule.allows_tcp(HTTPS):
        return False
    if set(rule.groups) & set(groups) or (prefix_list and prefix_list in rule.prefix_lists):
        return True
    return bool(cidrs) and all(any(covers(c, target) for c in rule.cidrs) for target in cidrs)


def _unverified(service: str, unread: list[str], whose: str) -> Problem:
    return Problem(
        hop=HOP_SECURITY_GROUP,
        service=service,
        effect=EFFECT_UNVERIFIED,
        resource_ids=tuple(unread),
        detail=f"{whose} group(s) {', '.join(unread)} were not read",
        fix="run endpoint-guard explain, which reads them",
    )


def check(net: Network, workload: Workload, subnet: Subnet, service: str) -> list[Problem]:
    workload_groups = workload.group_ids or _default_group(net)
    mine, unread_mine = _groups(net, workload_groups)
    if service == S3:
        return _gateway(net, workload, subnet, mine, unread_mine)
    endpoint = interface_endpoint(net, service)
    if endpoint is None:
        return []
    target = endpoint_subnet_for(net, endpoint, subnet)
    problems = []
    theirs, unread_theirs = _groups(net, endpoint.group_ids)
    if unread_theirs:
        problems.append(_unverified(service, unread_theirs, f"{endpoint.endpoint_id}'s"))
    elif not any(_reaches(r, [subnet.cidr], workload_groups) for g in theirs for r in g.ingress):
        problems.append(
            Problem(
                hop=HOP_SECURITY_GROUP,
                service=service,
                effect=EFFECT_BLOCKED,
                resource_ids=(endpoint.endpoint_id, *endpoint.group_ids),
                detail=(
                    f"{endpoint.endpoint_id}'s group(s) {', '.join(endpoint.group_ids) or '(none)'} admit no TCP 443 "
                    f"from {subnet.cidr} or the workload's group(s): the call times out"
                ),
                fix=(
                    f"allow TCP 443 from {subnet.cidr} (or from {', '.join(workload_groups) or TASK_GROUP}) "
                    f"in {endpoint.group_ids[0] if endpoint.group_ids else 'the endpoint group'}"
                ),
            )
        )
    if unread_mine or not workload_groups:
        problems.append(_unverified(service, unread_mine or ["(not known)"], "the workload's"))
    elif target is not None and not any(_reaches(r, [target.cidr], endpoint.group_ids) for g in mine for r in g.egress):
        problems.append(
            Problem(
                hop=HOP_SECURITY_GROUP,
                service=service,
                effect=EFFECT_BLOCKED,
                resource_ids=tuple(workload_groups),
                detail=(
                    f"the workload's group(s) {', '.join(workload_groups)} let no TCP 443 out to {target.cidr} "
                    f"({endpoint.endpoint_id}'s subnet {target.subnet_id}) or its group(s)"
                ),
                fix=f"allow TCP 443 out to {target.cidr} (or to the endpoint's group) in {workload_groups[0]}",
            )
        )
    return problems


def _gateway(
    net: Network, workload: Workload, subnet: Subnet, mine: list[GroupRules], unread: list[str]
) -> list[Problem]:
    if unread or not mine:
        return [_unverified(S3, unread or ["(not known)"], "the workload's")]
    plist = net.s3_prefix_list
    # The prefix list's ranges, when known (DescribePrefixLists gives them; an unknown list is matched by
    # its id, or by a rule open to everything).
    targets = list(plist.cidrs) if plist and plist.cidrs else ["0.0.0.0/0"]
    rules = [r for g in mine for r in g.egress if r.allows_tcp(HTTPS)]
    named = plist is not None and any(plist.prefix_list_id in r.prefix_lists for r in rules)
    if named or all(any(_reaches(r, [target], ()) for r in rules) for target in targets):
        return []
    listed = plist.prefix_list_id if plist else "the S3 prefix list"
    groups = workload.group_ids or _default_group(net)
    effect = EFFECT_BLOCKED if plist and plist.cidrs else EFFECT_UNVERIFIED
    detail = (
        f"the workload's group(s) {', '.join(groups)} let no TCP 443 out to {listed}: the image layers "
        "(from S3 through the gateway) cannot be fetched (CannotPullContainerError)"
    )
    if effect == EFFECT_UNVERIFIED:
        detail = (
            f"the workload's group(s) {', '.join(groups)} let TCP 443 out neither to {listed} nor everywhere, "
            "and the list's ranges are not known here: the image layers may not be fetched"
        )
    return [
        Problem(
            hop=HOP_SECURITY_GROUP,
            service=S3,
            effect=effect,
            resource_ids=tuple(groups) + ((plist.prefix_list_id,) if plist else ()),
            detail=detail,
            fix=f"allow TCP 443 out to prefix list {listed} in {groups[0] if groups else TASK_GROUP}",
        )
    ]


def _default_group(net: Network) -> tuple[str, ...]:
    """The VPC's default group: what ECS gives a task whose network configuration names none."""
    return tuple(g.group_id for g in net.groups.values() if g.vpc_id == net.snapshot.vpc_id and g.name == "default")

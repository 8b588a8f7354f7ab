"""A workload's verdict (pure): every hop, for every subnet it runs in and every service it needs, then
``through_endpoints``, ``via_nat`` (it works; the named bytes pay NAT processing) or ``blocked`` (it
cannot pull, log or start: the first broken hop says why)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from endpoint_guard.model import Subnet
from endpoint_guard.pullpath.hops import dns, endpoint, endpoint_policy, image, network_acl, route, security_group
from endpoint_guard.pullpath.model import (
    BLOCKED,
    EFFECT_BLOCKED,
    EFFECT_VIA_NAT,
    HOPS,
    SETUP_HOPS,
    THROUGH_ENDPOINTS,
    VIA_NAT,
    Network,
    Problem,
    Workload,
)

Check = Callable[[Network, Workload, Subnet, str], list[Problem]]
# Problems after which a call goes no further along its path (it fails, or leaves through NAT).
DECISIVE = frozenset({EFFECT_BLOCKED, EFFECT_VIA_NAT})
# The hops of one service's call, in the order the call meets them: the S3 gateway's path is a route;
# an interface endpoint's, a name that resolves to it.
GATEWAY_HOPS: tuple[tuple[str, Check], ...] = (
    ("route", route.check),
    ("security_group", security_group.check),
    ("network_acl", network_acl.check),
    ("endpoint_policy", endpoint_policy.check),
)
INTERFACE_HOPS: tuple[tuple[str, Check], ...] = (
    ("endpoint", endpoint.check),
    ("dns", dns.check),
    ("security_group", security_group.check),
    ("network_acl", network_acl.check),
    ("endpoint_policy", endpoint_policy.check),
)


@dataclass(frozen=True)
class Step:
    """One hop of one call, for ``explain``: what was checked and what it found."""

    subnet_id: str
    service: str
    hop: str
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class WorkloadVerdict:
    workload: Workload
    verdict: str
    problems: tuple[Problem, ...]
    trace: tuple[Step, ...] = field(default=(), compare=False)
    # Whether the verdict comes from the VPC's own set-up (the VPC is then not compliant).
    counts: bool = False

    def as_dict(self) -> dict[str, Any]:
        w = self.workload
        return {
            "kind": w.kind,
            "cluster": w.cluster,
            "name": w.name,
            "launch_type": w.launch_type,
            "subnet_ids": list(w.subnet_ids),
            "needs": list(w.needs),
            "verdict": self.verdict,
            "problems": [p.as_dict() for p in self.problems],
        }


def _verdict(problems: Iterable[Problem]) -> str:
    effects = {p.effect for p in problems}
    if EFFECT_BLOCKED in effects:
        return BLOCKED
    if EFFECT_VIA_NAT in effects:
        return VIA_NAT
    return THROUGH_ENDPOINTS


def counts_against(problem: Problem, profile: frozenset[str]) -> bool:
    """Whether a problem makes the VPC not compliant: anything that blocks a workload, and anything of
    the VPC's own set-up that sends a service of the profile through NAT. (A service outside the profile
    through NAT, in a tier with a way out, is reported with its cost; so is an image outside this
    Region's ECR.)"""
    if problem.effect == EFFECT_BLOCKED:
        return True
    return problem.effect == EFFECT_VIA_NAT and problem.hop in SETUP_HOPS and problem.service in profile


def evaluate_workload(net: Network, workload: Workload, profile: frozenset[str]) -> WorkloadVerdict:
    steps: list[Step] = []
    for subnet_id in workload.subnet_ids:
        subnet = net.snapshot.subnet(subnet_id)
        if subnet is None:
            continue
        steps.append(Step(subnet_id, "ecr", "image", tuple(image.check(net, workload, subnet))))
        for service in workload.needs:
            for hop, check in GATEWAY_HOPS if service == "s3" else INTERFACE_HOPS:
                found = tuple(check(net, workload, subnet, service))
                steps.append(Step(subnet_id, service, hop, found))
                if any(p.effect in DECISIVE for p in found):
                    break  # the call does not get further: the hops behind this one are not reached
    problems = _unique(p for s in steps for p in s.problems)
    ordered = tuple(sorted(problems, key=lambda p: HOPS.index(p.hop)))
    return WorkloadVerdict(
        workload,
        _verdict(ordered),
        ordered,
        tuple(steps),
        any(counts_against(p, profile) for p in ordered),
    )


def evaluate(net: Network, workloads: Iterable[Workload], profile: Iterable[str]) -> list[WorkloadVerdict]:
    wanted = frozenset(profile)
    return [evaluate_workload(net, w, wanted) for w in workloads]


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    """The same problem found from several subnets (a missing endpoint, an image, a group) once: one per
    hop, service and resource."""
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for p in problems:
        key = (p.hop, p.service, p.effect, p.resource_ids)
        if key not in seen:
            seen.add(key)
            kept.append(p)
    return kept


def summary(verdicts: Iterable[WorkloadVerdict]) -> dict[str, int]:
    found = list(verdicts)
    return {
        "workloads": len(found),
        THROUGH_ENDPOINTS: sum(1 for v in found if v.verdict == THROUGH_ENDPOINTS),
        VIA_NAT: sum(1 for v in found if v.verdict == VIA_NAT),
        BLOCKED: sum(1 for v in found if v.verdict == BLOCKED),
    }

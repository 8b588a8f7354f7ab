"""The pull path in the reconcile (pure): which endpoints the workloads of isolated subnets cannot start
without (``WorkloadEndpoints``), and what their verdicts do to the result document."""

from __future__ import annotations

from collections.abc import Iterable

from endpoint_guard.model import TIER_ISOLATED, Snapshot
from endpoint_guard.profile import ServiceSpec, known_services
from endpoint_guard.pullpath import Workload, WorkloadVerdict, summary
from endpoint_guard.reconcile.result import ResultDocument
from endpoint_guard.settings import WORKLOAD_ENDPOINTS_REQUIRED, Settings


def required_services(
    snapshot: Snapshot, workloads: Iterable[Workload], profile: Iterable[ServiceSpec], settings: Settings
) -> tuple[str, ...]:
    """The services outside the profile that workloads in isolated subnets need (their secrets, an EC2
    instance's agent, ECS Exec): with ``WorkloadEndpoints=required`` endpoint-guard creates them there,
    where nothing else reaches the service. In tiers with a way out they are only reported."""
    if settings.workload_endpoints != WORKLOAD_ENDPOINTS_REQUIRED:
        return ()
    have = {s.short for s in profile}
    isolated = {s.subnet_id for s in snapshot.subnets if s.tier == TIER_ISOLATED}
    known = known_services()
    wanted = [
        need
        for w in workloads
        if isolated.intersection(w.subnet_ids)
        for need in w.needs
        if need not in have and need in known
    ]
    return tuple(sorted(set(wanted), key=known.index))


def judged(result: ResultDocument, verdicts: list[WorkloadVerdict]) -> ResultDocument:
    """The result with its workloads: ``workloads`` (each verdict and its problems), ``workloads_summary``,
    and not compliant when a workload is blocked, or sent through NAT by the VPC's own set-up."""
    result["workloads"] = [v.as_dict() for v in verdicts]
    result["workloads_summary"] = summary(verdicts)
    counted = [v for v in verdicts if v.counts]
    if counted:
        result["compliant"] = False
        first = counted[0]
        problem = next((p for p in first.problems if p.effect in ("blocked", "via_nat")), first.problems[0])
        result["findings"].append(
            f"{len(counted)} workload(s) cannot pull, log or start, or pay NAT, because of the VPC's set-up; first "
            f"{first.workload.key} ({first.verdict.replace('_', ' ')}): {problem.hop} ({problem.service}): "
            f"{problem.detail}; fix: {problem.fix} (endpoint-guard explain {result['vpc_id']})"
        )
    return result

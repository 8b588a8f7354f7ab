"""``endpoint-guard explain``: a VPC's ECS workloads, each pull's path hop by hop as the VPC is now (a
traceroute for pulls). Read-only."""

from __future__ import annotations

import dataclasses

from endpoint_guard.aws import Services
from endpoint_guard.aws.workloads import pull_path
from endpoint_guard.errors import ConfigurationError
from endpoint_guard.profile import load_profile
from endpoint_guard.pullpath import WorkloadVerdict, evaluate
from endpoint_guard.reconcile.run import complete_snapshot, read_core
from endpoint_guard.settings import Settings


def explain(vpc_id: str, settings: Settings, aws: Services, workload: str | None = None) -> list[WorkloadVerdict]:
    """Every ECS workload of the VPC (or the one ``CLUSTER/NAME`` names) with its verdict and its trace."""
    read = dataclasses.replace(settings, dry_run=True, verify_dns=True)
    profile = load_profile(read.extra_services)
    pull = pull_path(aws.clients, read)
    snapshot = read_core(aws.ec2, vpc_id)
    found = pull.workloads_in({s.subnet_id for s in snapshot.subnets})
    if workload is not None:
        found = [w for w in found if w.key == workload or w.name == workload]
        if not found:
            raise ConfigurationError(
                f"no ECS workload {workload} in {vpc_id} (name it CLUSTER/NAME, as check lists it)"
            )
    snapshot = dataclasses.replace(snapshot, workload_subnets=frozenset(s for w in found for s in w.subnet_ids))
    snapshot = complete_snapshot(aws.ec2, snapshot, profile, read)
    return evaluate(pull.network(snapshot), found, (s.short for s in profile))

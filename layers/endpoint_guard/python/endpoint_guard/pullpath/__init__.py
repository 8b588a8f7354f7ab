"""The pull path, proven hop by hop: a VPC's ECS workloads (``needs``: what each one pulls, logs and
reads), the network facts their calls cross (``model``), one module per hop (``hops``), and each
workload's verdict (``verdict``). Pure; the reads are aws.workloads'."""

from endpoint_guard.pullpath.model import (
    BLOCKED,
    THROUGH_ENDPOINTS,
    VIA_NAT,
    Network,
    Problem,
    Workload,
)
from endpoint_guard.pullpath.verdict import WorkloadVerdict, evaluate, summary

__all__ = [
    "BLOCKED",
    "THROUGH_ENDPOINTS",
    "VIA_NAT",
    "Network",
    "Problem",
    "Workload",
    "WorkloadVerdict",
    "evaluate",
    "summary",
]

"""The reconcile of one VPC: read (``run.read_snapshot``), decide (``planner.plan``, pure, its rules split
by concern), apply (``apply``), report (``result``)."""

from endpoint_guard.reconcile.actions import Action, EndpointDecision, Operation, Plan, Workload
from endpoint_guard.reconcile.planner import plan
from endpoint_guard.reconcile.ports import Ec2Port
from endpoint_guard.reconcile.result import STATUS_OK, ResultDocument, failures, result_document
from endpoint_guard.reconcile.run import read_snapshot, reconcile, reconcile_observed
from endpoint_guard.reconcile.workloads import workload_kind

__all__ = [
    "STATUS_OK",
    "Action",
    "Ec2Port",
    "EndpointDecision",
    "Operation",
    "Plan",
    "ResultDocument",
    "Workload",
    "failures",
    "plan",
    "read_snapshot",
    "reconcile",
    "reconcile_observed",
    "result_document",
    "workload_kind",
]

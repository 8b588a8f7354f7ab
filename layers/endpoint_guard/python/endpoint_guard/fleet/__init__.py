"""The fleet: every VPC of every enrolled account and Region, swept with reads made once per
account-Region (``reads``) and the same reconcile as the event path (``usecase``)."""

from endpoint_guard.fleet.reads import FleetReads, VpcView
from endpoint_guard.fleet.usecase import Target, sweep, sweep_target

__all__ = ["FleetReads", "Target", "VpcView", "sweep", "sweep_target"]

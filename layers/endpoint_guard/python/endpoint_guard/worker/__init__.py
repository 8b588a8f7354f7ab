"""The worker: one FIFO message per VPC (``messages``), handled by the ``usecase`` rules."""

from endpoint_guard.worker.messages import WorkItem, checked_group, covered
from endpoint_guard.worker.usecase import Delivery, Worker, WorkerRules

__all__ = ["Delivery", "WorkItem", "Worker", "WorkerRules", "checked_group", "covered"]

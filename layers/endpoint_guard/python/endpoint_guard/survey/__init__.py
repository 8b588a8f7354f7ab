"""Read-only views for ops: ``check`` one VPC, ``report`` every VPC of a region, each with its cost."""

from endpoint_guard.survey.usecase import check, report

__all__ = ["check", "report"]

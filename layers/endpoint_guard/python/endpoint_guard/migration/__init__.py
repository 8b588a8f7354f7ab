"""The migration plan, when the S3 gateway would disrupt running workloads: discover the source VPC
(``inventory``), plan the target VPC (``target``) and each service's cutover (``services``), assemble the
document (``document``) and render it (``render``)."""

from endpoint_guard.migration.document import assemble, execution_name, plan, summary
from endpoint_guard.migration.render import render_markdown
from endpoint_guard.migration.services import service_steps
from endpoint_guard.migration.target import plan_target

__all__ = ["assemble", "execution_name", "plan", "plan_target", "render_markdown", "service_steps", "summary"]

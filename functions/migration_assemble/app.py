"""Migration-plan workflow task. Assemble: the plan document and its Markdown. The code lives in the layer."""

from endpoint_guard.steps import assemble_plan as lambda_handler

__all__ = ["lambda_handler"]

"""Migration-plan workflow task. Assemble: the plan document and its Markdown. The code lives in the layer."""

from endpoint_guard.lambdas.migration import make_assemble

lambda_handler = make_assemble()

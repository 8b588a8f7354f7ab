"""EventBridge rules invoke this: it turns CloudTrail events into per-VPC work on the FIFO queue."""

from endpoint_guard.lambdas.intake import make_intake

lambda_handler = make_intake()

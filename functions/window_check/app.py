"""Maintenance-window workflow task. Check: whether the services behind the table just changed stayed steady. The code lives in the layer."""

from endpoint_guard.lambdas.window import make_check

lambda_handler = make_check()

"""Maintenance-window workflow task. Plan: the approved deferred VPCs of every enrolled account-Region, and the report after. The code lives in the layer."""

from endpoint_guard.lambdas.window import make_plan

lambda_handler = make_plan()

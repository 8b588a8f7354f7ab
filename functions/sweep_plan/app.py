"""Fleet-sweep workflow task. Plan: list each Region's VPCs into the Distributed Map's chunks. The code lives in the layer."""

from endpoint_guard.lambdas.sweep import make_plan

lambda_handler = make_plan()

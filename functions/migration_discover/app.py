"""Migration-plan workflow task. Discover: the inventory of the source VPC. The code lives in the layer."""

from endpoint_guard.lambdas.migration import make_discover

lambda_handler = make_discover()

"""Migration-plan workflow task. Target: the new VPC (CIDR, mirrored subnets, route tables, endpoints, security groups). The code lives in the layer."""

from endpoint_guard.lambdas.migration import make_target

lambda_handler = make_target()

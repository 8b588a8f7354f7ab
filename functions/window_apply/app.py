"""Maintenance-window workflow task. Apply: the S3 gateway on a VPC's next deferred route table. The code lives in the layer."""

from endpoint_guard.lambdas.window import make_apply

lambda_handler = make_apply()

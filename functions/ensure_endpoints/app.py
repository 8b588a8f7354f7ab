"""EnsureEndpoints function: reconciles the VPCs of a batch from the FIFO work queue (one VPC at a time
per message group). The code lives in the layer."""

from endpoint_guard.lambdas.worker import make_worker

lambda_handler = make_worker()

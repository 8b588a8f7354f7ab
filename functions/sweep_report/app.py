"""Fleet-sweep workflow task. Report: the fleet report, assembled from every chunk's rows. The code lives in the layer."""

from endpoint_guard.lambdas.sweep import make_report

lambda_handler = make_report()

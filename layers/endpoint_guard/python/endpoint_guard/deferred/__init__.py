"""Deferred gateways reach done: an accepted interruption (``ensure --apply-deferred``), an approval
(``approve``, or the VPC tag), and the maintenance window that adds the gateway one route table at a time
while the services behind it stay steady."""

"""Which ENIs are running workloads that a new route would interrupt (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from endpoint_guard.model import Endpoint, NetworkInterface, RouteTable
from endpoint_guard.reconcile.actions import Workload

# ENIs that belong to the network itself rather than to a workload: adding a route does not
# interrupt anything running behind them.
_INFRA_INTERFACE_TYPES = frozenset(
    {
        "vpc_endpoint",
        "nat_gateway",
        "natGateway",
        "gateway_load_balancer",
        "gateway_load_balancer_endpoint",
        "load_balancer",
        "network_load_balancer",
        "transit_gateway",
        "api_gateway_managed",
        "global_accelerator_managed",
        "efs",
    }
)
_INFRA_DESCRIPTION_PREFIXES = ("VPC Endpoint Interface", "Interface for NAT Gateway", "ELB ")


def workload_kind(eni: NetworkInterface, infra_eni_ids: frozenset[str]) -> str | None:
    """What runs behind an ENI (``ecs-task``, ``lambda``, ``ec2-instance``, ``other``), or None when it is
    not a workload: not in use, an endpoint or NAT interface, a load balancer node.

    Works on AWS's shapes (task ENIs are described ``arn:aws:ecs:...:attachment/<id>``) and on moto's
    (``moto ECS``). Unknown in-use ENIs count as workloads: deferring wrongly costs a report line,
    adding a route wrongly drops live connections.
    """
    if eni.status != "in-use" or eni.eni_id in infra_eni_ids:
        return None
    if eni.interface_type in _INFRA_INTERFACE_TYPES or eni.description.startswith(_INFRA_DESCRIPTION_PREFIXES):
        return None
    desc = eni.description
    if (desc.startswith("arn:aws") and ":ecs:" in desc and ":attachment/" in desc) or desc == "moto ECS":
        return "ecs-task"
    if eni.interface_type == "lambda" or desc.startswith("AWS Lambda VPC ENI"):
        return "lambda"
    if eni.instance_id:
        return "ec2-instance"
    return "other"


def workloads_by_subnet(enis: Iterable[NetworkInterface], endpoints: Iterable[Endpoint]) -> dict[str, list[Workload]]:
    """The running workloads of each subnet that has any."""
    infra = frozenset(eni for ep in endpoints for eni in ep.eni_ids)
    by_subnet: dict[str, list[Workload]] = {}
    for eni in enis:
        kind = workload_kind(eni, infra)
        if kind:
            by_subnet.setdefault(eni.subnet_id, []).append(Workload(eni.eni_id, eni.subnet_id, kind, eni.description))
    return by_subnet


def disrupted_route_tables(
    route_tables: Iterable[RouteTable], enis: Iterable[NetworkInterface], endpoints: Iterable[Endpoint]
) -> dict[str, tuple[Workload, ...]]:
    """Route tables whose subnets hold running workloads, with the workloads that make them so."""
    by_subnet = workloads_by_subnet(enis, endpoints)
    result = {}
    for rt in route_tables:
        hits = [w for sid in rt.subnet_ids for w in by_subnet.get(sid, [])]
        if hits:
            result[rt.route_table_id] = tuple(sorted(hits, key=lambda w: w.eni_id))
    return result

"""Per ECS service: the order services move in, and each one's cutover steps with their rollbacks
(pure, on the JSON inventory and target)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Doc = dict[str, Any]
In = Mapping[str, Any]  # a document read, typed or plain


def order_services(services: Sequence[In]) -> list[In]:
    """Dependency-safe order: services that others find through a service registry move first (their
    new tasks stay reachable from the old VPC over the peering), then services behind load balancers,
    then the rest; by cluster and name within each group."""
    return sorted(
        services,
        key=lambda s: (
            0 if s.get("service_registries") else 1 if s.get("load_balancers") else 2,
            s["cluster"],
            s["service"],
        ),
    )


def service_steps(service: In, target: In) -> Doc:
    """The cutover of one ECS service into the target VPC, each step with its rollback."""
    placement = _target_subnets(service, target)
    groups = {g["source_group_id"]: g["name"] for g in target.get("security_groups", [])}
    new_groups = [groups.get(g, g) for g in service.get("security_groups", [])]
    name = f"{service['cluster']}/{service['service']}"
    steps: list[Doc] = []

    def step(action: str, detail: str, rollback: str | None) -> None:
        steps.append({"order": len(steps) + 1, "action": action, "detail": detail, "rollback": rollback})

    for lb in service.get("load_balancers", []):
        tg = lb.get("target_group_name") or lb["target_group_arn"].rsplit("/", 2)[-2]
        step(
            "create-target-group",
            f"create an ip target group like {tg} (port {lb.get('container_port')}) for targets in the target "
            "VPC, reachable from the load balancer over the VPC peering (AvailabilityZone=all)",
            "delete the new target group",
        )
        step(
            "add-weighted-forward",
            f"on the listener(s) of {tg}, forward to {tg} with weight 100 and to the new group with weight 0",
            "restore the listener's original forward action",
        )
    registries = service.get("service_registries", [])
    step(
        "update-service",
        f"update {name}: subnets {', '.join(placement)}; security groups {', '.join(new_groups) or 'none'}"
        + ("; load balancers -> the new target group(s)" if service.get("load_balancers") else "")
        + ("; same service registry (new tasks register their new addresses)" if registries else "")
        + "; force a new deployment",
        f"update {name} back to subnets {', '.join(service.get('subnet_ids', []))} and its original "
        "security groups, load balancers and registries",
    )
    step("wait-steady-state", f"wait until {name} is steady with every task in the target VPC", None)
    for lb in service.get("load_balancers", []):
        step(
            "shift-listener-weights",
            "shift the listener weights to the new target group (for example 90/10, 50/50, 0/100), watching 5xx",
            "set the weights back to 100/0",
        )
        step(
            "drain-old-target-group",
            f"remove {lb.get('target_group_name') or 'the old target group'} from the listener once its "
            "deregistration delay has passed",
            "add it back with its original weight",
        )
    step("verify", f"no ENI of {name} remains in the source VPC", None)
    return {
        "cluster": service["cluster"],
        "service": service["service"],
        "desired_count": service.get("desired_count"),
        "behind_load_balancer": bool(service.get("load_balancers")),
        "steps": steps,
    }


def _target_subnets(service: In, target: In) -> list[str]:
    """The target subnets a service moves to: the mirror of each of its subnets."""
    mirror = {s["source_subnet_id"]: s["name"] for s in target["subnets"]}
    return sorted({mirror[s] for s in service.get("subnet_ids", []) if s in mirror}) or sorted(
        s["name"] for s in target["subnets"] if s["tier"] == "private"
    )

"""Sample migration documents (an inventory and its parts) for the planner's tests and the property tests
of the workflow's tasks."""

from __future__ import annotations

INTERFACES = ["ecr.dkr", "ecr.api", "logs"]


def subnet(subnet_id: str, az: str, cidr: str, tier: str, rtb: str) -> dict:
    return {"subnet_id": subnet_id, "az": az, "cidr": cidr, "tier": tier, "route_table_id": rtb}


def service(name: str, subnets: list[str], *, lb: bool = False, registry: bool = False, cluster: str = "shop") -> dict:
    return {
        "cluster": cluster,
        "service": name,
        "subnet_ids": subnets,
        "security_groups": ["sg-app"],
        "assign_public_ip": False,
        "desired_count": 2,
        "load_balancers": [
            {
                "target_group_arn": f"arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/{name}-tg/abc",
                "target_group_name": f"{name}-tg",
                "container_port": 8080,
            }
        ]
        if lb
        else [],
        "service_registries": [{"registry_arn": "arn:aws:servicediscovery:us-east-1:1:service/srv-1"}]
        if registry
        else [],
    }


def inventory(**overrides) -> dict:
    base = {
        "vpc_id": "vpc-0c4f7a1e9b2d3c5a6",
        "region": "us-east-1",
        "cidrs": ["10.40.0.0/16"],
        "subnets": [
            subnet("subnet-pub-a", "us-east-1a", "10.40.100.0/24", "public", "rtb-pub"),
            subnet("subnet-pub-b", "us-east-1b", "10.40.101.0/24", "public", "rtb-pub"),
            subnet("subnet-prv-a", "us-east-1a", "10.40.0.0/24", "private", "rtb-a"),
            subnet("subnet-prv-b", "us-east-1b", "10.40.1.0/24", "private", "rtb-b"),
        ],
        "route_tables": [
            {"route_table_id": "rtb-pub", "routes": [{"destination": "0.0.0.0/0", "target": "igw-1"}]},
            {"route_table_id": "rtb-a", "routes": [{"destination": "0.0.0.0/0", "target": "nat-a"}]},
            {"route_table_id": "rtb-b", "routes": [{"destination": "0.0.0.0/0", "target": "nat-a"}]},
        ],
        "nat_gateways": [{"nat_gateway_id": "nat-a", "subnet_id": "subnet-pub-a", "az": "us-east-1a"}],
        "peering": [],
        "transit_gateway_attachments": [],
        "security_groups": [],
        "services": [service("web", ["subnet-prv-a", "subnet-prv-b"], lb=True)],
        "workloads": [
            {"eni_id": "eni-1", "kind": "ecs-task", "subnet_id": "subnet-prv-a"},
            {"eni_id": "eni-2", "kind": "ecs-task", "subnet_id": "subnet-prv-b"},
        ],
        "region_vpc_cidrs": ["10.40.0.0/16", "172.31.0.0/16"],
        "deferred_route_tables": [
            {"route_table_id": "rtb-a", "workloads": [{"eni_id": "eni-1", "kind": "ecs-task"}]},
            {"route_table_id": "rtb-b", "workloads": [{"eni_id": "eni-2", "kind": "ecs-task"}]},
        ],
    }
    base.update(overrides)
    return base

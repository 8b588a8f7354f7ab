"""Discovery for the migration plan on moto: what the inventory holds about a realistic source VPC."""

from __future__ import annotations

import boto3
import pytest
from endpoint_guard.migration import plan
from endpoint_guard.migration.inventory import discover

from tests.conftest import REGION
from tools.world import awsvpc_service, build_vpc, load_balanced_service, run_fargate_tasks


@pytest.fixture
def elbv2(moto: None):
    return boto3.client("elbv2", region_name=REGION)


def test_inventory_of_a_vpc_with_a_load_balanced_service_peering_and_a_nat_gateway(ec2, ecs, elbv2, services) -> None:
    world = build_vpc(ec2, nat=False)  # the NAT gateway is made below, to name it
    peer = build_vpc(ec2, cidr="10.0.0.0/16", azs=())
    pcx = ec2.create_vpc_peering_connection(VpcId=world.vpc_id, PeerVpcId=peer.vpc_id)["VpcPeeringConnection"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx["VpcPeeringConnectionId"])
    ec2.create_route(
        RouteTableId=world.private_route_tables["us-east-1a"],
        DestinationCidrBlock="10.0.0.0/16",
        VpcPeeringConnectionId=pcx["VpcPeeringConnectionId"],
    )
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=world.public_subnets["us-east-1a"], AllocationId=eip)["NatGateway"][
        "NatGatewayId"
    ]
    for rtb in world.private_route_tables.values():
        ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    app = ec2.create_security_group(GroupName="app", Description="app", VpcId=world.vpc_id)["GroupId"]
    alb = ec2.create_security_group(GroupName="alb", Description="alb", VpcId=world.vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=app,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": alb}]}],
    )
    group_arn = load_balanced_service(ecs, elbv2, world)
    run_fargate_tasks(ecs, ec2, world.private_subnets["us-east-1b"])
    awsvpc_service(
        ecs, [peer_subnet := ec2.create_subnet(VpcId=peer.vpc_id, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]]
    )

    inventory = discover(world.vpc_id, services)

    assert inventory["cidrs"] == ["10.40.0.0/16"]
    tiers = {s["subnet_id"]: s["tier"] for s in inventory["subnets"]}
    assert {tiers[s] for s in world.public_subnets.values()} == {"public"}
    assert {tiers[s] for s in world.private_subnets.values()} == {"private"}
    assert [n["nat_gateway_id"] for n in inventory["nat_gateways"]] == [nat]
    assert inventory["nat_gateways"][0]["az"] == "us-east-1a"
    assert inventory["peering"] == [
        {"peering_id": pcx["VpcPeeringConnectionId"], "peer_vpc_id": peer.vpc_id, "peer_cidrs": ["10.0.0.0/16"]}
    ]
    [service] = inventory["services"]  # the peer VPC's service is not this VPC's
    assert (service["cluster"], service["service"]) == ("shop", "web")
    assert service["load_balancers"][0]["target_group_arn"] == group_arn
    assert service["load_balancers"][0]["target_group_name"] == "web-tg"
    assert {w["kind"] for w in inventory["workloads"]} == {"ecs-task"}
    assert {"10.40.0.0/16", "10.0.0.0/16"} <= set(inventory["region_vpc_cidrs"])
    groups = {g["name"]: g for g in inventory["security_groups"]}
    assert groups["app"]["ingress"][0]["UserIdGroupPairs"][0]["GroupId"] == alb
    assert peer_subnet not in {s["subnet_id"] for s in inventory["subnets"]}

    document = plan(inventory, ["ecr.dkr", "ecr.api", "logs"])
    # 10.0.0.0/16 is the peer: the target takes the next free block.
    assert document["target"]["cidr"] == "10.1.0.0/16"
    copies = {g["name"]: g for g in document["target"]["security_groups"]}
    assert copies["app"]["ingress"][0]["groups"] == [{"copy_of": alb, "group": "alb"}]
    assert next(t["routes"] for t in document["target"]["route_tables"] if t["tier"] == "private") == [
        {"destination": "0.0.0.0/0", "target": "nat-gateway us-east-1a"}
    ]
    assert {r["kind"] for r in document["risks"]} == {"load-balancers", "connectivity"}

"""Finding the VPCs of an ECS cluster on moto, from each thing a cluster can say about itself."""

from __future__ import annotations

import json

import boto3
import pytest
from endpoint_guard.intake.events import CLUSTER_VPC_TAG
from endpoint_guard.intake.resolve import cluster_vpcs, resolve
from endpoint_guard.intake.shapes import Trigger
from endpoint_guard.observe import Skip

from tests.conftest import REGION
from tools.world import awsvpc_service, build_vpc


@pytest.fixture
def autoscaling(moto: None):
    return boto3.client("autoscaling", region_name=REGION)


def test_cluster_tag_names_the_vpcs(ec2, ecs, services) -> None:
    world = build_vpc(ec2, azs=())
    ecs.create_cluster(clusterName="tagged", tags=[{"key": CLUSTER_VPC_TAG, "value": world.vpc_id}])
    assert cluster_vpcs("tagged", services) == (world.vpc_id,)


def test_awsvpc_services_name_their_subnets_vpc(ec2, ecs, services) -> None:
    world = build_vpc(ec2)
    arn = awsvpc_service(ecs, [world.private_subnets["us-east-1a"], world.private_subnets["us-east-1b"]])
    assert cluster_vpcs(arn, services) == (world.vpc_id,)


def test_container_instances_name_their_instances_vpc(ec2, ecs, services) -> None:
    world = build_vpc(ec2)
    instance = ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=world.private_subnets["us-east-1c"]
    )["Instances"][0]["InstanceId"]
    ecs.create_cluster(clusterName="on-ec2")
    document = json.dumps({"instanceId": instance, "region": REGION, "availabilityZone": "us-east-1c"})
    ecs.register_container_instance(cluster="on-ec2", instanceIdentityDocument=document)
    assert cluster_vpcs("on-ec2", services) == (world.vpc_id,)


def test_capacity_providers_name_their_auto_scaling_groups_vpc(ec2, ecs, autoscaling, services) -> None:
    world = build_vpc(ec2)
    ec2.create_launch_template(
        LaunchTemplateName="ecs-hosts", LaunchTemplateData={"ImageId": "ami-12345678", "InstanceType": "t3.micro"}
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="ecs-hosts",
        LaunchTemplate={"LaunchTemplateName": "ecs-hosts"},
        MinSize=0,
        MaxSize=2,
        VPCZoneIdentifier=",".join(world.private_subnets.values()),
    )
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["ecs-hosts"])["AutoScalingGroups"][0]
    ecs.create_capacity_provider(
        name="hosts", autoScalingGroupProvider={"autoScalingGroupArn": group["AutoScalingGroupARN"]}
    )
    ecs.create_cluster(clusterName="mixed", capacityProviders=["hosts", "FARGATE"])
    assert cluster_vpcs("mixed", services) == (world.vpc_id,)


def test_a_cluster_with_nothing_yet_is_a_named_skip_and_a_missing_one_too(ecs, services) -> None:
    ecs.create_cluster(clusterName="empty")
    unresolved = resolve(Trigger("e1", "CreateCluster", clusters=("empty",)), services, None)
    assert unresolved.skip_kind == Skip.CLUSTER_UNRESOLVED and "later" in unresolved.skip_reason
    missing = resolve(Trigger("e2", "CreateCluster", clusters=("deleted",)), services, None)
    assert missing.skip_kind == Skip.GONE and "does not exist" in missing.skip_reason


def test_vpcs_from_the_event_and_from_lookups_are_merged_without_duplicates(ec2, ecs, services) -> None:
    world = build_vpc(ec2)
    awsvpc_service(ecs, [world.private_subnets["us-east-1a"]])
    trigger = Trigger("e1", "CreateCluster", vpc_ids=(world.vpc_id,), clusters=("payments",))
    assert resolve(trigger, services, None).vpc_ids == (world.vpc_id,)

"""Builds small AWS worlds on moto (or any EC2 endpoint): the tests and the demo share them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class World:
    vpc_id: str
    main_route_table_id: str
    public_route_table_id: str | None = None
    private_route_tables: dict[str, str] = field(default_factory=dict)  # az -> route table
    private_subnets: dict[str, str] = field(default_factory=dict)  # az -> subnet
    public_subnets: dict[str, str] = field(default_factory=dict)  # az -> subnet


def build_vpc(
    ec2: Any,
    *,
    cidr: str = "10.40.0.0/16",
    azs: tuple[str, ...] = ("us-east-1a", "us-east-1b", "us-east-1c"),
    public_subnets: bool = True,
    private_subnets: bool = True,
    dns_hostnames: bool | None = None,
    dns_support: bool | None = None,
) -> World:
    """A VPC laid out the usual way: per AZ one public subnet (shared route table to an internet gateway)
    and one private subnet with its own route table. ``azs=()`` gives a VPC as CreateVpc leaves it."""
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    if dns_support is not None:
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": dns_support})
    if dns_hostnames is not None:
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": dns_hostnames})
    main = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]["RouteTableId"]
    world = World(vpc_id=vpc_id, main_route_table_id=main)
    prefix = ".".join(cidr.split(".")[:2])
    if public_subnets and azs:
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
        world.public_route_table_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=world.public_route_table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    for i, az in enumerate(azs):
        if public_subnets:
            sid = ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"{prefix}.{100 + i}.0/24", AvailabilityZone=az)["Subnet"][
                "SubnetId"
            ]
            ec2.associate_route_table(RouteTableId=world.public_route_table_id, SubnetId=sid)
            world.public_subnets[az] = sid
        if private_subnets:
            sid = ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"{prefix}.{i}.0/24", AvailabilityZone=az)["Subnet"][
                "SubnetId"
            ]
            rt = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
            ec2.associate_route_table(RouteTableId=rt, SubnetId=sid)
            world.private_subnets[az] = sid
            world.private_route_tables[az] = rt
    return world


PUBLIC_IMAGE = "public.ecr.aws/nginx/nginx:1.27"


def fargate_task_definition(ecs: Any, family: str, *, port: int | None = None, image: str = PUBLIC_IMAGE) -> str:
    """A one-container awsvpc task definition (moto wants each container's memory). Returns the family."""
    container: dict = {"name": "app", "image": image, "memory": 512}
    if port:
        container["portMappings"] = [{"containerPort": port}]
    ecs.register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[container],
    )
    return family


def run_fargate_tasks(
    ecs: Any, ec2: Any, subnet_id: str, *, cluster: str = "web", count: int = 2, group: str | None = None
) -> list[str]:
    """Start Fargate tasks in ``subnet_id`` (each gets an in-use ENI there). Returns the task ARNs.
    ``group="service:<name>"`` is how ECS marks the tasks of a service."""
    vpc_id = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})  # moto's run_task needs it
    ecs.create_cluster(clusterName=cluster)
    family = fargate_task_definition(ecs, f"{cluster}-app")
    tasks = ecs.run_task(
        cluster=cluster,
        taskDefinition=family,
        launchType="FARGATE",
        count=count,
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet_id], "securityGroups": []}},
        **({"group": group} if group else {}),
    )["tasks"]
    return [t["taskArn"] for t in tasks]


def awsvpc_service(
    ecs: Any,
    subnet_ids: list[str],
    *,
    cluster: str = "payments",
    name: str = "checkout",
    desired: int = 1,
    target_group: str | None = None,
    image: str = PUBLIC_IMAGE,
) -> str:
    """A cluster with one Fargate service in ``subnet_ids`` (moto starts no tasks for it), behind
    ``target_group`` when given. Returns the cluster ARN."""
    arn = ecs.create_cluster(clusterName=cluster)["cluster"]["clusterArn"]
    fargate_task_definition(ecs, name, port=8080 if target_group else None, image=image)
    balancers = (
        [{"targetGroupArn": target_group, "containerName": "app", "containerPort": 8080}] if target_group else []
    )
    ecs.create_service(
        cluster=cluster,
        serviceName=name,
        taskDefinition=name,
        desiredCount=desired,
        launchType="FARGATE",
        loadBalancers=balancers,
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnet_ids, "securityGroups": []}},
    )
    return arn


def load_balanced_service(ecs: Any, elbv2: Any, world: World, *, cluster: str = "shop", name: str = "web") -> str:
    """An internet-facing ALB in the public subnets, an ip target group, and a Fargate service behind it
    in the private subnets. Returns the target group ARN."""
    lb = elbv2.create_load_balancer(
        Name=f"{name}-alb", Subnets=list(world.public_subnets.values()), Type="application"
    )["LoadBalancers"][0]["LoadBalancerArn"]
    group = elbv2.create_target_group(
        Name=f"{name}-tg", Protocol="HTTP", Port=8080, VpcId=world.vpc_id, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": group}]
    )
    awsvpc_service(ecs, list(world.private_subnets.values()), cluster=cluster, name=name, desired=2, target_group=group)
    return group


def ecr_image(ecr: Any, repository: str, tag: str, size_bytes: int) -> str:
    """An image in this account's ECR. moto reports the manifest's config size as the image size, so the
    size goes there. Returns the image URI."""
    import json

    ecr.create_repository(repositoryName=repository)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": size_bytes,
            "digest": "sha256:" + "c" * 64,
        },
        "layers": [],
    }
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)
    region = ecr.meta.region_name
    return f"123456789012.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}"

"""Builds small AWS worlds on moto (or any EC2 endpoint): the tests and the demo share them."""

from __future__ import annotations

import ipaddress
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
    nat: bool = True,
) -> World:
    """A VPC laid out the usual way: per AZ one public subnet (shared route table to an internet gateway)
    and one private subnet with its own route table, whose default route goes to a NAT gateway in the
    first public subnet (``nat=False``: no default route, so the private subnets are isolated, or the
    caller routes them). ``azs=()`` gives a VPC as CreateVpc leaves it."""
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
    if nat and public_subnets and private_subnets and azs:
        nat_id = nat_gateway(ec2, world.public_subnets[azs[0]])
        for rt in world.private_route_tables.values():
            ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
    return world


def nat_gateway(ec2: Any, subnet_id: str) -> str:
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    return str(ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=eip)["NatGateway"]["NatGatewayId"])


# --- VPCs in the shapes real ones have (aws-facts "Real VPC shapes") ----------------------------------


@dataclass
class Tiered:
    """A VPC built tier by tier: per tier, its subnets by AZ and the route table of each subnet."""

    vpc_id: str
    main_route_table_id: str
    subnets: dict[str, dict[str, str]] = field(default_factory=dict)  # tier -> az -> subnet
    route_tables: dict[str, set[str]] = field(default_factory=dict)  # tier -> route tables
    nat_gateways: list[str] = field(default_factory=list)

    def tier_of(self, subnet_id: str) -> str:
        return next(t for t, by_az in self.subnets.items() if subnet_id in by_az.values())


def tiered_vpc(
    ec2: Any,
    tiers: dict[str, str],
    *,
    cidr: str = "10.60.0.0/16",
    azs: tuple[str, ...] = ("us-east-1a", "us-east-1b", "us-east-1c"),
    nat: str = "per-az",
    table_per_subnet: tuple[str, ...] = (),
    sizes: dict[str, int] | None = None,
) -> Tiered:
    """A VPC with one subnet per AZ in each tier. ``tiers`` maps a tier name to its kind: ``public``
    (default route to an internet gateway), ``private`` (to a NAT gateway: one per AZ, or ``nat="single"``)
    or ``isolated`` (no default route). Every subnet is associated explicitly, so the main route table
    routes none (as the Terraform module leaves it). Tiers named in ``table_per_subnet`` get a route table
    per subnet (the CDK's way, and the module's for private tiers); the others share one. ``sizes``: the
    prefix length per tier (default /24)."""
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    main = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]["RouteTableId"]
    vpc = Tiered(vpc_id, main)
    free = ipaddress.ip_network(cidr).network_address
    igw = None
    if "public" in tiers.values():
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    ordered = sorted(tiers.items(), key=lambda item: item[1] != "public")  # NAT gateways need public subnets
    for name, kind in ordered:
        vpc.subnets[name], vpc.route_tables[name] = {}, set()
        shared = None
        for az in azs:
            size = 2 ** (32 - (sizes or {}).get(name, 24))
            start = -(-int(free) // size) * size  # the next address aligned to the block
            block = f"{ipaddress.ip_address(start)}/{32 - size.bit_length() + 1}"
            free = ipaddress.ip_address(start + size)
            sid = ec2.create_subnet(VpcId=vpc_id, CidrBlock=block, AvailabilityZone=az)["Subnet"]["SubnetId"]
            vpc.subnets[name][az] = sid
            if shared is None or name in table_per_subnet:
                shared = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
                public = next((vpc.subnets[t] for t, k in tiers.items() if k == "public" and t in vpc.subnets), {})
                _default_route(ec2, vpc, shared, kind, igw, public.get(az) or next(iter(public.values()), None), nat)
            ec2.associate_route_table(RouteTableId=shared, SubnetId=sid)
            vpc.route_tables[name].add(shared)
    return vpc


def _default_route(
    ec2: Any, vpc: Tiered, table: str, kind: str, igw: str | None, public_subnet: str | None, nat: str
) -> None:
    """The table's default route for its tier's kind (a NAT gateway lives in the AZ's public subnet)."""
    if kind == "public":
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    elif kind == "private":
        if not (nat == "single" and vpc.nat_gateways):
            if public_subnet is None:
                raise ValueError("a private tier needs a public tier for its NAT gateways")
            vpc.nat_gateways.append(nat_gateway(ec2, public_subnet))
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=vpc.nat_gateways[-1])


def terraform_module_vpc(ec2: Any, *, single_nat: bool = False, **kwargs: Any) -> Tiered:
    """The most used Terraform VPC module with its common settings: public (one shared table), private
    (a table per AZ, each to its AZ's NAT gateway; with ``single_nat`` one NAT and one table), database
    and intra (one table each, no default route); the main table routes no subnet."""
    return tiered_vpc(
        ec2,
        {"public": "public", "private": "private", "database": "isolated", "intra": "isolated"},
        nat="single" if single_nat else "per-az",
        table_per_subnet=() if single_nat else ("private",),
        sizes={"private": 20, "public": 24, "database": 26, "intra": 26},
        **kwargs,
    )


def cdk_default_vpc(ec2: Any, **kwargs: Any) -> Tiered:
    """The CDK's Vpc with public, private-with-egress and isolated subnets: a route table per subnet,
    a NAT gateway per AZ."""
    return tiered_vpc(
        ec2,
        {"Public": "public", "Private": "private", "Isolated": "isolated"},
        table_per_subnet=("Public", "Private", "Isolated"),
        sizes={"Public": 24, "Private": 24, "Isolated": 24},
        **kwargs,
    )


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


CENTRAL_ZONES = ("dkr.ecr.{region}.amazonaws.com", "api.ecr.{region}.amazonaws.com", "logs.{region}.amazonaws.com")


def central_spoke(ec2: Any, route53: Any, *, cidr: str = "10.60.0.0/16", azs: tuple[str, ...] | None = None) -> World:
    """A spoke VPC of the Landing Zone Accelerator pattern: private subnets routed to a transit gateway,
    and private hosted zones for ECR's and logs' private DNS names associated with it (the central
    endpoints' names). ``world.tgw``: the transit gateway."""
    region = ec2.meta.region_name
    world = build_vpc(ec2, cidr=cidr, public_subnets=False, nat=False, **({"azs": azs} if azs else {}))
    tgw = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw, VpcId=world.vpc_id, SubnetIds=list(world.private_subnets.values())
    )
    for table in world.private_route_tables.values():
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", TransitGatewayId=tgw)
    for n, name in enumerate(CENTRAL_ZONES):
        route53.create_hosted_zone(
            Name=name.format(region=region),
            CallerReference=f"central-{world.vpc_id}-{n}",
            VPC={"VPCRegion": region, "VPCId": world.vpc_id},
            HostedZoneConfig={"PrivateZone": True, "Comment": "central endpoints"},
        )
    world.tgw = tgw  # type: ignore[attr-defined]
    return world


def stop_fargate_tasks(ecs: Any, ec2: Any, arns: list[str], *, cluster: str = "web", reason: str = "done") -> None:
    """Stop tasks as AWS does: stopped, and their ENIs deleted (moto keeps a stopped task's ENI)."""
    described = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
    for arn in arns:
        ecs.stop_task(cluster=cluster, task=arn, reason=reason)
    for task in described:
        for attachment in task.get("attachments", []):
            for detail in attachment.get("details", []):
                if detail.get("name") == "networkInterfaceId":
                    ec2.delete_network_interface(NetworkInterfaceId=detail["value"])


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
    """An image in the client's account's ECR. moto reports the manifest's config size as the image size, so the
    size goes there. Returns the image URI."""
    import json

    uri = ecr.create_repository(repositoryName=repository)["repository"]["repositoryUri"]
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
    return f"{uri}:{tag}"


OWN_ACCOUNT = "123456789012"  # moto's default account: the caller's own


def member_client(service: str, account: str, region: str) -> Any:
    """A client in ``account`` as a hub reaches it: through its member role (moto keeps a backend per
    account and honours the assumed role's account); the own account directly."""
    import boto3

    if account == OWN_ACCOUNT:
        return boto3.client(service, region_name=region)
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/endpoint-guard-member", RoleSessionName="endpoint-guard-world"
    )["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def daily_metric(
    cloudwatch: Any, namespace: str, metric: str, dimension: tuple[str, str], per_day: float, days: int
) -> None:
    """``per_day`` of a Sum metric on each of the last ``days`` days (moto keeps what it is given)."""
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    for day in range(days):
        cloudwatch.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": dimension[0], "Value": dimension[1]}],
                    "Timestamp": now - datetime.timedelta(days=day, hours=2),
                    "Value": per_day,
                    "Unit": "Bytes",
                }
            ],
        )

"""The comparison for `make bench`: the blog post's manual steps, scripted the way a team would script
them with boto3, one endpoint at a time. It is what endpoint-guard is measured against, not part of it.

Per VPC it reads the VPC, its subnets and route tables and looks for the security group; then, for each
Interface service, asks which AZs offer it and whether the endpoint is there, and creates it in one
subnet per offered AZ; then the same for the S3 gateway, on every route table. It does less than
endpoint-guard (no DNS attributes, no check of running workloads, no repair of an existing endpoint),
so its call count is a floor for this approach, not a caricature of it.
"""

from __future__ import annotations

from typing import Any

INTERFACE_SERVICES = ("ecr.dkr", "ecr.api", "logs")
GROUP_NAME = "vpc-endpoints"


def _service_name(ec2: Any, short: str) -> str:
    return f"com.amazonaws.{ec2.meta.region_name}.{short}"


def _existing(ec2: Any, vpc_id: str, service_name: str) -> list[dict]:
    found = ec2.describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "service-name", "Values": [service_name]}]
    )["VpcEndpoints"]
    return [e for e in found if e["State"].lower() not in ("deleted", "deleting", "failed", "rejected")]


def _security_group(ec2: Any, vpc_id: str, cidr: str) -> str:
    found = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": [GROUP_NAME]}]
    )["SecurityGroups"]
    if found:
        return found[0]["GroupId"]
    group_id = ec2.create_security_group(GroupName=GROUP_NAME, Description="VPC endpoints", VpcId=vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": cidr}]}],
    )
    return group_id


def ensure(ec2: Any, vpc_id: str) -> list[str]:
    """Create what is missing of the four endpoints; the ids of the ones created."""
    vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    route_tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    group_id = _security_group(ec2, vpc_id, vpc["CidrBlock"])
    created = []
    for short in INTERFACE_SERVICES:
        name = _service_name(ec2, short)
        [detail] = ec2.describe_vpc_endpoint_services(ServiceNames=[name])["ServiceDetails"]
        if _existing(ec2, vpc_id, name):
            continue
        per_az: dict[str, str] = {}
        for subnet in sorted(subnets, key=lambda s: s["SubnetId"]):
            if subnet["AvailabilityZone"] in detail["AvailabilityZones"]:
                per_az.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
        endpoint = ec2.create_vpc_endpoint(
            VpcEndpointType="Interface",
            VpcId=vpc_id,
            ServiceName=name,
            SubnetIds=list(per_az.values()),
            SecurityGroupIds=[group_id],
            PrivateDnsEnabled=True,
        )["VpcEndpoint"]
        created.append(endpoint["VpcEndpointId"])
    s3 = _service_name(ec2, "s3")
    if not _existing(ec2, vpc_id, s3):
        endpoint = ec2.create_vpc_endpoint(
            VpcEndpointType="Gateway",
            VpcId=vpc_id,
            ServiceName=s3,
            RouteTableIds=[rt["RouteTableId"] for rt in route_tables],
        )["VpcEndpoint"]
        created.append(endpoint["VpcEndpointId"])
    return created

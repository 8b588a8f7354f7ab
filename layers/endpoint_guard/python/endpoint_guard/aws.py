"""Thin AWS adapters. The only module that talks to boto3.

Clients are built lazily on first use and cached per (service, region, endpoint, profile) for the life
of the container; botocore's standard retry mode handles throttling. ClientError codes become the named
errors of ``endpoint_guard.errors``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from endpoint_guard import MANAGED_BY_TAG, MANAGED_BY_VALUE
from endpoint_guard.errors import AwsCallError, ConfigurationError, InvalidEventError, VpcNotFoundError
from endpoint_guard.model import CheckedGroup, SecurityGroup, ServiceOffer, offer_from_api, security_group_from_api
from endpoint_guard.pipeline import Mark

if TYPE_CHECKING:  # pragma: no cover
    from mypy_boto3_ec2 import EC2Client  # noqa: F401

# Service offers change rarely; one lookup per container is enough (the "cached per container").
_OFFER_CACHE: dict[tuple[str, str | None, str, str], ServiceOffer | None] = {}


def _config():
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "max_attempts": 8},
        connect_timeout=5,
        read_timeout=30,
        user_agent_appid="endpoint-guard",
    )


@cache
def _session(profile: str | None) -> Any:
    """One session per profile: it holds the loaded service models, which cost ~0.2 s to load."""
    import boto3

    return boto3.session.Session(profile_name=profile)


@cache
def _client(service: str, region: str | None, endpoint_url: str | None, profile: str | None) -> Any:
    from botocore.exceptions import NoRegionError, ProfileNotFound

    try:
        return _session(profile).client(service, region_name=region, config=_config(), endpoint_url=endpoint_url)
    except NoRegionError as err:
        raise ConfigurationError("no AWS region configured (set AWS_REGION or pass --region)") from err
    except ProfileNotFound as err:
        raise ConfigurationError(str(err)) from err


def client(service: str) -> Any:
    """A client for ``service`` configured from the environment as it is now."""
    env = os.environ
    return _client(
        service,
        env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        env.get("AWS_ENDPOINT_URL") or None,
        env.get("AWS_PROFILE") or None,
    )


def clear_caches() -> None:
    """Forget cached clients and service offers (tests, and the CLI between targets). Sessions stay: they
    hold only the service models and the credential chain."""
    _client.cache_clear()
    _OFFER_CACHE.clear()


def _aws_error(operation: str, err: Exception) -> AwsCallError:
    response = getattr(err, "response", {}) or {}
    error = response.get("Error", {})
    return AwsCallError(operation, error.get("Code", type(err).__name__), error.get("Message", str(err)))


class _Adapter:
    """One AWS service: a lazily built client (or an injected one) and calls that raise named errors."""

    service = ""

    def __init__(self, client_: Any = None) -> None:
        self._client = client_

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = client(self.service)
        return self._client

    @property
    def region(self) -> str:
        return self.client.meta.region_name

    @property
    def partition(self) -> str:
        return self.client.meta.partition

    def _call(self, operation: str, **params: Any) -> dict:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(**params)
        except ClientError as err:
            raise _aws_error(operation, err) from err
        except BotoCoreError as err:
            raise AwsCallError(operation, type(err).__name__, str(err)) from err

    def _pages(self, operation: str, key: str, **params: Any) -> list[dict]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return [
                item for page in self.client.get_paginator(operation).paginate(**params) for item in page.get(key, [])
            ]
        except ClientError as err:
            raise _aws_error(operation, err) from err
        except BotoCoreError as err:
            raise AwsCallError(operation, type(err).__name__, str(err)) from err


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Ec2Adapter(_Adapter):
    """The EC2 calls a reconcile makes, one method per call. Takes an optional client (tests inject one)."""

    service = "ec2"

    @staticmethod
    def _by_vpc(vpc_id: str) -> list[dict]:
        return [{"Name": "vpc-id", "Values": [vpc_id]}]

    # --- reads -----------------------------------------------------------------------------------

    def describe_vpc(self, vpc_id: str) -> dict:
        try:
            vpcs = self._call("describe_vpcs", VpcIds=[vpc_id])["Vpcs"]
        except AwsCallError as err:
            if err.code == "InvalidVpcID.NotFound":
                raise VpcNotFoundError(vpc_id) from err
            if err.code == "InvalidVpcID.Malformed":
                raise InvalidEventError(f"{vpc_id!r} is not a VPC id") from err
            raise
        if not vpcs:
            raise VpcNotFoundError(vpc_id)
        return vpcs[0]

    def vpcs_of(self, subnet_ids: Iterable[str] = (), route_table_ids: Iterable[str] = ()) -> tuple[str, ...]:
        """The VPCs that subnets and route tables belong to. By filter, not by id: a filter skips ids that
        were deleted since the event, where an id list would fail the whole call."""
        vpcs: set[str] = set()
        for operation, key, name, ids in (
            ("describe_subnets", "Subnets", "subnet-id", sorted(set(subnet_ids))),
            ("describe_route_tables", "RouteTables", "route-table-id", sorted(set(route_table_ids))),
        ):
            if ids:
                vpcs.update(
                    item["VpcId"] for item in self._pages(operation, key, Filters=[{"Name": name, "Values": ids}])
                )
        return tuple(sorted(vpcs))

    def vpcs_of_instances(self, instance_ids: Iterable[str]) -> tuple[str, ...]:
        """The VPCs EC2 instances (an ECS cluster's container instances) run in; gone ones are skipped."""
        ids = sorted(set(instance_ids))
        if not ids:
            return ()
        reservations = self._pages(
            "describe_instances", "Reservations", Filters=[{"Name": "instance-id", "Values": ids}]
        )
        return tuple(sorted({i["VpcId"] for r in reservations for i in r.get("Instances", []) if i.get("VpcId")}))

    def all_vpcs(self) -> list[dict]:
        return self._pages("describe_vpcs", "Vpcs")

    def all_subnets(self) -> list[dict]:
        return self._pages("describe_subnets", "Subnets")

    def all_vpc_cidrs(self) -> list[str]:
        """Every IPv4 CIDR of every VPC in the region (a new VPC must overlap none of them)."""
        return sorted(
            {
                a["CidrBlock"]
                for vpc in self.all_vpcs()
                for a in vpc.get("CidrBlockAssociationSet", [])
                if a.get("CidrBlockState", {}).get("State", "associated") in ("associated", "associating")
            }
        )

    def nat_gateways(self, vpc_id: str) -> list[dict]:
        return self._pages(
            "describe_nat_gateways",
            "NatGateways",
            Filter=[*self._by_vpc(vpc_id), {"Name": "state", "Values": ["available", "pending"]}],
        )

    def peering_connections(self, vpc_id: str) -> list[dict]:
        """Active peering connections, from either side."""
        found = {}
        for side in ("requester-vpc-info.vpc-id", "accepter-vpc-info.vpc-id"):
            for pcx in self._pages(
                "describe_vpc_peering_connections",
                "VpcPeeringConnections",
                Filters=[{"Name": side, "Values": [vpc_id]}, {"Name": "status-code", "Values": ["active"]}],
            ):
                found[pcx["VpcPeeringConnectionId"]] = pcx
        return [found[k] for k in sorted(found)]

    def transit_gateway_attachments(self, vpc_id: str) -> list[dict]:
        return self._pages(
            "describe_transit_gateway_attachments",
            "TransitGatewayAttachments",
            Filters=[{"Name": "resource-id", "Values": [vpc_id]}, {"Name": "state", "Values": ["available"]}],
        )

    def security_groups(self, vpc_id: str) -> list[dict]:
        return self._pages("describe_security_groups", "SecurityGroups", Filters=self._by_vpc(vpc_id))

    def vpc_endpoints(self, vpc_id: str) -> list[dict]:
        return self._pages("describe_vpc_endpoints", "VpcEndpoints", Filters=self._by_vpc(vpc_id))

    def subnets(self, vpc_id: str) -> list[dict]:
        return self._pages("describe_subnets", "Subnets", Filters=self._by_vpc(vpc_id))

    def route_tables(self, vpc_id: str) -> list[dict]:
        return self._pages("describe_route_tables", "RouteTables", Filters=self._by_vpc(vpc_id))

    def network_interfaces(self, vpc_id: str) -> list[dict]:
        """Every ENI in the VPC in one paginated call: covers all clusters at once."""
        return self._pages("describe_network_interfaces", "NetworkInterfaces", Filters=self._by_vpc(vpc_id))

    def dns_attributes(self, vpc_id: str) -> tuple[bool, bool]:
        """(enableDnsSupport, enableDnsHostnames); the API takes one attribute per call."""
        support = self._call("describe_vpc_attribute", VpcId=vpc_id, Attribute="enableDnsSupport")
        hostnames = self._call("describe_vpc_attribute", VpcId=vpc_id, Attribute="enableDnsHostnames")
        return bool(support["EnableDnsSupport"]["Value"]), bool(hostnames["EnableDnsHostnames"]["Value"])

    def managed_security_group(self, vpc_id: str) -> SecurityGroup | None:
        groups = self._pages(
            "describe_security_groups",
            "SecurityGroups",
            Filters=[*self._by_vpc(vpc_id), {"Name": f"tag:{MANAGED_BY_TAG}", "Values": [MANAGED_BY_VALUE]}],
        )
        groups.sort(key=lambda g: g["GroupId"])
        return security_group_from_api(groups[0]) if groups else None

    def service_offers(self, wanted: Iterable[tuple[str, str]]) -> dict[str, ServiceOffer]:
        """The real service names and offered AZs for (short name, type) pairs.

        Asks by name first (one call). Names are not the same in every partition, so when AWS rejects a
        formatted name, the full list is read once and matched on the region-and-service suffix.
        """
        region, endpoint = self.region, self.client.meta.endpoint_url
        wanted = list(wanted)
        todo = [(s, t) for s, t in wanted if (region, endpoint, s, t) not in _OFFER_CACHE]
        if todo:
            names = sorted({f"com.amazonaws.{region}.{short}" for short, _ in todo})
            try:
                details = self._pages("describe_vpc_endpoint_services", "ServiceDetails", ServiceNames=names)
            except AwsCallError as err:
                if err.code != "InvalidServiceName":
                    raise
                details = self._pages("describe_vpc_endpoint_services", "ServiceDetails")
            for short, type_ in todo:
                suffix = f".{region}.{short}"
                match = next(
                    (
                        d
                        for d in details
                        if d["ServiceName"].endswith(suffix)
                        and type_ in [t["ServiceType"] for t in d.get("ServiceType", [])]
                    ),
                    None,
                )
                _OFFER_CACHE[(region, endpoint, short, type_)] = offer_from_api(short, match) if match else None
        offers = {}
        for short, type_ in wanted:
            offer = _OFFER_CACHE[(region, endpoint, short, type_)]
            if offer is not None:
                offers[short] = ServiceOffer(short, offer.service_name, type_, offer.azs)
        return offers

    # --- changes ---------------------------------------------------------------------------------

    def enable_vpc_attribute(self, VpcId: str, Attribute: str) -> None:  # noqa: N803 (API names)
        key = Attribute[0].upper() + Attribute[1:]
        self._call("modify_vpc_attribute", VpcId=VpcId, **{key: {"Value": True}})

    def create_security_group(self, **params: Any) -> str:
        try:
            return self._call("create_security_group", **params)["GroupId"]
        except AwsCallError as err:
            if err.code != "InvalidGroup.Duplicate":
                raise
        # A group of that name exists but was not found by tag (an earlier run died between create and
        # tag): take it over rather than fail forever.
        found = self._call(
            "describe_security_groups",
            Filters=[*self._by_vpc(params["VpcId"]), {"Name": "group-name", "Values": [params["GroupName"]]}],
        )["SecurityGroups"]
        if not found:
            raise AwsCallError("create_security_group", "InvalidGroup.Duplicate", "duplicate group not found by name")
        return found[0]["GroupId"]

    def authorize_ingress(self, GroupId: str, IpPermissions: list[dict]) -> None:  # noqa: N803
        try:
            self._call("authorize_security_group_ingress", GroupId=GroupId, IpPermissions=IpPermissions)
        except AwsCallError as err:
            if err.code != "InvalidPermission.Duplicate":
                raise

    def revoke_ingress(self, GroupId: str, IpPermissions: list[dict]) -> None:  # noqa: N803
        self._call("revoke_security_group_ingress", GroupId=GroupId, IpPermissions=IpPermissions)

    def create_vpc_endpoint(self, **params: Any) -> str:
        return self._call("create_vpc_endpoint", **params)["VpcEndpoint"]["VpcEndpointId"]

    def modify_vpc_endpoint(self, **params: Any) -> None:
        self._call("modify_vpc_endpoint", **params)


class EcsAdapter(_Adapter):
    """What an ECS cluster tells about the VPCs it uses."""

    service = "ecs"

    def cluster(self, cluster: str) -> dict | None:
        """The cluster with its tags and capacity providers; None when it does not exist (or is deleted)."""
        found = self._call("describe_clusters", clusters=[cluster], include=["TAGS"]).get("clusters", [])
        return found[0] if found and found[0].get("status") != "INACTIVE" else None

    def service_subnets(self, cluster_arn: str) -> tuple[str, ...]:
        """The awsvpc subnets of every service of the cluster."""
        subnets: set[str] = set()
        for service in self.services(cluster_arn):
            awsvpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
            subnets.update(awsvpc.get("subnets", []))
        return tuple(sorted(subnets))

    def cluster_arns(self) -> list[str]:
        return self._pages("list_clusters", "clusterArns")

    def services(self, cluster_arn: str) -> list[dict]:
        """Every service of a cluster, described."""
        described = []
        for names in _chunks(self._pages("list_services", "serviceArns", cluster=cluster_arn), 10):
            described += self._call("describe_services", cluster=cluster_arn, services=names).get("services", [])
        return described

    def task_definition_images(self, task_definition: str) -> list[str]:
        described = self._call("describe_task_definition", taskDefinition=task_definition)["taskDefinition"]
        return [c["image"] for c in described.get("containerDefinitions", []) if c.get("image")]

    def task_count(self, cluster_arn: str, service_name: str) -> int:
        """Tasks of a service that ECS still lists: running ones and those stopped in the last hour."""
        return sum(
            len(
                self._pages(
                    "list_tasks", "taskArns", cluster=cluster_arn, serviceName=service_name, desiredStatus=status
                )
            )
            for status in ("RUNNING", "STOPPED")
        )

    def container_instance_ids(self, cluster_arn: str) -> tuple[str, ...]:
        """The EC2 instance ids of the cluster's registered container instances."""
        instances: set[str] = set()
        arns = self._pages("list_container_instances", "containerInstanceArns", cluster=cluster_arn)
        for chunk in _chunks(arns, 100):
            found = self._call("describe_container_instances", cluster=cluster_arn, containerInstances=chunk)
            instances.update(
                ci["ec2InstanceId"] for ci in found.get("containerInstances", []) if ci.get("ec2InstanceId")
            )
        return tuple(sorted(instances))

    def capacity_provider_groups(self, names: Iterable[str]) -> tuple[str, ...]:
        """The Auto Scaling groups (names or ARNs) behind capacity providers. FARGATE and FARGATE_SPOT have
        none and are not asked about."""
        wanted = sorted({n for n in names if n not in ("FARGATE", "FARGATE_SPOT")})
        if not wanted:
            return ()
        providers = self._call("describe_capacity_providers", capacityProviders=wanted).get("capacityProviders", [])
        return tuple(
            sorted(
                {
                    p["autoScalingGroupProvider"]["autoScalingGroupArn"]
                    for p in providers
                    if (p.get("autoScalingGroupProvider") or {}).get("autoScalingGroupArn")
                }
            )
        )


class AutoScalingAdapter(_Adapter):
    service = "autoscaling"

    def group_subnets(self, groups: Iterable[str]) -> tuple[str, ...]:
        """The subnets Auto Scaling groups launch into. Capacity providers name their group by ARN; the API
        takes names, and the name is the ARN's last part."""
        names = sorted({g.rsplit("autoScalingGroupName/", 1)[-1] for g in groups})
        if not names:
            return ()
        found = self._pages("describe_auto_scaling_groups", "AutoScalingGroups", AutoScalingGroupNames=names)
        return tuple(
            sorted({s.strip() for g in found for s in (g.get("VPCZoneIdentifier") or "").split(",") if s.strip()})
        )


class LoadBalancingAdapter(_Adapter):
    service = "elbv2"

    def target_groups(self, arns: Iterable[str]) -> list[dict]:
        found = []
        for chunk in _chunks(sorted(set(arns)), 20):
            found += self._call("describe_target_groups", TargetGroupArns=chunk).get("TargetGroups", [])
        return found


class MetricsAdapter(_Adapter):
    service = "cloudwatch"

    def nat_gateway_bytes(self, nat_gateway_ids: Iterable[str], days: int) -> float | None:
        """Bytes the NAT gateways processed for the VPC's own traffic (out to and back from destinations)
        over the last ``days`` days; None when CloudWatch has no data points for any of them."""
        import datetime

        ids = sorted(set(nat_gateway_ids))
        if not ids:
            return None
        end = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
        queries = [
            {
                "Id": f"m{n}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/NATGateway",
                        "MetricName": metric,
                        "Dimensions": [{"Name": "NatGatewayId", "Value": nat}],
                    },
                    "Period": 86400,
                    "Stat": "Sum",
                },
            }
            for n, (nat, metric) in enumerate(
                (nat, metric) for nat in ids for metric in ("BytesOutToDestination", "BytesInFromDestination")
            )
        ]
        values = [
            v
            for result in self._pages(
                "get_metric_data",
                "MetricDataResults",
                MetricDataQueries=queries,
                StartTime=end - datetime.timedelta(days=days),
                EndTime=end,
            )
            for v in result.get("Values", [])
        ]
        return float(sum(values)) if values else None


class RegistryAdapter(_Adapter):
    service = "ecr"

    def image_sizes(self, images: Iterable[str], account: str | None, region: str) -> dict[str, int]:
        """Compressed sizes of the ECR images (this account and region) among ``images``; others are left
        out (public or third-party registries are not what the endpoints carry)."""
        sizes = {}
        for image in sorted(set(images)):
            host, _, rest = image.partition("/")
            if not host.endswith(f".dkr.ecr.{region}.amazonaws.com") or (
                account and not host.startswith(f"{account}.")
            ):
                continue
            repository, image_id = _image_reference(rest)
            try:
                found = self._call("describe_images", repositoryName=repository, imageIds=[image_id]).get(
                    "imageDetails", []
                )
            except AwsCallError as err:
                if err.code in ("ImageNotFoundException", "RepositoryNotFoundException"):
                    continue
                raise
            if found and found[0].get("imageSizeInBytes"):
                sizes[image] = int(found[0]["imageSizeInBytes"])
        return sizes


def _image_reference(rest: str) -> tuple[str, dict]:
    if "@" in rest:
        repository, digest = rest.split("@", 1)
        return repository, {"imageDigest": digest}
    repository, _, tag = rest.partition(":")
    return repository, {"imageTag": tag or "latest"}


class QueueAdapter(_Adapter):
    """An SQS queue: the FIFO work queue, or the dead-letter queue."""

    service = "sqs"

    def __init__(self, queue_url: str, client_: Any = None) -> None:
        super().__init__(client_)
        self.queue_url = queue_url

    def send_fifo(self, messages: Iterable[tuple[str, str, str]]) -> None:
        """(body, group id, deduplication id) triples, ten per call. Raises when any entry was refused, so
        the event is retried (a resend of an entry that did go through is dropped by its deduplication id)."""
        for chunk in _chunks(list(messages), 10):
            entries = [
                {"Id": str(n), "MessageBody": body, "MessageGroupId": group, "MessageDeduplicationId": dedup}
                for n, (body, group, dedup) in enumerate(chunk)
            ]
            refused = self._call("send_message_batch", QueueUrl=self.queue_url, Entries=entries).get("Failed", [])
            if refused:
                first = refused[0]
                raise AwsCallError("send_message_batch", first.get("Code", "Failed"), first.get("Message", ""))

    def send(self, body: str, attributes: dict[str, str]) -> None:
        self._call(
            "send_message",
            QueueUrl=self.queue_url,
            MessageBody=body,
            MessageAttributes={k: {"DataType": "String", "StringValue": v[:1000]} for k, v in attributes.items() if v},
        )


class StateTable(_Adapter):
    """The DynamoDB table the stack keeps its state in: Powertools idempotency records, and per VPC the
    start time of its last successful reconcile (items ``vpc#<id>``). Both expire through ``expiration``."""

    service = "dynamodb"

    def __init__(self, table_name: str, client_: Any = None) -> None:
        super().__init__(client_)
        self.table_name = table_name

    @staticmethod
    def _key(vpc_id: str) -> dict:
        return {"id": {"S": f"vpc#{vpc_id}"}}

    def mark(self, vpc_id: str) -> Mark:
        """The VPC's mark; an empty one when there is none (never reconciled, or expired)."""
        item = self._call("get_item", TableName=self.table_name, Key=self._key(vpc_id), ConsistentRead=True).get("Item")
        if not item:
            return Mark()
        group = None
        if {"group_id", "group_cidrs", "group_checked_at"} <= item.keys():
            group = CheckedGroup(
                item["group_id"]["S"], tuple(item["group_cidrs"]["S"].split()), int(item["group_checked_at"]["N"])
            )
        reconciled_from = int(item["reconciled_from"]["N"]) if "reconciled_from" in item else None
        return Mark(reconciled_from, group)

    def mark_reconciled(self, vpc_id: str, started_ms: int, expires_at: int, group: CheckedGroup | None = None) -> None:
        """Record that a reconcile which started at ``started_ms`` succeeded, and what it read of the
        managed group (``None`` keeps the last read). Never moves the mark back."""
        update = "SET reconciled_from = :t, expiration = :e"
        values = {":t": {"N": str(started_ms)}, ":e": {"N": str(expires_at)}}
        if group is not None:
            update += ", group_id = :g, group_cidrs = :c, group_checked_at = :a"
            values.update(
                {
                    ":g": {"S": group.group_id},
                    ":c": {"S": " ".join(group.cidrs)},
                    ":a": {"N": str(group.checked_at)},
                }
            )
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=self._key(vpc_id),
                UpdateExpression=update,
                ConditionExpression="attribute_not_exists(reconciled_from) OR reconciled_from < :t",
                ExpressionAttributeValues=values,
            )
        except AwsCallError as err:
            if err.code != "ConditionalCheckFailedException":
                raise


class StepFunctionsAdapter(_Adapter):
    service = "stepfunctions"

    def start_once(self, state_machine_arn: str, name: str, document: dict) -> tuple[str, bool]:
        """Start an execution called ``name``; (its ARN, whether this call started it). An execution of
        that name that already exists (same VPC, same state) is the answer, not an error."""
        import json

        try:
            started = self._call(
                "start_execution", stateMachineArn=state_machine_arn, name=name, input=json.dumps(document)
            )
            return started["executionArn"], True
        except AwsCallError as err:
            if err.code != "ExecutionAlreadyExists":
                raise
        prefix, machine = state_machine_arn.split(":stateMachine:", 1)
        return f"{prefix}:execution:{machine}:{name}", False

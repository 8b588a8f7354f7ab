"""Thin AWS adapters. The only module that talks to boto3.

Clients are built lazily on first use and cached per (service, region, endpoint, profile) for the life
of the container; botocore's standard retry mode handles throttling. ClientError codes become the named
errors of ``endpoint_guard.errors``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from endpoint_guard import MANAGED_BY_TAG, MANAGED_BY_VALUE
from endpoint_guard.errors import AwsCallError, ConfigurationError, InvalidEventError, VpcNotFoundError
from endpoint_guard.model import SecurityGroup, ServiceOffer, offer_from_api, security_group_from_api

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


class Ec2Adapter:
    """The EC2 calls a reconcile makes, one method per call. Takes an optional client (tests inject one)."""

    def __init__(self, ec2_client: Any = None) -> None:
        self._client = ec2_client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = client("ec2")
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

"""Fleet reads: route tables, endpoints, subnets, the managed groups and the ENIs of a whole
account-Region, each read once (paginated) and split by VPC. ``VpcView`` serves one VPC's reads from them
to the ordinary reconcile (it is an ``Ec2Port``); what has no fleet form (the DNS attributes) and every
change go to the adapter. A sweep of N VPCs then costs a few paginated calls (two more, the NAT gateways
and transit gateway attachments, when a VPC's new endpoints would go to the isolated tier) plus at most
two per VPC."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

from endpoint_guard.aws import Ec2Adapter
from endpoint_guard.model import SECURITY_GROUP_NAME, ServiceOffer

Raw = dict[str, Any]


def _by_vpc(items: Iterable[Raw]) -> dict[str, list[Raw]]:
    split: dict[str, list[Raw]] = {}
    for item in items:
        split.setdefault(str(item.get("VpcId", "")), []).append(item)
    return split


class FleetReads:
    """One account-Region's EC2 state (or that of ``vpc_ids`` only: a chunk of a sweep), read on first
    use, one paginated call per kind."""

    def __init__(self, ec2: Ec2Adapter, vpc_ids: Iterable[str] | None = None) -> None:
        self.ec2 = ec2
        self.only = sorted(set(vpc_ids)) if vpc_ids is not None else None

    def _scope(self, *filters: Raw) -> dict[str, Any]:
        scoped = [*filters, *([{"Name": "vpc-id", "Values": self.only}] if self.only is not None else [])]
        return {"Filters": scoped} if scoped else {}

    def _all(self, operation: str, key: str, *filters: Raw) -> dict[str, list[Raw]]:
        return _by_vpc(self.ec2.region_wide(operation, key, **self._scope(*filters)))

    @cached_property
    def vpcs(self) -> list[Raw]:
        return sorted(self.ec2.region_wide("describe_vpcs", "Vpcs", **self._scope()), key=lambda v: str(v["VpcId"]))

    @cached_property
    def route_tables(self) -> dict[str, list[Raw]]:
        return self._all("describe_route_tables", "RouteTables")

    @cached_property
    def endpoints(self) -> dict[str, list[Raw]]:
        return self._all("describe_vpc_endpoints", "VpcEndpoints")

    @cached_property
    def subnets(self) -> dict[str, list[Raw]]:
        return self._all("describe_subnets", "Subnets")

    @cached_property
    def groups(self) -> dict[str, list[Raw]]:
        """The groups named as endpoint-guard's, in every VPC (the reconcile tells its own by the tag)."""
        return self._all(
            "describe_security_groups", "SecurityGroups", {"Name": "group-name", "Values": [SECURITY_GROUP_NAME]}
        )

    @cached_property
    def enis(self) -> dict[str, list[Raw]]:
        return self._all("describe_network_interfaces", "NetworkInterfaces")

    @cached_property
    def nat_gateways(self) -> dict[str, list[Raw]]:
        """Pending or available NAT gateways (read only when a VPC's new endpoints would go to the
        isolated tier: see ``reconcile.reads``)."""
        filters = [{"Name": "state", "Values": ["pending", "available"]}]
        filters += [{"Name": "vpc-id", "Values": self.only}] if self.only is not None else []
        return _by_vpc(self.ec2.region_wide("describe_nat_gateways", "NatGateways", Filter=filters))

    @cached_property
    def attachments(self) -> dict[str, list[Raw]]:
        """Transit gateway VPC attachments, pending or available, by VPC (their ``ResourceId``)."""
        filters = [
            {"Name": "resource-type", "Values": ["vpc"]},
            {"Name": "state", "Values": ["pendingAcceptance", "pending", "available"]},
            *([{"Name": "resource-id", "Values": self.only}] if self.only is not None else []),
        ]
        found = self.ec2.region_wide(
            "describe_transit_gateway_attachments", "TransitGatewayAttachments", Filters=filters
        )
        split: dict[str, list[Raw]] = {}
        for attachment in found:
            split.setdefault(str(attachment.get("ResourceId", "")), []).append(attachment)
        return split

    def view(self, vpc_id: str) -> VpcView:
        return VpcView(self, vpc_id)


class VpcView:
    """One VPC through the fleet reads: an ``Ec2Port`` for the reconcile. Its DNS attributes, the one
    per-VPC read, are read once for the view (a cost-aware sweep plans the VPC dry, then reconciles it)
    and again only after endpoint-guard turns one on."""

    def __init__(self, fleet: FleetReads, vpc_id: str) -> None:
        self.fleet, self.vpc_id, self.ec2 = fleet, vpc_id, fleet.ec2
        self._dns: dict[str, tuple[bool, bool]] = {}

    @property
    def region(self) -> str:
        return self.ec2.region

    @property
    def partition(self) -> str:
        return self.ec2.partition

    def route_tables(self, vpc_id: str) -> list[Raw]:
        return self.fleet.route_tables.get(vpc_id, [])

    def vpc_endpoints(self, vpc_id: str) -> list[Raw]:
        return self.fleet.endpoints.get(vpc_id, [])

    def subnets(self, vpc_id: str) -> list[Raw]:
        return self.fleet.subnets.get(vpc_id, [])

    def network_interfaces(self, vpc_id: str) -> list[Raw]:
        return self.fleet.enis.get(vpc_id, [])

    def managed_security_group(self, vpc_id: str) -> Raw | None:
        groups = self.fleet.groups.get(vpc_id, [])
        return min(groups, key=lambda g: str(g["GroupId"])) if groups else None

    def dns_attributes(self, vpc_id: str) -> tuple[bool, bool]:
        if vpc_id not in self._dns:
            self._dns[vpc_id] = self.ec2.dns_attributes(vpc_id)
        return self._dns[vpc_id]

    def service_offers(self, wanted: Iterable[tuple[str, str]]) -> dict[str, ServiceOffer]:
        return self.ec2.service_offers(wanted)  # kept per account-Region by the Clients

    def egress(self, vpc_id: str) -> tuple[list[Raw], list[Raw]]:
        return self.fleet.nat_gateways.get(vpc_id, []), self.fleet.attachments.get(vpc_id, [])

    def private_hosted_zones(self, vpc_id: str) -> list[Raw]:
        return self.ec2.private_hosted_zones(vpc_id)  # one VPC's, read only for a transit-gateway VPC

    def enable_vpc_attribute(self, vpc_id: str, attribute: str) -> None:
        self._dns.pop(vpc_id, None)
        self.ec2.enable_vpc_attribute(vpc_id, attribute)

    def create_security_group(self, params: Raw) -> str:
        return self.ec2.create_security_group(params)

    def authorize_ingress(self, group_id: str, permissions: list[Raw]) -> None:
        self.ec2.authorize_ingress(group_id, permissions)

    def revoke_ingress(self, group_id: str, permissions: list[Raw]) -> None:
        self.ec2.revoke_ingress(group_id, permissions)

    def create_vpc_endpoint(self, params: Raw) -> str:
        return self.ec2.create_vpc_endpoint(params)

    def modify_vpc_endpoint(self, params: Raw) -> None:
        self.ec2.modify_vpc_endpoint(params)

    def delete_vpc_endpoints(self, endpoint_ids: list[str]) -> None:
        self.ec2.delete_vpc_endpoints(endpoint_ids)

    def delete_security_group(self, group_id: str) -> None:
        self.ec2.delete_security_group(group_id)

"""EC2, as the reconcile reads and changes one VPC (``Ec2Adapter``) and as the intake, the survey and
migration discovery look around a Region (``Ec2Lookups``). Reads return AWS's own shapes, which the pure
parsers of ``endpoint_guard.model`` turn into the snapshot; the offer lookup returns model objects."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from endpoint_guard.aws.base import Adapter, aws_error, by_vpc
from endpoint_guard.errors import AwsCallError, InvalidEventError, VpcNotFoundError
from endpoint_guard.model import SECURITY_GROUP_NAME, ServiceOffer, endpoint_from_api, is_managed, offer_from_api

Raw = dict[str, Any]


class Ec2Reads(Adapter):
    """The per-VPC reads, each one paginated call filtered by VPC."""

    service = "ec2"

    def vpc_endpoints(self, vpc_id: str) -> list[Raw]:
        return self._pages("describe_vpc_endpoints", "VpcEndpoints", Filters=by_vpc(vpc_id))

    def subnets(self, vpc_id: str) -> list[Raw]:
        return self._pages("describe_subnets", "Subnets", Filters=by_vpc(vpc_id))

    def route_tables(self, vpc_id: str) -> list[Raw]:
        return self._pages("describe_route_tables", "RouteTables", Filters=by_vpc(vpc_id))

    def network_interfaces(self, vpc_id: str) -> list[Raw]:
        """Every ENI in the VPC in one paginated call: covers all clusters at once."""
        return self._pages("describe_network_interfaces", "NetworkInterfaces", Filters=by_vpc(vpc_id))

    def account(self) -> str:
        """The account these reads are made in (``Clients.account``: STS, which needs no grant)."""
        return self._clients.account()

    def nat_gateways(self, vpc_id: str) -> list[Raw]:
        """The VPC's NAT gateways, pending or available."""
        return self._pages(
            "describe_nat_gateways",
            "NatGateways",
            Filter=[*by_vpc(vpc_id), {"Name": "state", "Values": ["pending", "available"]}],
        )

    def region_wide(self, operation: str, key: str, **params: Any) -> list[Raw]:
        """A describe call over the whole account-Region, every page (the fleet reads)."""
        return self._pages(operation, key, **params)


def account_or_none(reads: Ec2Reads) -> str | None:
    """The account the reads are made in, or None when STS cannot tell (the caller then skips the checks
    that need it, such as telling a VPC shared with the account from its own)."""
    try:
        return reads.account()
    except AwsCallError:
        return None


class Ec2Adapter(Ec2Reads):
    """The EC2 calls a reconcile makes, one method per call (``reconcile.ports.Ec2Port``)."""

    def dns_attributes(self, vpc_id: str) -> tuple[bool, bool]:
        """(enableDnsSupport, enableDnsHostnames); the API takes one attribute per call."""
        support = self._call("describe_vpc_attribute", VpcId=vpc_id, Attribute="enableDnsSupport")
        hostnames = self._call("describe_vpc_attribute", VpcId=vpc_id, Attribute="enableDnsHostnames")
        return bool(support["EnableDnsSupport"]["Value"]), bool(hostnames["EnableDnsHostnames"]["Value"])

    def egress(self, vpc_id: str) -> tuple[list[Raw], list[Raw]]:
        """The VPC's NAT gateways and transit gateway attachments, pending or available (two calls)."""
        nats = self.nat_gateways(vpc_id)
        attachments = self._pages(
            "describe_transit_gateway_attachments",
            "TransitGatewayAttachments",
            Filters=[
                {"Name": "resource-id", "Values": [vpc_id]},
                {"Name": "state", "Values": ["pendingAcceptance", "pending", "available"]},
            ],
        )
        return nats, attachments

    def private_hosted_zones(self, vpc_id: str) -> list[Raw]:
        """The private hosted zones associated with the VPC (Route 53 has no paginator for this call:
        its NextToken is followed here)."""
        from botocore.exceptions import BotoCoreError, ClientError

        route53 = self.clients.client("route53")
        found: list[Raw] = []
        params: dict[str, Any] = {"VPCId": vpc_id, "VPCRegion": self.region}
        try:
            while True:
                page = route53.list_hosted_zones_by_vpc(**params)
                found += page.get("HostedZoneSummaries", [])
                if not page.get("NextToken"):
                    return found
                params["NextToken"] = page["NextToken"]
        except ClientError as err:
            raise aws_error("list_hosted_zones_by_vpc", err) from err
        except BotoCoreError as err:
            raise AwsCallError("list_hosted_zones_by_vpc", type(err).__name__, str(err)) from err

    def managed_security_group(self, vpc_id: str) -> Raw | None:
        """The VPC's group named as endpoint-guard's (names are unique in a VPC), tagged or not: the caller
        tells endpoint-guard's own group from a group of that name that someone else made."""
        groups = self._pages(
            "describe_security_groups",
            "SecurityGroups",
            Filters=[*by_vpc(vpc_id), {"Name": "group-name", "Values": [SECURITY_GROUP_NAME]}],
        )
        return min(groups, key=lambda g: str(g["GroupId"])) if groups else None

    def service_offers(self, wanted: Iterable[tuple[str, str]]) -> dict[str, ServiceOffer]:
        """The real service names and offered AZs for (short name, type) pairs, kept by the ``Clients``.

        Asks by name first (one call). Names are not the same in every partition, so when AWS rejects a
        formatted name, the full list is read once and matched on the region-and-service suffix.
        """
        region, known = self.region, self._clients.offers
        pairs = list(wanted)
        todo = [(s, t) for s, t in pairs if (region, s, t) not in known]
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
                known[(region, short, type_)] = offer_from_api(short, match) if match else None
        offers = {}
        for short, type_ in pairs:
            offer = known[(region, short, type_)]
            if offer is not None:
                offers[short] = ServiceOffer(short, offer.service_name, type_, offer.azs, offer.ip_types)
        return offers

    # --- changes ---------------------------------------------------------------------------------

    def enable_vpc_attribute(self, vpc_id: str, attribute: str) -> None:
        key = attribute[0].upper() + attribute[1:]
        self._call("modify_vpc_attribute", VpcId=vpc_id, **{key: {"Value": True}})

    def create_security_group(self, params: Raw) -> str:
        try:
            return str(self._call("create_security_group", **params)["GroupId"])
        except AwsCallError as err:
            if err.code != "InvalidGroup.Duplicate":
                raise
        # A group of that name appeared since the read (another run made it a moment ago): take it when
        # it is endpoint-guard's (tagged at creation); a group someone else named so is not ours to use,
        # and the next read reports it as a name clash.
        found = self._call(
            "describe_security_groups",
            Filters=[*by_vpc(params["VpcId"]), {"Name": "group-name", "Values": [params["GroupName"]]}],
        )["SecurityGroups"]
        if not found or not is_managed(found[0]):
            raise AwsCallError("create_security_group", "InvalidGroup.Duplicate", "a group of that name is not ours")
        return str(found[0]["GroupId"])

    def authorize_ingress(self, group_id: str, permissions: list[Raw]) -> None:
        try:
            self._call("authorize_security_group_ingress", GroupId=group_id, IpPermissions=permissions)
        except AwsCallError as err:
            if err.code != "InvalidPermission.Duplicate":
                raise

    def revoke_ingress(self, group_id: str, permissions: list[Raw]) -> None:
        self._call("revoke_security_group_ingress", GroupId=group_id, IpPermissions=permissions)

    def create_vpc_endpoint(self, params: Raw) -> str:
        return str(self._call("create_vpc_endpoint", **params)["VpcEndpoint"]["VpcEndpointId"])

    def modify_vpc_endpoint(self, params: Raw) -> None:
        self._call("modify_vpc_endpoint", **params)

    def delete_vpc_endpoints(self, endpoint_ids: list[str]) -> None:
        """Delete endpoints; AWS reports the ones it could not delete per item, not as an error."""
        failed = self._call("delete_vpc_endpoints", VpcEndpointIds=endpoint_ids).get("Unsuccessful") or []
        if failed:
            error = failed[0].get("Error") or {}
            raise AwsCallError(
                "delete_vpc_endpoints",
                str(error.get("Code") or "Unsuccessful"),
                f"{failed[0].get('ResourceId')}: {error.get('Message', '')}",
            )

    def delete_security_group(self, group_id: str) -> None:
        try:
            self._call("delete_security_group", GroupId=group_id)
        except AwsCallError as err:
            if err.code != "InvalidGroup.NotFound":  # already gone: released
                raise


class Ec2Lookups(Ec2Reads):
    """Reads around a Region: which VPC a subnet, route table or instance is in, every VPC, and what
    migration discovery needs of one VPC."""

    def describe_vpc(self, vpc_id: str) -> Raw:
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
        vpc: Raw = vpcs[0]
        return vpc

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

    def vpcs_of_endpoints(self, endpoint_ids: Iterable[str]) -> tuple[str, ...]:
        """The VPCs of VPC endpoints (deleted ones too, while AWS still lists them)."""
        ids = sorted(set(endpoint_ids))
        if not ids:
            return ()
        try:
            found = self._pages("describe_vpc_endpoints", "VpcEndpoints", VpcEndpointIds=ids)
        except AwsCallError as err:
            if not err.code.startswith("InvalidVpcEndpointId"):
                raise
            if len(ids) == 1:  # gone: what endpoint-guard recorded may still know its VPC
                return ()
            # One unknown id fails the whole call: ask for each alone.
            return tuple(sorted({vpc for one in ids for vpc in self.vpcs_of_endpoints([one])}))
        # Another Region's service's, VPC Lattice's and Gateway Load Balancer endpoints are none of
        # endpoint-guard's business: a change to one is no drift.
        return tuple(sorted({e["VpcId"] for e in found if e.get("VpcId") and endpoint_from_api(e).serves(self.region)}))

    def vpcs_of_managed_groups(self, group_ids: Iterable[str]) -> tuple[str, ...]:
        """The VPCs of those security groups that are endpoint-guard's (tagged); others lead nowhere."""
        ids = sorted(set(group_ids))
        if not ids:
            return ()
        found = self._pages("describe_security_groups", "SecurityGroups", Filters=[{"Name": "group-id", "Values": ids}])
        return tuple(sorted({g["VpcId"] for g in found if is_managed(g) and g.get("VpcId")}))

    def vpcs_of_groups_in_use(self, group_ids: Iterable[str]) -> tuple[str, ...]:
        """The VPCs where those security groups are on a network interface in use (a task, an instance,
        an endpoint): one read. A group nothing uses changes no pull."""
        ids = sorted(set(group_ids))
        if not ids:
            return ()
        found = self._pages(
            "describe_network_interfaces",
            "NetworkInterfaces",
            Filters=[{"Name": "group-id", "Values": ids}, {"Name": "status", "Values": ["in-use"]}],
        )
        return tuple(sorted({e["VpcId"] for e in found if e.get("VpcId")}))

    def vpcs_of_acls(self, acl_ids: Iterable[str]) -> tuple[str, ...]:
        """The VPCs of those network ACLs that are associated with a subnet: one read."""
        ids = sorted(set(acl_ids))
        if not ids:
            return ()
        try:
            found = self._pages("describe_network_acls", "NetworkAcls", NetworkAclIds=ids)
        except AwsCallError as err:
            if err.code != "InvalidNetworkAclID.NotFound":
                raise
            return ()  # deleted since the call: nothing to judge
        return tuple(sorted({a["VpcId"] for a in found if a.get("VpcId") and a.get("Associations")}))

    def vpcs(self, vpc_ids: Iterable[str]) -> list[Raw]:
        """The VPCs of these ids that exist, in one call by filter (a VPC deleted since the event is
        simply not there): their owner (``OwnerId``) and tags (``endpoint-guard:ignore``)."""
        ids = sorted(set(vpc_ids))
        if not ids:
            return []
        return self._pages("describe_vpcs", "Vpcs", Filters=[{"Name": "vpc-id", "Values": ids}])

    def vpcs_of_instances(self, instance_ids: Iterable[str]) -> tuple[str, ...]:
        """The VPCs EC2 instances (an ECS cluster's container instances) run in; gone ones are skipped."""
        ids = sorted(set(instance_ids))
        if not ids:
            return ()
        reservations = self._pages(
            "describe_instances", "Reservations", Filters=[{"Name": "instance-id", "Values": ids}]
        )
        return tuple(sorted({i["VpcId"] for r in reservations for i in r.get("Instances", []) if i.get("VpcId")}))

    def all_vpcs(self) -> list[Raw]:
        return self._pages("describe_vpcs", "Vpcs")

    def tagged_vpcs(self, key: str, value: str) -> list[Raw]:
        """The VPCs whose tag ``key`` is ``value`` (one paginated read)."""
        return self._pages("describe_vpcs", "Vpcs", Filters=[{"Name": f"tag:{key}", "Values": [value]}])

    def all_subnets(self) -> list[Raw]:
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

    def peering_connections(self, vpc_id: str) -> list[Raw]:
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

    def transit_gateway_attachments(self, vpc_id: str) -> list[Raw]:
        return self._pages(
            "describe_transit_gateway_attachments",
            "TransitGatewayAttachments",
            Filters=[{"Name": "resource-id", "Values": [vpc_id]}, {"Name": "state", "Values": ["available"]}],
        )

    def security_groups(self, vpc_id: str) -> list[Raw]:
        return self._pages("describe_security_groups", "SecurityGroups", Filters=by_vpc(vpc_id))

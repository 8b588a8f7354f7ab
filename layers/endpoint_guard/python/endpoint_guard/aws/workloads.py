"""The reads of the pull path: an account-Region's ECS workloads (services, standalone tasks, container
instances, with their task definitions, which never change per ARN and are cached), and a VPC's
network facts their calls cross (security groups, network ACLs, DHCP options, the S3 prefix list). Thin: AWS's shapes go to ``pullpath.needs`` and ``pullpath.model``.

ECS reads for C clusters with S services: ListClusters and one DescribeClusters per 100 clusters (their
counts say what else to read), then per cluster with services ListServices and one DescribeServices per
10 services; ListTasks and DescribeTasks only for a cluster running more tasks than its services account
for (standalone tasks), ListContainerInstances and DescribeContainerInstances only for one with
instances registered; one DescribeTaskDefinition per task definition not yet cached."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Any

from endpoint_guard.aws.base import Adapter, Clients, by_vpc, chunks
from endpoint_guard.model import Snapshot
from endpoint_guard.pullpath.model import Network, Workload, workload_from_dict
from endpoint_guard.pullpath.needs import instance_workload, service_workload, task_workload

Raw = dict[str, Any]

# Task definitions by ARN, for the container's life: a revision never changes.
_DEFINITIONS: OrderedDict[str, Raw] = OrderedDict()
DEFINITIONS_KEPT = 512
# ECS's list calls return 10 (services) or 100 items a page by default; 100 is the most each allows.
PAGE = {"PageSize": 100}


def forget_task_definitions() -> None:
    """Empty the cache (an emulator numbers revisions from 1 again in each new world; AWS never does)."""
    _DEFINITIONS.clear()


class WorkloadReads(Adapter):
    """One account-Region's ECS workloads and a VPC's network facts."""

    service = "ecs"

    def __init__(self, clients: Clients | None = None, *, client: Any = None) -> None:
        super().__init__(clients, client=client)
        self.definition_reads = 0
        self._ec2_reads: Ec2Reads | None = None

    def _ec2(self, operation: str, key: str, **params: Any) -> list[Any]:
        if self._ec2_reads is None:
            self._ec2_reads = Ec2Reads(self._clients)
        return self._ec2_reads._pages(operation, key, **params)

    def task_definition(self, arn: str) -> Raw | None:
        if arn in _DEFINITIONS:
            _DEFINITIONS.move_to_end(arn)
            return _DEFINITIONS[arn]
        from endpoint_guard.errors import AwsCallError

        try:
            found: Raw = self._call("describe_task_definition", taskDefinition=arn)["taskDefinition"]
        except AwsCallError as err:
            if err.code in ("ClientException", "InvalidParameterException"):
                return None  # deregistered and gone: what it needed is not known
            raise
        self.definition_reads += 1
        _DEFINITIONS[arn] = found
        while len(_DEFINITIONS) > DEFINITIONS_KEPT:
            _DEFINITIONS.popitem(last=False)
        return found

    def workloads(self) -> list[Workload]:
        """Every ECS workload of the account-Region (in any VPC: ``pullpath.needs.in_vpc`` cuts them)."""
        region = self.region
        found: list[Workload] = []
        for cluster in self._clusters():
            arn = str(cluster["clusterArn"])
            services = self._services(arn) if _count(cluster, "activeServicesCount") else []
            for service in services:
                definition = self.task_definition(str(service.get("taskDefinition", "")))
                workload = service_workload(service, definition, region)
                if workload:
                    found.append(workload)
            in_services = sum(_count(s, "runningCount") + _count(s, "pendingCount") for s in services)
            if _count(cluster, "runningTasksCount") + _count(cluster, "pendingTasksCount") > in_services:
                found += self._standalone_tasks(arn, region, in_services)
            if _count(cluster, "registeredContainerInstancesCount"):
                found += self._instances(arn, region)
        return found

    def _clusters(self) -> list[Raw]:
        """The account-Region's clusters with their counts (one DescribeClusters per 100 of them)."""
        arns = self._pages("list_clusters", "clusterArns", PaginationConfig=PAGE)
        described = [
            c
            for chunk in chunks(arns, 100)
            for c in self._call("describe_clusters", clusters=chunk).get("clusters", [])
        ]
        return [c for c in described if c.get("status", "ACTIVE") != "INACTIVE"]

    def _services(self, cluster_arn: str) -> list[Raw]:
        described: list[Raw] = []
        for names in chunks(
            self._pages("list_services", "serviceArns", cluster=cluster_arn, PaginationConfig=PAGE), 10
        ):
            described += self._call("describe_services", cluster=cluster_arn, services=names).get("services", [])
        return [s for s in described if s.get("status", "ACTIVE") == "ACTIVE"]

    def _standalone_tasks(self, cluster_arn: str, region: str, in_services: int) -> list[Workload]:
        """The running tasks no service started: described only when the cluster runs more tasks than
        its services count."""
        arns = self._pages(
            "list_tasks", "taskArns", cluster=cluster_arn, desiredStatus="RUNNING", PaginationConfig=PAGE
        )
        if len(arns) <= in_services:
            return []
        tasks = [
            t
            for chunk in chunks(arns, 100)
            for t in self._call("describe_tasks", cluster=cluster_arn, tasks=chunk).get("tasks", [])
        ]
        standalone = [t for t in tasks if not str(t.get("group", "")).startswith("service:")]
        eni_ids = sorted(
            {
                str(d["value"])
                for t in standalone
                for a in t.get("attachments", [])
                for d in a.get("details", [])
                if d.get("name") == "networkInterfaceId" and d.get("value")
            }
        )
        groups = {
            str(e["NetworkInterfaceId"]): tuple(sorted(g["GroupId"] for g in e.get("Groups", [])))
            for chunk in chunks(eni_ids, 200)
            for e in self._ec2("describe_network_interfaces", "NetworkInterfaces", NetworkInterfaceIds=chunk)
        }
        found = []
        for task in standalone:
            workload = task_workload(task, self.task_definition(str(task.get("taskDefinitionArn", ""))), region, groups)
            if workload:
                found.append(workload)
        return found

    def _instances(self, cluster_arn: str, region: str) -> list[Workload]:
        arns = self._pages(
            "list_container_instances", "containerInstanceArns", cluster=cluster_arn, PaginationConfig=PAGE
        )
        if not arns:
            return []
        ids = sorted(
            {
                str(ci["ec2InstanceId"])
                for chunk in chunks(arns, 100)
                for ci in self._call("describe_container_instances", cluster=cluster_arn, containerInstances=chunk).get(
                    "containerInstances", []
                )
                if ci.get("ec2InstanceId")
            }
        )
        instances = [
            i
            for chunk in chunks(ids, 200)
            for r in self._ec2("describe_instances", "Reservations", InstanceIds=chunk)
            for i in r.get("Instances", [])
        ]
        return [w for i in instances if (w := instance_workload(cluster_arn, i, region))]


class Ec2Reads(Adapter):
    """The network facts of a VPC's pull path: the groups, the ACLs, the DHCP options, the S3 prefix list
    (one read each; the DHCP options two when a set of the Region names other servers)."""

    service = "ec2"

    def security_groups(self, vpc_id: str) -> list[Raw]:
        return self._pages("describe_security_groups", "SecurityGroups", Filters=by_vpc(vpc_id))

    def network_acls(self, vpc_id: str) -> list[Raw]:
        return self._pages("describe_network_acls", "NetworkAcls", Filters=by_vpc(vpc_id))

    def dns_servers(self, vpc_id: str) -> tuple[str, ...]:
        """The DNS servers the VPC's DHCP options name: one read when every options set of the Region
        names only AmazonProvidedDNS (or there is none), a second to learn which set the VPC uses."""
        sets = self._pages("describe_dhcp_options", "DhcpOptions")
        if not any(_servers(s) != AMAZON for s in sets):
            return AMAZON
        vpcs = self._call("describe_vpcs", VpcIds=[vpc_id]).get("Vpcs", [])
        wanted = vpcs[0].get("DhcpOptionsId") if vpcs else None
        used = next((s for s in sets if s.get("DhcpOptionsId") == wanted), None)
        return _servers(used) if used else AMAZON

    def region_facts(self) -> dict[str, Any]:
        """The account-Region's groups, ACLs, DHCP options sets and which set each VPC uses, and the S3
        prefix list: five paginated reads for every VPC at once."""
        return {
            "groups": self._pages("describe_security_groups", "SecurityGroups"),
            "acls": self._pages("describe_network_acls", "NetworkAcls"),
            "dhcp": {str(d["DhcpOptionsId"]): d for d in self._pages("describe_dhcp_options", "DhcpOptions")},
            "vpc_options": {str(v["VpcId"]): v.get("DhcpOptionsId") for v in self._pages("describe_vpcs", "Vpcs")},
            "prefix_lists": self.s3_prefix_lists(),
        }

    def s3_prefix_lists(self) -> list[Raw]:
        name = f"com.amazonaws.{self.region}.s3"
        return self._pages(
            "describe_prefix_lists", "PrefixLists", Filters=[{"Name": "prefix-list-name", "Values": [name]}]
        )


AMAZON = ("AmazonProvidedDNS",)


def _count(found: Raw, key: str) -> int:
    return int(found.get(key) or 0)


def _servers(options: Raw) -> tuple[str, ...]:
    """An options set's domain-name-servers (AmazonProvidedDNS when it names none)."""
    for config in options.get("DhcpConfigurations", []):
        if config.get("Key") == "domain-name-servers":
            return tuple(str(v["Value"]) for v in config.get("Values", []) if v.get("Value")) or AMAZON
    return AMAZON


class PullPathReads:
    """The reconcile's ``WorkloadPort`` over one account-Region: its workloads read once for this object's
    life (a sweep chunk, a check), each VPC's network facts when asked. ``nat_gb_price``: the Region's
    NAT processing per GB, for the problems' details. ``region_wide``: the network facts too are read
    once, for every VPC of the account-Region, and served VPC by VPC (the sweep's way: a few reads per
    account-Region instead of four a VPC)."""

    def __init__(
        self,
        clients: Clients,
        *,
        account: str | None = None,
        nat_gb_price: float | None = None,
        endpoint_hour_price: float | None = None,
        endpoint_gb_price: float | None = None,
        region_wide: bool = False,
    ) -> None:
        self.reads, self.ec2 = WorkloadReads(clients), Ec2Reads(clients)
        self._clients, self.account, self.nat_gb_price = clients, account, nat_gb_price
        self.endpoint_hour_price, self.endpoint_gb_price = endpoint_hour_price, endpoint_gb_price
        self.region_wide = region_wide
        self._all: list[Workload] | None = None
        self._region: dict[str, Any] | None = None

    def workloads_in(self, subnet_ids: set[str]) -> list[Workload]:
        from endpoint_guard.pullpath.needs import in_vpc

        if self._all is None:
            self._all = self.reads.workloads()
        return in_vpc(self._all, subnet_ids)

    def stored(self) -> dict[str, Any]:
        """Everything this object would read for the account-Region's VPCs, as JSON: a sweep's plan step
        reads it once per account-Region and stores it for the chunks (``StoredPullPath``)."""
        if self._all is None:
            self._all = self.reads.workloads()
        if self._region is None:
            self._region = self.ec2.region_facts()
        return {"workloads": [dataclasses.asdict(w) for w in self._all], "facts": self._region}

    def _facts(self, vpc_id: str) -> tuple[list[Raw], list[Raw], tuple[str, ...], list[Raw]]:
        """(security groups, network ACLs, DNS servers, S3 prefix lists) of the VPC."""
        if not self.region_wide:
            ec2 = self.ec2
            return ec2.security_groups(vpc_id), ec2.network_acls(vpc_id), ec2.dns_servers(vpc_id), ec2.s3_prefix_lists()
        if self._region is None:
            self._region = self.ec2.region_facts()
        facts = self._region
        options = facts["dhcp"].get(facts["vpc_options"].get(vpc_id))
        return (
            [g for g in facts["groups"] if g.get("VpcId") == vpc_id],
            [a for a in facts["acls"] if a.get("VpcId") == vpc_id],
            _servers(options) if options else AMAZON,
            facts["prefix_lists"],
        )

    def _with_dns(self, snapshot: Snapshot) -> Snapshot:
        """The snapshot with the VPC's DNS attributes, read when the reconcile did not."""
        from endpoint_guard.aws.ec2 import Ec2Adapter

        if snapshot.dns_support is None or snapshot.dns_hostnames is None:
            support, hostnames = Ec2Adapter(self._clients).dns_attributes(snapshot.vpc_id)
            snapshot = dataclasses.replace(snapshot, dns_support=support, dns_hostnames=hostnames)
        return snapshot

    def network(self, snapshot: Snapshot) -> Network:
        from endpoint_guard.pullpath.model import network_from_api

        snapshot = self._with_dns(snapshot)
        groups, acls, servers, prefix_lists = self._facts(snapshot.vpc_id)
        return network_from_api(
            snapshot,
            groups=groups,
            acls=acls,
            dns_servers=servers,
            prefix_lists=prefix_lists,
            account=self.account,
            nat_gb_price=self.nat_gb_price,
            endpoint_hour_price=self.endpoint_hour_price,
            endpoint_gb_price=self.endpoint_gb_price,
        )


class StoredPullPath(PullPathReads):
    """The pull path of an account-Region from what a sweep's plan step read and stored (``stored``): no
    read of its own, whichever chunk of the account-Region it serves."""

    def __init__(
        self,
        document: dict[str, Any],
        *,
        account: str | None = None,
        nat_gb_price: float | None = None,
        endpoint_hour_price: float | None = None,
        endpoint_gb_price: float | None = None,
    ) -> None:
        self.account, self.nat_gb_price, self.region_wide = account, nat_gb_price, True
        self.endpoint_hour_price, self.endpoint_gb_price = endpoint_hour_price, endpoint_gb_price
        self._all = [workload_from_dict(w) for w in document["workloads"]]
        self._region = document["facts"]

    def _with_dns(self, snapshot: Snapshot) -> Snapshot:
        return snapshot  # read by the chunk's reconcile where an endpoint relies on private DNS


def pull_path(clients: Clients, settings: Any, owner: str | None = None, *, region_wide: bool = False) -> PullPathReads:
    """The pull path's reads for ``clients``' account-Region, with the Region's NAT price for the
    problems' details (``settings``: its prices file)."""
    from endpoint_guard.cost.estimate import load_prices, region_prices

    region = str(clients.client("ec2").meta.region_name)
    prices, _ = region_prices(load_prices(settings.prices_file), region)
    return PullPathReads(
        clients,
        account=owner,
        nat_gb_price=float(prices["nat_gb"]),
        endpoint_hour_price=float(prices["endpoint_hour"]),
        endpoint_gb_price=float(prices["endpoint_gb"]),
        region_wide=region_wide,
    )

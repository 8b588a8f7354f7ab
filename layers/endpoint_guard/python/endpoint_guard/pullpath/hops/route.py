"""The route hop: the S3 gateway's route on the subnet's effective route table (explicit association,
else the main table). Image layers come from S3; without the gateway's prefix-list route they take the
default route (a NAT gateway bills every GB; an internet gateway needs a public IP) or, with none,
cannot be fetched (CannotPullContainerError)."""

from __future__ import annotations

from endpoint_guard.model import Subnet
from endpoint_guard.pullpath.model import HOP_ROUTE, Network, Problem, Workload
from endpoint_guard.pullpath.paths import S3, gateways_on, way_out, way_out_words


def check(net: Network, workload: Workload, subnet: Subnet, service: str) -> list[Problem]:
    if service != S3:
        return []
    found = gateways_on(net, subnet.route_table_id)
    if found:
        return _ip_type(net, subnet, found[0].endpoint_id, found[0].ip_address_type)
    table = subnet.route_table_id or "(no route table)"
    return [
        Problem(
            hop=HOP_ROUTE,
            service=S3,
            effect=way_out(subnet),
            resource_ids=(table,),
            detail=(
                f"{table} ({subnet.tier}) has no route to the S3 prefix list: the image layers take the "
                f"default route instead; {way_out_words(net, subnet)}"
            ),
            fix=f"add the S3 gateway endpoint to {table} (aws ec2 modify-vpc-endpoint --add-route-table-ids {table})",
        )
    ]


def _ip_type(net: Network, subnet: Subnet, gateway_id: str, ip_type: str | None) -> list[Problem]:
    """An IPv4-only gateway does not carry an IPv6-only subnet's traffic to S3 (Nov 2025: gateways have
    an IP address type)."""
    if not subnet.ipv6_only or (ip_type or "ipv4") != "ipv4":
        return []
    return [
        Problem(
            hop=HOP_ROUTE,
            service=S3,
            effect=way_out(subnet),
            resource_ids=(gateway_id, subnet.subnet_id),
            detail=(
                f"{gateway_id} is IPv4-only and {subnet.subnet_id} is IPv6-only: its S3 traffic does not take "
                f"the gateway; {way_out_words(net, subnet)}"
            ),
            fix=f"make the gateway dual-stack (aws ec2 modify-vpc-endpoint --vpc-endpoint-id {gateway_id} --ip-address-type dualstack)",
        )
    ]

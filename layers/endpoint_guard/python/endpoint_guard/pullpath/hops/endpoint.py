"""The endpoint hop: a live interface endpoint of this Region's service (``ServiceRegion`` the VPC's;
VPC Lattice's Resource and ServiceNetwork endpoints are not service endpoints) with a subnet in the
workload's AZ. In another AZ it still works, and the inter-AZ transfer is billed; with none, the call
takes the default route or fails."""

from __future__ import annotations

from endpoint_guard.model import Subnet
from endpoint_guard.pullpath.model import EFFECT_CROSS_AZ, EFFECT_UNVERIFIED, HOP_ENDPOINT, Network, Problem, Workload
from endpoint_guard.pullpath.paths import S3, endpoint_subnet_in, interface_endpoint, way_out, way_out_words


def check(net: Network, workload: Workload, subnet: Subnet, service: str) -> list[Problem]:
    if service == S3:
        return []  # the gateway is the route hop's
    endpoint = interface_endpoint(net, service)
    central = (net.snapshot.central_zones or {}).get(service)
    if endpoint is None and central:
        return [
            Problem(
                hop=HOP_ENDPOINT,
                service=service,
                effect=EFFECT_UNVERIFIED,
                resource_ids=(net.snapshot.vpc_id,),
                detail=(
                    f"{service} is served centrally: the private hosted zone {central} sends its calls to "
                    "endpoints reached through the transit gateway; that they answer from here is not verified"
                ),
                fix=(
                    "check that the route tables of the workload's subnets send the central endpoints' range to "
                    "the transit gateway, and that the central endpoints' groups admit this VPC's range"
                ),
            )
        ]
    if endpoint is None:
        return [
            Problem(
                hop=HOP_ENDPOINT,
                service=service,
                effect=way_out(subnet),
                resource_ids=(net.snapshot.vpc_id,),
                detail=f"no {service} interface endpoint of {net.snapshot.region} in the VPC: {way_out_words(net, subnet)}"
                + _cost_words(net),
                fix=_create_fix(service, net.snapshot.vpc_id),
            )
        ]
    if subnet.ipv6_only and (endpoint.ip_address_type or "ipv4") == "ipv4":
        return [
            Problem(
                hop=HOP_ENDPOINT,
                service=service,
                effect=way_out(subnet),
                resource_ids=(endpoint.endpoint_id, subnet.subnet_id),
                detail=(
                    f"{endpoint.endpoint_id} takes IPv4 only and {subnet.subnet_id} is IPv6-only: its calls cannot "
                    f"reach it; {way_out_words(net, subnet)}"
                ),
                fix=(
                    f"give {endpoint.endpoint_id} IPv6 (aws ec2 modify-vpc-endpoint --vpc-endpoint-id "
                    f"{endpoint.endpoint_id} --ip-address-type dualstack --dns-options DnsRecordIpType=dualstack; "
                    "its subnets must be dual-stack)"
                ),
            )
        ]
    if endpoint_subnet_in(net, endpoint, subnet.az) is None:
        return [
            Problem(
                hop=HOP_ENDPOINT,
                service=service,
                effect=EFFECT_CROSS_AZ,
                resource_ids=(endpoint.endpoint_id, subnet.subnet_id),
                detail=(
                    f"{endpoint.endpoint_id} has no subnet in {subnet.az}: the traffic crosses AZs to reach it "
                    "(inter-AZ transfer is billed each way)"
                ),
                fix=f"add a subnet in {subnet.az} to {endpoint.endpoint_id}",
            )
        ]
    return []


def _cost_words(net: Network) -> str:
    """What an endpoint here would cost against the NAT processing it saves (the cost model's prices):
    it pays above the break-even traffic."""
    hour, nat, per_gb = net.endpoint_hour_price, net.nat_gb_price, net.endpoint_gb_price or 0.0
    if not hour or not nat or nat <= per_gb:
        return ""
    azs = len({s.az for s in net.snapshot.subnets}) or 1
    monthly = azs * 730 * hour
    return (
        f"; an endpoint in {azs} AZ(s) would cost ${monthly:,.2f} a month and pays above about "
        f"{monthly / (nat - per_gb):,.0f} GB a month through it"
    )


def _create_fix(service: str, vpc_id: str) -> str:
    from endpoint_guard.profile import load_profile

    if service in {s.short for s in load_profile()}:
        return f"endpoint-guard ensure {vpc_id} creates the {service} interface endpoint (so does the next reconcile)"
    return (
        f"create the {service} interface endpoint with private DNS (endpoint-guard does in isolated subnets with "
        f"WorkloadEndpoints=required, anywhere with {service} in ExtraServices)"
    )

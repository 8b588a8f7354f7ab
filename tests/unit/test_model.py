from __future__ import annotations

from endpoint_guard.model import cidrs_from_route_tables


def test_vpc_cidrs_come_from_the_local_routes_of_its_route_tables() -> None:
    tables = [
        {
            "Routes": [
                {"DestinationCidrBlock": "10.40.0.0/16", "GatewayId": "local"},
                {"DestinationCidrBlock": "100.64.0.0/16", "GatewayId": "local"},
                {"DestinationIpv6CidrBlock": "2600:1f18:abcd:1200::/56", "GatewayId": "local"},
                {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"},
                {"DestinationCidrBlock": "10.0.0.0/8", "TransitGatewayId": "tgw-1"},
            ]
        },
        {"Routes": [{"DestinationCidrBlock": "10.40.0.0/16", "GatewayId": "local"}]},
    ]
    assert cidrs_from_route_tables(tables) == (("10.40.0.0/16", "100.64.0.0/16"), ("2600:1f18:abcd:1200::/56",))

"""The migration workflow's two documents, typed: the inventory of the source VPC (``inventory``'s
``build_inventory`` writes it) and the plan (``document.assemble`` writes it). Both travel as JSON
between the workflow's tasks; nested parts stay plain JSON objects."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

Json = dict[str, Any]


class Inventory(TypedDict):
    schema_version: int
    vpc_id: str
    region: str | None
    cidrs: list[str]
    subnets: list[Json]  # subnet_id, az, cidr, route_table_id, tier
    route_tables: list[Json]
    nat_gateways: list[Json]
    endpoints: list[Json]
    peering: list[Json]
    transit_gateway_attachments: list[Json]
    security_groups: list[Json]
    services: list[Json]  # inventory.service_summary
    workloads: list[Json]  # eni_id, kind, subnet_id, description
    region_vpc_cidrs: list[str]
    deferred_route_tables: list[Json]
    traffic: NotRequired[Json]  # gb_per_month, source, detail


class PlanDocument(TypedDict):
    schema_version: int
    source_vpc_id: str
    region: str | None
    source: Json
    target: Json
    prerequisites: list[str]
    services: list[Json]
    risks: list[Json]
    alternative: Json | None
    maintenance_window: NotRequired[Json | None]
    cost: Json

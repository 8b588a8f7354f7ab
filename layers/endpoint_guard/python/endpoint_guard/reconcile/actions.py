"""What a plan is made of: typed actions, per-endpoint decisions, and the plan itself (pure data)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from endpoint_guard import MANAGED_BY_TAG, MANAGED_BY_VALUE
from endpoint_guard.model import SECURITY_GROUP_NAME as SECURITY_GROUP_NAME  # the one name, with the model
from endpoint_guard.model import RouteTable

SECURITY_GROUP_DESCRIPTION = "endpoint-guard: HTTPS from the VPC to its interface endpoints"
# Stands for the managed security group's id in actions planned before the group exists.
SECURITY_GROUP_REF = "{managed-security-group}"

# Facts a plan may need beyond the core read (see reads.facts_needed).
FACT_DNS = "dns"
FACT_SECURITY_GROUP = "security_group"
FACT_ENIS = "enis"
FACT_ZONES = "zones"  # the VPC's private hosted zones (central endpoints behind a transit gateway)
FACT_EGRESS = "egress"  # the VPC's NAT gateways and transit gateway attachments (a way out being set up)

# Outcomes of the decision for one endpoint; the result document turns them into statuses.
COMPLIANT = "compliant"
CREATE = "create"
MODIFY = "modify"
DEFERRED = "deferred"
WAITING = "waiting"
FAILED = "failed"

# Action targets besides the services' short names.
TARGET_VPC = "vpc"
TARGET_SECURITY_GROUP = "security-group"


class Operation(Enum):
    """The EC2 change an action makes: one method of ``ports.Ec2Port`` each."""

    ENABLE_VPC_ATTRIBUTE = "enable_vpc_attribute"
    CREATE_SECURITY_GROUP = "create_security_group"
    AUTHORIZE_INGRESS = "authorize_ingress"
    REVOKE_INGRESS = "revoke_ingress"
    CREATE_VPC_ENDPOINT = "create_vpc_endpoint"
    MODIFY_VPC_ENDPOINT = "modify_vpc_endpoint"
    DELETE_VPC_ENDPOINTS = "delete_vpc_endpoints"
    DELETE_SECURITY_GROUP = "delete_security_group"


@dataclass(frozen=True)
class Action:
    """One change to make. ``description`` is what a human reads; ``operation``/``params`` what is called
    (``params`` are the API's own, for the creates and modifies)."""

    kind: str
    target: str  # the service short name, or TARGET_VPC / TARGET_SECURITY_GROUP
    description: str
    operation: Operation
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    requires: tuple[str, ...] = ()  # targets of earlier actions that must have succeeded


@dataclass(frozen=True)
class Workload:
    """An in-use ENI that a route change would interrupt."""

    eni_id: str
    subnet_id: str
    kind: str
    description: str


@dataclass
class EndpointDecision:
    service: str
    type: str
    outcome: str
    reason: str = ""
    service_name: str | None = None
    endpoint_id: str | None = None
    managed: bool | None = None
    subnet_ids: tuple[str, ...] = ()
    availability_zones: tuple[str, ...] = ()
    route_table_ids: tuple[str, ...] = ()
    private_dns: bool | None = None


@dataclass
class Plan:
    vpc_id: str
    actions: list[Action] = field(default_factory=list)
    endpoints: list[EndpointDecision] = field(default_factory=list)
    deferred_route_tables: dict[str, tuple[Workload, ...]] = field(default_factory=dict)
    # Deferred route tables the gateway goes on all the same: their interruption was accepted
    # (Snapshot.apply_deferred), with the workloads whose open S3 connections it drops.
    applied_deferred: dict[str, tuple[Workload, ...]] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)  # VPC-level reasons it is not compliant
    # Whether the managed group's rules were held against the desired ones (and fixed if they differ);
    # only when an endpoint of ours uses or will use the group.
    security_group_checked: bool = False
    # Whether the plan turns the DNS attributes back on after someone turned them off under endpoints
    # that rely on them (the worker remembers it: the next time is a finding, not another restore).
    dns_restored: bool = False
    # The isolated route tables off the main S3 gateway where ECS workloads run: the layers-only
    # gateway's (reconcile.layers), found by the main gateway's rule.
    layers_route_tables: list[RouteTable] = field(default_factory=list)
    # Tables on the layers-only gateway that now have a way out: the main gateway takes them over.
    layers_released: list[str] = field(default_factory=list)


def client_token(*parts: str) -> str:
    """A deterministic idempotency token (<= 64 chars): the same request gets the same token."""
    return "eg-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:48]


def managed_tags(name: str) -> list[dict[str, str]]:
    return [{"Key": "Name", "Value": name}, {"Key": MANAGED_BY_TAG, "Value": MANAGED_BY_VALUE}]

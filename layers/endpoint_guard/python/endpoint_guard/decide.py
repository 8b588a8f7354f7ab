"""Pure decisions: a VPC snapshot in, a plan (readable actions plus per-endpoint outcomes) out.

Nothing here talks to AWS. Every rule of the reconcile lives in this module, so it can be read top to
bottom and tested without mocks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from endpoint_guard import MANAGED_BY_TAG, MANAGED_BY_VALUE
from endpoint_guard.model import (
    CheckedGroup,
    Endpoint,
    IngressRule,
    NetworkInterface,
    RouteTable,
    SecurityGroup,
    ServiceOffer,
    Snapshot,
    Subnet,
)
from endpoint_guard.profile import GATEWAY, INTERFACE, ServiceSpec
from endpoint_guard.settings import ADOPT_MODIFY, S3_POLICY_RESTRICTIVE, Settings

SECURITY_GROUP_NAME = "endpoint-guard-endpoints"
SECURITY_GROUP_DESCRIPTION = "endpoint-guard: HTTPS from the VPC to its interface endpoints"
# Stands for the managed security group's id in actions planned before the group exists.
SECURITY_GROUP_REF = "{managed-security-group}"

# Facts a plan may need beyond the core read (see facts_needed).
FACT_DNS = "dns"
FACT_SECURITY_GROUP = "security_group"
FACT_ENIS = "enis"

# Outcomes of the decision for one endpoint; the reconcile turns them into result statuses.
COMPLIANT = "compliant"
CREATE = "create"
MODIFY = "modify"
DEFERRED = "deferred"
WAITING = "waiting"
FAILED = "failed"

# ENIs that belong to the network itself rather than to a workload: adding a route does not
# interrupt anything running behind them.
_INFRA_INTERFACE_TYPES = frozenset(
    {
        "vpc_endpoint",
        "nat_gateway",
        "natGateway",
        "gateway_load_balancer",
        "gateway_load_balancer_endpoint",
        "load_balancer",
        "network_load_balancer",
        "transit_gateway",
        "api_gateway_managed",
        "global_accelerator_managed",
        "efs",
    }
)
_INFRA_DESCRIPTION_PREFIXES = ("VPC Endpoint Interface", "Interface for NAT Gateway", "ELB ")


@dataclass(frozen=True)
class Action:
    """One change to make. ``description`` is what a human reads; ``operation``/``params`` what is called."""

    kind: str
    target: str  # the service short name, or "vpc" / "security-group"
    description: str
    operation: str  # the adapter method that carries it out
    params: dict = field(default_factory=dict, hash=False, compare=False)
    requires: tuple[str, ...] = ()  # targets of earlier actions that must have succeeded

    def as_dict(self) -> dict:
        return {"action": self.kind, "target": self.target, "description": self.description}


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
    findings: list[str] = field(default_factory=list)  # VPC-level reasons it is not compliant
    # Whether the managed group's rules were held against the desired ones (and fixed if they differ);
    # only when an endpoint of ours uses or will use the group.
    security_group_checked: bool = False


# --- small rules -----------------------------------------------------------------------------------


def client_token(*parts: str) -> str:
    """A deterministic idempotency token (<= 64 chars): the same request gets the same token."""
    return "eg-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:48]


def managed_tags(name: str) -> list[dict[str, str]]:
    return [{"Key": "Name", "Value": name}, {"Key": MANAGED_BY_TAG, "Value": MANAGED_BY_VALUE}]


def choose_subnets(subnets: Iterable[Subnet], offered_azs: Iterable[str]) -> dict[str, str]:
    """One subnet per AZ, only in AZs where the service is offered.

    Private subnets (no route to an internet gateway) win; ties go to the lowest subnet id, so the choice
    is the same on every run.
    """
    offered = set(offered_azs)
    best: dict[str, Subnet] = {}
    for s in subnets:
        if s.az not in offered:
            continue
        current = best.get(s.az)
        if current is None or (s.public, s.subnet_id) < (current.public, current.subnet_id):
            best[s.az] = s
    return {az: best[az].subnet_id for az in sorted(best)}


def workload_kind(eni: NetworkInterface, infra_eni_ids: frozenset[str]) -> str | None:
    """What runs behind an ENI (``ecs-task``, ``lambda``, ``ec2-instance``, ``other``), or None when it is
    not a workload: not in use, an endpoint or NAT interface, a load balancer node.

    Works on AWS's shapes (task ENIs are described ``arn:aws:ecs:...:attachment/<id>``) and on moto's
    (``moto ECS``). Unknown in-use ENIs count as workloads: deferring wrongly costs a report line,
    adding a route wrongly drops live connections.
    """
    if eni.status != "in-use" or eni.eni_id in infra_eni_ids:
        return None
    if eni.interface_type in _INFRA_INTERFACE_TYPES or eni.description.startswith(_INFRA_DESCRIPTION_PREFIXES):
        return None
    desc = eni.description
    if (desc.startswith("arn:aws") and ":ecs:" in desc and ":attachment/" in desc) or desc == "moto ECS":
        return "ecs-task"
    if eni.interface_type == "lambda" or desc.startswith("AWS Lambda VPC ENI"):
        return "lambda"
    if eni.instance_id:
        return "ec2-instance"
    return "other"


def disrupted_route_tables(
    route_tables: Iterable[RouteTable], enis: Iterable[NetworkInterface], endpoints: Iterable[Endpoint]
) -> dict[str, tuple[Workload, ...]]:
    """Route tables whose subnets hold running workloads, with the workloads that make them so."""
    infra = frozenset(eni for ep in endpoints for eni in ep.eni_ids)
    by_subnet: dict[str, list[Workload]] = {}
    for eni in enis:
        kind = workload_kind(eni, infra)
        if kind:
            by_subnet.setdefault(eni.subnet_id, []).append(Workload(eni.eni_id, eni.subnet_id, kind, eni.description))
    result = {}
    for rt in route_tables:
        hits = [w for sid in rt.subnet_ids for w in by_subnet.get(sid, [])]
        if hits:
            result[rt.route_table_id] = tuple(sorted(hits, key=lambda w: w.eni_id))
    return result


def layer_bucket_arn(partition: str, region: str) -> str:
    """The S3 bucket ECR keeps image layers in (ECR user guide, minimum S3 permissions)."""
    return f"arn:{partition}:s3:::prod-{region}-starport-layer-bucket/*"


def s3_policy_document(partition: str, region: str, buckets: Iterable[str]) -> str:
    """The opt-in restrictive gateway policy: the ECR layer bucket plus the deployer's buckets."""
    statements = [
        {
            "Sid": "EcrImageLayers",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": [layer_bucket_arn(partition, region)],
        }
    ]
    listed = sorted(set(buckets))
    if listed:
        resources = []
        for bucket in listed:
            resources += [f"arn:{partition}:s3:::{bucket}", f"arn:{partition}:s3:::{bucket}/*"]
        statements.append(
            {"Sid": "DeployerBuckets", "Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": resources}
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def _statements(policy: str | None) -> list | None:
    if not policy:
        return None
    try:
        doc = json.loads(policy)
    except ValueError:
        return None
    statements = doc.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def is_full_access(policy: str | None) -> bool:
    """True for the default endpoint policy (one Allow of everything, or no policy at all)."""
    statements = _statements(policy)
    if statements is None:
        return policy is None or policy == ""

    def everything(value: object) -> bool:
        return value == "*" or value == ["*"]

    return len(statements) == 1 and all(
        [
            statements[0].get("Effect") == "Allow",
            everything(statements[0].get("Action")),
            everything(statements[0].get("Resource")),
            everything(statements[0].get("Principal")) or statements[0].get("Principal") == {"AWS": "*"},
        ]
    )


def same_policy(a: str | None, b: str | None) -> bool:
    sa, sb = _statements(a), _statements(b)
    if sa is None or sb is None:
        return a == b
    canon = lambda s: sorted(json.dumps(x, sort_keys=True) for x in s)  # noqa: E731
    return canon(sa) == canon(sb)


def desired_ingress(snapshot: Snapshot) -> frozenset[IngressRule]:
    """TCP 443 from each of the VPC's CIDR blocks, and nothing else."""
    return frozenset(IngressRule("tcp", 443, 443, c) for c in snapshot.cidrs)


def _live(snapshot: Snapshot, service_name: str, type_: str) -> list[Endpoint]:
    found = [e for e in snapshot.endpoints if e.live and e.service_name == service_name and e.type == type_]
    # Our own endpoint first, then the oldest id: the one we adopt is the same every run.
    return sorted(found, key=lambda e: (not e.managed, e.endpoint_id))


def _create_token(snapshot: Snapshot, service_name: str, *placement: str) -> str:
    """The same create gets the same token (a retried Lambda never makes a second endpoint). Endpoints of
    the service that have since gone are part of it: AWS remembers a token for a while, and a re-create
    after a deletion must not be answered with the deleted endpoint."""
    gone = sorted(e.endpoint_id for e in snapshot.endpoints if not e.live and e.service_name == service_name)
    return client_token(snapshot.vpc_id, service_name, *placement, *gone)


def _begin(snapshot: Snapshot, spec: ServiceSpec) -> tuple[EndpointDecision, ServiceOffer | None]:
    """The decision for one service before any rule: failed when AWS does not offer it here."""
    decision = EndpointDecision(service=spec.short, type=spec.type, outcome=COMPLIANT)
    offer = snapshot.offers.get(spec.short)
    if offer is None:
        decision.outcome = FAILED
        decision.reason = f"the {spec.short} {spec.type} endpoint service is not offered in {snapshot.region}"
    else:
        decision.service_name = offer.service_name
    return decision, offer


def _unmanaged_gaps(endpoint: Endpoint, gaps: list[str]) -> str:
    return (
        f"existing endpoint {endpoint.endpoint_id} is not managed by endpoint-guard and has gaps: "
        + "; ".join(gaps)
        + " (set AdoptUnmanagedEndpoints=modify to let endpoint-guard fix them)"
    )


def _endpoint_tags(spec: ServiceSpec, vpc_id: str) -> list[dict]:
    return [{"ResourceType": "vpc-endpoint", "Tags": managed_tags(f"endpoint-guard-{spec.short}-{vpc_id}")}]


def _may_change(endpoint: Endpoint, settings: Settings) -> bool:
    return endpoint.managed or settings.adopt_unmanaged == ADOPT_MODIFY


# --- what to read --------------------------------------------------------------------------------


def _needs_private_dns(snapshot: Snapshot, spec: ServiceSpec, settings: Settings) -> bool:
    """Whether this run will create an endpoint with private DNS, or turn it on for an existing one."""
    offer = snapshot.offers.get(spec.short)
    if not (spec.type == INTERFACE and spec.private_dns and offer and snapshot.subnets):
        return False
    existing = _live(snapshot, offer.service_name, INTERFACE)
    return not existing or (not existing[0].private_dns and _may_change(existing[0], settings))


def facts_needed(snapshot: Snapshot, profile: Iterable[ServiceSpec], settings: Settings) -> set[str]:
    """Which optional facts the plan needs, given the core read. Reading only these keeps a compliant
    VPC cheap: DNS attributes only when private DNS is about to be used, ENIs only when a route table
    still lacks the S3 gateway."""
    needed: set[str] = set()
    for spec in profile:
        offer = snapshot.offers.get(spec.short)
        if offer is None:
            continue
        existing = _live(snapshot, offer.service_name, spec.type)
        if spec.type == INTERFACE and snapshot.subnets:
            needed.add(FACT_SECURITY_GROUP)
            if _needs_private_dns(snapshot, spec, settings):
                needed.add(FACT_DNS)
        elif spec.type == GATEWAY:
            covered = {rt for e in existing for rt in e.route_table_ids}
            if any(rt.route_table_id not in covered for rt in snapshot.route_tables):
                needed.add(FACT_ENIS)
    return needed


def trusted_group(
    snapshot: Snapshot, profile: Iterable[ServiceSpec], checked: CheckedGroup | None
) -> SecurityGroup | None:
    """The managed security group without a DescribeSecurityGroups, or None when it must be read.

    ``checked`` is what an earlier reconcile read (the caller decides how old it may be). It stands for
    the group while nothing this snapshot shows can have made it wrong: the VPC has the same CIDR blocks,
    and every interface endpoint of the profile exists, and carries the group when it is ours (AWS does
    not delete a group that endpoints use). What it cannot see is a hand edit of the group's rules; a
    read, at the latest when ``checked`` is too old, repairs that.
    """
    if checked is None or checked.cidrs != snapshot.cidrs:
        return None
    for spec in profile:
        offer = snapshot.offers.get(spec.short)
        if spec.type != INTERFACE or offer is None:
            continue
        existing = _live(snapshot, offer.service_name, INTERFACE)
        if not existing or (existing[0].managed and checked.group_id not in existing[0].group_ids):
            return None
    return SecurityGroup(checked.group_id, desired_ingress(snapshot))


# --- the plan ---------------------------------------------------------------------------------------


def plan(snapshot: Snapshot, profile: Iterable[ServiceSpec], settings: Settings) -> Plan:
    """Decide everything for one VPC. Actions come out in the order they must be applied."""
    profile = tuple(profile)
    result = Plan(vpc_id=snapshot.vpc_id)
    interface_specs = [s for s in profile if s.type == INTERFACE]
    needs_private_dns = any(_needs_private_dns(snapshot, spec, settings) for spec in interface_specs)
    dns_ok = _plan_dns(snapshot, settings, needs_private_dns, result)

    interface_decisions = [_plan_interface(snapshot, spec, settings, dns_ok) for spec in interface_specs]
    if any(d.outcome in (CREATE, MODIFY) or (d.managed and d.outcome == COMPLIANT) for d, _ in interface_decisions):
        _plan_security_group(snapshot, result)
        result.security_group_checked = True
    for decision, actions in interface_decisions:
        result.endpoints.append(decision)
        result.actions.extend(actions)
    for spec in profile:
        if spec.type == GATEWAY:
            decision, actions = _plan_gateway(snapshot, spec, settings, result)
            result.endpoints.append(decision)
            result.actions.extend(actions)
    return result


def _plan_dns(snapshot: Snapshot, settings: Settings, needed: bool, result: Plan) -> bool:
    """Turn on the DNS attributes private DNS needs (support first, one per call), when allowed."""
    if not needed:
        return True
    if snapshot.dns_support and snapshot.dns_hostnames:
        return True
    if not settings.manage_dns_attributes:
        result.findings.append(
            "private DNS needs enableDnsSupport and enableDnsHostnames on the VPC; they are off and "
            "ManageDnsAttributes is false, so interface endpoints are created without private DNS"
        )
        return False
    for attribute, on in (("enableDnsSupport", snapshot.dns_support), ("enableDnsHostnames", snapshot.dns_hostnames)):
        if not on:
            result.actions.append(
                Action(
                    kind="enable_dns_attribute",
                    target="vpc",
                    description=f"turn on {attribute} on {snapshot.vpc_id} (private DNS needs it)",
                    operation="enable_vpc_attribute",
                    params={"VpcId": snapshot.vpc_id, "Attribute": attribute},
                    requires=("vpc",),
                )
            )
    return True


def _plan_security_group(snapshot: Snapshot, result: Plan) -> None:
    desired = desired_ingress(snapshot)
    group = snapshot.security_group
    current = group.ingress if group else frozenset()
    if group is None:
        result.actions.append(
            Action(
                kind="create_security_group",
                target="security-group",
                description=f"create security group {SECURITY_GROUP_NAME} in {snapshot.vpc_id}",
                operation="create_security_group",
                params={
                    "GroupName": SECURITY_GROUP_NAME,
                    "Description": SECURITY_GROUP_DESCRIPTION,
                    "VpcId": snapshot.vpc_id,
                    "TagSpecifications": [
                        {"ResourceType": "security-group", "Tags": managed_tags(SECURITY_GROUP_NAME)}
                    ],
                },
            )
        )
    group_id = group.group_id if group else SECURITY_GROUP_REF
    group_label = group.group_id if group else f"the new group {SECURITY_GROUP_NAME}"
    missing = sorted(desired - current, key=lambda r: r.cidr)
    extra = sorted(current - desired, key=lambda r: r.cidr)
    if missing:
        result.actions.append(
            Action(
                kind="authorize_ingress",
                target="security-group",
                description=f"allow TCP 443 into {group_label} from {', '.join(r.cidr for r in missing)}",
                operation="authorize_ingress",
                params={"GroupId": group_id, "IpPermissions": _permissions(missing)},
                requires=("security-group",),
            )
        )
    if extra:
        result.actions.append(
            Action(
                kind="revoke_ingress",
                target="security-group",
                description=f"remove ingress rules from {group_label} that are not TCP 443 from the VPC: "
                + ", ".join(f"{r.protocol}:{r.from_port}-{r.to_port} from {r.cidr}" for r in extra),
                operation="revoke_ingress",
                params={"GroupId": group_id, "IpPermissions": _permissions(extra)},
                requires=("security-group",),
            )
        )


def _permissions(rules: list[IngressRule]) -> list[dict]:
    grouped: dict[tuple, dict] = {}
    for r in rules:
        perm = grouped.setdefault(
            (r.protocol, r.from_port, r.to_port),
            {"IpProtocol": r.protocol, "IpRanges": [], "Ipv6Ranges": []},
        )
        if r.from_port is not None:
            perm["FromPort"], perm["ToPort"] = r.from_port, r.to_port
        if ":" in r.cidr:
            perm["Ipv6Ranges"].append({"CidrIpv6": r.cidr})
        else:
            perm["IpRanges"].append({"CidrIp": r.cidr})
    return [{k: v for k, v in p.items() if v != []} for p in grouped.values()]


def _plan_interface(
    snapshot: Snapshot, spec: ServiceSpec, settings: Settings, dns_ok: bool
) -> tuple[EndpointDecision, list[Action]]:
    decision, offer = _begin(snapshot, spec)
    if offer is None:
        return decision, []
    existing = _live(snapshot, offer.service_name, INTERFACE)
    if not snapshot.subnets:
        decision.outcome = WAITING
        decision.reason = "the VPC has no subnets yet; the endpoint is placed once they exist"
        if existing:
            decision.endpoint_id, decision.managed = existing[0].endpoint_id, existing[0].managed
        return decision, []
    chosen = choose_subnets(snapshot.subnets, offer.azs)
    want_dns = spec.private_dns and dns_ok
    if not existing:
        if not chosen:
            decision.outcome = WAITING
            decision.reason = f"no subnet of the VPC is in an AZ where {spec.short} is offered"
            return decision, []
        subnet_ids = tuple(chosen.values())
        decision.outcome, decision.managed = CREATE, True
        decision.subnet_ids, decision.availability_zones = subnet_ids, tuple(chosen)
        decision.private_dns = want_dns
        if spec.private_dns and not want_dns:
            decision.reason = "created without private DNS: the VPC's DNS attributes are off"
        requires = ("security-group",) + (("vpc",) if want_dns else ())
        return decision, [
            Action(
                kind="create_interface_endpoint",
                target=spec.short,
                description=(
                    f"create {offer.service_name} Interface endpoint in {', '.join(subnet_ids)} "
                    f"({', '.join(chosen)}), private DNS {'on' if want_dns else 'off'}, "
                    f"security group {snapshot.security_group.group_id if snapshot.security_group else SECURITY_GROUP_NAME}"
                ),
                operation="create_vpc_endpoint",
                params={
                    "VpcEndpointType": INTERFACE,
                    "VpcId": snapshot.vpc_id,
                    "ServiceName": offer.service_name,
                    "SubnetIds": list(subnet_ids),
                    "SecurityGroupIds": [
                        snapshot.security_group.group_id if snapshot.security_group else SECURITY_GROUP_REF
                    ],
                    "PrivateDnsEnabled": want_dns,
                    "ClientToken": _create_token(snapshot, offer.service_name, *subnet_ids),
                    "TagSpecifications": _endpoint_tags(spec, snapshot.vpc_id),
                },
                requires=requires,
            )
        ]

    endpoint = existing[0]
    decision.endpoint_id, decision.managed = endpoint.endpoint_id, endpoint.managed
    decision.private_dns = endpoint.private_dns
    covered = {s.az for sid in endpoint.subnet_ids if (s := snapshot.subnet(sid))}
    add_subnets = tuple(sid for az, sid in chosen.items() if az not in covered)
    decision.subnet_ids = tuple(sorted(set(endpoint.subnet_ids) | set(add_subnets)))
    decision.availability_zones = tuple(sorted(covered | {az for az, sid in chosen.items() if sid in add_subnets}))
    gaps: list[str] = []
    params: dict = {"VpcEndpointId": endpoint.endpoint_id}
    if add_subnets:
        gaps.append("missing AZ(s) " + ", ".join(az for az, sid in chosen.items() if sid in add_subnets))
        params["AddSubnetIds"] = list(add_subnets)
    if spec.private_dns and not endpoint.private_dns:
        gaps.append("private DNS is off")
        if dns_ok:
            params["PrivateDnsEnabled"] = True
    if endpoint.managed and snapshot.security_group_read:
        group_id = snapshot.security_group.group_id if snapshot.security_group else SECURITY_GROUP_REF
        if group_id not in endpoint.group_ids:
            gaps.append("the managed security group is not attached")
            params["AddSecurityGroupIds"] = [group_id]
    if not gaps:
        decision.reason = "" if endpoint.managed else "adopted: existing endpoint not managed by endpoint-guard"
        return decision, []
    if not _may_change(endpoint, settings):
        decision.outcome = DEFERRED
        decision.reason = _unmanaged_gaps(endpoint, gaps)
        return decision, []
    if len(params) == 1:  # the only gap is private DNS, which the VPC's DNS attributes do not allow
        decision.outcome = COMPLIANT
        decision.reason = "private DNS is off and the VPC's DNS attributes do not allow turning it on"
        return decision, []
    decision.outcome = MODIFY
    decision.reason = "; ".join(gaps)
    if params.get("PrivateDnsEnabled"):
        decision.private_dns = True
    requires = (("security-group",) if "AddSecurityGroupIds" in params else ()) + (
        ("vpc",) if params.get("PrivateDnsEnabled") else ()
    )
    return decision, [
        Action(
            kind="modify_interface_endpoint",
            target=spec.short,
            description=f"update {endpoint.endpoint_id} ({spec.short}): " + "; ".join(gaps),
            operation="modify_vpc_endpoint",
            params=params,
            requires=requires,
        )
    ]


def _plan_gateway(
    snapshot: Snapshot, spec: ServiceSpec, settings: Settings, result: Plan
) -> tuple[EndpointDecision, list[Action]]:
    decision, offer = _begin(snapshot, spec)
    if offer is None:
        return decision, []
    existing = _live(snapshot, offer.service_name, GATEWAY)
    covered = {rt for e in existing for rt in e.route_table_ids}
    missing = [rt for rt in snapshot.route_tables if rt.route_table_id not in covered]
    disrupted = disrupted_route_tables(missing, snapshot.enis or (), snapshot.endpoints) if missing else {}
    result.deferred_route_tables.update(disrupted)
    addable = tuple(sorted(rt.route_table_id for rt in missing if rt.route_table_id not in disrupted))
    decision.route_table_ids = tuple(sorted(covered))
    restrictive = settings.s3_policy == S3_POLICY_RESTRICTIVE
    wanted_policy = (
        s3_policy_document(snapshot.partition, snapshot.region, settings.s3_allowed_buckets) if restrictive else None
    )
    deferred_note = ""
    if disrupted:
        deferred_note = (
            "route tables with running workloads are deferred (adding the route drops open S3 connections): "
            + ", ".join(
                f"{rt} ({len(w)} workload ENI{'s' if len(w) != 1 else ''})" for rt, w in sorted(disrupted.items())
            )
        )

    if not existing:
        if not addable:
            decision.outcome = DEFERRED if disrupted else WAITING
            decision.reason = deferred_note or "the VPC has no route tables to attach the gateway to"
            return decision, []
        decision.outcome = DEFERRED if disrupted else CREATE
        decision.managed = True
        decision.route_table_ids = addable
        decision.reason = deferred_note
        params = {
            "VpcEndpointType": GATEWAY,
            "VpcId": snapshot.vpc_id,
            "ServiceName": offer.service_name,
            "RouteTableIds": list(addable),
            "ClientToken": _create_token(snapshot, offer.service_name, *addable),
            "TagSpecifications": _endpoint_tags(spec, snapshot.vpc_id),
        }
        if wanted_policy:
            params["PolicyDocument"] = wanted_policy
        return decision, [
            Action(
                kind="create_gateway_endpoint",
                target=spec.short,
                description=f"create {offer.service_name} Gateway endpoint on {', '.join(addable)}"
                + (" with the restrictive policy" if wanted_policy else " (full-access policy)"),
                operation="create_vpc_endpoint",
                params=params,
            )
        ]

    endpoint = existing[0]
    decision.endpoint_id, decision.managed = endpoint.endpoint_id, endpoint.managed
    gaps: list[str] = []
    params: dict = {"VpcEndpointId": endpoint.endpoint_id}
    if addable:
        gaps.append("route table(s) without the gateway: " + ", ".join(addable))
        params["AddRouteTableIds"] = list(addable)
    if endpoint.managed:
        if restrictive and not same_policy(endpoint.policy, wanted_policy):
            gaps.append("policy differs from the restrictive policy")
            params["PolicyDocument"] = wanted_policy
        elif not restrictive and not is_full_access(endpoint.policy):
            gaps.append("policy is not the full-access default")
            params["ResetPolicy"] = True
    if not gaps:
        decision.outcome = DEFERRED if disrupted else COMPLIANT
        decision.reason = deferred_note or (
            "" if endpoint.managed else "adopted: existing endpoint not managed by endpoint-guard"
        )
        return decision, []
    if not _may_change(endpoint, settings):
        decision.outcome = DEFERRED
        decision.reason = "; ".join(filter(None, [_unmanaged_gaps(endpoint, gaps), deferred_note]))
        return decision, []
    decision.outcome = DEFERRED if disrupted else MODIFY
    decision.route_table_ids = tuple(sorted(covered | set(addable)))
    decision.reason = "; ".join(filter(None, ["; ".join(gaps), deferred_note]))
    return decision, [
        Action(
            kind="modify_gateway_endpoint",
            target=spec.short,
            description=f"update {endpoint.endpoint_id} ({spec.short}): " + "; ".join(gaps),
            operation="modify_vpc_endpoint",
            params=params,
        )
    ]

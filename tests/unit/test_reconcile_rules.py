"""The decision rules, on hand-built snapshots: no AWS, no mocks."""

from __future__ import annotations

import dataclasses
import json

import pytest
from endpoint_guard.model import (
    TIER_ISOLATED,
    TIER_PRIVATE,
    TIER_PUBLIC,
    CheckedGroup,
    DnsDrift,
    Endpoint,
    IngressRule,
    NetworkInterface,
    RouteTable,
    SecurityGroup,
    ServiceOffer,
    Snapshot,
    Subnet,
    tier_of,
)
from endpoint_guard.profile import load_profile
from endpoint_guard.reconcile.actions import (
    COMPLIANT,
    CREATE,
    DEFERRED,
    FACT_DNS,
    FACT_EGRESS,
    FACT_ENIS,
    FAILED,
    MODIFY,
    SECURITY_GROUP_REF,
    EndpointDecision,
    Plan,
)
from endpoint_guard.reconcile.planner import plan as make_plan
from endpoint_guard.reconcile.policy import is_full_access, layer_bucket_arn, s3_policy_document
from endpoint_guard.reconcile.reads import facts_needed, trusted_group
from endpoint_guard.reconcile.rules import choose_subnets
from endpoint_guard.reconcile.workloads import workload_kind
from endpoint_guard.settings import Settings

AZS = ("us-east-1a", "us-east-1b", "us-east-1c")
VPC = "vpc-0123456789abcdef0"
PROFILE = load_profile()


def offers(azs=AZS, **overrides) -> dict[str, ServiceOffer]:
    result = {
        short: ServiceOffer(short, f"com.amazonaws.us-east-1.{short}", type_, frozenset(azs))
        for short, type_ in (
            ("ecr.dkr", "Interface"),
            ("ecr.api", "Interface"),
            ("logs", "Interface"),
            ("s3", "Gateway"),
        )
    }
    result.update(overrides)
    return result


def snapshot(**changes) -> Snapshot:
    """Three AZs, a private and a public subnet in each, DNS on, nothing else: override what a test needs."""
    subnets = []
    tables = [
        RouteTable("rtb-main", True, (), TIER_ISOLATED),
        RouteTable("rtb-public", False, ("subnet-pub-a", "subnet-pub-b", "subnet-pub-c"), TIER_PUBLIC),
    ]
    for az in AZS:
        x = az[-1]
        subnets += [
            Subnet(f"subnet-priv-{x}", az, "", f"rtb-priv-{x}", TIER_PRIVATE),
            Subnet(f"subnet-pub-{x}", az, "", "rtb-public", TIER_PUBLIC),
        ]
        tables.append(RouteTable(f"rtb-priv-{x}", False, (f"subnet-priv-{x}",), TIER_PRIVATE))
    base = Snapshot(
        vpc_id=VPC,
        region="us-east-1",
        partition="aws",
        cidrs_v4=("10.0.0.0/16",),
        cidrs_v6=(),
        subnets=tuple(subnets),
        route_tables=tuple(tables),
        endpoints=(),
        offers=offers(),
        dns_support=True,
        dns_hostnames=True,
        security_group_read=True,
        security_group=None,
        enis=(),
    )
    return dataclasses.replace(base, **changes)


def by_service(plan: Plan) -> dict[str, EndpointDecision]:
    return {d.service: d for d in plan.endpoints}


def kinds(plan: Plan) -> list[str]:
    return [a.kind for a in plan.actions]


# --- subnet choice ----------------------------------------------------------------------------------


def test_choose_subnets_one_per_az_private_first() -> None:
    chosen = choose_subnets(snapshot().subnets, AZS)
    assert chosen == {"us-east-1a": "subnet-priv-a", "us-east-1b": "subnet-priv-b", "us-east-1c": "subnet-priv-c"}


def test_choose_subnets_private_wins_even_when_public_sorts_first() -> None:
    subnets = [
        Subnet("subnet-000", "us-east-1a", "", "rtb-public", TIER_PUBLIC),
        Subnet("subnet-fff", "us-east-1a", "", "rtb-x", TIER_PRIVATE),
    ]
    assert choose_subnets(subnets, AZS) == {"us-east-1a": "subnet-fff"}


def test_choose_subnets_tie_break_is_lowest_id_whatever_the_input_order() -> None:
    subnets = [
        Subnet("subnet-b", "us-east-1a", "", None, TIER_PRIVATE),
        Subnet("subnet-a", "us-east-1a", "", None, TIER_PRIVATE),
    ]
    assert choose_subnets(subnets, AZS) == choose_subnets(list(reversed(subnets)), AZS) == {"us-east-1a": "subnet-a"}


def test_choose_subnets_skips_azs_the_service_is_not_offered_in() -> None:
    assert set(choose_subnets(snapshot().subnets, ("us-east-1a", "us-east-1b"))) == {"us-east-1a", "us-east-1b"}


def test_choose_subnets_falls_back_to_public_when_an_az_has_no_private_subnet() -> None:
    subnets = [Subnet("subnet-pub", "us-east-1a", "", "rtb-public", TIER_PUBLIC)]
    assert choose_subnets(subnets, AZS) == {"us-east-1a": "subnet-pub"}


# --- a fresh VPC ------------------------------------------------------------------------------------


def test_fresh_vpc_creates_group_then_gateway_then_three_interface_endpoints() -> None:
    plan = make_plan(snapshot(), PROFILE, Settings())
    assert kinds(plan) == [
        "create_security_group",
        "authorize_ingress",
        "create_gateway_endpoint",  # the gateway first: one call, free, most of the saving
        "create_interface_endpoint",
        "create_interface_endpoint",
        "create_interface_endpoint",
    ]
    for action in plan.actions[3:6]:
        assert action.params["SubnetIds"] == ["subnet-priv-a", "subnet-priv-b", "subnet-priv-c"]
        assert action.params["PrivateDnsEnabled"] is True
        assert action.params["SecurityGroupIds"] == [SECURITY_GROUP_REF]
    gateway = plan.actions[2]
    # the main table routes no subnet: not a gap
    assert gateway.params["RouteTableIds"] == ["rtb-priv-a", "rtb-priv-b", "rtb-priv-c", "rtb-public"]
    assert "PolicyDocument" not in gateway.params  # full access unless the deployer opts in
    assert all(d.outcome == CREATE for d in plan.endpoints)


def test_every_create_carries_a_deterministic_client_token_and_the_managed_tags() -> None:
    first, second = (make_plan(snapshot(), PROFILE, Settings()) for _ in range(2))
    creates = [a for a in first.actions if a.kind.startswith("create_") and a.kind != "create_security_group"]
    assert creates
    for action, again in zip(
        creates,
        [a for a in second.actions if a.kind.startswith("create_") and a.kind != "create_security_group"],
        strict=True,
    ):
        assert action.params["ClientToken"] == again.params["ClientToken"]
        assert len(action.params["ClientToken"]) <= 64
        tags = {t["Key"]: t["Value"] for t in action.params["TagSpecifications"][0]["Tags"]}
        assert tags["ManagedBy"] == "endpoint-guard"
        assert tags["Name"].startswith("endpoint-guard-")
    assert len({a.params["ClientToken"] for a in creates}) == len(creates)
    group = first.actions[0].params["TagSpecifications"][0]["Tags"]
    assert {"Key": "ManagedBy", "Value": "endpoint-guard"} in group


def test_recreate_after_a_deletion_gets_a_new_client_token() -> None:
    def token(snap):
        return next(a for a in make_plan(snap, PROFILE, Settings()).actions if a.target == "ecr.dkr").params[
            "ClientToken"
        ]

    assert token(snapshot()) != token(snapshot(endpoints=(dkr(state="deleted", managed=True),)))


def test_security_group_allows_443_from_each_ipv4_and_ipv6_block_only() -> None:
    plan = make_plan(
        snapshot(cidrs_v4=("10.0.0.0/16", "100.64.0.0/20"), cidrs_v6=("2600:1f18::/56",)), PROFILE, Settings()
    )
    authorize = next(a for a in plan.actions if a.kind == "authorize_ingress")
    assert authorize.params["IpPermissions"] == [
        {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "IpRanges": [{"CidrIp": "10.0.0.0/16"}, {"CidrIp": "100.64.0.0/20"}],
            "Ipv6Ranges": [{"CidrIpv6": "2600:1f18::/56"}],
        }
    ]


def test_existing_group_gets_missing_blocks_and_loses_foreign_rules() -> None:
    group = SecurityGroup(
        "sg-1",
        frozenset({IngressRule("tcp", 443, 443, "10.0.0.0/16"), IngressRule("tcp", 22, 22, "0.0.0.0/0")}),
    )
    plan = make_plan(snapshot(security_group=group, cidrs_v4=("10.0.0.0/16", "10.1.0.0/16")), PROFILE, Settings())
    authorize = next(a for a in plan.actions if a.kind == "authorize_ingress")
    revoke = next(a for a in plan.actions if a.kind == "revoke_ingress")
    assert authorize.params == {
        "GroupId": "sg-1",
        "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}
        ],
    }
    assert revoke.params["IpPermissions"][0]["FromPort"] == 22
    assert "create_security_group" not in kinds(plan)
    create = next(a for a in plan.actions if a.kind == "create_interface_endpoint")
    assert create.params["SecurityGroupIds"] == ["sg-1"]


# --- DNS ---------------------------------------------------------------------------------------------


def test_dns_attributes_are_turned_on_support_first_one_per_action() -> None:
    plan = make_plan(snapshot(dns_support=False, dns_hostnames=False), PROFILE, Settings())
    dns = [a for a in plan.actions if a.kind == "enable_dns_attribute"]
    assert [a.params["Attribute"] for a in dns] == ["enableDnsSupport", "enableDnsHostnames"]
    assert plan.actions[:2] == dns  # before anything that needs them
    assert not plan.findings


def test_only_the_attribute_that_is_off_is_changed() -> None:
    plan = make_plan(snapshot(dns_hostnames=False), PROFILE, Settings())
    assert [a.params["Attribute"] for a in plan.actions if a.kind == "enable_dns_attribute"] == ["enableDnsHostnames"]


def test_dns_left_alone_when_the_deployer_says_so_and_endpoints_skip_private_dns() -> None:
    plan = make_plan(snapshot(dns_hostnames=False), PROFILE, Settings(manage_dns_attributes=False))
    assert "enable_dns_attribute" not in kinds(plan)
    creates = [a for a in plan.actions if a.kind == "create_interface_endpoint"]
    assert creates and all(a.params["PrivateDnsEnabled"] is False for a in creates)
    assert plan.findings and "ManageDnsAttributes" in plan.findings[0]
    assert "without private DNS" in by_service(plan)["ecr.dkr"].reason


def test_private_dns_endpoints_require_the_dns_actions_to_have_succeeded() -> None:
    plan = make_plan(snapshot(dns_hostnames=False), PROFILE, Settings())
    create = next(a for a in plan.actions if a.kind == "create_interface_endpoint")
    assert "vpc" in create.requires and "security-group" in create.requires


# --- existing endpoints ---------------------------------------------------------------------------------


def dkr(**kw) -> Endpoint:
    values = {
        "endpoint_id": "vpce-dkr",
        "service_name": "com.amazonaws.us-east-1.ecr.dkr",
        "type": "Interface",
        "state": "available",
        "subnet_ids": ("subnet-priv-a", "subnet-priv-b", "subnet-priv-c"),
        "private_dns": True,
        "group_ids": ("sg-1",),
    }
    values.update(kw)
    return Endpoint(**values)


GROUP = SecurityGroup("sg-1", frozenset({IngressRule("tcp", 443, 443, "10.0.0.0/16")}))


def test_unmanaged_complete_endpoint_is_adopted_not_duplicated() -> None:
    plan = make_plan(
        snapshot(endpoints=(dkr(managed=False, group_ids=("sg-default",)),), security_group=GROUP), PROFILE, Settings()
    )
    decision = by_service(plan)["ecr.dkr"]
    assert decision.outcome == COMPLIANT and decision.endpoint_id == "vpce-dkr"
    assert "adopted" in decision.reason
    assert not [a for a in plan.actions if a.target == "ecr.dkr"]


def test_unmanaged_endpoint_with_gaps_is_reported_not_changed_by_default() -> None:
    existing = dkr(managed=False, subnet_ids=("subnet-priv-a",), private_dns=False)
    plan = make_plan(snapshot(endpoints=(existing,), security_group=GROUP), PROFILE, Settings())
    decision = by_service(plan)["ecr.dkr"]
    assert decision.outcome == DEFERRED
    assert "us-east-1b" in decision.reason and "private DNS is off" in decision.reason
    assert not [a for a in plan.actions if a.target == "ecr.dkr"]


def test_unmanaged_endpoint_is_fixed_when_adoption_may_modify() -> None:
    existing = dkr(managed=False, subnet_ids=("subnet-pub-a",), private_dns=False)
    plan = make_plan(snapshot(endpoints=(existing,), security_group=GROUP), PROFILE, Settings(adopt_unmanaged="modify"))
    action = next(a for a in plan.actions if a.target == "ecr.dkr")
    assert action.kind == "modify_interface_endpoint"
    # us-east-1a is covered already (by a public subnet): no second subnet in that AZ.
    assert action.params == {
        "VpcEndpointId": "vpce-dkr",
        "AddSubnetIds": ["subnet-priv-b", "subnet-priv-c"],
        "PrivateDnsEnabled": True,
    }
    assert by_service(plan)["ecr.dkr"].outcome == MODIFY


def test_managed_endpoint_gets_a_new_az_by_modify_never_a_second_endpoint() -> None:
    existing = dkr(managed=True, subnet_ids=("subnet-priv-a", "subnet-priv-b"))
    plan = make_plan(snapshot(endpoints=(existing,), security_group=GROUP), PROFILE, Settings())
    actions = [a for a in plan.actions if a.target == "ecr.dkr"]
    assert [(a.kind, a.params.get("AddSubnetIds")) for a in actions] == [
        ("modify_interface_endpoint", ["subnet-priv-c"])
    ]


def test_managed_endpoint_without_the_managed_group_gets_it_attached() -> None:
    existing = dkr(managed=True, group_ids=("sg-default",))
    plan = make_plan(snapshot(endpoints=(existing,), security_group=GROUP), PROFILE, Settings())
    action = next(a for a in plan.actions if a.target == "ecr.dkr")
    assert action.params["AddSecurityGroupIds"] == ["sg-1"]


@pytest.mark.parametrize("state", ["deleted", "deleting", "failed", "rejected", "Deleted"])
def test_gone_endpoints_do_not_count(state: str) -> None:
    plan = make_plan(snapshot(endpoints=(dkr(state=state, managed=True),), security_group=GROUP), PROFILE, Settings())
    assert by_service(plan)["ecr.dkr"].outcome == CREATE


@pytest.mark.parametrize("state", ["pending", "pendingAcceptance", "available"])
def test_pending_endpoints_count_as_present(state: str) -> None:
    plan = make_plan(snapshot(endpoints=(dkr(state=state, managed=True),), security_group=GROUP), PROFILE, Settings())
    assert by_service(plan)["ecr.dkr"].outcome == COMPLIANT


def test_two_existing_endpoints_for_one_service_adopt_ours_first() -> None:
    ours, theirs = dkr(endpoint_id="vpce-zzz", managed=True), dkr(endpoint_id="vpce-aaa", managed=False)
    plan = make_plan(snapshot(endpoints=(theirs, ours), security_group=GROUP), PROFILE, Settings())
    assert by_service(plan)["ecr.dkr"].endpoint_id == "vpce-zzz"


def test_compliant_vpc_plans_nothing() -> None:
    endpoints = (
        *tuple(
            dkr(endpoint_id=f"vpce-{s}", service_name=f"com.amazonaws.us-east-1.{s}", managed=True)
            for s in ("ecr.dkr", "ecr.api", "logs")
        ),
        Endpoint(
            "vpce-s3",
            "com.amazonaws.us-east-1.s3",
            "Gateway",
            "available",
            route_table_ids=("rtb-main", "rtb-priv-a", "rtb-priv-b", "rtb-priv-c", "rtb-public"),
            managed=True,
        ),
    )
    plan = make_plan(snapshot(endpoints=endpoints, security_group=GROUP), PROFILE, Settings())
    assert plan.actions == []
    assert {d.outcome for d in plan.endpoints} == {COMPLIANT}


# --- trusting an earlier read of the managed group -------------------------------------------------


def ours(*, group: str = "sg-1", without: str = "") -> tuple[Endpoint, ...]:
    return tuple(
        dkr(endpoint_id=f"vpce-{s}", service_name=f"com.amazonaws.us-east-1.{s}", managed=True, group_ids=(group,))
        for s in ("ecr.dkr", "ecr.api", "logs")
        if s != without
    )


CHECKED = CheckedGroup("sg-1", ("10.0.0.0/16",), 1_700_000_000)


def test_an_earlier_read_stands_for_the_group_while_the_vpc_gives_no_reason_to_doubt_it() -> None:
    trusted = trusted_group(snapshot(endpoints=ours()), PROFILE, CHECKED)
    assert trusted == GROUP  # the desired rules: TCP 443 from the VPC's block
    unmanaged = (dkr(managed=False, group_ids=("sg-default",)), *ours(without="ecr.dkr"))
    assert trusted_group(snapshot(endpoints=unmanaged), PROFILE, CHECKED) == GROUP


@pytest.mark.parametrize(
    ("endpoints", "changes", "why"),
    [
        (ours(), {"cidrs_v4": ("10.0.0.0/16", "10.1.0.0/16")}, "a CIDR block was added: the rules must grow"),
        (ours(without="logs"), {}, "an endpoint is to be created: it needs a group that surely exists"),
        (ours(group="sg-other"), {}, "our endpoints do not carry the group the read was of"),
    ],
)
def test_the_group_is_read_when_the_vpc_gives_a_reason(endpoints, changes, why) -> None:
    assert trusted_group(snapshot(endpoints=endpoints, **changes), PROFILE, CHECKED) is None, why


def test_without_an_earlier_read_the_group_is_read() -> None:
    assert trusted_group(snapshot(endpoints=ours()), PROFILE, None) is None


def test_the_group_counts_as_checked_only_when_an_endpoint_of_ours_uses_it() -> None:
    assert make_plan(snapshot(endpoints=ours(), security_group=GROUP), PROFILE, Settings()).security_group_checked
    theirs = tuple(dataclasses.replace(e, managed=False) for e in ours())
    plan = make_plan(snapshot(endpoints=theirs, security_group=GROUP), PROFILE, Settings())
    assert not plan.security_group_checked  # their endpoints: the group's rules were not judged


# --- service availability and VPC shape -------------------------------------------------------------


def test_service_not_offered_in_an_az_is_placed_in_the_others_only() -> None:
    lame = ServiceOffer("ecr.dkr", "com.amazonaws.us-east-1.ecr.dkr", "Interface", frozenset(AZS[:2]))
    plan = make_plan(snapshot(offers=offers(**{"ecr.dkr": lame})), PROFILE, Settings())
    create = next(a for a in plan.actions if a.target == "ecr.dkr")
    assert create.params["SubnetIds"] == ["subnet-priv-a", "subnet-priv-b"]


def test_service_not_offered_in_the_region_fails_that_endpoint_only() -> None:
    plan = make_plan(snapshot(offers={k: v for k, v in offers().items() if k != "logs"}), PROFILE, Settings())
    assert by_service(plan)["logs"].outcome == FAILED
    assert by_service(plan)["ecr.dkr"].outcome == CREATE


def test_vpc_without_subnets_waits_for_them_with_every_endpoint() -> None:
    snap = snapshot(
        subnets=(),
        route_tables=(RouteTable("rtb-main", True, (), TIER_ISOLATED),),
        security_group_read=False,
        dns_support=None,
        dns_hostnames=None,
    )
    assert facts_needed(snap, PROFILE, Settings()) == set()  # nothing to decide: no read beyond the core
    plan = make_plan(snap, PROFILE, Settings())
    assert kinds(plan) == []
    assert {d.service: d.outcome for d in plan.endpoints} == dict.fromkeys(
        ("ecr.dkr", "ecr.api", "logs", "s3"), "waiting"
    )
    assert "routes a subnet" in by_service(plan)["s3"].reason


def test_extra_services_follow_the_catalogue_order() -> None:
    names = [s.short for s in load_profile(("ecs", "ecs-agent", "ecs-telemetry", "ssm"))]
    assert names == ["ecr.dkr", "ecr.api", "logs", "s3", "ssm", "ecs-agent", "ecs-telemetry", "ecs"]


# --- S3 gateway and the disruption gate ------------------------------------------------------------------


def task_eni(eni_id: str, subnet_id: str) -> NetworkInterface:
    return NetworkInterface(
        eni_id,
        subnet_id,
        "in-use",
        "interface",
        "arn:aws:ecs:us-east-1:123456789012:attachment/5f2d3c1e-aaaa-bbbb-cccc-000000000001",
        requester_managed=True,
    )


def test_route_tables_with_running_tasks_are_deferred_with_their_enis() -> None:
    plan = make_plan(
        snapshot(enis=(task_eni("eni-1", "subnet-priv-a"), task_eni("eni-2", "subnet-priv-a"))), PROFILE, Settings()
    )
    gateway = next(a for a in plan.actions if a.kind == "create_gateway_endpoint")
    assert gateway.params["RouteTableIds"] == ["rtb-priv-b", "rtb-priv-c", "rtb-public"]
    assert list(plan.deferred_route_tables) == ["rtb-priv-a"]
    assert [w.eni_id for w in plan.deferred_route_tables["rtb-priv-a"]] == ["eni-1", "eni-2"]
    assert by_service(plan)["s3"].outcome == DEFERRED
    assert "rtb-priv-a" in by_service(plan)["s3"].reason
    assert by_service(plan)["ecr.dkr"].outcome == CREATE  # interface endpoints do not disrupt


def test_an_accepted_interruption_puts_the_gateway_on_that_deferred_table_only() -> None:
    enis = (task_eni("eni-1", "subnet-priv-a"), task_eni("eni-2", "subnet-priv-b"))
    plan = make_plan(snapshot(enis=enis, apply_deferred=frozenset({"rtb-priv-a"})), PROFILE, Settings())
    gateway = next(a for a in plan.actions if a.kind == "create_gateway_endpoint")
    assert gateway.params["RouteTableIds"] == ["rtb-priv-a", "rtb-priv-c", "rtb-public"]
    assert list(plan.applied_deferred) == ["rtb-priv-a"] and list(plan.deferred_route_tables) == ["rtb-priv-b"]
    assert by_service(plan)["s3"].outcome == DEFERRED  # rtb-priv-b still waits
    everything = make_plan(snapshot(enis=enis, apply_deferred=frozenset({"*"})), PROFILE, Settings())
    assert plan.deferred_route_tables and not everything.deferred_route_tables
    assert by_service(everything)["s3"].outcome == CREATE and sorted(everything.applied_deferred) == [
        "rtb-priv-a",
        "rtb-priv-b",
    ]


def test_an_endpoint_of_another_regions_service_is_never_adopted_even_under_this_regions_name() -> None:
    base = snapshot()
    name = base.offers["ecr.dkr"].service_name
    foreign = Endpoint("vpce-foreign", name, "Interface", "available", service_region="us-west-2")
    lattice = Endpoint("vpce-lattice", "", "Resource", "available")
    plan = make_plan(dataclasses.replace(base, endpoints=(foreign, lattice)), PROFILE, Settings())
    assert by_service(plan)["ecr.dkr"].outcome == CREATE and by_service(plan)["ecr.dkr"].endpoint_id is None
    assert not plan.findings


def test_all_route_tables_busy_means_no_gateway_yet() -> None:
    enis = tuple(task_eni(f"eni-{s.subnet_id}", s.subnet_id) for s in snapshot().subnets)
    snap = snapshot(enis=enis, route_tables=tuple(rt for rt in snapshot().route_tables if not rt.main))
    plan = make_plan(snap, PROFILE, Settings())
    assert "create_gateway_endpoint" not in kinds(plan)
    assert by_service(plan)["s3"].outcome == DEFERRED


def test_main_table_is_deferred_by_tasks_in_subnets_it_routes_implicitly() -> None:
    subnets = (Subnet("subnet-x", "us-east-1a", "", "rtb-main", TIER_PRIVATE),)
    tables = (RouteTable("rtb-main", True, ("subnet-x",), TIER_PRIVATE),)
    plan = make_plan(
        snapshot(subnets=subnets, route_tables=tables, enis=(task_eni("eni-1", "subnet-x"),)), PROFILE, Settings()
    )
    assert list(plan.deferred_route_tables) == ["rtb-main"]


@pytest.mark.parametrize(
    ("eni", "kind"),
    [
        (NetworkInterface("e", "s", "in-use", "interface", "arn:aws:ecs:eu-west-1:1:attachment/abc"), "ecs-task"),
        (NetworkInterface("e", "s", "in-use", "interface", "arn:aws-cn:ecs:cn-north-1:1:attachment/abc"), "ecs-task"),
        (NetworkInterface("e", "s", "in-use", "interface", "moto ECS"), "ecs-task"),
        (NetworkInterface("e", "s", "in-use", "lambda", "AWS Lambda VPC ENI-fn"), "lambda"),
        (
            NetworkInterface("e", "s", "in-use", "interface", "Primary network interface", instance_id="i-1"),
            "ec2-instance",
        ),
        (NetworkInterface("e", "s", "in-use", "interface", "RDSNetworkInterface"), "other"),
        (NetworkInterface("e", "s", "in-use", "vpc_endpoint", "VPC Endpoint Interface vpce-1"), None),
        (NetworkInterface("e", "s", "in-use", "nat_gateway", "Interface for NAT Gateway nat-1"), None),
        (NetworkInterface("e", "s", "in-use", "interface", "ELB app/web/1234"), None),
        (NetworkInterface("e", "s", "in-use", "network_load_balancer", "ELB net/nlb/1"), None),
        (NetworkInterface("e", "s", "available", "interface", "arn:aws:ecs:eu-west-1:1:attachment/abc"), None),
    ],
)
def test_workload_kind(eni: NetworkInterface, kind: str | None) -> None:
    assert workload_kind(eni, frozenset()) == kind


def test_our_own_endpoint_enis_are_never_workloads() -> None:
    eni = NetworkInterface("eni-ep", "s", "in-use", "interface", "")  # moto's endpoint ENIs look like this
    assert workload_kind(eni, frozenset({"eni-ep"})) is None


def test_existing_gateway_gets_new_route_tables_by_modify() -> None:
    gw = Endpoint(
        "vpce-s3",
        "com.amazonaws.us-east-1.s3",
        "Gateway",
        "available",
        route_table_ids=("rtb-main", "rtb-public"),
        managed=True,
    )
    plan = make_plan(snapshot(endpoints=(gw,)), PROFILE, Settings())
    action = next(a for a in plan.actions if a.target == "s3")
    assert action.kind == "modify_gateway_endpoint"
    assert action.params == {"VpcEndpointId": "vpce-s3", "AddRouteTableIds": ["rtb-priv-a", "rtb-priv-b", "rtb-priv-c"]}


def test_no_eni_read_is_needed_when_the_gateway_covers_every_table() -> None:
    gw = Endpoint(
        "vpce-s3",
        "com.amazonaws.us-east-1.s3",
        "Gateway",
        "available",
        route_table_ids=tuple(rt.route_table_id for rt in snapshot().route_tables),
    )
    assert FACT_ENIS not in facts_needed(snapshot(endpoints=(gw,)), PROFILE, Settings())


def test_restrictive_policy_allows_the_ecr_layer_bucket_and_listed_buckets() -> None:
    plan = make_plan(snapshot(), PROFILE, Settings(s3_policy="restrictive", s3_allowed_buckets=("team-artifacts",)))
    policy = json.loads(next(a for a in plan.actions if a.target == "s3").params["PolicyDocument"])
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*" in resources
    assert "arn:aws:s3:::team-artifacts/*" in resources and "arn:aws:s3:::team-artifacts" in resources
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])  # a Deny-only policy would deny everything


def test_layer_bucket_follows_the_partition() -> None:
    assert layer_bucket_arn("aws-cn", "cn-north-1") == "arn:aws-cn:s3:::prod-cn-north-1-starport-layer-bucket/*"


def test_managed_gateway_policy_drift_is_corrected_both_ways() -> None:
    restrictive = s3_policy_document("aws", "us-east-1", ())
    all_tables = tuple(rt.route_table_id for rt in snapshot().route_tables)
    gw = Endpoint(
        "vpce-s3",
        "com.amazonaws.us-east-1.s3",
        "Gateway",
        "available",
        route_table_ids=all_tables,
        policy=restrictive,
        managed=True,
    )
    reset = next(a for a in make_plan(snapshot(endpoints=(gw,)), PROFILE, Settings()).actions if a.target == "s3")
    assert reset.params == {"VpcEndpointId": "vpce-s3", "ResetPolicy": True}
    same = make_plan(snapshot(endpoints=(gw,)), PROFILE, Settings(s3_policy="restrictive"))
    assert not [a for a in same.actions if a.target == "s3"]


def test_full_access_policy_recognised_in_its_usual_spellings() -> None:
    assert is_full_access(None)
    assert is_full_access(
        '{"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}'
    )
    assert is_full_access(
        '{"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["*"], "Resource": "*"}}'
    )
    assert not is_full_access(s3_policy_document("aws", "us-east-1", ()))


def test_dns_attributes_are_read_only_when_private_dns_may_be_turned_on() -> None:
    unmanaged = dkr(managed=False, private_dns=False)
    snap = snapshot(endpoints=(unmanaged,), dns_support=None, dns_hostnames=None)
    assert FACT_DNS in facts_needed(snapshot(), PROFILE, Settings())  # new endpoints
    # ecr.api and logs still need creating; with only ecr.dkr in the profile the read depends on adoption.
    only_dkr = [s for s in PROFILE if s.short == "ecr.dkr"]
    assert FACT_DNS not in facts_needed(snap, only_dkr, Settings())
    assert FACT_DNS in facts_needed(snap, only_dkr, Settings(adopt_unmanaged="modify"))


def test_two_endpoints_of_one_service_are_a_finding_and_nothing_is_deleted() -> None:
    ours = dkr(endpoint_id="vpce-ours", managed=True)
    theirs = dkr(endpoint_id="vpce-0theirs", managed=False)
    plan = make_plan(snapshot(endpoints=(theirs, ours), security_group=GROUP), PROFILE, Settings())
    [finding] = [f for f in plan.findings if "ecr.dkr" in f]
    assert "uses vpce-ours" in finding and "remove vpce-0theirs" in finding
    assert not any(a.kind.startswith("delete") for a in plan.actions)
    assert by_service(plan)["ecr.dkr"].endpoint_id == "vpce-ours"


def test_one_endpoint_per_service_is_no_finding() -> None:
    plan = make_plan(snapshot(endpoints=(dkr(managed=True),), security_group=GROUP), PROFILE, Settings())
    assert not [f for f in plan.findings if "endpoints in" in f]


# --- tiers: where interface endpoints go, which tables get the gateway --------------------------------


def sub(sid: str, az: str, tier: str, free: int = 100, placement: bool | None = None) -> Subnet:
    return Subnet(sid, az, "", f"rtb-{sid}", tier, free, placement)


def test_the_private_tier_wins_over_isolated_and_public_in_every_az() -> None:
    subnets = [
        sub("subnet-a0", "us-east-1a", TIER_ISOLATED, free=4000),
        sub("subnet-a1", "us-east-1a", TIER_PUBLIC),
        sub("subnet-a2", "us-east-1a", TIER_PRIVATE, free=10),
        sub("subnet-b0", "us-east-1b", TIER_ISOLATED),
        sub("subnet-b1", "us-east-1b", TIER_PRIVATE),
        sub("subnet-c0", "us-east-1c", TIER_ISOLATED),  # no private subnet here: no endpoint in this AZ
    ]
    assert choose_subnets(subnets, AZS) == {"us-east-1a": "subnet-a2", "us-east-1b": "subnet-b1"}


def test_isolated_only_when_no_private_tier_public_only_when_nothing_else() -> None:
    isolated = [sub("subnet-i", "us-east-1a", TIER_ISOLATED), sub("subnet-p", "us-east-1a", TIER_PUBLIC)]
    assert choose_subnets(isolated, AZS) == {"us-east-1a": "subnet-i"}
    assert choose_subnets([sub("subnet-p", "us-east-1a", TIER_PUBLIC)], AZS) == {"us-east-1a": "subnet-p"}


def test_workloads_then_free_addresses_then_lowest_id_decide_within_an_az() -> None:
    subnets = [
        sub("subnet-1", "us-east-1a", TIER_PRIVATE, free=50),
        sub("subnet-2", "us-east-1a", TIER_PRIVATE, free=900),
        sub("subnet-3", "us-east-1a", TIER_PRIVATE, free=900),
    ]
    assert choose_subnets(subnets, AZS) == {"us-east-1a": "subnet-2"}
    assert choose_subnets(subnets, AZS, busy={"subnet-1"}) == {"us-east-1a": "subnet-1"}
    assert choose_subnets(list(reversed(subnets)), AZS) == {"us-east-1a": "subnet-2"}


def test_a_full_subnet_is_passed_over_for_one_with_room_and_the_plan_counts_its_own_addresses() -> None:
    """AWS fails CreateVpcEndpoint (InsufficientFreeAddressesInSubnet) when one of its subnets has no free
    address: the planner never asks. Each endpoint takes one address per subnet, so the services planned
    first can fill a small subnet for the later ones."""
    subnets = [
        sub("subnet-full", "us-east-1a", TIER_PRIVATE, free=0),
        sub("subnet-roomy", "us-east-1a", TIER_PRIVATE, free=3),
        sub("subnet-b", "us-east-1b", TIER_PRIVATE, free=None),  # not known: taken as room
    ]
    # the full one holds the other endpoints and runs the tasks: it would win, but has no address
    assert choose_subnets(subnets, AZS, busy={"subnet-full"}, hosting={"subnet-full"}) == {
        "us-east-1a": "subnet-roomy",
        "us-east-1b": "subnet-b",
    }
    assert choose_subnets(subnets, AZS, committed={"subnet-roomy": 3}) == {"us-east-1b": "subnet-b"}


def test_an_ipv6_only_subnet_is_never_a_candidate_for_an_ipv4_endpoint() -> None:
    v6 = dataclasses.replace(sub("subnet-v6", "us-east-1a", TIER_PRIVATE, free=None, placement=True), ipv6_only=True)
    subnets = [v6, sub("subnet-v4", "us-east-1a", TIER_PRIVATE), sub("subnet-b", "us-east-1b", TIER_PRIVATE)]
    assert choose_subnets(subnets, AZS) == {"us-east-1a": "subnet-v4", "us-east-1b": "subnet-b"}
    assert choose_subnets([v6], AZS) == {}


def test_services_planned_after_a_subnet_fills_leave_its_az_out_with_a_finding() -> None:
    base = snapshot()
    small = dataclasses.replace(base.subnet("subnet-priv-b"), free_addresses=2)
    subnets = tuple(small if s.subnet_id == "subnet-priv-b" else s for s in base.subnets)
    plan = make_plan(dataclasses.replace(base, subnets=subnets), PROFILE, Settings())
    decisions = by_service(plan)
    assert decisions["ecr.dkr"].availability_zones == AZS and decisions["ecr.api"].availability_zones == AZS
    assert decisions["logs"].outcome == CREATE and decisions["logs"].availability_zones == ("us-east-1a", "us-east-1c")
    [finding] = plan.findings
    assert "no free address in subnet-priv-b (us-east-1b): logs leave us-east-1b out" in finding
    creates = {a.target: a.params["SubnetIds"] for a in plan.actions if a.kind == "create_interface_endpoint"}
    assert "subnet-priv-b" not in creates["logs"] and len(creates["logs"]) == 2


def test_an_endpoint_missing_an_az_whose_subnets_are_full_is_not_compliant_and_not_modified() -> None:
    base = snapshot(endpoints=(dkr(managed=True, subnet_ids=("subnet-priv-a", "subnet-priv-c")),), security_group=GROUP)
    full = dataclasses.replace(base.subnet("subnet-priv-b"), free_addresses=0)
    world = dataclasses.replace(
        base, subnets=tuple(full if s.subnet_id == "subnet-priv-b" else s for s in base.subnets)
    )
    plan = make_plan(world, PROFILE, Settings())
    assert not [a for a in plan.actions if a.kind == "modify_interface_endpoint" and a.target == "ecr.dkr"]
    assert any("ecr.dkr" in f and "us-east-1b" in f for f in plan.findings)
    everything_full = dataclasses.replace(
        world, subnets=tuple(dataclasses.replace(s, free_addresses=0) for s in world.subnets)
    )
    decisions = by_service(make_plan(everything_full, PROFILE, Settings()))
    assert decisions["logs"].outcome == "waiting" and "no free address" in decisions["logs"].reason


def test_the_placement_tag_pins_a_subnet_and_false_keeps_one_out() -> None:
    subnets = [
        sub("subnet-a1", "us-east-1a", TIER_PRIVATE),
        sub("subnet-a2", "us-east-1a", TIER_ISOLATED, placement=True),
        sub("subnet-b1", "us-east-1b", TIER_PRIVATE, placement=False),
        sub("subnet-b2", "us-east-1b", TIER_PUBLIC),
    ]
    assert choose_subnets(subnets, AZS) == {"us-east-1a": "subnet-a2"}


@pytest.mark.parametrize(
    ("routes", "tier"),
    [
        ([{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}], TIER_PUBLIC),
        ([{"DestinationIpv6CidrBlock": "::/0", "GatewayId": "igw-1"}], TIER_PUBLIC),
        ([{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"}], TIER_PRIVATE),
        ([{"DestinationCidrBlock": "0.0.0.0/0", "TransitGatewayId": "tgw-1"}], TIER_PRIVATE),
        ([{"DestinationCidrBlock": "0.0.0.0/0", "InstanceId": "i-1", "NetworkInterfaceId": "eni-1"}], TIER_PRIVATE),
        ([{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "vpce-0firewall"}], TIER_PRIVATE),
        ([{"DestinationIpv6CidrBlock": "::/0", "EgressOnlyInternetGatewayId": "eigw-1"}], TIER_PRIVATE),
        ([{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "State": "blackhole"}], TIER_ISOLATED),
        ([{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}], TIER_ISOLATED),
        ([{"DestinationCidrBlock": "10.1.0.0/16", "TransitGatewayId": "tgw-1"}], TIER_ISOLATED),
        ([], TIER_ISOLATED),
    ],
)
def test_a_route_tables_tier_comes_from_its_default_route(routes: list[dict], tier: str) -> None:
    assert tier_of(routes) == tier


def isolated_world(**changes) -> Snapshot:
    subnets = (sub("subnet-i", "us-east-1a", TIER_ISOLATED), sub("subnet-p", "us-east-1a", TIER_PRIVATE))
    tables = (
        RouteTable("rtb-main", True, (), TIER_ISOLATED),
        RouteTable("rtb-i", False, ("subnet-i",), TIER_ISOLATED),
        RouteTable("rtb-p", False, ("subnet-p",), TIER_PRIVATE),
    )
    return snapshot(subnets=subnets, route_tables=tables, **changes)


def test_the_gateway_skips_isolated_tables_and_tables_that_route_no_subnet() -> None:
    plan = make_plan(isolated_world(), PROFILE, Settings())
    assert by_service(plan)["s3"].route_table_ids == ("rtb-p",)
    assert "rtb-i" in by_service(plan)["s3"].reason and "left isolated" in by_service(plan)["s3"].reason
    opted = make_plan(isolated_world(), PROFILE, Settings(s3_gateway_on_isolated=True))
    assert by_service(opted)["s3"].route_table_ids == ("rtb-i", "rtb-p")


def test_isolated_tables_are_never_deferred_and_need_no_eni_read_when_opted_in() -> None:
    busy = isolated_world(enis=(task_eni("eni-1", "subnet-i"),))
    plan = make_plan(busy, PROFILE, Settings(s3_gateway_on_isolated=True))
    assert plan.deferred_route_tables == {} and by_service(plan)["s3"].route_table_ids == ("rtb-i", "rtb-p")
    gateway = Endpoint("vpce-g", "com.amazonaws.us-east-1.s3", "Gateway", "available", route_table_ids=("rtb-p",))
    covered = isolated_world(enis=None, endpoints=(gateway,))
    assert FACT_ENIS not in facts_needed(covered, PROFILE, Settings(s3_gateway_on_isolated=True))
    assert FACT_ENIS not in facts_needed(covered, PROFILE, Settings())  # no S3 interface endpoint: nothing to learn


# --- DNS drift: restored once, then a finding that names who --------------------------------------------


def relying_world(**changes) -> Snapshot:
    """The four endpoints in place, ours, private DNS on; the DNS attributes as ``changes`` say."""
    eps = [
        Endpoint(
            f"vpce-{short}",
            f"com.amazonaws.us-east-1.{short}",
            "Interface",
            "available",
            subnet_ids=("subnet-priv-a", "subnet-priv-b", "subnet-priv-c"),
            private_dns=True,
            group_ids=("sg-1",),
            managed=True,
        )
        for short in ("ecr.dkr", "ecr.api", "logs")
    ]
    eps.append(
        Endpoint(
            "vpce-s3",
            "com.amazonaws.us-east-1.s3",
            "Gateway",
            "available",
            route_table_ids=("rtb-priv-a", "rtb-priv-b", "rtb-priv-c", "rtb-public"),
            managed=True,
        )
    )
    group = SecurityGroup("sg-1", frozenset({IngressRule("tcp", 443, 443, "10.0.0.0/16")}))
    return snapshot(endpoints=tuple(eps), security_group=group, **changes)


def test_dns_turned_off_under_private_dns_endpoints_is_turned_back_on_once() -> None:
    plan = make_plan(
        relying_world(dns_hostnames=False, dns_drift=DnsDrift("arn:aws:iam::1:user/tf")), PROFILE, Settings()
    )
    assert kinds(plan) == ["enable_dns_attribute"] and plan.actions[0].params["Attribute"] == "enableDnsHostnames"
    assert plan.dns_restored is True and plan.findings == []
    assert {d.service: d.outcome for d in plan.endpoints if d.type == "Interface"} == dict.fromkeys(
        ("ecr.dkr", "ecr.api", "logs"), MODIFY
    )


def test_dns_turned_off_again_after_a_restore_is_a_finding_naming_who_and_the_fix_never_a_loop() -> None:
    drift = DnsDrift("arn:aws:sts::1:assumed-role/terraform/ci", restored_at=1_700_000_000_000)
    plan = make_plan(relying_world(dns_hostnames=False, dns_drift=drift), PROFILE, Settings())
    assert kinds(plan) == [] and plan.dns_restored is False
    [finding] = plan.findings
    assert "arn:aws:sts::1:assumed-role/terraform/ci" in finding and "enable_dns_hostnames = true" in finding
    assert {d.outcome for d in plan.endpoints if d.type == "Interface"} == {DEFERRED}


def test_dns_off_is_reported_not_fixed_when_the_deployer_keeps_endpoint_guard_off_the_attributes() -> None:
    plan = make_plan(relying_world(dns_support=False), PROFILE, Settings(manage_dns_attributes=False))
    assert kinds(plan) == [] and "ManageDnsAttributes is false" in plan.findings[0]


def test_check_reads_dns_whenever_endpoints_rely_on_it_and_the_worker_does_not() -> None:
    unread = relying_world(dns_support=None, dns_hostnames=None)
    assert FACT_DNS in facts_needed(unread, PROFILE, Settings(verify_dns=True))
    assert FACT_DNS not in facts_needed(unread, PROFILE, Settings())
    assert make_plan(unread, PROFILE, Settings()).actions == []  # unread attributes are not "off"


# --- release: only what endpoint-guard made ------------------------------------------------------------


def test_release_of_a_vpc_deletes_our_endpoints_then_our_group_and_nothing_else() -> None:
    from endpoint_guard.reconcile.release import plan_release

    ours = relying_world().endpoints
    theirs = Endpoint(
        "vpce-theirs", "com.amazonaws.us-east-1.ssm", "Interface", "available", subnet_ids=("subnet-priv-a",)
    )
    plan = plan_release(VPC, (*ours, theirs), "sg-1", None)
    assert kinds(plan) == ["delete_endpoints", "delete_security_group"]
    assert plan.actions[0].params["VpcEndpointIds"] == sorted(e.endpoint_id for e in ours)
    assert plan.actions[1].requires == ("endpoints",)


def test_release_of_a_subnet_takes_it_out_of_our_endpoints_and_deletes_one_it_was_alone_in() -> None:
    from endpoint_guard.reconcile.release import plan_release

    alone = Endpoint(
        "vpce-alone",
        "com.amazonaws.us-east-1.ssm",
        "Interface",
        "available",
        subnet_ids=("subnet-priv-a",),
        managed=True,
    )
    theirs = Endpoint(
        "vpce-theirs", "com.amazonaws.us-east-1.kms", "Interface", "available", subnet_ids=("subnet-priv-a",)
    )
    plan = plan_release(VPC, (*relying_world().endpoints, alone, theirs), "sg-1", "subnet-priv-a")
    assert kinds(plan) == ["remove_subnet"] * 3 + ["delete_endpoints"]
    assert {a.params["VpcEndpointId"] for a in plan.actions[:3]} == {"vpce-ecr.dkr", "vpce-ecr.api", "vpce-logs"}
    assert plan.actions[3].params["VpcEndpointIds"] == ["vpce-alone"]
    assert plan_release(VPC, (theirs,), None, "subnet-priv-a").actions == []


def test_dns_off_under_endpoints_that_are_not_ours_is_left_to_their_owner() -> None:
    theirs = tuple(dataclasses.replace(e, managed=False) for e in relying_world().endpoints)
    plan = make_plan(dataclasses.replace(relying_world(dns_hostnames=False), endpoints=theirs), PROFILE, Settings())
    assert kinds(plan) == [] and "not endpoint-guard's" in plan.findings[0]


def test_a_new_service_joins_the_subnets_the_endpoints_already_use() -> None:
    subnets = [
        sub("subnet-1", "us-east-1a", TIER_PRIVATE, free=50),
        sub("subnet-2", "us-east-1a", TIER_PRIVATE, free=900),
    ]
    assert choose_subnets(subnets, AZS, busy={"subnet-2"}, hosting={"subnet-1"}) == {"us-east-1a": "subnet-1"}


def test_dns_off_under_others_endpoints_is_turned_on_when_endpoint_guards_new_ones_need_it() -> None:
    theirs = tuple(
        dataclasses.replace(e, managed=False) for e in relying_world().endpoints if e.endpoint_id == "vpce-ecr.dkr"
    )
    plan = make_plan(dataclasses.replace(relying_world(dns_hostnames=False), endpoints=theirs), PROFILE, Settings())
    assert kinds(plan)[0] == "enable_dns_attribute" and plan.findings == [] and plan.dns_restored is False
    created = [a for a in plan.actions if a.kind == "create_interface_endpoint"]
    assert [a.params["PrivateDnsEnabled"] for a in created] == [True, True]


def test_the_vpcs_own_endpoints_stand_for_the_offers_only_when_they_answer_everything() -> None:
    from endpoint_guard.reconcile.reads import offers_from_endpoints

    complete = relying_world(offers={})
    derived = offers_from_endpoints(complete, PROFILE)
    assert derived is not None and derived["ecr.dkr"].service_name == "com.amazonaws.us-east-1.ecr.dkr"
    assert derived["ecr.dkr"].azs == frozenset(AZS)
    no_gateway = dataclasses.replace(complete, endpoints=tuple(e for e in complete.endpoints if e.type != "Gateway"))
    assert offers_from_endpoints(no_gateway, PROFILE) is None
    one_az_short = dataclasses.replace(
        complete,
        endpoints=tuple(
            dataclasses.replace(e, subnet_ids=e.subnet_ids[:2]) if e.endpoint_id == "vpce-logs" else e
            for e in complete.endpoints
        ),
    )
    assert offers_from_endpoints(one_az_short, PROFILE) is None  # is logs offered in us-east-1c? AWS says


def test_a_way_out_being_set_up_is_a_fresh_nat_gateway_or_attachment_that_no_route_uses_yet() -> None:
    from datetime import UTC, datetime, timedelta

    from endpoint_guard.model import egress_being_set_up

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    nats = [
        {"NatGatewayId": "nat-new", "State": "pending", "CreateTime": now - timedelta(minutes=2)},
        {"NatGatewayId": "nat-routed", "State": "available", "CreateTime": now - timedelta(minutes=5)},
        {"NatGatewayId": "nat-old", "State": "available", "CreateTime": now - timedelta(hours=3)},  # unused for good
        {"NatGatewayId": "nat-gone", "State": "deleting", "CreateTime": now},
    ]
    attachments = [
        {
            "TransitGatewayAttachmentId": "tgw-attach-1",
            "TransitGatewayId": "tgw-1",
            "State": "pending",
            "CreationTime": now - timedelta(minutes=1),
        },
        {
            "TransitGatewayAttachmentId": "tgw-attach-2",
            "TransitGatewayId": "tgw-2",
            "State": "available",
            "CreationTime": now - timedelta(minutes=1),
        },
    ]
    tables = [
        {"Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-routed"}]},
        {"Routes": [{"DestinationCidrBlock": "10.0.0.0/8", "TransitGatewayId": "tgw-2"}]},
    ]
    assert egress_being_set_up(nats, attachments, tables, now) == ("nat-new", "tgw-attach-1")
    assert egress_being_set_up([], [], tables, now) == ()


def test_new_endpoints_wait_for_a_way_out_being_set_up_only_where_they_would_go_to_the_isolated_tier() -> None:
    subnets = (sub("subnet-i", "us-east-1a", TIER_ISOLATED), sub("subnet-p", "us-east-1a", TIER_PUBLIC))
    tables = (
        RouteTable("rtb-i", False, ("subnet-i",), TIER_ISOLATED),
        RouteTable("rtb-p", False, ("subnet-p",), TIER_PUBLIC),
    )
    building = snapshot(subnets=subnets, route_tables=tables)
    assert FACT_EGRESS in facts_needed(building, PROFILE, Settings())
    waiting = make_plan(dataclasses.replace(building, egress_pending=("nat-1",)), PROFILE, Settings())
    for service in ("ecr.dkr", "ecr.api", "logs"):
        assert by_service(waiting)[service].outcome == "waiting"
        assert "nat-1" in by_service(waiting)[service].reason
    assert by_service(waiting)["s3"].route_table_ids == ("rtb-p",)  # the gateway does not wait
    settled = make_plan(dataclasses.replace(building, egress_pending=()), PROFILE, Settings())
    assert by_service(settled)["ecr.dkr"].outcome == CREATE
    # a private tier exists: nothing to wait for, and nothing to read
    assert FACT_EGRESS not in facts_needed(snapshot(), PROFILE, Settings())
    assert (
        by_service(make_plan(dataclasses.replace(snapshot(), egress_pending=("nat-1",)), PROFILE, Settings()))[
            "ecr.dkr"
        ].outcome
        == CREATE
    )


def test_an_az_is_named_ipv6_only_only_when_it_has_no_ipv4_candidate() -> None:
    """us-east-1b has an IPv6-only subnet beside a full IPv4 one: its gap is the full subnet, not IPv6."""
    base = snapshot()
    full = dataclasses.replace(base.subnet("subnet-priv-b"), free_addresses=0)
    v6 = Subnet("subnet-v6-b", "us-east-1b", "", "rtb-priv-b", TIER_PRIVATE, None, None, True)
    subnets = (*(full if s.subnet_id == "subnet-priv-b" else s for s in base.subnets), v6)
    plan = make_plan(dataclasses.replace(base, subnets=subnets), PROFILE, Settings())
    assert all("IPv6-only" not in d.reason for d in plan.endpoints)
    assert any("no free address in subnet-priv-b" in f for f in plan.findings)
    waiting = make_plan(dataclasses.replace(base, subnets=subnets, egress_pending=("nat-1",)), PROFILE, Settings())
    assert all("IPv6-only" not in d.reason for d in waiting.endpoints)  # a private tier: nothing waits either

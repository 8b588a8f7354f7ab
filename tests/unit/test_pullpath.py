"""The pull path's rules, hop by hop (pure): for each hop a case that passes and the cases that break
it, on a small VPC built in memory; then the needs read from task definitions, and the verdicts."""

from __future__ import annotations

import dataclasses
import json

import pytest
from endpoint_guard.model import TIER_ISOLATED, TIER_PRIVATE, TIER_PUBLIC, Endpoint, RouteTable, Snapshot, Subnet
from endpoint_guard.pullpath.hops import dns, endpoint, endpoint_policy, image, network_acl, route, security_group
from endpoint_guard.pullpath.model import (
    BLOCKED,
    EFFECT_BLOCKED,
    EFFECT_CROSS_AZ,
    EFFECT_UNVERIFIED,
    EFFECT_VIA_NAT,
    EFFECT_WARNING,
    THROUGH_ENDPOINTS,
    VIA_NAT,
    Network,
    Workload,
    acls_from_api,
    groups_from_api,
    network_from_api,
)
from endpoint_guard.pullpath.needs import (
    DOCKER_HUB,
    ECR_HERE,
    ECR_OTHER_REGION,
    ECR_PUBLIC,
    OTHER_REGISTRY,
    definition_needs,
    image_source,
    service_workload,
    task_workload,
)
from endpoint_guard.pullpath.verdict import evaluate, evaluate_workload, summary

REGION = "eu-west-1"
VPC = "vpc-0123456789abcdef0"
TASKS, ENDPOINTS = "subnet-aaaa0001", "subnet-aaaa0002"  # one AZ: the tasks' subnet, the endpoints'
OTHER_AZ = "subnet-bbbb0001"
RT = "rtb-0001"
PL = "pl-6da54004"
S3_CIDRS = ("52.218.0.0/17", "3.5.64.0/21")
ECR_IMAGE = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/shop/api:v3"
PROFILE = frozenset({"ecr.api", "ecr.dkr", "logs", "s3"})


def subnet(sid: str, cidr: str, az: str = "eu-west-1a", tier: str = TIER_PRIVATE) -> Subnet:
    return Subnet(sid, az, cidr, RT, tier)


def iface(service: str, *, subnets=(ENDPOINTS,), private_dns=True, groups=("sg-endpoints",), policy=None, managed=True):
    return Endpoint(
        f"vpce-{service.replace('.', '')}",
        f"com.amazonaws.{REGION}.{service}",
        "Interface",
        "available",
        subnet_ids=tuple(subnets),
        private_dns=private_dns,
        group_ids=tuple(groups),
        policy=policy,
        managed=managed,
    )


def gateway(tables=(RT,), policy=None) -> Endpoint:
    return Endpoint(
        "vpce-s3", f"com.amazonaws.{REGION}.s3", "Gateway", "available", route_table_ids=tables, policy=policy
    )


def group(gid: str, ingress=(), egress=(), name="") -> dict:
    return {
        "GroupId": gid,
        "GroupName": name or gid,
        "VpcId": VPC,
        "IpPermissions": list(ingress),
        "IpPermissionsEgress": list(egress),
    }


def https(*, cidr=None, group_id=None, prefix_list=None, port=443) -> dict:
    rule: dict = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    if cidr:
        rule["IpRanges"] = [{"CidrIp": cidr}]
    if group_id:
        rule["UserIdGroupPairs"] = [{"GroupId": group_id}]
    if prefix_list:
        rule["PrefixListIds"] = [{"PrefixListId": prefix_list}]
    return rule


ALL_OUT = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def acl(acl_id: str, subnets, entries) -> dict:
    return {
        "NetworkAclId": acl_id,
        "Associations": [{"SubnetId": s} for s in subnets],
        "Entries": [
            *entries,
            {"RuleNumber": 32767, "Egress": True, "Protocol": "-1", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0"},
            {"RuleNumber": 32767, "Egress": False, "Protocol": "-1", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0"},
        ],
    }


def entry(number, egress, cidr, ports=None, allow=True) -> dict:
    found = {
        "RuleNumber": number,
        "Egress": egress,
        "Protocol": "6" if ports else "-1",
        "RuleAction": "allow" if allow else "deny",
        "CidrBlock": cidr,
    }
    if ports:
        found["PortRange"] = {"From": ports[0], "To": ports[1]}
    return found


OPEN_ACL = acl(
    "acl-open", [TASKS, ENDPOINTS, OTHER_AZ], [entry(100, True, "0.0.0.0/0"), entry(100, False, "0.0.0.0/0")]
)


def net(
    *,
    endpoints=None,
    tier=TIER_PRIVATE,
    groups=None,
    acls=(OPEN_ACL,),
    dns_servers=("AmazonProvidedDNS",),
    dns=(True, True),
    prefix_cidrs=S3_CIDRS,
) -> Network:
    subnets = (
        subnet(TASKS, "10.0.1.0/24", tier=tier),
        subnet(ENDPOINTS, "10.0.2.0/24", tier=tier),
        subnet(OTHER_AZ, "10.0.9.0/24", "eu-west-1b", tier),
    )
    if endpoints is None:
        endpoints = [iface("ecr.api"), iface("ecr.dkr"), iface("logs"), gateway()]
    snapshot = Snapshot(
        vpc_id=VPC,
        region=REGION,
        partition="aws",
        cidrs_v4=("10.0.0.0/16",),
        cidrs_v6=(),
        subnets=subnets,
        route_tables=(RouteTable(RT, False, tuple(s.subnet_id for s in subnets), tier),),
        endpoints=tuple(endpoints),
        dns_support=dns[0],
        dns_hostnames=dns[1],
    )
    if groups is None:
        groups = [
            group("sg-endpoints", ingress=[https(cidr="10.0.0.0/16")], egress=[ALL_OUT]),
            group("sg-tasks", egress=[ALL_OUT]),
        ]
    return network_from_api(
        snapshot,
        groups=groups,
        acls=acls,
        dns_servers=dns_servers,
        prefix_lists=[
            {"PrefixListId": PL, "PrefixListName": f"com.amazonaws.{REGION}.s3", "Cidrs": list(prefix_cidrs)}
        ],
        account="123456789012",
        nat_gb_price=0.048,
    )


def task(**changes) -> Workload:
    base = Workload(
        kind="service",
        cluster="shop",
        name="api",
        launch_type="FARGATE",
        subnet_ids=(TASKS,),
        group_ids=("sg-tasks",),
        images=(ECR_IMAGE,),
        log_regions=(REGION,),
        needs=("ecr.api", "ecr.dkr", "s3", "logs"),
    )
    return dataclasses.replace(base, **changes)


def at(network: Network, sid: str = TASKS) -> Subnet:
    found = network.snapshot.subnet(sid)
    assert found is not None
    return found


def effects(problems) -> list[tuple[str, str, str]]:
    return [(p.hop, p.service, p.effect) for p in problems]


# --- a VPC where everything is right -------------------------------------------------------------------


def test_a_well_built_vpc_passes_every_hop() -> None:
    n = net()
    verdict = evaluate_workload(n, task(), PROFILE)
    assert verdict.verdict == THROUGH_ENDPOINTS and verdict.problems == () and not verdict.counts
    hops = {(s.service, s.hop) for s in verdict.trace}
    assert ("s3", "route") in hops and ("ecr.dkr", "security_group") in hops and ("ecr", "image") in hops


# --- route ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "effect"), [(TIER_PRIVATE, EFFECT_VIA_NAT), (TIER_PUBLIC, EFFECT_VIA_NAT), (TIER_ISOLATED, EFFECT_BLOCKED)]
)
def test_route_without_the_s3_gateway_takes_the_default_route_or_none(tier: str, effect: str) -> None:
    n = net(endpoints=[iface("ecr.api"), iface("ecr.dkr"), iface("logs")], tier=tier)
    [problem] = route.check(n, task(), at(n), "s3")
    assert (problem.hop, problem.effect) == ("route", effect) and RT in problem.resource_ids
    assert "--add-route-table-ids rtb-0001" in problem.fix
    if tier == TIER_PRIVATE:
        assert "$0.048/GB" in problem.detail  # the cost model's NAT figure
    assert route.check(net(tier=tier), task(), at(n), "s3") == []  # with the gateway on the table


# --- endpoint ------------------------------------------------------------------------------------------


def test_endpoint_missing_goes_through_nat_or_blocks_and_another_azs_is_cross_az() -> None:
    missing = net(endpoints=[iface("ecr.api"), iface("logs"), gateway()])
    [problem] = endpoint.check(missing, task(), at(missing), "ecr.dkr")
    assert (problem.effect, problem.service) == (EFFECT_VIA_NAT, "ecr.dkr")
    isolated = net(endpoints=[iface("ecr.api"), iface("logs"), gateway()], tier=TIER_ISOLATED)
    assert endpoint.check(isolated, task(), at(isolated), "ecr.dkr")[0].effect == EFFECT_BLOCKED
    far = net()
    [cross] = endpoint.check(far, task(subnet_ids=(OTHER_AZ,)), at(far, OTHER_AZ), "ecr.dkr")
    assert cross.effect == EFFECT_CROSS_AZ and "eu-west-1b" in cross.detail
    assert endpoint.check(far, task(), at(far), "ecr.dkr") == []


def test_an_endpoint_of_another_regions_service_does_not_serve_this_one() -> None:
    other = dataclasses.replace(iface("ecr.dkr"), service_name="com.amazonaws.us-west-2.ecr.dkr")
    n = net(endpoints=[iface("ecr.api"), other, iface("logs"), gateway()])
    assert endpoint.check(n, task(), at(n), "ecr.dkr")[0].effect == EFFECT_VIA_NAT


# --- dns -----------------------------------------------------------------------------------------------


def test_dns_private_dns_off_or_attributes_off_send_the_call_out() -> None:
    off = net(endpoints=[iface("ecr.api"), iface("ecr.dkr", private_dns=False), iface("logs"), gateway()])
    [problem] = dns.check(off, task(), at(off), "ecr.dkr")
    assert problem.effect == EFFECT_VIA_NAT and "--private-dns-enabled" in problem.fix
    attributes = net(dns=(True, False))
    [problem] = dns.check(attributes, task(), at(attributes), "ecr.api")
    assert "enableDnsHostnames" in problem.detail and problem.effect == EFFECT_VIA_NAT
    assert dns.check(net(), task(), at(net()), "ecr.api") == []


def test_dns_custom_dhcp_servers_are_a_warning_naming_them_unless_they_are_the_vpc_resolver() -> None:
    custom = net(dns_servers=("10.9.0.53", "10.9.1.53"))
    [problem] = dns.check(custom, task(), at(custom), "ecr.api")
    assert problem.effect == EFFECT_WARNING and "10.9.0.53, 10.9.1.53" in problem.detail
    resolver = net(dns_servers=("10.0.0.2",))  # the VPC's base + 2
    assert dns.check(resolver, task(), at(resolver), "ecr.api") == []


# --- security groups -----------------------------------------------------------------------------------


def test_security_group_the_endpoint_must_admit_443_from_the_tasks() -> None:
    closed = net(
        groups=[group("sg-endpoints", ingress=[https(cidr="10.0.2.0/24")]), group("sg-tasks", egress=[ALL_OUT])]
    )
    [problem] = security_group.check(closed, task(), at(closed), "ecr.dkr")
    assert problem.effect == EFFECT_BLOCKED and "10.0.1.0/24" in problem.fix and "sg-endpoints" in problem.fix
    by_group = net(
        groups=[group("sg-endpoints", ingress=[https(group_id="sg-tasks")]), group("sg-tasks", egress=[ALL_OUT])]
    )
    assert security_group.check(by_group, task(), at(by_group), "ecr.dkr") == []


def test_security_group_the_tasks_must_let_443_out_to_the_endpoint_and_to_the_s3_prefix_list() -> None:
    """The public report: a task group that allows 443 out to the VPC's range but not to the S3 prefix
    list pulls manifests and fails on the layers (CannotPullContainerError)."""
    vpc_only = net(
        groups=[
            group("sg-endpoints", ingress=[https(cidr="10.0.0.0/16")]),
            group("sg-tasks", egress=[https(cidr="10.0.0.0/16")]),
        ]
    )
    assert security_group.check(vpc_only, task(), at(vpc_only), "ecr.dkr") == []
    [problem] = security_group.check(vpc_only, task(), at(vpc_only), "s3")
    assert problem.effect == EFFECT_BLOCKED and PL in problem.fix and "CannotPullContainerError" in problem.detail
    with_list = net(
        groups=[
            group("sg-endpoints", ingress=[https(cidr="10.0.0.0/16")]),
            group("sg-tasks", egress=[https(cidr="10.0.0.0/16"), https(prefix_list=PL)]),
        ]
    )
    assert security_group.check(with_list, task(), at(with_list), "s3") == []
    ranges = net(
        groups=[group("sg-endpoints"), group("sg-tasks", egress=[https(cidr="52.0.0.0/8"), https(cidr="3.5.0.0/16")])]
    )
    assert security_group.check(ranges, task(), at(ranges), "s3") == []  # ranges covering every entry
    nothing_out = net(groups=[group("sg-endpoints", ingress=[https(cidr="10.0.0.0/16")]), group("sg-tasks")])
    assert security_group.check(nothing_out, task(), at(nothing_out), "ecr.api")[0].effect == EFFECT_BLOCKED


def test_security_group_a_task_without_groups_has_the_vpcs_default_one_and_an_unread_group_is_unverified() -> None:
    default = net(
        groups=[
            group("sg-endpoints", ingress=[https(cidr="10.0.0.0/16")]),
            group("sg-default", egress=[ALL_OUT], name="default"),
        ]
    )
    assert security_group.check(default, task(group_ids=()), at(default), "s3") == []
    unread = net(groups=[group("sg-endpoints", ingress=[https(cidr="10.0.0.0/16")])])
    [problem] = security_group.check(unread, task(), at(unread), "ecr.api")
    assert problem.effect == EFFECT_UNVERIFIED and "sg-tasks" in problem.detail


# --- network ACLs --------------------------------------------------------------------------------------


def test_network_acl_443_out_only_to_the_vpc_blocks_s3() -> None:
    """The public report: an ACL that lets 443 out only to the VPC's range."""
    vpc_only = acl(
        "acl-tight",
        [TASKS, ENDPOINTS, OTHER_AZ],
        [
            entry(100, True, "10.0.0.0/16", (443, 443)),
            entry(110, False, "10.0.0.0/16", (1024, 65535)),
            entry(120, False, "10.0.0.0/16", (443, 443)),
            entry(130, True, "10.0.0.0/16", (1024, 65535)),
        ],
    )
    n = net(acls=(vpc_only,))
    assert network_acl.check(n, task(), at(n), "ecr.dkr") == []  # to the endpoint subnet, both ways
    problems = network_acl.check(n, task(), at(n), "s3")
    assert {p.effect for p in problems} == {EFFECT_BLOCKED} and "acl-tight" in problems[0].resource_ids
    assert any("TCP 443 out to 52.218.0.0/17" in p.detail for p in problems)


def test_network_acl_rules_apply_in_number_order_and_inside_one_subnet_nothing_is_filtered() -> None:
    deny_first = acl(
        "acl-deny",
        [TASKS, ENDPOINTS],
        [
            entry(90, True, "10.0.2.0/24", (443, 443), allow=False),
            entry(100, True, "0.0.0.0/0"),
            entry(100, False, "0.0.0.0/0"),
        ],
    )
    n = net(acls=(deny_first, OPEN_ACL))
    [problem] = network_acl.check(n, task(), at(n), "ecr.dkr")
    assert "rule 90 denies it" in problem.detail
    allow_first = acl(
        "acl-ok",
        [TASKS, ENDPOINTS],
        [
            entry(80, True, "0.0.0.0/0"),
            entry(90, True, "10.0.2.0/24", (443, 443), allow=False),
            entry(100, False, "0.0.0.0/0"),
        ],
    )
    assert network_acl.check(net(acls=(allow_first,)), task(), at(n), "ecr.dkr") == []
    same_subnet = net(endpoints=[iface("ecr.dkr", subnets=(TASKS,)), gateway()], acls=(deny_first,))
    assert network_acl.check(same_subnet, task(), at(same_subnet), "ecr.dkr") == []


def test_network_acl_the_return_traffic_needs_the_whole_ephemeral_range() -> None:
    narrow = acl("acl-narrow", [TASKS], [entry(100, True, "0.0.0.0/0"), entry(100, False, "0.0.0.0/0", (32768, 65535))])
    n = net(acls=(narrow, OPEN_ACL))
    problems = network_acl.check(n, task(), at(n), "ecr.dkr")
    assert problems and "TCP 1024-65535 in from 10.0.2.0/24" in problems[0].detail


# --- endpoint policies ---------------------------------------------------------------------------------


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", condition=None) -> dict:
    found = {"Effect": "Allow", "Principal": "*", "Action": action, "Resource": resource}
    if condition:
        found["Condition"] = condition
    return found


LAYERS = f"arn:aws:s3:::prod-{REGION}-starport-layer-bucket/*"


def test_endpoint_policy_s3_without_the_layer_bucket_or_with_account_conditions_blocks_the_layers() -> None:
    mine_only = policy(allow("s3:GetObject", "arn:aws:s3:::my-bucket/*"))
    n = net(endpoints=[iface("ecr.api"), iface("ecr.dkr"), iface("logs"), gateway(policy=mine_only)])
    [problem] = endpoint_policy.check(n, task(), at(n), "s3")
    assert problem.effect == EFFECT_BLOCKED and "prod-eu-west-1-starport-layer-bucket" in problem.fix
    own_account = policy(allow("s3:GetObject", LAYERS, {"StringEquals": {"aws:ResourceAccount": "123456789012"}}))
    n = net(endpoints=[gateway(policy=own_account)])
    assert endpoint_policy.check(n, task(), at(n), "s3")[0].effect == EFFECT_BLOCKED
    org = policy(allow("s3:*", "*", {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}))
    n = net(endpoints=[gateway(policy=org)])
    assert endpoint_policy.check(n, task(), at(n), "s3")[0].effect == EFFECT_BLOCKED
    right = policy(allow("s3:GetObject", LAYERS))
    n = net(endpoints=[gateway(policy=right)])
    assert endpoint_policy.check(n, task(), at(n), "s3") == []


def test_endpoint_policy_of_an_interface_endpoint_without_an_allow_blocks_and_a_condition_is_unverified() -> None:
    nothing = policy({"Effect": "Deny", "Principal": "*", "Action": "ecr:DeleteRepository", "Resource": "*"})
    n = net(endpoints=[iface("ecr.dkr", policy=nothing), gateway()])
    [problem] = endpoint_policy.check(n, task(), at(n), "ecr.dkr")
    assert problem.effect == EFFECT_BLOCKED and "ecr:BatchGetImage" in problem.detail
    denied = policy(allow("*"), {"Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGetImage", "Resource": "*"})
    n = net(endpoints=[iface("ecr.dkr", policy=denied), gateway()])
    assert endpoint_policy.check(n, task(), at(n), "ecr.dkr")[0].effect == EFFECT_BLOCKED
    vpce = policy(allow("ecr:*", "*", {"StringEquals": {"aws:SourceVpce": "vpce-1"}}))
    n = net(endpoints=[iface("ecr.dkr", policy=vpce), gateway()])
    assert endpoint_policy.check(n, task(), at(n), "ecr.dkr")[0].effect == EFFECT_UNVERIFIED
    logs = policy(allow(["logs:CreateLogStream", "logs:PutLogEvents"]))
    n = net(endpoints=[iface("logs", policy=logs), gateway()])
    assert endpoint_policy.check(n, task(), at(n), "logs") == []


# --- image ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "kind"),
    [
        (ECR_IMAGE, ECR_HERE),
        ("210987654321.dkr.ecr.eu-west-1.amazonaws.com/base:1", ECR_HERE),  # another account's: still here
        ("123456789012.dkr.ecr.us-west-2.amazonaws.com/shop/api:v3", ECR_OTHER_REGION),
        ("public.ecr.aws/nginx/nginx:1.27", ECR_PUBLIC),
        ("nginx:1.27", DOCKER_HUB),
        ("library/nginx", DOCKER_HUB),
        ("docker.io/library/nginx:1", DOCKER_HUB),
        ("ghcr.io/acme/app:2", OTHER_REGISTRY),
        ("registry.example.com:5000/app", OTHER_REGISTRY),
    ],
)
def test_image_sources(reference: str, kind: str) -> None:
    assert image_source(reference, REGION).kind == kind


def test_image_outside_this_regions_ecr_goes_through_nat_or_blocks_and_names_the_cache_rule() -> None:
    n = net()
    [hub] = image.check(n, task(images=("nginx:1.27",)), at(n))
    assert hub.effect == EFFECT_VIA_NAT and "pull-through cache rule for docker.io" in hub.fix
    assert "<prefix>/library/nginx:1.27" in hub.fix
    isolated = net(tier=TIER_ISOLATED)
    assert image.check(isolated, task(images=("nginx:1.27",)), at(isolated))[0].effect == EFFECT_BLOCKED
    [other] = image.check(n, task(images=("123456789012.dkr.ecr.us-west-2.amazonaws.com/a:1",)), at(n))
    assert "us-west-2" in other.detail and "com.amazonaws.us-west-2.ecr.api" in other.fix
    assert image.check(n, task(), at(n)) == []


# --- needs ---------------------------------------------------------------------------------------------


DEFINITION = {
    "containerDefinitions": [
        {
            "image": ECR_IMAGE,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": "/shop", "awslogs-region": REGION},
            },
            "secrets": [
                {"name": "DB", "valueFrom": f"arn:aws:secretsmanager:{REGION}:123456789012:secret:db-AbCdEf"},
                {"name": "FLAG", "valueFrom": "/shop/flag"},
            ],
        },
        {"image": "public.ecr.aws/aws-observability/aws-otel-collector:latest"},
    ]
}


def test_needs_from_a_task_definition_and_a_service() -> None:
    images, logs, secrets = definition_needs(DEFINITION, REGION)
    assert images == (ECR_IMAGE, "public.ecr.aws/aws-observability/aws-otel-collector:latest")
    assert logs == (REGION,) and secrets == ("secretsmanager", "ssm")
    service = {
        "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/shop",
        "serviceName": "api",
        "launchType": "FARGATE",
        "enableExecuteCommand": True,
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [TASKS], "securityGroups": ["sg-tasks"]}},
    }
    workload = service_workload(service, DEFINITION, REGION)
    assert workload is not None and workload.key == "shop/api"
    assert workload.needs == ("ecr.api", "ecr.dkr", "s3", "logs", "secretsmanager", "ssm", "ssmmessages")
    bridge = dict(service, networkConfiguration={})
    assert service_workload(bridge, DEFINITION, REGION) is None  # the container instances stand for it


def test_a_standalone_task_takes_its_enis_subnet_and_groups_and_a_services_task_is_the_services() -> None:
    raw = {
        "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/batch",
        "taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/batch/0f1e2d",
        "group": "family:report",
        "launchType": "FARGATE",
        "attachments": [
            {"details": [{"name": "subnetId", "value": TASKS}, {"name": "networkInterfaceId", "value": "eni-1"}]}
        ],
    }
    workload = task_workload(raw, {"containerDefinitions": [{"image": "nginx"}]}, REGION, {"eni-1": ("sg-tasks",)})
    assert workload is not None and (workload.kind, workload.name, workload.group_ids) == (
        "task",
        "0f1e2d",
        ("sg-tasks",),
    )
    assert workload.needs == ()  # a Docker Hub image, no logs: no endpoint service (the image hop says why)
    assert task_workload(dict(raw, group="service:api"), None, REGION, {}) is None


# --- verdicts ------------------------------------------------------------------------------------------


def test_verdicts_through_endpoints_via_nat_and_blocked_and_what_counts_against_the_vpc() -> None:
    n = net(endpoints=[iface("ecr.api"), iface("ecr.dkr"), iface("logs")])  # no S3 gateway: layers via NAT
    via = evaluate_workload(n, task(), PROFILE)
    assert via.verdict == VIA_NAT and via.counts  # the VPC's own set-up sends the layers through NAT
    hub = evaluate_workload(net(), task(images=("nginx:1.27",), needs=("logs",)), PROFILE)
    assert hub.verdict == VIA_NAT and not hub.counts  # the image's choice: a finding, not a failure
    isolated = net(tier=TIER_ISOLATED, endpoints=[iface("ecr.api"), iface("ecr.dkr"), iface("logs")])
    blocked = evaluate_workload(isolated, task(), PROFILE)
    assert blocked.verdict == BLOCKED and blocked.counts and blocked.problems[0].hop == "route"
    secrets = evaluate_workload(net(), task(needs=("ecr.api", "ecr.dkr", "s3", "logs", "secretsmanager")), PROFILE)
    assert secrets.verdict == VIA_NAT and not secrets.counts  # outside the profile, with a way out: reported
    assert summary(evaluate(net(), [task(), task(name="b")], PROFILE)) == {
        "workloads": 2,
        "through_endpoints": 2,
        "via_nat": 0,
        "blocked": 0,
    }
    document = blocked.as_dict()
    assert document["verdict"] == "blocked" and document["problems"][0]["fix"].startswith("add the S3 gateway")
    assert set(document["problems"][0]) == {"hop", "service", "effect", "resource_ids", "detail", "fix"}


def test_parsers_keep_both_directions_and_every_acl_entry() -> None:
    groups = groups_from_api([group("sg-1", ingress=[https(cidr="10.0.0.0/8")], egress=[https(prefix_list=PL)])])
    assert groups["sg-1"].ingress[0].cidrs == ("10.0.0.0/8",) and groups["sg-1"].egress[0].prefix_lists == (PL,)
    [parsed] = acls_from_api([OPEN_ACL])
    assert len(parsed.entries) == 4 and parsed.subnet_ids == tuple(sorted([TASKS, ENDPOINTS, OTHER_AZ]))

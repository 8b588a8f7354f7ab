"""Every sample event, three ways: against the template's EventBridge patterns (moto's real matcher),
through the deployed handler on moto, and, for ../shared/real-events, through parsing and the handler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from endpoint_guard.errors import EndpointGuardError, InvalidEventError
from moto.events.models import EventPattern, EventPatternParser

from tests.conftest import EVENTS, REPO, SAMPLE_ROUTE_TABLE, SAMPLE_SUBNET, SAMPLE_VPC, SHARED, CfnLoader
from tools.esm import context
from tools.world import awsvpc_service, build_vpc

# The ids the repo's sample events use; tests map them onto moto's resources.

# event file -> the rules that must match it (and no other rule may).
RULES_FOR = {
    "create-vpc.json": {"CreateVpc"},
    "create-subnet.json": {"VpcShape"},
    "create-route-table.json": {"VpcShape"},
    "associate-route-table.json": {"VpcShape"},
    "create-route-default-nat.json": {"VpcRoutes"},
    "create-route-peering.json": {"VpcRoutes"},  # the intake drops routes other than the default
    "ecs-create-cluster.json": {"EcsClusters"},
    "ecs-create-service.json": {"EcsWorkloads"},
    "ecs-update-service.json": {"EcsWorkloads"},
    "ecs-run-task.json": {"EcsWorkloads"},
    "modify-vpc-attribute-dns-off.json": {"DnsDrift"},
    "modify-vpc-attribute-dns-on.json": {"DnsDrift"},  # the intake tells on from off (both shapes)
    "delete-subnet-dependency-violation.json": {"BlockedDeletes"},
    "delete-vpc-dependency-violation.json": {"BlockedDeletes"},
    "drift-delete-vpc-endpoints.json": {"Drift"},
    "drift-delete-vpc-endpoints-items.json": {"Drift"},
    "drift-modify-vpc-endpoint.json": {"Drift"},
    "drift-delete-security-group.json": {"Drift"},
    "drift-revoke-security-group-ingress.json": {"Drift"},
    "drift-modify-security-group-rules.json": {"Drift"},
    "drift-replace-route-table-association.json": {"Drift"},
    "drift-disassociate-route-table.json": {"Drift"},
    "drift-delete-route-table.json": {"Drift"},
    "drift-associate-vpc-cidr-block.json": {"Drift"},
    "drift-disassociate-vpc-cidr-block.json": {"Drift"},
    "drift-delete-subnet.json": {"Drift"},
    "path-revoke-security-group-egress.json": {"PathChanges"},
    "path-replace-network-acl-entry.json": {"PathChanges"},
    "path-associate-dhcp-options.json": {"PathChanges"},
    "securityhub-ec2-55-failed.json": {"SecurityHubFindings"},
    "securityhub-ec2-56-passed.json": set(),  # a passed control: nothing to do
    "create-vpc-failed.json": set(),  # failed calls never invoke the function
    "eks-create-cluster.json": set(),  # same event name family, another service
    "records-create-vpc.json": set(),  # manual invocation forms, not EventBridge events
    "request-vpc.json": set(),
    "request-cluster.json": set(),
}
# event file -> what the handler does with it: "reconciled", or the start of the skip reason.
HANDLED_AS = {
    "create-vpc.json": "reconciled",
    "create-subnet.json": "reconciled",
    "create-route-table.json": "reconciled",
    "associate-route-table.json": "reconciled",
    "create-route-default-nat.json": "reconciled",
    "create-route-peering.json": "a route to 10.20.0.0/16 does not change",
    "ecs-create-cluster.json": "reconciled",
    "ecs-create-service.json": "reconciled",
    "ecs-update-service.json": "reconciled",
    "ecs-run-task.json": "reconciled",
    "records-create-vpc.json": "reconciled",
    "request-vpc.json": "reconciled",
    "request-cluster.json": "reconciled",
    "modify-vpc-attribute-dns-off.json": "reconciled",
    "modify-vpc-attribute-dns-on.json": "the call did not turn",
    "delete-subnet-dependency-violation.json": "released",
    "delete-vpc-dependency-violation.json": "released",
    # Drift: the endpoint and group ids are not moto's (no such resource: nothing to repair); the
    # subnet, route table and VPC ids are mapped onto moto's, so those reconcile.
    "drift-delete-vpc-endpoints.json": "what the event names no longer exists",
    "drift-delete-vpc-endpoints-items.json": "what the event names no longer exists",
    "drift-modify-vpc-endpoint.json": "reconciled",
    "drift-delete-security-group.json": "what the event names no longer exists",
    "drift-revoke-security-group-ingress.json": "what the event names no longer exists",
    "drift-modify-security-group-rules.json": "what the event names no longer exists",
    "drift-replace-route-table-association.json": "reconciled",
    "drift-disassociate-route-table.json": "DisassociateRouteTable names nothing",
    "drift-delete-route-table.json": "reconciled",
    "drift-associate-vpc-cidr-block.json": "reconciled",
    "drift-disassociate-vpc-cidr-block.json": "reconciled",
    "drift-delete-subnet.json": "reconciled",
    # A hop of the pulls: the group is not moto's (nothing uses it: dropped with one read); the ACL is
    # mapped onto the VPC's default one (on its subnets) and the DHCP options' VPC onto moto's, so
    # those are reconciled and their pulls judged.
    "path-revoke-security-group-egress.json": "sg-0b1c2d3e4f5a69788: on no network interface in use",
    "path-replace-network-acl-entry.json": "reconciled",
    "path-associate-dhcp-options.json": "reconciled",
    "securityhub-ec2-55-failed.json": "reconciled",
    "securityhub-ec2-56-passed.json": "Security Hub finding EC2.56 (PASSED)",
    "create-vpc-failed.json": "failed call",
    "eks-create-cluster.json": "not a call endpoint-guard acts on",
}
OWN_ACCOUNT = context("endpoint-guard-intake")


def template_rules() -> dict[str, dict]:
    template = yaml.load((REPO / "template.yaml").read_text(), Loader=CfnLoader)  # a SafeLoader subclass
    rules = {}
    for resource in template["Resources"].values():
        for name, event in (resource.get("Properties", {}).get("Events") or {}).items():
            if event["Type"] == "EventBridgeRule":
                rules[name] = event["Properties"]["Pattern"]
    return rules


def _one_object_arrays_unwrapped(value: object) -> object:
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        return _one_object_arrays_unwrapped(value[0])
    if isinstance(value, dict):
        return {k: _one_object_arrays_unwrapped(v) for k, v in value.items()}
    return value


def matching_rules(event: object) -> set[str]:
    if not isinstance(event, dict):
        return set()
    # EventBridge matches a pattern's object against each object of an array in the event (Security Hub's
    # own rule examples match detail.findings and its Resources that way); moto's matcher does not. A
    # one-object array matched as that object is AWS's answer (Security Hub sends one finding an event).
    event = _one_object_arrays_unwrapped(event)
    matched = set()
    for name, pattern in template_rules().items():
        raw = json.dumps(pattern)
        if EventPattern(raw, EventPatternParser(raw).parse()).matches_event(event):
            matched.add(name)
    return matched


def test_every_event_file_is_accounted_for() -> None:
    assert sorted(p.name for p in EVENTS.glob("*.json")) == sorted(RULES_FOR) == sorted(HANDLED_AS)


@pytest.mark.parametrize("name", sorted(RULES_FOR))
def test_each_rule_matches_what_it_should_and_nothing_else(name: str) -> None:
    assert matching_rules(json.loads((EVENTS / name).read_text())) == RULES_FOR[name]


def test_every_rule_matches_on_event_source_and_name_and_drops_failed_calls() -> None:
    """Failed calls never invoke the function, but for the one rule that exists for them: a delete that
    endpoint-guard's resources blocked."""
    for name, pattern in template_rules().items():
        if name == "SecurityHubFindings":  # Security Hub's own events, not CloudTrail's: failed controls only
            assert pattern["source"] == ["aws.securityhub"]
            assert pattern["detail"]["findings"]["Compliance"]["Status"] == ["FAILED"]
            continue
        assert pattern["detail-type"] == ["AWS API Call via CloudTrail"], name
        assert pattern["detail"]["eventSource"] and pattern["detail"]["eventName"], name
        if name == "BlockedDeletes":
            assert pattern["detail"]["errorCode"] == ["Client.DependencyViolation", "DependencyViolation"]
        else:
            assert pattern["detail"]["errorCode"] == [{"exists": False}], name


SAMPLE_ACL = "acl-0d1e2f3a4b5c69788"


def mapped(path: Path, world, ec2=None) -> object:
    text = path.read_text()
    if ec2 is not None and SAMPLE_ACL in text:
        acls = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["NetworkAcls"]
        text = text.replace(SAMPLE_ACL, next(a["NetworkAclId"] for a in acls if a.get("IsDefault")))
    text = text.replace(SAMPLE_VPC, world.vpc_id)
    text = text.replace(SAMPLE_SUBNET, world.private_subnets["us-east-1b"])
    return json.loads(text.replace(SAMPLE_ROUTE_TABLE, world.private_route_tables["us-east-1b"]))


@pytest.mark.parametrize("name", sorted(HANDLED_AS))
def test_every_event_file_through_the_handler(ec2, ecs, name: str, intake) -> None:
    world = build_vpc(ec2)
    awsvpc_service(ecs, [world.private_subnets["us-east-1b"]], cluster="payments")  # request-cluster.json's
    output = intake(mapped(EVENTS / name, world, ec2), OWN_ACCOUNT)
    if HANDLED_AS[name] == "reconciled":
        assert [r["vpc_id"] for r in output["results"]] == [world.vpc_id]
        assert output["results"][0]["compliant"] is True
    elif HANDLED_AS[name] == "released":  # nothing of endpoint-guard's there yet: nothing to take out
        assert output["results"] == []
        assert [(r["vpc_id"], r["actions"], r["released"]) for r in output["released"]] == [(world.vpc_id, [], True)]
    else:
        assert output["results"] == []
        assert output["skipped"][0]["reason"].startswith(HANDLED_AS[name])


def test_events_from_another_account_are_skipped_with_the_reason(ec2, intake) -> None:
    world = build_vpc(ec2)
    other = context("endpoint-guard-intake", account="210987654321")
    output = intake(mapped(EVENTS / "create-vpc.json", world), other)
    assert output["results"] == []
    assert "account 123456789012" in output["skipped"][0]["reason"]
    assert ec2.describe_vpc_endpoints()["VpcEndpoints"] == []


def test_subnet_deleted_since_the_event_is_skipped_not_failed(ec2, intake) -> None:
    event = json.loads((EVENTS / "ecs-run-task.json").read_text())  # names a subnet moto never had
    output = intake(event, OWN_ACCOUNT)
    assert output["results"] == [] and "no longer exist" in output["skipped"][0]["reason"]


# --- real events from public sources ------------------------------------------------------------------

REAL = sorted((SHARED / "real-events").glob("*.json")) if SHARED.exists() else []


def _real_create_vpc(sample: object) -> bool:
    detail = sample.get("detail", sample) if isinstance(sample, dict) else None
    return isinstance(detail, dict) and detail.get("eventName") == "CreateVpc" and not detail.get("errorCode")


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/real-events is not beside the repo (CI has it)")
@pytest.mark.parametrize("path", REAL, ids=[p.name[:70] for p in REAL])
def test_real_event_is_acted_on_or_skipped_with_a_named_reason(ec2, path: Path, intake) -> None:
    sample = json.loads(path.read_text())
    no_account = context("endpoint-guard-intake", account="local")  # no account to compare with
    if _real_create_vpc(sample):
        world = build_vpc(ec2)
        detail = sample.get("detail", sample)
        detail["responseElements"]["vpc"]["vpcId"] = world.vpc_id  # map the sample's VPC onto a moto VPC
        output = intake(sample, no_account)
        assert [r["vpc_id"] for r in output["results"]] == [world.vpc_id]
        return
    try:
        output = intake(sample, no_account)
    except EndpointGuardError as err:  # a classified error naming what was expected, never anything else
        error = err
    else:
        assert output["results"] == []
        assert output["skipped"] and all(s["reason"] for s in output["skipped"])
        return
    assert isinstance(error, InvalidEventError), error
    assert "expected" in str(error) or "subnet ids" in str(error)


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/real-events is not beside the repo (CI has it)")
def test_real_eventbridge_samples_match_only_the_rules_they_should() -> None:
    for path in REAL:
        sample = json.loads(path.read_text())
        if isinstance(sample, dict) and isinstance(sample.get("detail-type"), str):
            expected = {"CreateVpc"} if _real_create_vpc(sample) else set()
            assert matching_rules(sample) == expected, path.name

"""The spoke template (plain CloudFormation, deployed by a StackSet) read as a file: its member role may
do exactly what the hub's reconcile may, with the same tag conditions, in any Region of the account; it
trusts only the hub stack's roles in the Organization, with the external id; its rule forwards every
call the hub's rules act on. (cfn-lint and checkov run on it in `make lint`.)"""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.conftest import REPO


class TagLoader(yaml.SafeLoader):
    """Keeps CloudFormation's short tags as {"!Tag": value}, so two templates' statements compare."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {f"!{suffix}": value}


TagLoader.add_multi_constructor("!", _tagged)


def load(path: str) -> dict[str, Any]:
    return yaml.load((REPO / path).read_text(), Loader=TagLoader)


HUB, SPOKE = load("template.yaml"), load("spoke/template.yaml")


def test_the_member_role_may_do_exactly_what_the_hubs_reconcile_may_in_any_region() -> None:
    hub = HUB["Resources"]["ReconcilePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [policy] = SPOKE["Resources"]["MemberRole"]["Properties"]["Policies"]
    member = policy["PolicyDocument"]["Statement"]
    regionless = json.loads(json.dumps(hub).replace("${AWS::Region}", "*"))
    assert member[: len(hub)] == regionless  # same statements, same conditions (AdoptModify, ManageDns)
    assert member[len(hub)] == {"Sid": "FleetReads", "Effect": "Allow", "Action": "ec2:DescribeVpcs", "Resource": "*"}
    # and, after them, only the reads of the hub's intake and migration plan (the next test)
    assert [s["Sid"] for s in member[len(hub) + 1 :]] == ["FindTheVpc", "ReadTheSourceVpc", "ReadThePullPath"]
    assert set(SPOKE["Conditions"]) >= {"AdoptModify", "ManageDns", "CostAware", "SecurityHubOn"}


def _statement(function: str, sid: str) -> dict[str, Any]:
    for policy in HUB["Resources"][function]["Properties"]["Policies"]:
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            if statement.get("Sid") == sid:
                return dict(statement)
    raise AssertionError(f"{function} has no statement {sid}")


def test_the_member_role_may_make_the_reads_of_the_hubs_intake_and_migration_plan() -> None:
    """In a hub, the intake resolves a member's event and the migration plan reads a member's VPC
    through the member role: the role allows exactly their reads."""
    [policy] = SPOKE["Resources"]["MemberRole"]["Properties"]["Policies"]
    member = {s.get("Sid"): s for s in policy["PolicyDocument"]["Statement"]}
    assert member["FindTheVpc"] == _statement("IntakeFunction", "FindTheVpc")
    assert member["ReadTheSourceVpc"] == _statement("MigrationDiscoverFunction", "ReadTheSourceVpc")
    assert member["ReadThePullPath"] == _statement("EnsureEndpointsFunction", "ReadThePullPath")


def test_a_hub_reaches_its_members_through_their_role_and_listens_on_the_organizations_bus() -> None:
    resources = HUB["Resources"]
    assert resources["FleetBus"]["Condition"] == "IsHub"
    policy = resources["FleetBusPolicy"]["Properties"]["Statement"]
    assert policy["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": {"!Ref": "OrganizationId"}}}
    [assume, _] = resources["FleetAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert assume["Resource"] == {"!Sub": "arn:${AWS::Partition}:iam::*:role/${FleetRoleName}"}
    rules = [
        event["Properties"]
        for resource in resources.values()
        for event in (resource.get("Properties", {}).get("Events") or {}).values()
        if event["Type"] == "EventBridgeRule"
    ]
    # Security Hub's findings come on the default bus (a hub, as Security Hub's administrator, gets its
    # members' aggregated findings there); every CloudTrail rule listens on the fleet bus in a hub.
    cloudtrail = [r for r in rules if r["Pattern"]["source"] != ["aws.securityhub"]]
    assert len(cloudtrail) == len(rules) - 1
    assert all(r["EventBusName"] == {"!If": ["IsHub", {"!Ref": "FleetBus"}, "default"]} for r in cloudtrail)
    # Every function that reaches a member account has the hub's access (and nothing else gets it).
    hub_access = {"!If": ["IsHub", {"!Ref": "FleetAccessPolicy"}, {"!Ref": "AWS::NoValue"}]}
    with_access = {
        name for name, r in resources.items() if hub_access in (r.get("Properties", {}).get("Policies") or [])
    }
    assert with_access == {
        "IntakeFunction",
        "EnsureEndpointsFunction",
        "SweepPlanFunction",
        "SweepChunkFunction",
        "MigrationDiscoverFunction",
        "WindowPlanFunction",
        "WindowApplyFunction",
        "WindowCheckFunction",
    }
    assert SPOKE["Parameters"]["HubEventBusName"]["Default"] == HUB["Parameters"]["FleetEventBusName"]["Default"]
    assert SPOKE["Parameters"]["MemberRoleName"]["Default"] == HUB["Parameters"]["FleetRoleName"]["Default"]


def test_the_member_role_trusts_only_the_hubs_roles_in_the_organization_with_the_external_id() -> None:
    [trust, operators] = SPOKE["Resources"]["MemberRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"!Sub": "arn:${AWS::Partition}:iam::${HubAccountId}:root"}}
    assert trust["Condition"]["ArnLike"] == {
        "aws:PrincipalArn": {"!Sub": "arn:${AWS::Partition}:iam::${HubAccountId}:role/${HubStackName}-*"}
    }
    assert trust["Condition"]["StringEquals"] == {
        "aws:PrincipalOrgID": {"!Ref": "OrganizationId"},
        "sts:ExternalId": {"!Ref": "ExternalId"},
    }
    assert SPOKE["Parameters"]["ExternalId"]["NoEcho"] is True
    # Operators' roles (for a CLI sweep from the hub account), only when named, on the same conditions.
    condition, named, absent = operators["!If"]
    assert condition == "HasOperators" and absent == {"!Ref": "AWS::NoValue"}
    assert named["Principal"] == {"AWS": {"!Ref": "OperatorRoleArns"}}
    assert named["Condition"] == {"StringEquals": trust["Condition"]["StringEquals"]}
    # The role is global: one stack instance (the hub's Region) makes it, the others only forward.
    assert SPOKE["Resources"]["MemberRole"]["Condition"] == "HomeRegion"


def test_the_forward_rule_carries_every_call_the_hubs_rules_act_on() -> None:
    pattern = SPOKE["Resources"]["Forward"]["Properties"]["EventPattern"]
    hub_rules = [
        event["Properties"]["Pattern"]
        for resource in HUB["Resources"].values()
        for event in (resource.get("Properties", {}).get("Events") or {}).values()
        if event["Type"] == "EventBridgeRule" and event["Properties"]["Pattern"]["source"] != ["aws.securityhub"]
    ]
    assert hub_rules  # (Security Hub's findings reach the hub through Security Hub's own aggregation)
    for rule in hub_rules:
        assert set(rule["source"]) <= set(pattern["source"])
        assert set(rule["detail"]["eventSource"]) <= set(pattern["detail"]["eventSource"])
        assert set(rule["detail"]["eventName"]) <= set(pattern["detail"]["eventName"])
    assert "errorCode" not in pattern["detail"]  # failed deletes are forwarded too; the hub's rules filter

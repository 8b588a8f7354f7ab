"""Least privilege that holds, evaluated on the translated template: a small evaluator of IAM's rules
(explicit Allow needed; Action and Resource wildcards; StringEquals/StringLike/ArnLike conditions;
Fn::If on the stack's conditions) asks the worker's role what AWS would ask it."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

ACCOUNT, REGION, PARTITION = "123456789012", "us-east-1", "aws"


def arn(kind: str, ident: str) -> str:
    return f"arn:{PARTITION}:ec2:{REGION}:{ACCOUNT}:{kind}/{ident}"


def _resolve(node: Any, conditions: dict[str, bool]) -> Any:
    """The policy as deployed: Fn::If decided, !Sub and !Ref of the pseudo parameters filled in."""
    if isinstance(node, list):
        resolved = [_resolve(n, conditions) for n in node]
        return [n for n in resolved if n is not _NO_VALUE]
    if isinstance(node, dict):
        if "Fn::If" in node:
            name, yes, no = node["Fn::If"]
            return _resolve(yes if conditions[name] else no, conditions)
        if node == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        if "Fn::Sub" in node:
            text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
            for key, value in (("AWS::Partition", PARTITION), ("AWS::Region", REGION), ("AWS::AccountId", ACCOUNT)):
                text = text.replace("${" + key + "}", value)
            return text
        if "Fn::GetAtt" in node or "Ref" in node:
            return "arn:aws:unresolved:*"  # other resources of the stack: not what these checks ask about
        resolved = {k: _resolve(v, conditions) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}
    return node


_NO_VALUE = object()


def statements(cloudformation: dict, role: str, conditions: dict[str, bool]) -> list[dict]:
    """The role's statements: its inline policies and the template's managed policies it attaches."""
    properties = cloudformation[role]["Properties"]
    documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
    documents += [
        cloudformation[arn["Ref"]]["Properties"]["PolicyDocument"]
        for arn in properties.get("ManagedPolicyArns", [])
        if isinstance(arn, dict) and "Ref" in arn
    ]
    found = []
    for document in documents:
        found += [s for s in _resolve(document, conditions)["Statement"] if s]
    return found


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _condition_holds(condition: dict, context: dict[str, str]) -> bool:
    for operator, tests in condition.items():
        for key, wanted in tests.items():
            have = context.get(key)
            if have is None:
                return False
            patterns = _listed(wanted)
            if operator == "StringEquals" and have not in patterns:
                return False
            if operator in ("StringLike", "ArnLike") and not any(fnmatch.fnmatchcase(have, p) for p in patterns):
                return False
            if operator not in ("StringEquals", "StringLike", "ArnLike"):
                raise AssertionError(f"the evaluator does not know {operator}")
    return True


def allowed(policy: list[dict], action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    """IAM's answer for one request: allowed when some Allow matches it and no Deny does."""
    context = context or {}

    def matches(statement: dict) -> bool:
        return (
            any(fnmatch.fnmatchcase(action, a) for a in _listed(statement.get("Action", [])))
            and any(fnmatch.fnmatchcase(resource, r) for r in _listed(statement.get("Resource", [])))
            and _condition_holds(statement.get("Condition", {}), context)
        )

    if any(s["Effect"] == "Deny" and matches(s) for s in policy):
        return False
    return any(s["Effect"] == "Allow" and matches(s) for s in policy)


TAGGED = {"aws:RequestTag/ManagedBy": "endpoint-guard"}
OURS = {"aws:ResourceTag/ManagedBy": "endpoint-guard"}
THEIRS = {"aws:ResourceTag/ManagedBy": "someone-else"}


@pytest.fixture(params=[False, True], ids=["AdoptUnmanagedEndpoints=report", "AdoptUnmanagedEndpoints=modify"])
def worker(request, cloudformation: dict) -> tuple[list[dict], bool]:
    conditions = {
        "ManageDns": True,
        "AdoptModify": request.param,
        "PlanEmail": False,
        "TracingOn": False,
        "CostAware": False,
        "SecurityHubOn": False,
    }
    return statements(cloudformation, "EnsureEndpointsFunctionRole", conditions), request.param


def test_creating_the_group_requires_the_tag(worker) -> None:
    policy, _ = worker
    group = arn("security-group", "*")
    assert allowed(policy, "ec2:CreateSecurityGroup", group, TAGGED)
    assert not allowed(policy, "ec2:CreateSecurityGroup", group)  # the new group's ARN, untagged: denied
    assert allowed(policy, "ec2:CreateSecurityGroup", arn("vpc", "vpc-1"))  # the VPC it is made in


def test_creating_an_endpoint_requires_the_tag(worker) -> None:
    policy, _ = worker
    assert allowed(policy, "ec2:CreateVpcEndpoint", arn("vpc-endpoint", "*"), TAGGED)
    assert not allowed(policy, "ec2:CreateVpcEndpoint", arn("vpc-endpoint", "*"))
    for kind in ("vpc", "subnet", "security-group", "route-table"):
        assert allowed(policy, "ec2:CreateVpcEndpoint", arn(kind, "x"))


def test_only_endpoints_and_groups_it_tagged_may_change_unless_adoption_is_allowed(worker) -> None:
    policy, adopt_modify = worker
    endpoint = arn("vpc-endpoint", "vpce-1")
    assert allowed(policy, "ec2:ModifyVpcEndpoint", endpoint, OURS)
    assert allowed(policy, "ec2:ModifyVpcEndpoint", endpoint, THEIRS) is adopt_modify
    assert allowed(policy, "ec2:ModifyVpcEndpoint", endpoint) is adopt_modify
    group = arn("security-group", "sg-1")
    for action in ("ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"):
        assert allowed(policy, action, group, OURS)
        assert not allowed(policy, action, group, THEIRS)  # adoption never reaches someone else's group


def test_tags_are_only_written_by_the_creates(worker) -> None:
    policy, _ = worker
    for kind in ("vpc-endpoint", "security-group"):
        assert allowed(policy, "ec2:CreateTags", arn(kind, "x"), {"ec2:CreateAction": "CreateVpcEndpoint"})
        assert not allowed(policy, "ec2:CreateTags", arn(kind, "x"))
    assert not allowed(policy, "ec2:CreateTags", arn("vpc", "vpc-1"), {"ec2:CreateAction": "CreateVpcEndpoint"})


def test_what_the_worker_may_never_do(worker) -> None:
    policy, _ = worker
    for action in ("ec2:CreateRoute", "ec2:DeleteVpc", "ec2:DeleteSubnet", "ec2:DeleteRouteTable"):
        assert not allowed(policy, action, arn("vpc-endpoint", "x"), {**OURS, **TAGGED})
    # It deletes only what it made (the release): its tagged endpoints and group, never anyone else's.
    for action, kind in (("ec2:DeleteVpcEndpoints", "vpc-endpoint"), ("ec2:DeleteSecurityGroup", "security-group")):
        assert allowed(policy, action, arn(kind, "x"), OURS)
        assert not allowed(policy, action, arn(kind, "x"), THEIRS)
        assert not allowed(policy, action, arn(kind, "x"))


def test_the_state_machine_may_write_traces_only_when_tracing_is_on(cloudformation: dict) -> None:
    role = "MigrationPlanStateMachineRole"
    for tracing in (False, True):
        conditions = {
            "ManageDns": True,
            "AdoptModify": False,
            "PlanEmail": False,
            "TracingOn": tracing,
            "CostAware": False,
            "SecurityHubOn": False,
        }
        policy = statements(cloudformation, role, conditions)
        assert allowed(policy, "xray:PutTraceSegments", "*") is tracing


def test_the_worker_reads_nat_traffic_only_under_the_cost_aware_profile(cloudformation: dict) -> None:
    for cost_aware in (False, True):
        conditions = {"ManageDns": True, "AdoptModify": False, "CostAware": cost_aware, "SecurityHubOn": False}
        policy = statements(cloudformation, "EnsureEndpointsFunctionRole", conditions)
        assert allowed(policy, "cloudwatch:GetMetricData", "*") is cost_aware
        assert allowed(policy, "ec2:DescribeNatGateways", "*")  # always: a way out being set up


def test_the_windows_apply_task_adds_routes_only_through_a_gateway_endpoint_guard_manages(cloudformation: dict) -> None:
    """Only the maintenance window's apply task adds the S3 gateway to tables with workloads behind them,
    and its role can do nothing else that changes a VPC: create a tagged gateway or modify a tagged
    endpoint (adding route tables), never anyone else's, never groups, never deletes."""
    conditions = {"ManageDns": True, "AdoptModify": True, "PlanEmail": False, "TracingOn": False, "IsHub": False}
    policy = statements(cloudformation, "WindowApplyFunctionRole", conditions)
    endpoint = arn("vpc-endpoint", "vpce-1")
    assert allowed(policy, "ec2:ModifyVpcEndpoint", endpoint, OURS)
    assert allowed(policy, "ec2:ModifyVpcEndpoint", arn("route-table", "rtb-1"))
    assert not allowed(policy, "ec2:ModifyVpcEndpoint", endpoint, THEIRS)  # whatever AdoptUnmanagedEndpoints says
    assert not allowed(policy, "ec2:ModifyVpcEndpoint", endpoint)
    assert allowed(policy, "ec2:CreateVpcEndpoint", arn("vpc-endpoint", "*"), TAGGED)
    assert not allowed(policy, "ec2:CreateVpcEndpoint", arn("vpc-endpoint", "*"))
    for action in (
        "ec2:CreateSecurityGroup",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:DeleteVpcEndpoints",
        "ec2:ModifyVpcAttribute",
        "ec2:CreateRoute",
        "ec2:ReplaceRoute",
    ):
        assert not allowed(policy, action, arn("vpc-endpoint", "vpce-1"), OURS), action
    # The worker's role may modify its endpoints too, but its code never adds a deferred table (only an
    # accepted interruption does: ensure --apply-deferred by hand, or this task).

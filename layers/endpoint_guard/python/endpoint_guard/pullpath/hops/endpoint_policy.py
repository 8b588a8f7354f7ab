"""The endpoint policy hop: the endpoint's policy must allow the calls the workload makes through it.
ECR: GetAuthorizationToken, BatchGetImage, GetDownloadUrlForLayer, BatchCheckLayerAvailability; S3:
GetObject on the Region's layer bucket, without conditions the download cannot meet (the bucket is
AWS's, so ``aws:ResourceAccount`` of yours fails; the URL is presigned by ECR, so
``aws:PrincipalAccount``/``aws:PrincipalOrgID`` fail); logs: CreateLogStream and PutLogEvents. An
explicit Deny wins; a condition that cannot be evaluated from here is "unverified"."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from typing import Any

from endpoint_guard.model import Endpoint, Subnet
from endpoint_guard.pullpath.model import (
    EFFECT_BLOCKED,
    EFFECT_UNVERIFIED,
    HOP_ENDPOINT_POLICY,
    Network,
    Problem,
    Workload,
)
from endpoint_guard.pullpath.paths import S3, gateways_on, interface_endpoint

# What each service's calls are, and on what resource.
CALLS: dict[str, tuple[str, ...]] = {
    "ecr.api": ("ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
    "ecr.dkr": ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"),
    "logs": ("logs:CreateLogStream", "logs:PutLogEvents"),
    "secretsmanager": ("secretsmanager:GetSecretValue",),
    "ssm": ("ssm:GetParameters",),
    S3: ("s3:GetObject",),
}
# Conditions a layer download through the gateway never meets.
FAILS_FOR_LAYERS = frozenset(
    {"aws:resourceaccount", "aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths"}
)

ALLOWED, DENIED, NO_ALLOW, UNVERIFIED = "allowed", "denied", "no_allow", "unverified"


@dataclass(frozen=True)
class Answer:
    outcome: str
    statement: str = ""  # the Sid (or position) that decided
    conditions: tuple[str, ...] = ()


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _match(patterns: list[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)


def _principal_any(principal: Any) -> bool | None:
    """True for everyone; None when the statement names principals (which ones call is not known here)."""
    if principal in (None, "*") or principal == {"AWS": "*"} or principal == {"AWS": ["*"]}:
        return True
    return None


def _applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "NotAction" in statement:
        acts = not _match(_list(statement["NotAction"]), action)
    else:
        acts = _match(_list(statement.get("Action")), action)
    if "NotResource" in statement:
        res = not _match(_list(statement["NotResource"]), resource)
    else:
        res = _match(_list(statement.get("Resource", "*")), resource)
    return acts and res


def _conditions(statement: dict[str, Any]) -> tuple[str, ...]:
    keys = []
    for _, block in (statement.get("Condition") or {}).items():
        if isinstance(block, dict):
            keys += [str(k).lower() for k in block]
    return tuple(sorted(set(keys)))


def evaluate(policy: str | None, action: str, resource: str, *, layers: bool = False) -> Answer:
    """Whether ``policy`` lets ``action`` on ``resource`` through (None or unreadable: the default, full
    access). ``layers``: the call is a layer download (the conditions it cannot meet are known)."""
    if not policy:
        return Answer(ALLOWED)
    try:
        document = json.loads(policy)
    except ValueError:
        return Answer(UNVERIFIED, "the policy is not JSON")
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    statements = statements if isinstance(statements, list) else [statements]
    allowed: Answer | None = None
    unverified: Answer | None = None
    for n, statement in enumerate(s for s in statements if isinstance(s, dict)):
        if not _applies(statement, action, resource):
            continue
        sid = str(statement.get("Sid") or f"statement {n + 1}")
        conditions = _conditions(statement)
        everyone = _principal_any(statement.get("Principal"))
        if statement.get("Effect") == "Deny":
            if not conditions and everyone:
                return Answer(DENIED, sid)
            unverified = unverified or Answer(UNVERIFIED, sid, conditions or ("Principal",))
            continue
        if statement.get("Effect") != "Allow":
            continue
        if layers and set(conditions) & FAILS_FOR_LAYERS:
            continue  # an Allow the layer download never meets
        if conditions or not everyone:
            unverified = unverified or Answer(UNVERIFIED, sid, conditions or ("Principal",))
            continue
        allowed = allowed or Answer(ALLOWED, sid)
    if unverified is not None and allowed is None:
        return unverified
    return allowed or Answer(NO_ALLOW)


def layer_bucket_objects(net: Network) -> str:
    return f"arn:{net.snapshot.partition}:s3:::prod-{net.snapshot.region}-starport-layer-bucket/layer"


def check(net: Network, workload: Workload, subnet: Subnet, service: str) -> list[Problem]:
    calls = CALLS.get(service)
    if not calls:
        return []
    if service == S3:
        endpoints = gateways_on(net, subnet.route_table_id)
        resource, layers = layer_bucket_objects(net), True
    else:
        found = interface_endpoint(net, service)
        endpoints = [found] if found else []
        resource, layers = "*", False
    problems = []
    for endpoint in endpoints[:1]:
        for action in calls:
            answer = evaluate(endpoint.policy, action, resource, layers=layers)
            if answer.outcome != ALLOWED:
                problems.append(_problem(net, endpoint, service, action, answer, layers))
                break  # the first call it stops is the one the task meets
    return problems


def _problem(net: Network, endpoint: Endpoint, service: str, action: str, answer: Answer, layers: bool) -> Problem:
    target = f" on prod-{net.snapshot.region}-starport-layer-bucket" if layers else ""
    if answer.outcome == UNVERIFIED:
        return Problem(
            hop=HOP_ENDPOINT_POLICY,
            service=service,
            effect=EFFECT_UNVERIFIED,
            resource_ids=(endpoint.endpoint_id,),
            detail=(
                f"{endpoint.endpoint_id}'s policy allows {action}{target} only under "
                f"{', '.join(answer.conditions)} ({answer.statement}), which cannot be checked from here"
            ),
            fix="check that the condition holds for the task's calls",
        )
    why = (
        f"{answer.statement} denies it"
        if answer.outcome == DENIED
        else "no statement allows it"
        + (
            " (conditions on aws:ResourceAccount or the principal's account never hold for ECR's layer bucket)"
            if layers
            else ""
        )
    )
    if layers:
        fix = (
            f"allow s3:GetObject on arn:{net.snapshot.partition}:s3:::prod-{net.snapshot.region}-starport-layer-bucket/* "
            f"in {endpoint.endpoint_id}'s policy, without account or organization conditions"
        )
    else:
        fix = f"allow {', '.join(CALLS[service])} in {endpoint.endpoint_id}'s policy"
    return Problem(
        hop=HOP_ENDPOINT_POLICY,
        service=service,
        effect=EFFECT_BLOCKED,
        resource_ids=(endpoint.endpoint_id,),
        detail=f"{endpoint.endpoint_id}'s policy stops {action}{target}: {why}",
        fix=fix,
    )

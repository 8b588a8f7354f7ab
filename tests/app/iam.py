"""IAM as the recorded-call checks read it: the actions a policy tree grants, and the action a recorded
API call needs. The checks compare the two both ways (test_template.py for the functions' own roles,
test_hub.py for the spoke's member role)."""

from __future__ import annotations

from typing import Any

from tests.conftest import REPO
from tools.built import load_template

# IAM has no action of that name: SendMessageBatch is authorized by sqs:SendMessage.
_IAM_ACTION = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "s3:ListObjectsV2": "s3:ListBucket",
}
# boto3's client name -> IAM's service prefix, where they differ.
_IAM_PREFIX = {"stepfunctions": "states", "elbv2": "elasticloadbalancing"}

SPOKE = load_template(REPO / "spoke" / "template.yaml")


def iam_name(service: str, operation: str) -> str:
    """The IAM action an API call of boto3's ``service`` client needs."""
    action = f"{_IAM_PREFIX.get(service, service)}:{operation}"
    return _IAM_ACTION.get(action, action)


def iam_action(model: Any) -> str:
    """The IAM action of a call, from botocore's operation model (a before-call event's ``model``)."""
    return iam_name(model.service_model.service_name, model.name)


def granted_by(node: object) -> set[str]:
    """Every IAM action named anywhere in a policy tree (both branches of an Fn::If count)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Action":
                found |= set([value] if isinstance(value, str) else value)
            else:
                found |= granted_by(value)
    elif isinstance(node, list):
        for item in node:
            found |= granted_by(item)
    return found

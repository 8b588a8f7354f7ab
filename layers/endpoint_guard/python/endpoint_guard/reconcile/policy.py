"""S3 gateway policy documents: the opt-in restrictive policy, and how to compare policies (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


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


def _statements(policy: str | None) -> list[Any] | None:
    if not policy:
        return None
    try:
        doc = json.loads(policy)
    except ValueError:
        return None
    statements = doc.get("Statement", []) if isinstance(doc, dict) else None
    if statements is None:
        return None
    return statements if isinstance(statements, list) else [statements]


def is_full_access(policy: str | None) -> bool:
    """True for the default endpoint policy (one Allow of everything, or no policy at all)."""
    statements = _statements(policy)
    if statements is None:
        return policy is None or policy == ""

    def everything(value: object) -> bool:
        return value == "*" or value == ["*"]

    return (
        len(statements) == 1
        and isinstance(statements[0], dict)
        and all(
            [
                statements[0].get("Effect") == "Allow",
                everything(statements[0].get("Action")),
                everything(statements[0].get("Resource")),
                everything(statements[0].get("Principal")) or statements[0].get("Principal") == {"AWS": "*"},
            ]
        )
    )


def same_policy(a: str | None, b: str | None) -> bool:
    sa, sb = _statements(a), _statements(b)
    if sa is None or sb is None:
        return a == b
    return _canonical(sa) == _canonical(sb)


def _canonical(statements: list[Any]) -> list[str]:
    return sorted(json.dumps(x, sort_keys=True) for x in statements)

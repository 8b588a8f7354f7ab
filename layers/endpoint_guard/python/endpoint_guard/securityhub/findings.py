"""The findings (pure, AWS Security Finding Format): one per VPC, compliant or not, and one per blocked
ECS workload. Their ids are stable (``endpoint-guard/<region>/<account>/<vpc>[/<workload>]``), so a later
import updates them; a fixed one is imported again PASSED and ARCHIVED, which resolves it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

Raw = dict[str, Any]
GENERATOR = "endpoint-guard"
TYPES = ["Software and Configuration Checks/AWS Best Practices"]
MAX_TEXT = 512  # ASFF caps a remediation text and a title; descriptions at 1024


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def vpc_finding_id(region: str, account: str, vpc_id: str) -> str:
    return f"{GENERATOR}/{region}/{account}/{vpc_id}"


def _base(region: str, account: str, partition: str, now: str, finding_id: str) -> Raw:
    return {
        "SchemaVersion": "2018-10-08",
        "Id": finding_id,
        "ProductArn": f"arn:{partition}:securityhub:{region}:{account}:product/{account}/default",
        "GeneratorId": GENERATOR,
        "AwsAccountId": account,
        "Types": TYPES,
        "CreatedAt": now,
        "UpdatedAt": now,
        "ProductFields": {"ProviderName": "endpoint-guard"},
    }


def findings_for(result: Mapping[str, Any], *, account: str, partition: str, now: str) -> list[Raw]:
    """The VPC's findings as this result leaves it: the VPC (FAILED with every reason, or PASSED and
    ARCHIVED), and, when the run judged the workloads, each blocked one (FAILED, HIGH)."""
    region, vpc_id = str(result["region"]), str(result["vpc_id"])
    vpc_arn = f"arn:{partition}:ec2:{region}:{account}:vpc/{vpc_id}"
    reasons = list(result.get("findings", []))
    reasons += [
        f"{e['service']}: {e['status']}" + (f" ({e['reason']})" if e.get("reason") else "")
        for e in result.get("endpoints", [])
        if e["status"] not in ("compliant", "created", "updated", "waiting")
    ]
    blocked = [w for w in result.get("workloads", []) if w.get("verdict") == "blocked"]
    reasons += [f"workload {w['cluster']}/{w['name']} cannot pull, log or start" for w in blocked]
    failed = not result["compliant"]
    vpc = _base(region, account, partition, now, vpc_finding_id(region, account, vpc_id))
    vpc.update(
        {
            "Title": f"VPC {vpc_id}: ECS image pulls {'do not all go' if failed else 'go'} through its VPC endpoints",
            "Description": _clip(
                "; ".join(reasons) or "every endpoint in place and every workload's path proven", 1024
            ),
            "Severity": {"Label": "MEDIUM" if failed else "INFORMATIONAL"},
            "Resources": [{"Type": "AwsEc2Vpc", "Id": vpc_arn, "Partition": partition, "Region": region}],
            "Compliance": {"Status": "FAILED" if failed else "PASSED"},
            "RecordState": "ACTIVE" if failed else "ARCHIVED",
            "Remediation": {
                "Recommendation": {
                    "Text": _clip(
                        f"endpoint-guard ensure {vpc_id} (or let the worker reconcile it); "
                        f"endpoint-guard explain {vpc_id} names each broken hop and its fix",
                        MAX_TEXT,
                    )
                }
            },
        }
    )
    found = [vpc]
    for w in blocked:
        found.append(_workload_finding(w, region, account, partition, now, vpc_id))
    return found


def _workload_finding(w: Raw, region: str, account: str, partition: str, now: str, vpc_id: str) -> Raw:
    key = f"{w['cluster']}/{w['name']}"
    decisive = (
        next((p for p in w.get("problems", []) if p.get("effect") == "blocked"), None) or (w.get("problems") or [{}])[0]
    )
    if w.get("kind") == "service":
        resource = {
            "Type": "AwsEcsService",
            "Id": f"arn:{partition}:ecs:{region}:{account}:service/{key}",
            "Partition": partition,
            "Region": region,
        }
    else:
        resource = {"Type": "Other", "Id": f"{w.get('kind')}/{key}", "Partition": partition, "Region": region}
    finding = _base(region, account, partition, now, f"{vpc_finding_id(region, account, vpc_id)}/{key}")
    finding.update(
        {
            "Title": _clip(f"ECS {w.get('kind', 'workload')} {key} in {vpc_id} cannot pull, log or start", MAX_TEXT),
            "Description": _clip(
                f"{decisive.get('hop', '?')} ({decisive.get('service', '?')}): {decisive.get('detail', '')}", 1024
            ),
            "Severity": {"Label": "HIGH"},
            "Resources": [resource],
            "Compliance": {"Status": "FAILED"},
            "RecordState": "ACTIVE",
            "Remediation": {
                "Recommendation": {"Text": _clip(str(decisive.get("fix") or "see endpoint-guard explain"), MAX_TEXT)}
            },
        }
    )
    return finding


def resolved(stale: Iterable[Raw], now: str) -> list[Raw]:
    """Findings that were active and no longer are (a workload unblocked or gone): imported again
    PASSED and ARCHIVED."""
    found = []
    for old in stale:
        again = {k: v for k, v in old.items() if k not in ("Workflow", "WorkflowState", "Note", "UserDefinedFields")}
        again.update({"UpdatedAt": now, "Compliance": {"Status": "PASSED"}, "RecordState": "ARCHIVED"})
        found.append(again)
    return found


def digest(findings: Iterable[Raw]) -> str:
    """What decides whether an import is needed: the findings without their times."""
    material = [
        {k: v for k, v in f.items() if k not in ("CreatedAt", "UpdatedAt")}
        for f in sorted(findings, key=lambda f: f["Id"])
    ]
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]

"""Security Hub, out (pure and with fakes): the findings of a result, their stable ids, when an import
is needed, what a fixed VPC or workload becomes, and that Security Hub off or failing is a log line and
a metric, never an error."""

from __future__ import annotations

from dataclasses import dataclass, field

from endpoint_guard.errors import AwsCallError
from endpoint_guard.securityhub.findings import findings_for, vpc_finding_id
from endpoint_guard.securityhub.usecase import publish

ACCOUNT, REGION, VPC = "123456789012", "us-east-1", "vpc-0abc"


def result(compliant: bool = False, blocked: bool = True, judged: bool = True) -> dict:
    doc: dict = {
        "vpc_id": VPC,
        "region": REGION,
        "compliant": compliant,
        "findings": [] if compliant else ["DNS hostnames off"],
        "endpoints": [{"service": "s3", "status": "compliant" if compliant else "deferred", "reason": "busy"}],
    }
    if judged:
        doc["workloads"] = [
            {
                "kind": "service",
                "cluster": "shop",
                "name": "api",
                "verdict": "blocked" if blocked else "through_endpoints",
                "problems": [
                    {
                        "hop": "security_group",
                        "service": "s3",
                        "effect": "blocked",
                        "detail": "no 443 to pl-1",
                        "fix": "allow 443 out to pl-1",
                    }
                ]
                if blocked
                else [],
            }
        ]
    return doc


def test_a_broken_vpc_and_its_blocked_service_are_failed_findings_with_stable_ids_and_their_fix() -> None:
    vpc, service = findings_for(result(), account=ACCOUNT, partition="aws", now="2026-12-04T00:00:00.000Z")
    assert vpc["Id"] == vpc_finding_id(REGION, ACCOUNT, VPC) == f"endpoint-guard/{REGION}/{ACCOUNT}/{VPC}"
    assert vpc["Compliance"]["Status"] == "FAILED" and vpc["RecordState"] == "ACTIVE"
    assert vpc["Resources"] == [
        {"Type": "AwsEc2Vpc", "Id": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{VPC}", "Partition": "aws", "Region": REGION}
    ]
    assert "DNS hostnames off" in vpc["Description"] and "s3: deferred (busy)" in vpc["Description"]
    assert vpc["ProductArn"] == f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    assert service["Id"] == f"{vpc['Id']}/shop/api" and service["Severity"]["Label"] == "HIGH"
    assert service["Resources"][0] == {
        "Type": "AwsEcsService",
        "Id": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/shop/api",
        "Partition": "aws",
        "Region": REGION,
    }
    assert service["Remediation"]["Recommendation"]["Text"] == "allow 443 out to pl-1"
    [fixed] = findings_for(result(compliant=True, blocked=False), account=ACCOUNT, partition="aws", now="t")
    assert fixed["Compliance"]["Status"] == "PASSED" and fixed["RecordState"] == "ARCHIVED"


@dataclass
class Hub:
    active_now: list = field(default_factory=list)
    imported: list = field(default_factory=list)
    refuse: str | None = None

    def active(self, prefix: str) -> list:
        if self.refuse:
            raise AwsCallError("get_findings", self.refuse, "no")
        return [f for f in self.active_now if f["Id"].startswith(prefix)]

    def import_findings(self, findings: list) -> None:
        self.imported.append(findings)
        by_id = {f["Id"]: f for f in self.active_now}
        for f in findings:
            by_id[f["Id"]] = f
        self.active_now = [f for f in by_id.values() if f["RecordState"] == "ACTIVE"]


@dataclass
class Store:
    digests: dict = field(default_factory=dict)

    def findings_digest(self, vpc_id: str):
        return self.digests.get(vpc_id)

    def record_findings_digest(self, vpc_id: str, digest: str, at: int) -> None:
        self.digests[vpc_id] = digest


@dataclass
class Observer:
    counts: dict = field(default_factory=dict)
    lines: list = field(default_factory=list)

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + value

    def info(self, message: str, **extra) -> None:
        self.lines.append(message)

    def failed(self, message: str, err) -> None:
        self.lines.append(message)


def run(doc: dict, hub: Hub, store: Store, observer: Observer | None = None, now: float = 1.8e9) -> str:
    return publish(
        doc, hub=hub, account=ACCOUNT, partition="aws", now=now, store=store, observer=observer or Observer()
    )


def test_imported_when_it_changes_resolved_when_fixed_and_left_alone_when_unchanged() -> None:
    hub, store = Hub(), Store()
    assert run(result(), hub, store) == "imported" and len(hub.imported[-1]) == 2
    assert run(result(), hub, store, now=1.9e9) == "unchanged" and len(hub.imported) == 1  # no call at all
    # The service is fixed (the pull path judged again): its finding is resolved, the VPC's stays.
    assert run(result(blocked=False), hub, store) == "imported"
    states = {f["Id"].rsplit("/", 1)[-1]: (f["Compliance"]["Status"], f["RecordState"]) for f in hub.imported[-1]}
    assert states == {VPC: ("FAILED", "ACTIVE"), "api": ("PASSED", "ARCHIVED")}
    # A run that did not read the workloads changes nothing about them.
    assert run(result(blocked=False, judged=False), hub, store) == "unchanged"
    # The VPC is fixed: PASSED and ARCHIVED. A compliant VPC that never had a finding gets none.
    assert run(result(compliant=True, blocked=False), hub, store) == "imported"
    assert [(f["Compliance"]["Status"], f["RecordState"]) for f in hub.imported[-1]] == [("PASSED", "ARCHIVED")]
    assert hub.active_now == []
    fresh = Hub()
    assert run(result(compliant=True, blocked=False), fresh, Store()) == "imported" and fresh.imported == []


def test_security_hub_off_is_one_line_and_a_metric_and_any_failure_never_raises() -> None:
    observer = Observer()
    assert run(result(), Hub(refuse="InvalidAccessException"), Store(), observer) == "not_enabled"
    assert observer.counts == {"SecurityHubUnavailable": 1} and len(observer.lines) == 1
    observer = Observer()
    assert run(result(), Hub(refuse="ThrottlingException"), Store(), observer) == "failed"
    assert observer.counts == {"SecurityHubFailures": 1}
    store = Store()
    run(result(), Hub(refuse="ThrottlingException"), store)
    assert store.digests == {}  # nothing recorded: the next reconcile tries again

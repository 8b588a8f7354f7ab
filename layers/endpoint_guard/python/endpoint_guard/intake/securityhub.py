"""Security Hub, in: a "Security Hub Findings - Imported" event whose findings say a VPC fails EC2.55
(no ECR API endpoint) or EC2.56 (no Docker Registry endpoint) becomes work for that VPC, in the
finding's account and Region (a hub's aggregated findings name their member accounts; the intake keeps
only the enrolled ones, as for any event). Other findings, passed or archived ones, are skipped."""

from __future__ import annotations

from typing import Any

from botocore.utils import ArnParser, InvalidArnException

from endpoint_guard.errors import InvalidEventError
from endpoint_guard.intake.shapes import Trigger, dig, show, text
from endpoint_guard.model import VPC_ID
from endpoint_guard.observe import Skip

DETAIL_TYPE = "Security Hub Findings - Imported"
CONTROLS = ("EC2.55", "EC2.56")
EVENT_NAME = "SecurityHubFinding"


def _vpc_of(resource: Any) -> tuple[str | None, str | None, str | None]:
    """(VPC id, account, Region) of a finding's ``AwsEc2Vpc`` resource (its id is the VPC's ARN)."""
    if not isinstance(resource, dict) or resource.get("Type") != "AwsEc2Vpc":
        return None, None, None
    found = text(resource.get("Id")) or ""
    if VPC_ID.fullmatch(found):
        return found, None, text(resource.get("Region"))
    try:
        arn = ArnParser().parse_arn(found)
    except InvalidArnException:
        return None, None, None
    vpc_id = arn["resource"].split("/", 1)[-1]
    return (vpc_id if VPC_ID.fullmatch(vpc_id) else None), arn["account"] or None, arn["region"] or None


def from_findings(event: dict[str, Any]) -> list[Trigger]:
    findings = event["detail"].get("findings")
    if not isinstance(findings, list) or not findings:
        raise InvalidEventError("Security Hub event without detail.findings")
    triggers = []
    for finding in findings:
        if not isinstance(finding, dict):
            raise InvalidEventError(f"Security Hub finding that is not an object: {show(finding)}")
        finding_id = text(finding.get("Id")) or text(event.get("id"))
        control = text(dig(finding, "Compliance", "SecurityControlId")) or text(
            dig(finding, "ProductFields", "ControlId")
        )
        status = text(dig(finding, "Compliance", "Status"))
        if control not in CONTROLS or status != "FAILED" or finding.get("RecordState") == "ARCHIVED":
            why = f"Security Hub finding {control or 'without a control'} ({status or 'no status'})"
            triggers.append(
                Trigger(
                    finding_id,
                    EVENT_NAME,
                    skip_reason=f"{why}: only FAILED EC2.55/EC2.56 findings on a VPC are acted on",
                    skip_kind=Skip.NOT_HANDLED,
                )
            )
            continue
        vpcs = [found for r in finding.get("Resources") or [] if (found := _vpc_of(r))[0]]
        if not vpcs:
            raise InvalidEventError(f"{control} finding {show(finding_id)} names no AwsEc2Vpc resource")
        account = text(finding.get("AwsAccountId")) or vpcs[0][1]
        region = text(finding.get("Region")) or vpcs[0][2] or text(event.get("region"))
        triggers.append(
            Trigger(
                finding_id,
                EVENT_NAME,
                vpc_ids=tuple(sorted({str(v[0]) for v in vpcs})),
                account=account,
                region=region,
            )
        )
    return triggers

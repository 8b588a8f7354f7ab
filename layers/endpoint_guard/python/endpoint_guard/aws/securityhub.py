"""Security Hub, out: imports endpoint-guard's findings (BatchImportFindings, 100 a call) and reads which
of a VPC's are active (GetFindings). Also the state table's note of what was last imported for a VPC
(``shub#<scope><vpc>``, part of ``aws.state.StateTable``), so an unchanged VPC costs no Security Hub call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from endpoint_guard.aws.base import Adapter, chunks
from endpoint_guard.errors import AwsCallError

Raw = dict[str, Any]
RECORD_DAYS = 90


class SecurityHubAdapter(Adapter):
    service = "securityhub"

    def active(self, id_prefix: str) -> list[Raw]:
        """endpoint-guard's active findings whose id starts with ``id_prefix`` (one VPC's)."""
        filters = {
            "Id": [{"Value": id_prefix, "Comparison": "PREFIX"}],
            "GeneratorId": [{"Value": "endpoint-guard", "Comparison": "EQUALS"}],
            "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
        }
        found = self._pages("get_findings", "Findings", Filters=filters)
        return [f for f in found if str(f.get("Id", "")).startswith(id_prefix) and f.get("RecordState") == "ACTIVE"]

    def import_findings(self, findings: list[Raw]) -> None:
        for chunk in chunks(findings, 100):
            answer = self._call("batch_import_findings", Findings=chunk)
            if answer.get("FailedCount"):
                first = (answer.get("FailedFindings") or [{}])[0]
                raise AwsCallError(
                    "batch_import_findings", str(first.get("ErrorCode", "Failed")), str(first.get("ErrorMessage", ""))
                )


class FindingsRecords:
    """Mixed into StateTable, which supplies the table, the scope and the calls."""

    table_name: str
    scope: str

    if TYPE_CHECKING:  # supplied by StateTable and Adapter

        def _key(self, vpc_id: str, kind: str = "vpc") -> dict[str, Any]: ...
        def _call(self, operation: str, **params: Any) -> Any: ...

    def findings_digest(self, vpc_id: str) -> str | None:
        raw = self._call("get_item", TableName=self.table_name, Key=self._key(vpc_id, "shub")).get("Item")
        return str(raw["digest"]["S"]) if raw and "digest" in raw else None

    def record_findings_digest(self, vpc_id: str, digest: str, at: int) -> None:
        self._call(
            "put_item",
            TableName=self.table_name,
            Item={
                **self._key(vpc_id, "shub"),
                "digest": {"S": digest},
                "expiration": {"N": str(at + RECORD_DAYS * 86400)},
            },
        )

"""What the dead-letter queue holds, read back (pure). Three writers put messages there:

- the worker: its own JSON record (``error_kind``, ``error``, ``retryable``, ``vpc_id``, ``message`` ...);
- Lambda's on-failure destination for the intake: ``requestPayload`` (the event) and
  ``responsePayload`` (``errorType``, ``errorMessage``);
- EventBridge, when it could not invoke the intake: the event itself, with ``ERROR_CODE`` and
  ``ERROR_MESSAGE`` message attributes; when it (or EventBridge Scheduler, for the maintenance window)
  could not start a scheduled workflow, the same with the workflow's input, and ``TARGET_ARN`` naming
  the state machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.utils import ArnParser, InvalidArnException

SOURCE_WORKER = "worker"
SOURCE_INTAKE = "intake"
SOURCE_EVENTBRIDGE = "eventbridge"
SOURCE_SCHEDULE = "schedule"
SOURCE_UNKNOWN = "unknown"


@dataclass(frozen=True)
class Record:
    message_id: str
    receipt: str
    sent_ms: int
    source: str
    kind: str
    error: str
    retryable: bool
    vpc_id: str | None
    event_id: str | None
    # What a replay sends again: the work queue message (worker) or the event (intake, EventBridge).
    work_message: str | None = None
    event: Any = None
    # A scheduled sweep that never started: the state machine a replay starts, with ``event`` as input.
    state_machine: str | None = None

    @property
    def replayable(self) -> bool:
        return self.retryable and (self.work_message is not None or self.event is not None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "sent_ms": self.sent_ms,
            "source": self.source,
            "kind": self.kind,
            "error": self.error,
            "retryable": self.retryable,
            "vpc_id": self.vpc_id,
            "event_id": self.event_id,
            "replayable": self.replayable,
        }


def parse_record(message: dict[str, Any]) -> Record:
    """One SQS message of the dead-letter queue (as ReceiveMessage returns it, with all attributes)."""
    body = message.get("Body") or ""
    attributes = message.get("MessageAttributes") or {}
    sent = str((message.get("Attributes") or {}).get("SentTimestamp", "0"))
    common: dict[str, Any] = {
        "message_id": str(message.get("MessageId", "")),
        "receipt": str(message.get("ReceiptHandle", "")),
        "sent_ms": int(sent) if sent.isdigit() else 0,
    }
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict) and "error_kind" in data:
        return Record(
            **common,
            source=SOURCE_WORKER,
            kind=str(data.get("error_kind")),
            error=str(data.get("error", "")),
            retryable=bool(data.get("retryable")),
            vpc_id=_text(data.get("vpc_id")),
            event_id=_text(data.get("event_id")),
            work_message=_text(data.get("message")) if data.get("vpc_id") else None,
        )
    if isinstance(data, dict) and "requestPayload" in data:
        response = data["responsePayload"] if isinstance(data.get("responsePayload"), dict) else {}
        context = data["requestContext"] if isinstance(data.get("requestContext"), dict) else {}
        kind = str(response.get("errorType") or context.get("condition") or "error")
        return Record(
            **common,
            source=SOURCE_INTAKE,
            kind=kind,
            error=str(response.get("errorMessage", "")),
            retryable=kind not in ("InvalidEventError", "ConfigurationError"),
            vpc_id=None,
            event_id=_event_id(data.get("requestPayload")),
            event=data.get("requestPayload"),
        )
    if "ERROR_CODE" in attributes or (isinstance(data, dict) and "detail-type" in data):
        target = str((attributes.get("TARGET_ARN") or {}).get("StringValue", ""))
        if _is_state_machine(target):
            return Record(
                **common,
                source=SOURCE_SCHEDULE,
                kind=str((attributes.get("ERROR_CODE") or {}).get("StringValue", "delivery_failed")),
                error=str((attributes.get("ERROR_MESSAGE") or {}).get("StringValue", "")),
                retryable=isinstance(data, dict),
                vpc_id=None,
                event_id=None,
                event=data,
                state_machine=target,
            )
        return Record(
            **common,
            source=SOURCE_EVENTBRIDGE,
            kind=str((attributes.get("ERROR_CODE") or {}).get("StringValue", "delivery_failed")),
            error=str((attributes.get("ERROR_MESSAGE") or {}).get("StringValue", "")),
            retryable=True,
            vpc_id=None,
            event_id=_event_id(data),
            event=data,
        )
    return Record(
        **common, source=SOURCE_UNKNOWN, kind="unknown", error=body[:200], retryable=False, vpc_id=None, event_id=None
    )


def _is_state_machine(arn: str) -> bool:
    try:
        parsed = ArnParser().parse_arn(arn)
    except InvalidArnException:
        return False
    return bool(parsed["service"] == "states" and str(parsed["resource"]).startswith("stateMachine:"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _event_id(event: Any) -> str | None:
    if not isinstance(event, dict):
        return None
    detail = event["detail"] if isinstance(event.get("detail"), dict) else event
    return _text(detail.get("eventID")) or _text(event.get("id"))


def selected(record: Record, kind: str | None, vpc_id: str | None) -> bool:
    return (kind is None or record.kind == kind) and (vpc_id is None or record.vpc_id == vpc_id)

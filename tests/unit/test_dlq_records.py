"""What the dead-letter queue holds, read back (pure): EventBridge's record of a schedule it could not
start names the state machine in TARGET_ARN; any other target is an event for the intake."""

from __future__ import annotations

from endpoint_guard.dlq import parse_record

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:endpoint-guard-fleet-sweep"


def eventbridge_record(body: str, target: str) -> dict:
    attributes = {"ERROR_CODE": "SDK_CLIENT_ERROR", "ERROR_MESSAGE": "Rate exceeded", "TARGET_ARN": target}
    return {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": body,
        "Attributes": {"SentTimestamp": "1700000000000"},
        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    }


def test_a_schedule_that_never_started_is_replayed_by_starting_its_state_machine() -> None:
    record = parse_record(eventbridge_record("{}", MACHINE))
    assert (record.source, record.kind, record.state_machine, record.event) == (
        "schedule",
        "SDK_CLIENT_ERROR",
        MACHINE,
        {},
    )
    assert record.replayable and record.error == "Rate exceeded"


def test_an_undeliverable_event_for_a_function_stays_an_eventbridge_record() -> None:
    function = "arn:aws:lambda:us-east-1:123456789012:function:endpoint-guard-intake"
    for target in (function, "not an arn", ""):
        record = parse_record(eventbridge_record('{"detail-type": "AWS API Call via CloudTrail"}', target))
        assert record.source == "eventbridge" and record.state_machine is None


def test_a_schedule_record_whose_body_is_not_an_input_is_not_replayed() -> None:
    record = parse_record(eventbridge_record("not json", MACHINE))
    assert record.source == "schedule" and not record.replayable


def test_a_maintenance_window_the_scheduler_could_not_start_is_a_schedule_record_too() -> None:
    """EventBridge Scheduler (DeferredGatewayWindow) dead-letters with the same ERROR_CODE, ERROR_MESSAGE
    and TARGET_ARN attributes, and SCHEDULE_ARN besides."""
    window = "arn:aws:states:us-east-1:123456789012:stateMachine:endpoint-guard-deferred-window"
    message = eventbridge_record("{}", window)
    schedule = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/endpoint-guard-window"
    message["MessageAttributes"]["SCHEDULE_ARN"] = {"DataType": "String", "StringValue": schedule}
    record = parse_record(message)
    assert record.source == "schedule" and record.state_machine == window and record.replayable

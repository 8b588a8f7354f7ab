from __future__ import annotations

import pytest
from endpoint_guard.errors import InvalidEventError
from endpoint_guard.model import CheckedGroup, Mark
from endpoint_guard.worker.messages import WorkItem, checked_group, covered

VPC = "vpc-0c4f7a1e9b2d3c5a6"


def test_work_item_round_trips_through_a_message() -> None:
    item = WorkItem(VPC, "c3d9a6f1-2b47-4e8c-9f05-6a1b8d2e7c43", "CreateSubnet")
    assert WorkItem.from_message(item.to_message()) == item
    assert item.group_id == VPC


@pytest.mark.parametrize(
    "body", ["not json", "[]", '{"event_id": "x"}', '{"vpc_id": "vpc-0c4f7a1e9b2d3c5a6", "version": 99}']
)
def test_unreadable_messages_are_invalid(body: str) -> None:
    with pytest.raises(InvalidEventError):
        WorkItem.from_message(body)


def test_same_event_and_vpc_deduplicate_but_hand_made_requests_never_do() -> None:
    event = WorkItem(VPC, "e1", "CreateSubnet")
    assert event.deduplication_id("a") == event.deduplication_id("b")
    assert event.deduplication_id("a") != WorkItem("vpc-0123456789abcdef0", "e1").deduplication_id("a")
    request = WorkItem(VPC)
    assert request.deduplication_id("a") != request.deduplication_id("b")
    assert len(event.deduplication_id("a")) <= 128  # SQS's limit


@pytest.mark.parametrize(
    ("sent", "reconciled_from", "expected"),
    [(1000, None, False), (1000, 1001, True), (1000, 1000, False), (1001, 1000, False)],
)
def test_a_message_is_covered_only_by_a_reconcile_that_started_after_it_was_sent(
    sent: int, reconciled_from: int | None, expected: bool
) -> None:
    assert covered(sent, reconciled_from) is expected


GROUP = CheckedGroup("sg-1", ("10.0.0.0/16",), 10_000)


@pytest.mark.parametrize(
    ("now", "recheck", "trusted"),
    [(10_000, 3600, True), (13_599, 3600, True), (13_600, 3600, False), (10_000, 0, False)],
)
def test_the_last_read_of_the_group_is_trusted_only_while_it_is_young(now: int, recheck: int, trusted: bool) -> None:
    assert Mark(1, GROUP).group_to_trust(now, recheck) == (GROUP if trusted else None)
    assert Mark(1, None).group_to_trust(now, recheck) is None


def document(**changes) -> dict:
    base = {
        "dry_run": False,
        "security_group_rules": "read",
        "security_group_id": "sg-1",
        "vpc_cidrs": ["10.0.0.0/16"],
    }
    return {**base, **changes}


def test_only_a_real_read_of_the_group_is_kept_for_later() -> None:
    assert checked_group(document(), 10_000) == GROUP
    assert checked_group(document(security_group_rules="trusted"), 10_000) is None  # keeps the old one
    assert checked_group(document(security_group_rules=None), 10_000) is None
    assert checked_group(document(dry_run=True), 10_000) is None  # a dry run changed nothing
    assert checked_group(document(security_group_id=None), 10_000) is None  # the create failed

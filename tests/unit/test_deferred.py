"""Deferred gateways' pure rules: approvals (durations, expiry, the tag, which VPCs a window takes),
what runs behind a table, and when the services behind it are steady."""

from __future__ import annotations

import pytest
from endpoint_guard.deferred.approval import (
    APPROVAL_NONE,
    APPROVAL_REQUIRED,
    Approval,
    seconds_of,
    standing,
    tag_approval,
    window_targets,
)
from endpoint_guard.deferred.behind import behind, words
from endpoint_guard.deferred.steady import unsteady
from endpoint_guard.deferred.window import announcement, summary
from endpoint_guard.errors import ConfigurationError

NOW = 1_800_000_000


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("12h", 43200), ("7d", 604800), ("2w", 1209600)])
def test_durations(text: str, seconds: int) -> None:
    assert seconds_of(text) == seconds


@pytest.mark.parametrize("text", ["", "7", "soon", "0d", "400d", "-1d", "7 days"])
def test_a_duration_that_is_not_one_is_an_input_error(text: str) -> None:
    with pytest.raises(ConfigurationError):
        seconds_of(text)


def test_an_approval_covers_its_tables_until_it_expires() -> None:
    some = Approval("vpc-1", "us-east-1", route_tables=("rtb-b", "rtb-x"), until=NOW + 1)
    assert some.active(NOW) and not some.active(NOW + 1)
    assert some.tables(["rtb-a", "rtb-b"]) == ["rtb-b"]
    assert Approval("vpc-1", "us-east-1").tables(["rtb-b", "rtb-a"]) == ["rtb-a", "rtb-b"]
    assert Approval.from_document(some.document()) == some


def test_the_tag_approves_every_table_and_other_values_do_not() -> None:
    vpc = {"VpcId": "vpc-1", "Tags": [{"Key": "endpoint-guard:apply-deferred", "Value": "Window"}]}
    found = tag_approval(vpc, "us-east-1", None)
    assert found is not None and found.source == "tag" and found.until is None
    assert (
        tag_approval({"VpcId": "vpc-1", "Tags": [{"Key": "endpoint-guard:apply-deferred", "Value": "no"}]}, "r", None)
        is None
    )
    # A record in the state table wins over the tag; an expired one does not count.
    recorded = Approval("vpc-1", "us-east-1", by="ops", until=NOW + 10)
    assert standing(vpc, "us-east-1", None, lambda _: recorded, NOW)["by"] == "ops"
    expired = Approval("vpc-1", "us-east-1", by="ops", until=NOW - 10)
    assert standing(vpc, "us-east-1", None, lambda _: expired, NOW)["source"] == "tag"
    assert standing({"VpcId": "vpc-2"}, "us-east-1", None, None, NOW) is None


def test_a_window_takes_the_approved_vpcs_or_with_no_approval_every_deferred_one() -> None:
    approvals = [
        Approval("vpc-a", "us-east-1", until=NOW + 100),
        Approval("vpc-b", "us-east-1", until=NOW - 1),  # expired
        Approval("vpc-c", "eu-west-1", account="111111111111", source="tag"),
        Approval("vpc-c", "eu-west-1", account="111111111111", by="ops", until=NOW + 5),
    ]
    deferred = {(None, "us-east-1", "vpc-a"): ("rtb-1",), (None, "us-east-1", "vpc-d"): ("rtb-2",)}
    required = window_targets(approvals, deferred, mode=APPROVAL_REQUIRED, now=NOW)
    assert [t.vpc_id for t in required] == ["vpc-a", "vpc-c"]
    assert required[0].deferred == ("rtb-1",) and required[1].approval.source == "approval"
    everything = window_targets(approvals, deferred, mode=APPROVAL_NONE, now=NOW)
    assert [t.vpc_id for t in everything] == ["vpc-a", "vpc-d", "vpc-c"]
    assert everything[1].approval is None


def test_what_runs_behind_each_deferred_table() -> None:
    result = {
        "deferred_route_tables": [
            {
                "route_table_id": "rtb-1",
                "workloads": [
                    {"eni_id": "eni-1", "subnet_id": "subnet-a", "kind": "ecs-task"},
                    {"eni_id": "eni-2", "subnet_id": "subnet-a", "kind": "lambda"},
                ],
            }
        ],
        "workloads": [
            {"kind": "service", "cluster": "shop", "name": "cart", "subnet_ids": ["subnet-a", "subnet-b"]},
            {"kind": "service", "cluster": "shop", "name": "elsewhere", "subnet_ids": ["subnet-z"]},
            {"kind": "task", "cluster": "shop", "name": "t-1", "subnet_ids": ["subnet-a"]},
        ],
    }
    [table] = behind(result)
    assert (table["tasks"], table["workloads"], table["services"]) == (1, 2, ["shop/cart"])
    assert words([table]) == ["rtb-1: 2 workload ENI(s) (1 ecs-task, 1 lambda); services shop/cart"]


def service(name: str, running: int, desired: int, *deployments: dict) -> dict:
    return {"serviceName": name, "runningCount": running, "desiredCount": desired, "deployments": list(deployments)}


def test_steady_services_and_the_three_ways_to_be_unsteady() -> None:
    assert unsteady([service("cart", 2, 2, {"id": "d-1", "rolloutState": "COMPLETED"})], []) == []
    assert unsteady([service("cart", 1, 2)], []) == ["cart: 1 of 2 tasks running"]
    failed = service("cart", 2, 2, {"id": "d-2", "rolloutState": "FAILED", "rolloutStateReason": "circuit breaker"})
    assert unsteady([failed], []) == ["cart: deployment d-2 failed (circuit breaker)"]
    pull = {
        "taskArn": "arn:aws:ecs:us-east-1:1:task/shop/abc",
        "group": "service:cart",
        "stoppedReason": "Task failed to start",
        "containers": [{"reason": "CannotPullContainerError: failed to fetch layer from S3"}],
    }
    assert unsteady([service("cart", 2, 2)], [pull]) == [
        "task abc (service:cart) stopped: CannotPullContainerError: failed to fetch layer from S3"
    ]
    scaled_in = {"taskArn": "arn:aws:ecs:us-east-1:1:task/shop/def", "stoppedReason": "Scaling activity initiated"}
    assert unsteady([service("cart", 2, 2)], [scaled_in]) == []  # a normal stop is not the change's doing


def test_the_window_notices_say_what_comes_and_what_happened() -> None:
    assert "nothing to do" in announcement("w", [], 120)
    target = {"vpc_id": "vpc-1", "account": None, "region": "us-east-1", "approval": {"by": "ops"}}
    assert "vpc-1 (own account us-east-1)" in announcement("w", [target], 120)
    text = summary(
        "w",
        [
            {"vpc_id": "vpc-1", "added": ["rtb-1"], "outcome": "stopped", "saw": ["cart: 1 of 2 tasks running"]},
            {"vpc_id": "vpc-2", "added": ["rtb-2"], "outcome": "done", "compliant": True},
            {"vpc_id": "vpc-3", "added": [], "outcome": "failed", "error": "AccessDenied"},
        ],
    )
    assert "vpc-1: STOPPED after adding rtb-1" in text and "vpc-2: added rtb-2; done; compliant" in text
    assert "vpc-3: FAILED after adding nothing: AccessDenied" in text

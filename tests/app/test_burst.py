"""Bursts: many fresh VPCs at once, against EC2's own rate limits (injected: moto does not throttle),
in simulated time (tools/burst.py), with the real intake and worker handlers on moto. And the
classified errors: what no retry can cure goes to the dead-letter queue on its first failure."""

from __future__ import annotations

import json
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from endpoint_guard.lambdas.observability import logger

from tests.conftest import REGION, subnet_event
from tools.burst import simulate
from tools.esm import context, receive, run_worker
from tools.world import build_vpc


@pytest.fixture
def quiet(stack) -> None:
    logger.setLevel("CRITICAL")  # a burst logs thousands of lines


@pytest.mark.parametrize("pollers", [2, 3])
def test_a_burst_of_twenty_fresh_vpcs_ends_compliant_paced_to_the_endpoint_bucket(quiet, pollers: int) -> None:
    outcome = simulate(20, pollers=pollers)
    assert outcome.compliant == 20 and outcome.endpoints_per_service_ok  # exactly one endpoint per service
    assert outcome.timeouts == 0 and outcome.dead_letters == [] and outcome.backstop == 0
    assert outcome.throttled == 0  # the pace kept every endpoint call inside EC2's bucket
    assert outcome.ratio <= 1.3, (
        f"{outcome.seconds_to_compliant:.0f} s against a floor of {outcome.floor_seconds:.0f} s"
    )
    assert outcome.reconciles_per_vpc <= 1.1


def test_a_batch_of_slow_vpcs_hands_its_rest_back_before_the_timeout(quiet) -> None:
    """A slow day: every EC2 call takes 6 s (simulated), so a fresh VPC takes far longer than the
    budget's vpc_seconds. A batch of ten shares the function's 120 s: each VPC is started only with as
    much time left as the slowest one so far took, the rest goes back unattempted, and no invocation
    runs into the timeout (which would bring the whole batch back after the visibility timeout)."""
    outcome = simulate(10, pollers=1, latency=6.0, settle=0)
    assert outcome.timeouts == 0 and outcome.longest_invocation_seconds < 120
    assert outcome.handed_back > 0 and outcome.compliant == 10
    assert outcome.dead_letters == [] and outcome.backstop == 0


def test_without_the_pace_the_same_burst_is_throttled(quiet) -> None:
    """The control: the harness does see what pacing prevents. Unpaced, EC2 refuses endpoint calls by
    the hundred and botocore's backoff (jittered, so the run is not repeatable) decides the rest."""
    unpaced = {"ENDPOINT_GUARD_ENDPOINT_CALLS_PER_SECOND": "1000", "ENDPOINT_GUARD_ENDPOINT_CALL_BURST": "1000"}
    outcome = simulate(20, pollers=2, environ=unpaced)
    assert outcome.throttled > 50


# --- classified errors, through the deployed handler -----------------------------------------------------

PERMANENT = {
    "UnauthorizedOperation": "You are not authorized to perform this operation.",
    "DuplicateSubnetsInSameZone": "Found another VPC endpoint subnet in the availability zone of subnet-0a",
    "InvalidParameter": "The VPC endpoint service com.amazonaws.us-east-1.ecr.api does not support the availability "
    "zone of the subnet: subnet-0a",
    "VpcEndpointLimitExceeded": "The maximum number of VPC endpoints has been reached.",
    "InvalidVpcID.NotFound": "The vpc ID 'vpc-0a' does not exist",
}


@pytest.fixture
def queued(stack, ec2, intake, monkeypatch) -> SimpleNamespace:
    """A fresh VPC's event through the intake: its message waits on the work queue."""
    monkeypatch.setenv("ENDPOINT_GUARD_MAX_ATTEMPTS", "3")
    world = build_vpc(ec2)
    intake(subnet_event(world, 1), context("endpoint-guard-intake"))
    return SimpleNamespace(sqs=boto3.client("sqs", region_name=REGION), world=world, work=stack.work, dead=stack.dead)


def refuse_interface_creates(clients, code: str, message: str) -> None:
    """AWS's answer to the interface endpoint creates (moto accepts them all)."""

    def refuse(params: dict, **_: object) -> None:
        if params.get("VpcEndpointType") == "Interface":
            raise ClientError({"Error": {"Code": code, "Message": message}}, "CreateVpcEndpoint")

    clients.client("ec2").meta.events.register("provide-client-params.ec2.CreateVpcEndpoint", refuse)


@pytest.mark.parametrize("code", sorted(PERMANENT))
def test_a_failure_no_retry_can_cure_is_dead_lettered_on_its_first_attempt(
    queued, ensure_endpoints, clients, code: str
) -> None:
    sqs, worker_stack = queued.sqs, queued
    refuse_interface_creates(clients, code, PERMANENT[code])

    response, _ = run_worker(sqs, worker_stack.work, ensure_endpoints)
    assert response["batchItemFailures"] == []  # not retried: parked at once
    [parked] = sqs.receive_message(QueueUrl=worker_stack.dead)["Messages"]
    record = json.loads(parked["Body"])
    assert record["retryable"] is False and record["attempts"] == 1 and code in record["aws_codes"]
    # What was done stays done, and the record says so: the S3 gateway went first and was made.
    statuses = {e["service"]: e["status"] for e in record["result"]["endpoints"]}
    assert statuses["s3"] == "created" and statuses["ecr.dkr"] == "failed"
    assert receive(sqs, worker_stack.work) == []


def test_a_throttled_endpoint_create_is_retried_not_parked(queued, ensure_endpoints, clients) -> None:
    sqs, worker_stack = queued.sqs, queued
    refuse_interface_creates(clients, "RequestLimitExceeded", "Request limit exceeded.")
    response, [message] = run_worker(sqs, worker_stack.work, ensure_endpoints)
    assert response["batchItemFailures"] == [{"itemIdentifier": message["MessageId"]}]
    assert sqs.receive_message(QueueUrl=worker_stack.dead).get("Messages", []) == []


def test_a_throttled_state_table_write_after_a_success_does_not_dead_letter(
    ec2, queued, ensure_endpoints, clients
) -> None:
    sqs, worker_stack, world = queued.sqs, queued, queued.world

    def throttle_the_mark(params: dict, **_: object) -> None:
        if params.get("Key", {}).get("id", {}).get("S", "").startswith("vpc#"):
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "UpdateItem"
            )

    clients.client("dynamodb").meta.events.register("provide-client-params.dynamodb.UpdateItem", throttle_the_mark)
    response, _ = run_worker(sqs, worker_stack.work, ensure_endpoints)
    assert response["batchItemFailures"] == []
    assert sqs.receive_message(QueueUrl=worker_stack.dead).get("Messages", []) == []
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["VpcEndpoints"]
    assert len(found) == 4

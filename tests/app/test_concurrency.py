"""One VPC is never reconciled by two invocations at once, proven the way it happens in AWS: many
events for one VPC fired concurrently into the intake, then the FIFO work queue drained by several
separate processes (each like a Lambda execution environment) through an emulated SQS event source
mapping, all against one moto server. A probe around each reconcile records when it ran and stretches
it, so any overlap would show."""

from __future__ import annotations

import time
from concurrent.futures import wait
from itertools import pairwise

import boto3
import pytest
from endpoint_guard.worker import WorkItem

from tests.conftest import REGION, subnet_event
from tools import esm
from tools.esm import create_stack
from tools.world import build_vpc

PROCESSES = 3
HOLD = 0.3  # seconds each reconcile is stretched by


@pytest.fixture(scope="module")
def server(moto_server: str):
    clients = {
        name: boto3.client(
            name,
            region_name=REGION,
            endpoint_url=moto_server,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for name in ("ec2", "sqs", "dynamodb")
    }
    stack = create_stack(clients["sqs"], clients["dynamodb"])
    env = {
        **stack.env,
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    pool = esm.environments(env, PROCESSES, hold_seconds=HOLD)
    yield clients, stack, pool
    pool.shutdown()


def overlaps(spans: list[tuple[str, float, float]]) -> dict[str, int]:
    """Per VPC, how many of its reconciles started before the previous one had ended."""
    found: dict[str, int] = {}
    for vpc_id in {s[0] for s in spans}:
        runs = sorted((start, end) for v, start, end in spans if v == vpc_id)
        found[vpc_id] = sum(1 for (_, end), (start, _) in pairwise(runs) if start < end)
    return found


def fire(pool, events: list[dict]) -> list[dict]:
    """Invoke the intake with every event at once. Like Lambda's async retry, an invocation that failed
    (a duplicate still in progress) is invoked again."""
    results = [f.result() for f in [pool.submit(esm.invoke, "intake", e) for e in events]]
    for _ in range(5):
        retry = [i for i, r in enumerate(results) if r["error"]]
        if not retry:
            break
        time.sleep(0.5)
        for i in retry:
            results[i] = pool.submit(esm.invoke, "intake", events[i]).result()
    return results


def test_a_burst_for_one_vpc_never_runs_two_reconciles_at_once(server) -> None:
    clients, stack, pool = server
    ec2, sqs = clients["ec2"], clients["sqs"]
    busy, calm = build_vpc(ec2, cidr="10.60.0.0/16"), build_vpc(ec2, cidr="10.61.0.0/16")
    burst = [subnet_event(busy, n) for n in range(12)] + [subnet_event(calm, 100 + n) for n in range(4)]
    burst += [subnet_event(busy, n) for n in range(3)]  # EventBridge delivering three of them twice

    accepted = fire(pool, burst)
    assert [r["error"] for r in accepted] == [None] * len(burst)
    assert sum(len(r["response"]["queued"]) for r in accepted[:16]) == 16
    spans: list[tuple[str, float, float]] = []
    batches: list[set[str]] = []

    def finished(result: dict, messages: list[dict]) -> None:
        spans.extend(result["spans"])
        batches.append({WorkItem.from_message(m["Body"]).vpc_id for m in messages})

    esm.drain_fifo(sqs, stack.work, pool, on_result=finished)

    assert sum(busy.vpc_id in b for b in batches) >= 2  # the busy VPC's work came in more than one batch

    assert overlaps(spans) == {busy.vpc_id: 0, calm.vpc_id: 0}
    for world in (busy, calm):
        found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["VpcEndpoints"]
        assert sorted(e["ServiceName"].split(f".{REGION}.")[1] for e in found) == ["ecr.api", "ecr.dkr", "logs", "s3"]
    # Every event was queued before the first reconcile started, so one reconcile covers the burst.
    assert sorted(v for v, _, _ in spans) == sorted([busy.vpc_id, calm.vpc_id])
    assert sqs.receive_message(QueueUrl=stack.dead).get("Messages", []) == []


def test_without_the_queue_the_same_burst_does_overlap(server) -> None:
    """The control: the same handler invoked for one VPC from three environments at once (as a standard
    queue or direct invocations would) does run concurrently, so the probe above can see an overlap."""
    clients, _, pool = server
    world = build_vpc(clients["ec2"], cidr="10.62.0.0/16")
    now = str(int(time.time() * 1000))
    batches = [
        {
            "Records": [
                {
                    "messageId": f"m{n}",
                    "receiptHandle": f"r{n}",
                    "body": f'{{"version": 1, "vpc_id": "{world.vpc_id}", "event_id": "c{n}", "event_name": "CreateSubnet"}}',
                    "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": now, "MessageGroupId": f"g{n}"},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:standard",
                    "awsRegion": REGION,
                }
            ]
        }
        for n in range(PROCESSES)
    ]
    futures = [pool.submit(esm.invoke, "ensure_endpoints", b) for b in batches]
    wait(futures)
    spans = [s for f in futures for s in f.result()["spans"]]
    assert len(spans) == PROCESSES
    assert overlaps(spans)[world.vpc_id] >= 1

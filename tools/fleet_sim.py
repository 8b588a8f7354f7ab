"""A fleet sweep of many VPCs across accounts and Regions, in simulated time, with the real sweep tasks
on moto (for `make bench`; nothing here is part of the deployed product).

- The VPCs: ``vpcs`` spread over ``accounts`` x ``regions`` targets the way real estates are, unevenly
  (Zipf: the biggest account-Region holds about a quarter of them).
- The plan task (real) lists them through the member role and writes the chunks in the order it
  schedules them; the Distributed Map is ``concurrency`` actors that start the items in that order as
  they free up, each running the real chunk task on the simulated clock (tools.burst.VirtualTime).
- EC2's token buckets per account-Region (tools.burst.AwsBuckets: describes 100 / 20 a second) with a
  little latency per call; a throttled call is retried by botocore on the simulated clock.

The floor: no sweep can finish before its busiest account-Region's describes have gone through that
account-Region's bucket ((calls - 100) / 20 s), nor before the Map's slots have made every call at the
per-call latency (calls x latency / concurrency), nor before its longest chunk has made its reads one
after the other (a chunk's reads are sequential)."""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from tools.burst import BUCKETS, AwsBuckets, VirtualTime
from tools.esm import context

HOME = "us-east-1"
REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2")
BUCKET = "endpoint-guard-plans"


@dataclass
class SweepOutcome:
    vpcs: int
    targets: int
    chunks: int
    seconds: float
    floor_seconds: float
    calls: int
    throttled: int
    busiest_calls: int
    rows: int

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor_seconds if self.floor_seconds else float("inf")


def zipf(total: int, parts: int) -> list[int]:
    """``total`` split over ``parts`` as 1/k, every part at least 1."""
    weights = [1 / (k + 1) for k in range(parts)]
    sizes = [max(1, int(total * w / sum(weights))) for w in weights]
    sizes[0] += total - sum(sizes)
    return sizes


def simulate_sweep(
    *, vpcs: int = 1000, accounts: int = 10, regions: int = 4, concurrency: int = 10, latency: float = 0.05
) -> SweepOutcome:
    """Call inside ``mock_aws()`` with the stack's state table made (``tools.esm.create_stack``)."""
    import boto3
    import botocore.endpoint
    from endpoint_guard.aws import Clients
    from endpoint_guard.fleet.connect import MemberAccess
    from endpoint_guard.fleet.usecase import chunk_describes
    from endpoint_guard.lambdas import runtime
    from endpoint_guard.lambdas.sweep import make_chunk, make_plan

    from tools.world import OWN_ACCOUNT, build_vpc, member_client

    members = [f"{100000000000 + n:012d}" for n in range(1, accounts)]
    targets = [(a, r) for a in (OWN_ACCOUNT, *members) for r in REGIONS[:regions]]
    for (account, region), size in zip(targets, zipf(vpcs, len(targets)), strict=True):
        ec2 = member_client("ec2", account, region)
        for n in range(size):
            build_vpc(ec2, cidr=f"10.{n % 250}.0.0/16", azs=(f"{region}a",), public_subnets=False, nat=False)
    boto3.client("s3", region_name=HOME).create_bucket(Bucket=BUCKET)
    saved_env, saved_time, saved_at = dict(os.environ), botocore.endpoint.time, runtime.Container.at
    os.environ.update(
        {
            "ENDPOINT_GUARD_PLAN_BUCKET": BUCKET,
            "ENDPOINT_GUARD_STATE_TABLE": "endpoint-guard-state",
            "ENDPOINT_GUARD_FLEET_MODE": "hub",
            "ENDPOINT_GUARD_FLEET_ACCOUNTS": ",".join(members),
            "ENDPOINT_GUARD_SWEEP_REGIONS": ",".join(REGIONS[:regions]),
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    try:
        plan = make_plan(Clients(region=HOME))({"run": "sim", "mode": "report"}, context("sweep-plan"))
        items = deque(_items(plan))
        clock = VirtualTime()
        botocore.endpoint.time = SimpleNamespace(sleep=clock.sleep)  # botocore's retry backoff, simulated
        buckets = {target: AwsBuckets(clock, latency) for target in targets}
        # Each Map slot is a Lambda container: its own member sessions and clients, EC2's buckets shared.
        access: dict[int, MemberAccess] = {}
        reached: dict[tuple[int, str, str], Clients] = {}

        def at(self: Any, wiring: Any, ctx: Any, account: str | None, region: str | None) -> Clients:
            key = (id(self), account or OWN_ACCOUNT, region or HOME)
            if key not in reached:  # the member's clients, behind its account-Region's buckets
                container = access.setdefault(
                    id(self), MemberAccess(base=Clients(region=HOME), own_account=OWN_ACCOUNT)
                )
                reached[key] = container.clients(key[1], key[2])
                buckets[key[1:]].install(reached[key].client("ec2"))
            return reached[key]

        runtime.Container.at = at  # type: ignore[method-assign]  # the simulation's clients, with buckets
        results: list[dict[str, Any]] = []

        def slot() -> None:
            chunk = make_chunk(Clients(region=HOME), clock=clock.now, sleep=clock.sleep)
            while items:
                item = items.popleft()
                event = {"run": "sim", "mode": "report", "item": item}
                results.append(chunk(event, context("sweep-chunk", remaining_ms=900_000)))

        start = clock.now()
        for _ in range(concurrency):
            clock.spawn(slot)
        clock.run()
        seconds = clock.now() - start
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        botocore.endpoint.time = saved_time
        runtime.Container.at = saved_at  # type: ignore[method-assign]
    capacity, refill = BUCKETS["describe"]
    per_target = {t: sum(b.calls.values()) for t, b in buckets.items()}
    calls = sum(per_target.values())
    longest_chunk = max(chunk_describes(len(item["vpc_ids"])) for item in _items(plan)) * latency
    floor = max(
        max(max(0.0, (n - capacity) / refill) for n in per_target.values()),
        calls * latency / concurrency,
        longest_chunk,
    )
    return SweepOutcome(
        vpcs=vpcs,
        targets=len(targets),
        chunks=plan["chunks"],
        seconds=seconds,
        floor_seconds=floor,
        calls=calls,
        throttled=sum(sum(b.throttled.values()) for b in buckets.values()),
        busiest_calls=max(per_target.values()),
        rows=sum(r["vpcs"] for r in results),
    )


def _items(plan: dict[str, Any]) -> list[dict[str, Any]]:
    import json

    import boto3

    body = boto3.client("s3", region_name=HOME).get_object(Bucket=plan["bucket"], Key=plan["items_key"])["Body"]
    items: list[dict[str, Any]] = json.loads(body.read())
    return items

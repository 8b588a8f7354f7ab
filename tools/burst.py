"""A burst of fresh VPCs against EC2's rate limits, in simulated time, with the real handlers on moto.

moto does not throttle and does not know time, so this harness supplies both:

- ``VirtualTime``: a simulated clock that runs actors (threads) one at a time; an actor's ``sleep``
  yields to whichever actor is due next, so an hour of a paced burst runs in seconds.
- ``AwsBuckets``: EC2's token buckets per account-Region (aws-facts.md: 4/0.3 for the endpoint calls,
  50/5 other changes, 100/20 reads), injected on each container's EC2 client with botocore's
  ``before-send``: a call without a token gets EC2's ``RequestLimitExceeded`` (HTTP 503) and botocore's
  standard retry mode backs off and retries (its sleeps run on the simulated clock). Every call also
  costs a little simulated latency.
- ``FifoQueue``: the SQS FIFO work queue as the event source mapping sees it: delivery delay, message
  groups (one in flight at a time), visibility timeout, receive counts, redrive to a backstop after
  ``max_receives``, ChangeMessageVisibility (the worker's hand-back), and the dead-letter queue.
- ``Lambda``: the event source mapping: ``pollers`` concurrent execution environments (the maximum
  concurrency), each with its own clients and the real ``ensure_endpoints`` handler, batches of up to
  10, a function timeout (an invocation that runs past it counts as a timeout and its whole batch
  comes back after the visibility timeout), batch item failures.

The intake is the real handler too: each CreateVpc event goes through it, and its SendMessageBatch
lands in the simulated queue. Nothing here is part of the deployed product.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import os
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from tools.esm import context

REGION = "us-east-1"
ACCOUNT = "123456789012"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/endpoint-guard-work.fifo"
DLQ_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/endpoint-guard-dlq"
START = 1_800_000_000.0

# EC2's buckets (capacity, refill per second) by the calls they throttle.
ENDPOINT_CALLS = frozenset({"CreateVpcEndpoint", "ModifyVpcEndpoint", "DeleteVpcEndpoints"})
BUCKETS = {"endpoints": (4, 0.3), "mutating": (50, 5.0), "describe": (100, 20.0)}
THROTTLED = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code>'
    b"<Message>Request limit exceeded.</Message></Error></Errors><RequestID>sim</RequestID></Response>"
)


class VirtualTime:
    """Simulated time for actors that run one at a time: ``sleep`` hands the baton to the actor due
    next and advances the clock to its wake-up time."""

    def __init__(self, start: float = START) -> None:
        self._now = start
        self._cv = threading.Condition()
        self._due: list[tuple[float, int, object]] = []
        self._seq = itertools.count()
        self._running: object | None = None
        self._actors = 0
        self.errors: list[BaseException] = []

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        me = object()
        with self._cv:
            heapq.heappush(self._due, (self._now + max(0.0, seconds), next(self._seq), me))
            self._next()
            while self._running is not me:
                self._cv.wait()

    def _next(self) -> None:
        if self._due:
            when, _, token = heapq.heappop(self._due)
            self._now = max(self._now, when)
            self._running = token
        else:
            self._running = None
        self._cv.notify_all()

    def spawn(self, actor: Callable[[], None]) -> None:
        me = object()

        def body() -> None:
            with self._cv:
                while self._running is not me:
                    self._cv.wait()
            try:
                actor()
            except BaseException as err:  # noqa: BLE001 (reported by run(); the simulation must not hang)
                self.errors.append(err)
            finally:
                with self._cv:
                    self._actors -= 1
                    self._next()

        with self._cv:
            self._actors += 1
            heapq.heappush(self._due, (self._now, next(self._seq), me))
        threading.Thread(target=body, daemon=True).start()

    def run(self) -> None:
        with self._cv:
            if self._running is None:
                self._next()
            while self._actors:
                self._cv.wait()
        if self.errors:
            raise self.errors[0]


class AwsBuckets:
    """EC2's token buckets for one account-Region, shared by every client they are installed on."""

    def __init__(self, clock: VirtualTime, latency: float = 0.05) -> None:
        self.clock, self.latency = clock, latency
        self.tokens = {name: float(capacity) for name, (capacity, _) in BUCKETS.items()}
        self.updated = {name: clock.now() for name in BUCKETS}
        self.throttled: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    @staticmethod
    def bucket(operation: str) -> str:
        if operation in ENDPOINT_CALLS:
            return "endpoints"
        return "describe" if operation.startswith("Describe") else "mutating"

    def _take(self, name: str) -> bool:
        capacity, rate = BUCKETS[name]
        now = self.clock.now()
        self.tokens[name] = min(capacity, self.tokens[name] + (now - self.updated[name]) * rate)
        self.updated[name] = now
        if self.tokens[name] >= 1:
            self.tokens[name] -= 1
            return True
        return False

    def install(self, client: Any) -> None:
        client.meta.events.register_first("before-send.ec2", self._before_send)

    def _before_send(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from moto.core.botocore_stubber import MockRawResponse

        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        operation = dict(part.split("=", 1) for part in body.split("&") if "=" in part).get("Action", "")
        self.clock.sleep(self.latency)
        self.calls[operation] += 1
        if self._take(self.bucket(operation)):
            return None  # on to moto
        self.throttled[operation] += 1
        return AWSResponse(request.url, 503, {}, MockRawResponse(THROTTLED))


# What a short-circuited call answers in place of an HTTP response (botocore reads its status only).
_OK = SimpleNamespace(status_code=200, headers={})


@dataclass
class Message:
    body: str
    group: str
    message_id: str
    sent: float
    visible_at: float
    receives: int = 0
    receipt: str = ""


@dataclass
class FifoQueue:
    """The FIFO work queue in simulated time (see the module's docstring)."""

    clock: VirtualTime
    delay: float = 60.0
    visibility: float = 720.0
    max_receives: int = 100
    messages: list[Message] = field(default_factory=list)
    in_flight: dict[str, Message] = field(default_factory=dict)  # receipt -> message
    backstop: list[Message] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=itertools.count)

    def send(self, body: str, group: str) -> None:
        now = self.clock.now()
        self.messages.append(Message(body, group, f"msg-{next(self._ids)}", now, now + self.delay))

    def pending(self) -> bool:
        return bool(self.messages)

    def next_visible_at(self) -> float | None:
        return min((m.visible_at for m in self.messages), default=None)

    def receive(self, limit: int = 10) -> list[Message]:
        """Visible messages, first of each group only while no message of the group is in flight."""
        now = self.clock.now()
        busy = {m.group for m in self.messages if m.receipt and m.visible_at > now}
        taken: list[Message] = []
        for message in list(self.messages):
            if len(taken) == limit:
                break
            if message.group in busy or message.visible_at > now:
                busy.add(message.group)  # FIFO: nothing behind an invisible message of its group
                continue
            message.receives += 1
            if message.receives > self.max_receives:
                self.messages.remove(message)
                self.backstop.append(message)
                continue
            message.receipt = f"{message.message_id}#{message.receives}"
            message.visible_at = now + self.visibility
            self.in_flight[message.receipt] = message
            taken.append(message)
        return taken

    def delete(self, message: Message) -> None:
        if message in self.messages:
            self.messages.remove(message)

    def change_visibility(self, receipt: str, seconds: float) -> None:
        message = self.in_flight.get(receipt)
        if message is not None and message in self.messages:
            message.visible_at = self.clock.now() + seconds

    def install(self, client: Any) -> None:
        """Answer this SQS client's calls from the simulated queues."""
        client.meta.events.register_first("before-call.sqs", self._before_call)

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        body = params.get("body") or {}
        if isinstance(body, bytes | str):
            body = json.loads(body or "{}")
        if model.name == "SendMessageBatch":
            for entry in body["Entries"]:
                self.send(entry["MessageBody"], entry["MessageGroupId"])
            return _OK, {"Successful": [{"Id": e["Id"]} for e in body["Entries"]], "Failed": []}
        if model.name == "SendMessage" and body.get("QueueUrl") == DLQ_URL:
            self.dead_letters.append(json.loads(body["MessageBody"]))
            return _OK, {"MessageId": "dlq"}
        if model.name == "ChangeMessageVisibilityBatch":
            for entry in body["Entries"]:
                self.change_visibility(entry["ReceiptHandle"], entry["VisibilityTimeout"])
            return _OK, {"Successful": [{"Id": e["Id"]} for e in body["Entries"]], "Failed": []}
        raise AssertionError(f"the burst harness does not simulate sqs {model.name}")


@dataclass
class Outcome:
    vpcs: int
    pollers: int
    seconds_to_compliant: float
    floor_seconds: float
    invocations: int
    timeouts: int
    dead_letters: list[dict[str, Any]]
    backstop: int
    reconciles_per_vpc: float
    throttled: int
    handed_back: int
    longest_invocation_seconds: float
    compliant: int
    endpoints_per_service_ok: bool

    @property
    def ratio(self) -> float:
        return self.seconds_to_compliant / self.floor_seconds if self.floor_seconds else 0.0


def simulate(
    vpcs: int,
    *,
    pollers: int = 1,
    settle: float = 60.0,
    timeout: float = 120.0,
    visibility: float = 720.0,
    batch_size: int = 10,
    latency: float = 0.05,
    environ: dict[str, str] | None = None,
) -> Outcome:
    """Create ``vpcs`` fresh 3-AZ VPCs on moto at once and run the deployed path until the queue is
    empty: intake -> simulated FIFO queue -> ``pollers`` workers, in simulated time; ``latency`` is what
    each EC2 call takes (a slow day: raise it). Call inside
    ``mock_aws()``, with the stack's state table made (``tools.esm.create_stack``)."""
    import boto3
    import botocore.endpoint
    from endpoint_guard.aws import Clients
    from endpoint_guard.lambdas.intake import make_intake
    from endpoint_guard.lambdas.worker import make_worker

    from tools.world import build_vpc

    clock = VirtualTime()
    buckets = AwsBuckets(clock, latency)
    queue = FifoQueue(clock, delay=settle, visibility=visibility)
    saved_env, saved_time = dict(os.environ), botocore.endpoint.time
    for name in ("ENDPOINT_GUARD_ENDPOINT_CALLS_PER_SECOND", "ENDPOINT_GUARD_ENDPOINT_CALL_BURST"):
        os.environ.pop(name, None)  # the template's defaults, unless ``environ`` says otherwise
    os.environ.update(
        {
            "ENDPOINT_GUARD_QUEUE_URL": QUEUE_URL,
            "ENDPOINT_GUARD_DEAD_LETTER_QUEUE_URL": DLQ_URL,
            "ENDPOINT_GUARD_STATE_TABLE": "endpoint-guard-state",
            "POWERTOOLS_METRICS_DISABLED": "true",
            **(environ or {}),
        }
    )
    botocore.endpoint.time = SimpleNamespace(sleep=clock.sleep)  # botocore's retry backoff, simulated
    ec2 = boto3.client("ec2", region_name=REGION)
    worlds = [build_vpc(ec2) for _ in range(vpcs)]  # VPCs of one account may share a CIDR block
    reconciles: Counter[str] = Counter()
    created: dict[str, float] = {}
    results = SimpleNamespace(invocations=0, timeouts=0, handed_back=0, longest=0.0)

    def container(name: str) -> Clients:
        clients = Clients(region=REGION)
        buckets.install(clients.client("ec2"))
        queue.install(clients.client("sqs"))
        events = clients.client("ec2").meta.events
        events.register("provide-client-params.ec2.DescribeRouteTables", _count_reconciles(reconciles))
        events.register("after-call.ec2.CreateVpcEndpoint", _record_create(created, clock))
        return clients

    def intake() -> None:
        handler = make_intake(container("intake"))
        for n, world in enumerate(worlds):
            handler(_create_vpc_event(world.vpc_id, n), context("endpoint-guard-intake"))

    def poller(index: int) -> None:
        handler = make_worker(container(f"worker-{index}"), clock=clock.now, sleep=clock.sleep)
        while queue.pending():
            batch = queue.receive(batch_size)
            if not batch:
                wake = queue.next_visible_at()
                clock.sleep(max(0.2, min(5.0, (wake or clock.now()) - clock.now())))
                continue
            started = clock.now()
            ctx = context("endpoint-guard-ensure-endpoints")
            ctx.get_remaining_time_in_millis = lambda started=started: int((started + timeout - clock.now()) * 1000)
            response = handler(_sqs_event(batch), ctx)
            results.invocations += 1
            results.longest = max(results.longest, clock.now() - started)
            if clock.now() - started > timeout:
                results.timeouts += 1  # Lambda killed it: the whole batch comes back after the visibility timeout
                continue
            failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
            results.handed_back += len(failed)
            for message in batch:
                if message.message_id not in failed:
                    queue.delete(message)

    try:
        clock.spawn(intake)
        clock.run()
        for index in range(pollers):
            clock.spawn(lambda index=index: poller(index))
        clock.run()
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        botocore.endpoint.time = saved_time

    per_service, compliant = _verify(ec2, [w.vpc_id for w in worlds])
    finished = max(created.values(), default=START) - START
    return Outcome(
        vpcs=vpcs,
        pollers=pollers,
        seconds_to_compliant=finished,
        floor_seconds=4 * vpcs / 0.3 + settle,
        invocations=results.invocations,
        timeouts=results.timeouts,
        dead_letters=queue.dead_letters,
        backstop=len(queue.backstop),
        reconciles_per_vpc=sum(reconciles[w.vpc_id] for w in worlds) / vpcs,
        throttled=sum(buckets.throttled.values()),
        handed_back=results.handed_back,
        longest_invocation_seconds=results.longest,
        compliant=compliant,
        endpoints_per_service_ok=per_service,
    )


def _count_reconciles(counter: Counter[str]) -> Callable[..., None]:
    def count(params: dict[str, Any], **_: Any) -> None:
        for f in params.get("Filters", []):
            if f.get("Name") == "vpc-id":
                counter.update(f["Values"])

    return count


def _record_create(created: dict[str, float], clock: VirtualTime) -> Callable[..., None]:
    def record(parsed: dict[str, Any], **_: Any) -> None:
        endpoint = parsed.get("VpcEndpoint") or {}
        if endpoint.get("VpcId"):
            created[f"{endpoint['VpcId']}/{endpoint['ServiceName']}"] = clock.now()

    return record


def _create_vpc_event(vpc_id: str, n: int) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"burst-{n}",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ec2",
        "account": ACCOUNT,
        "region": REGION,
        "detail": {
            "eventSource": "ec2.amazonaws.com",
            "eventName": "CreateVpc",
            "eventID": f"burst-event-{n}",
            "awsRegion": REGION,
            "recipientAccountId": ACCOUNT,
            "responseElements": {"vpc": {"vpcId": vpc_id}},
        },
    }


def _sqs_event(batch: list[Message]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m.message_id,
                "receiptHandle": m.receipt,
                "body": m.body,
                "attributes": {
                    "ApproximateReceiveCount": str(m.receives),
                    "SentTimestamp": str(int(m.sent * 1000)),
                    "SenderId": ACCOUNT,
                    "ApproximateFirstReceiveTimestamp": str(int(m.sent * 1000)),
                    "MessageGroupId": m.group,
                    "MessageDeduplicationId": m.message_id,
                    "SequenceNumber": m.message_id.split("-")[1].zfill(20),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m.body.encode()).hexdigest(),  # SQS's own checksum
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:endpoint-guard-work.fifo",
                "awsRegion": REGION,
            }
            for m in batch
        ]
    }


def _verify(ec2: Any, vpc_ids: list[str]) -> tuple[bool, int]:
    """(exactly one live endpoint per service in every VPC, how many VPCs have all four)."""
    found: dict[str, Counter[str]] = defaultdict(Counter)
    paginator = ec2.get_paginator("describe_vpc_endpoints")
    for page in paginator.paginate():
        for ep in page["VpcEndpoints"]:
            if ep["State"].lower() not in ("deleted", "deleting", "failed"):
                found[ep["VpcId"]][ep["ServiceName"].split(f".{REGION}.", 1)[1]] += 1
    per_service = all(all(n == 1 for n in found[v].values()) for v in vpc_ids)
    compliant = sum(1 for v in vpc_ids if set(found[v]) == {"ecr.dkr", "ecr.api", "logs", "s3"})
    return per_service, compliant

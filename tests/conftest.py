"""Shared fixtures: fake credentials, moto, one event loader, and an exact AWS call counter."""

from __future__ import annotations

import copy
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from endpoint_guard.aws import Clients, Ec2Adapter, Services
from endpoint_guard.reconcile import reconcile
from endpoint_guard.settings import Settings
from hypothesis import settings
from moto import mock_aws

from tools import emulator

# Property-based tests: 300 examples each under make test; make unit asks for the quick profile.
settings.register_profile("full", max_examples=300)
settings.register_profile("quick", max_examples=40)
settings.load_profile("full")

# moto reloads its catalogue of default AMIs on every reset; nothing here runs instances from them.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
# AWS's answers where moto has none (tools/emulator.py): DescribeClusters' counts (endpoint-guard reads
# them to decide which lists to read) and the routes ModifyVpcEndpoint adds to a gateway's tables.
emulator.install()

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"
SHARED = REPO.parent / "shared"
REGION = "us-east-1"

# The ids the sample events in events/ carry (tests map them onto moto's ids).
SAMPLE_VPC = "vpc-0c4f7a1e9b2d3c5a6"
SAMPLE_SUBNET = "subnet-0a9b8c7d6e5f40312"
SAMPLE_ROUTE_TABLE = "rtb-0f1e2d3c4b5a69788"

# Fields every cost object carries (check, report, plans).
REQUIRED_COST_FIELDS = frozenset(
    {
        "endpoints_monthly_usd",
        "nat_processing_avoided_monthly_usd",
        "break_even_gb_per_month",
        "traffic_gb_per_month",
        "traffic_source",
        "prices_as_of",
    }
)

MUTATING_PREFIXES = ("Create", "Modify", "Authorize", "Revoke", "Delete", "Associate", "Replace", "Attach")


class CfnLoader(yaml.SafeLoader):
    """Reads template.yaml: CloudFormation's short tags (!Ref, !Sub ...) become plain values."""


CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def emf(stdout: str) -> dict[str, float]:
    """Metric name -> total value over the EMF blobs the Metrics utilities printed."""
    values: dict[str, float] = {}
    for line in stdout.splitlines():
        if '"_aws"' in line:
            blob = json.loads(line)
            for definition in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = blob[definition["Name"]]
                total = sum(value) if isinstance(value, list) else value
                values[definition["Name"]] = values.get(definition["Name"], 0.0) + total
    return values


def load_event(name: str) -> dict:
    """An event from the repo's events/ folder."""
    return json.loads((EVENTS / name).read_text())


def with_vpc(event: dict, vpc_id: str) -> dict:
    """A copy of a CreateVpc event that names ``vpc_id`` (moto makes its own ids)."""
    event = copy.deepcopy(event)
    detail = event.get("detail", event)
    detail["responseElements"]["vpc"]["vpcId"] = vpc_id
    return event


SAMPLE_ENDPOINT = "vpce-0e1d2c3b4a5968778"
SAMPLE_GROUP = "sg-0b1c2d3e4f5a69788"


def sample(name: str, vpc_id: str, subnet_id: str | None = None, **ids: str) -> dict:
    """An events/ sample with moto's ids in place of the sample VPC (and subnet, and ``endpoint``,
    ``group``, ``route_table`` when given)."""
    text = (EVENTS / name).read_text().replace(SAMPLE_VPC, vpc_id)
    samples = {"endpoint": SAMPLE_ENDPOINT, "group": SAMPLE_GROUP, "route_table": SAMPLE_ROUTE_TABLE}
    for key, value in ids.items():
        text = text.replace(samples[key], value)
    return json.loads(text.replace(SAMPLE_SUBNET, subnet_id) if subnet_id else text)


def subnet_event(world, n: int) -> dict:
    """The sample CreateSubnet event as the n-th of a burst for ``world``'s VPC."""
    event = load_event("create-subnet.json")
    event["id"] = f"burst-envelope-{n}"
    event["detail"]["eventID"] = f"burst-event-{n}"
    event["detail"]["responseElements"]["subnet"]["vpcId"] = world.vpc_id
    event["detail"]["requestParameters"]["vpcId"] = world.vpc_id
    return event


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test: fake credentials, a fixed region, no real endpoint, no profile."""
    saved = dict(os.environ)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    for key in [k for k in os.environ if k.startswith("ENDPOINT_GUARD_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    yield
    os.environ.clear()  # a test that sets a stack's environment directly is undone here too
    os.environ.update(saved)


@pytest.fixture
def moto() -> Iterator[None]:
    from endpoint_guard.aws import workloads

    # Task definitions are cached by ARN (a revision never changes on AWS, and its number is never used
    # again); each moto world numbers its revisions from 1 again, so a world starts with an empty cache.
    workloads.forget_task_definitions()
    with mock_aws():
        yield


@pytest.fixture
def ec2(moto: None):
    """A client for setting up worlds. Not the one under test, so its calls are not counted."""
    return boto3.client("ec2", region_name=REGION)


@pytest.fixture
def ecs(moto: None):
    return boto3.client("ecs", region_name=REGION)


class CallRecorder:
    """Counts the API calls a client makes, by operation, via botocore's before-call event. Given a boto3
    session instead, it counts the calls of every client built from the session after this."""

    def __init__(self, client_or_session, service: str = "ec2") -> None:
        self.operations: list[str] = []
        if isinstance(client_or_session, boto3.session.Session):
            client_or_session.events.register(f"before-call.{service}.*", self._record)
        else:
            client_or_session.meta.events.register("before-call.*.*", self._record)

    def _record(self, model, **_: object) -> None:
        self.operations.append(model.name)

    @property
    def mutating(self) -> list[str]:
        return [op for op in self.operations if op.startswith(MUTATING_PREFIXES)]

    def reset(self) -> None:
        self.operations.clear()


@pytest.fixture
def clients(moto: None) -> Clients:
    """endpoint-guard's own clients for this test (injected into the code under test)."""
    return Clients(region=REGION)


@pytest.fixture
def services(clients: Clients) -> Services:
    return Services(clients)


@pytest.fixture
def calls(clients: Clients) -> CallRecorder:
    """Records every call endpoint-guard's own EC2 client makes (the client the adapters use)."""
    return CallRecorder(clients.client("ec2"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """A moto server on a free local port, for code that runs in other processes."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


# --- the test ladder: every test gets its tier from where it lives and what it uses ---------------------

_MOTO_FIXTURES = {"moto", "clients", "services", "calls", "ec2", "ecs", "moto_server"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``unit``: tests/unit, which must not use the emulator (checked here); ``moto``: anything that
    uses it; ``sam``: anything that needs the SAM CLI; ``slow``: sam, separate processes, the workflow."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        path = Path(str(item.fspath))
        uses_moto = bool(fixtures & _MOTO_FIXTURES)
        if "unit" in path.parts:
            if uses_moto:
                raise pytest.UsageError(f"{item.nodeid}: a unit test may not use moto ({fixtures & _MOTO_FIXTURES})")
            item.add_marker(pytest.mark.unit)
        if uses_moto:
            item.add_marker(pytest.mark.moto)
        if "sam" in fixtures or "cloudformation" in fixtures:
            item.add_marker(pytest.mark.sam)
            item.add_marker(pytest.mark.slow)
        if "moto_server" in fixtures or path.name in ("test_concurrency.py", "test_migration_plan.py", "test_burst.py"):
            item.add_marker(pytest.mark.slow)


# --- reconcile results, for the moto tests -----------------------------------------------------------


@pytest.fixture
def run(clients: Clients):
    """Reconcile a VPC with the test's clients (the ones ``calls`` records)."""
    return lambda vpc_id, **settings: reconcile(vpc_id, ec2=Ec2Adapter(clients), settings=Settings(**settings))


def endpoints_of(ec2, vpc_id: str) -> list[dict]:
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    return [e for e in found if e["State"].lower() != "deleted"]


def statuses(result: dict) -> dict[str, str]:
    return {e["service"]: e["status"] for e in result["endpoints"]}


def by_service(result: dict) -> dict[str, dict]:
    return {e["service"]: e for e in result["endpoints"]}


def on_every_client(monkeypatch: pytest.MonkeyPatch, service: str, event: str, hook: Any) -> None:
    """Register ``hook`` for botocore's ``event`` on every ``service`` client made from here on (the code
    under test makes its own clients): a way to give moto AWS's answers where moto differs."""
    original = boto3.session.Session.client

    def client(self: Any, *args: Any, **kwargs: Any) -> Any:
        made = original(self, *args, **kwargs)
        if (args[0] if args else kwargs.get("service_name")) == service:
            made.meta.events.register(event, hook)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)


def on_assume_role(monkeypatch: pytest.MonkeyPatch, hook: Any) -> None:
    """``hook(params)`` before every AssumeRole of every STS client made from here on: it may raise the
    ClientError AWS would answer (moto assumes any role and checks no trust policy or external id)."""
    on_every_client(monkeypatch, "sts", "provide-client-params.sts.AssumeRole", hook)


def share_vpc(monkeypatch: pytest.MonkeyPatch, vpc_id: str, owner: str) -> None:
    """Make ``vpc_id`` look shared with the caller by ``owner`` (RAM): DescribeVpcs of every EC2 client
    made from here on gives ``owner`` as its OwnerId, as AWS does for a participant. moto has no shared
    VPCs (the VPC is still the caller's in moto, so a call the code should not make would succeed)."""

    def owned_elsewhere(parsed: dict, **_: Any) -> None:
        for vpc in parsed.get("Vpcs", []):
            if vpc.get("VpcId") == vpc_id:
                vpc["OwnerId"] = owner

    on_every_client(monkeypatch, "ec2", "after-call.ec2.DescribeVpcs", owned_elsewhere)

"""Shared fixtures: fake credentials, moto, one event loader, and an exact AWS call counter."""

from __future__ import annotations

import copy
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from endpoint_guard import aws
from moto import mock_aws

# moto reloads its catalogue of default AMIs on every reset; nothing here runs instances from them.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"
SHARED = REPO.parent / "shared"
REGION = "us-east-1"

MUTATING_PREFIXES = ("Create", "Modify", "Authorize", "Revoke", "Delete", "Associate", "Replace", "Attach")


def load_event(name: str) -> dict:
    """An event from the repo's events/ folder."""
    return json.loads((EVENTS / name).read_text())


def with_vpc(event: dict, vpc_id: str) -> dict:
    """A copy of a CreateVpc event that names ``vpc_id`` (moto makes its own ids)."""
    event = copy.deepcopy(event)
    detail = event.get("detail", event)
    detail["responseElements"]["vpc"]["vpcId"] = vpc_id
    return event


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test: fake credentials, a fixed region, no real endpoint, no profile, fresh caches."""
    saved = dict(os.environ)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    for key in [k for k in os.environ if k.startswith("ENDPOINT_GUARD_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    aws.clear_caches()
    yield
    aws.clear_caches()
    os.environ.clear()  # the CLI writes os.environ as Lambda's environment would be; undo that too
    os.environ.update(saved)


@pytest.fixture
def moto() -> Iterator[None]:
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
    """Counts the API calls a client makes, by operation, via botocore's before-call event."""

    def __init__(self, client) -> None:
        self.operations: list[str] = []
        client.meta.events.register("before-call.*.*", self._record)

    def _record(self, model, **_: object) -> None:
        self.operations.append(model.name)

    @property
    def mutating(self) -> list[str]:
        return [op for op in self.operations if op.startswith(MUTATING_PREFIXES)]

    def reset(self) -> None:
        self.operations.clear()


@pytest.fixture
def calls(moto: None) -> CallRecorder:
    """Records every call endpoint-guard's own EC2 client makes (the client the adapter uses)."""
    return CallRecorder(aws.client("ec2"))


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

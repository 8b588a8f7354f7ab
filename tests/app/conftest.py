"""Fixtures for driving the handlers in-process: each test gets its own, with its own clients."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest
from endpoint_guard.lambdas.intake import make_intake
from endpoint_guard.lambdas.observability import logger, metrics
from endpoint_guard.lambdas.worker import make_worker

from tests.conftest import REGION, REPO
from tools.esm import create_stack


@pytest.fixture
def stack(moto, monkeypatch):
    """The stack's queues and state table on moto, and the functions' environment pointing at them."""
    created = create_stack(boto3.client("sqs", region_name=REGION), boto3.client("dynamodb", region_name=REGION))
    for key, value in created.env.items():
        monkeypatch.setenv(key, value)
    logger.setLevel("INFO")
    metrics.clear_metrics()
    return created


@pytest.fixture
def sqs(moto: None):
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def intake(clients):
    return make_intake(clients)


@pytest.fixture
def ensure_endpoints(clients):
    return make_worker(clients)


@pytest.fixture
def logs():
    """The handlers' log lines (as dicts), from here on."""
    stream = io.StringIO()
    logger.registered_handler.stream = stream
    logger.setLevel("INFO")
    metrics.clear_metrics()  # metrics added while disabled (in-process CLI tests) are never flushed
    return lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


# --- the SAM app -----------------------------------------------------------------------------------------

SAM_VENV = REPO / ".venv-sam" / "bin"


def sam_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(SAM_CLI_TELEMETRY="0", AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1")
    return env


@pytest.fixture(scope="session")
def sam() -> Path:
    if not (SAM_VENV / "sam").exists():
        pytest.fail("the SAM CLI is not installed in .venv-sam: run the tests with `make test`, which installs it")
    return SAM_VENV / "sam"


@pytest.fixture(scope="session")
def cloudformation(sam: Path) -> dict:
    out = subprocess.run(
        [str(SAM_VENV / "python"), str(REPO / "tools/translate_template.py"), str(REPO / "template.yaml")],
        capture_output=True,
        text=True,
        env=sam_env(),
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout)["Resources"]

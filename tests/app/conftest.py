"""Fixtures for driving the handlers in-process: each test gets its own, with its own clients."""

from __future__ import annotations

import io
import json

import pytest
from endpoint_guard.lambdas.intake import make_intake
from endpoint_guard.lambdas.observability import logger, metrics
from endpoint_guard.lambdas.worker import make_worker


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

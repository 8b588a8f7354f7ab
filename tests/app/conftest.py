"""Fixtures for driving the handlers in-process."""

from __future__ import annotations

import io
import json

import pytest
from endpoint_guard import handlers


@pytest.fixture
def logs():
    """The handlers' log lines (as dicts), from here on."""
    stream = io.StringIO()
    handlers.logger.registered_handler.stream = stream
    handlers.logger.setLevel("INFO")
    handlers.metrics.clear_metrics()  # metrics added while disabled (in-process CLI tests) are never flushed
    return lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

"""The ``endpoint-guard`` command: thin, it calls the same use cases as the Lambda functions."""

from endpoint_guard.cli.main import main

__all__ = ["main"]

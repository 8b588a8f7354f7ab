"""What the workflows' Lambda tasks share: classified failures, checked input, the plan bucket."""

from __future__ import annotations

import functools
import reprlib
from typing import Any

from endpoint_guard.errors import EndpointGuardError, InvalidEventError
from endpoint_guard.lambdas.observability import Handler, logger
from endpoint_guard.lambdas.runtime import Container


def classified(handler: Handler) -> Handler:
    """A task's input comes from the previous state or from a hand-started execution: whatever shape it
    has, a task fails with one of endpoint-guard's errors (its class name is what Retry and Catch see),
    never a bare TypeError."""

    @functools.wraps(handler)
    def task(event: Any, context: Any) -> Any:
        try:
            return handler(event, context)
        except EndpointGuardError:
            raise
        except (TypeError, AttributeError, KeyError, ValueError, IndexError, RecursionError) as err:
            logger.exception("malformed task input")
            raise InvalidEventError(f"malformed task input ({type(err).__name__}: {reprlib.repr(str(err))})") from err

    return task


def need(event: Any, *keys: str) -> dict[str, Any]:
    if not isinstance(event, dict) or any(k not in event for k in keys):
        raise InvalidEventError(f"expected an object with {', '.join(keys)}")
    return event


def plan_store(container: Container) -> Any:
    from endpoint_guard.aws import DocumentStore
    from endpoint_guard.errors import ConfigurationError
    from endpoint_guard.settings import Wiring

    bucket = Wiring.from_env().plan_bucket
    if not bucket:
        raise ConfigurationError("ENDPOINT_GUARD_PLAN_BUCKET is not set: the workflow keeps its documents there")
    return DocumentStore(bucket, container.clients)

"""The migration-plan workflow's Lambda tasks (statemachines/migration-plan.asl.json). Each is thin:
check its input, call one core function, return JSON. A failure raises a named error, whose class name
is the error the state machine's Retry and Catch match on.

``make_*`` build the handlers; ``functions/migration_*/app.py`` make the deployed ones."""

from __future__ import annotations

import functools
import reprlib
from typing import Any

from endpoint_guard.aws.base import Clients
from endpoint_guard.errors import EndpointGuardError, InvalidEventError
from endpoint_guard.lambdas.observability import Handler, logger, traced
from endpoint_guard.lambdas.runtime import Container
from endpoint_guard.model import valid_vpc_id
from endpoint_guard.profile import INTERFACE, load_profile
from endpoint_guard.settings import Settings


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


def _need(event: Any, *keys: str) -> dict[str, Any]:
    if not isinstance(event, dict) or any(k not in event for k in keys):
        raise InvalidEventError(f"expected an object with {', '.join(keys)}")
    return event


def interface_services(settings: Settings) -> list[str]:
    return [s.short for s in load_profile(settings.extra_services) if s.type == INTERFACE]


def make_discover(clients: Clients | None = None) -> Handler:
    container = Container(clients)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    @classified
    def discover_vpc(event: Any, context: Any) -> dict[str, Any]:
        """{vpc_id, deferred_route_tables?} -> {inventory}"""
        from endpoint_guard.aws import Services
        from endpoint_guard.migration.inventory import discover

        vpc_id = valid_vpc_id(_need(event, "vpc_id")["vpc_id"])
        logger.append_keys(vpc_id=vpc_id)
        settings = Settings.from_env()
        inventory = discover(
            vpc_id,
            Services(container.clients),
            event.get("deferred_route_tables") or [],
            default_gb=settings.default_gb_per_month,
        )
        logger.info(
            "discovered", extra={"services": len(inventory["services"]), "workloads": len(inventory["workloads"])}
        )
        return {"inventory": inventory}

    return discover_vpc


def make_target() -> Handler:
    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    @classified
    def plan_target(event: Any, context: Any) -> dict[str, Any]:
        """{inventory} -> {target}"""
        from endpoint_guard.migration.target import plan_target

        inventory = _need(_need(event, "inventory")["inventory"], "vpc_id", "cidrs", "subnets")
        logger.append_keys(vpc_id=inventory["vpc_id"])
        return {"target": plan_target(inventory, interface_services(Settings.from_env()))}

    return plan_target


def make_service() -> Handler:
    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    @classified
    def plan_service(event: Any, context: Any) -> dict[str, Any]:
        """{service, target} -> the service's cutover steps (one Map iteration)"""
        from endpoint_guard.migration.services import service_steps

        _need(event, "service", "target")
        return service_steps(_need(event["service"], "cluster", "service"), event["target"])

    return plan_service


def make_assemble() -> Handler:
    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    @classified
    def assemble_plan(event: Any, context: Any) -> dict[str, Any]:
        """{inventory, target, services, execution_name} -> {plan, markdown, summary, json_key, markdown_key}"""
        from endpoint_guard.cost.estimate import load_prices
        from endpoint_guard.migration import assemble, render_markdown, summary

        _need(event, "inventory", "target", "services")
        prices = load_prices(Settings.from_env().prices_file)
        plan = assemble(event["inventory"], event["target"], event["services"], prices)
        prefix = f"plans/{plan['source_vpc_id']}/{event.get('execution_name') or 'manual'}"
        return {
            "plan": plan,
            "markdown": render_markdown(plan),
            "summary": summary(plan),
            "json_key": f"{prefix}/plan.json",
            "markdown_key": f"{prefix}/plan.md",
        }

    return assemble_plan

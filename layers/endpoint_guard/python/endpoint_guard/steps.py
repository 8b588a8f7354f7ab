"""The migration-plan workflow's Lambda tasks (statemachines/migration-plan.asl.json). Each is thin:
check its input, call one core function, return JSON. A failure raises a named error, whose class name
is the error the state machine's Retry and Catch match on."""

from __future__ import annotations

from typing import Any

from endpoint_guard import migration
from endpoint_guard.cost import load_prices
from endpoint_guard.errors import InvalidEventError
from endpoint_guard.events import VPC_ID
from endpoint_guard.handlers import logger, traced
from endpoint_guard.inventory import DiscoveryAdapters, discover
from endpoint_guard.profile import INTERFACE, load_profile
from endpoint_guard.settings import Settings


def _need(event: Any, *keys: str) -> dict:
    if not isinstance(event, dict) or any(k not in event for k in keys):
        raise InvalidEventError(f"expected an object with {', '.join(keys)}")
    return event


def interface_services() -> list[str]:
    return [s.short for s in load_profile(Settings.from_env().extra_services) if s.type == INTERFACE]


@logger.inject_lambda_context(log_event=False, clear_state=True)
@traced
def discover_vpc(event: dict, context: Any) -> dict:
    """{vpc_id, deferred_route_tables?} -> {inventory}"""
    vpc_id = _need(event, "vpc_id")["vpc_id"]
    if not isinstance(vpc_id, str) or not VPC_ID.match(vpc_id):
        raise InvalidEventError(f"{vpc_id!r} is not a VPC id")
    logger.append_keys(vpc_id=vpc_id)
    settings = Settings.from_env()
    inventory = discover(
        vpc_id, DiscoveryAdapters(), event.get("deferred_route_tables") or [], default_gb=settings.default_gb_per_month
    )
    logger.info("discovered", extra={"services": len(inventory["services"]), "workloads": len(inventory["workloads"])})
    return {"inventory": inventory}


@logger.inject_lambda_context(log_event=False, clear_state=True)
@traced
def plan_target(event: dict, context: Any) -> dict:
    """{inventory} -> {target}"""
    inventory = _need(_need(event, "inventory")["inventory"], "vpc_id", "cidrs", "subnets")
    logger.append_keys(vpc_id=inventory["vpc_id"])
    return {"target": migration.plan_target(inventory, interface_services())}


@logger.inject_lambda_context(log_event=False, clear_state=True)
@traced
def plan_service(event: dict, context: Any) -> dict:
    """{service, target} -> the service's cutover steps (one Map iteration)"""
    _need(event, "service", "target")
    return migration.service_steps(_need(event["service"], "cluster", "service"), event["target"])


@logger.inject_lambda_context(log_event=False, clear_state=True)
@traced
def assemble_plan(event: dict, context: Any) -> dict:
    """{inventory, target, services, execution_name} -> {plan, markdown, summary, json_key, markdown_key}"""
    _need(event, "inventory", "target", "services")
    prices = load_prices(Settings.from_env().prices_file)
    plan = migration.assemble(event["inventory"], event["target"], event["services"], prices)
    prefix = f"plans/{plan['source_vpc_id']}/{event.get('execution_name') or 'manual'}"
    return {
        "plan": plan,
        "markdown": migration.render_markdown(plan),
        "summary": migration.summary(plan),
        "json_key": f"{prefix}/plan.json",
        "markdown_key": f"{prefix}/plan.md",
    }

"""The migration-plan workflow's Lambda tasks (statemachines/migration-plan.asl.json). Each is thin:
check its input, call one core function, return JSON. A failure raises a named error, whose class name
is the error the state machine's Retry and Catch match on.

``make_*`` build the handlers; ``functions/migration_*/app.py`` make the deployed ones."""

from __future__ import annotations

import re
from typing import Any

from endpoint_guard.aws.base import Clients
from endpoint_guard.errors import EndpointGuardError, InvalidEventError
from endpoint_guard.lambdas.observability import Handler, logger, traced
from endpoint_guard.lambdas.runtime import Container
from endpoint_guard.lambdas.tasks import classified, need, plan_store
from endpoint_guard.model import valid_vpc_id
from endpoint_guard.profile import interface_services
from endpoint_guard.settings import Settings, Wiring


def _key(event: dict[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value.startswith(("work/", "plans/")):
        raise InvalidEventError(f"{name} must be a key in the plan bucket")
    return value


def make_discover(clients: Clients | None = None) -> Handler:
    container = Container(clients)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    @classified
    def discover_vpc(event: Any, context: Any) -> dict[str, Any]:
        """{vpc_id, deferred_route_tables?, execution_name?} -> {prefix, inventory_key, services: [{service_key}]}:
        the inventory and each service's summary are stored; the state carries their keys."""
        from endpoint_guard.aws import Services
        from endpoint_guard.migration.inventory import discover

        vpc_id = valid_vpc_id(need(event, "vpc_id")["vpc_id"])
        logger.append_keys(vpc_id=vpc_id)
        settings = Settings.from_env()
        store = plan_store(container)
        account, region = _place(event.get("where") if isinstance(event.get("where"), dict) else event)
        inventory = discover(
            vpc_id,
            Services(container.at(Wiring.from_env(), context, account, region)),
            event.get("deferred_route_tables") or [],
            default_gb=settings.default_gb_per_month,
        )
        prefix = f"work/{vpc_id}/{_name(event)}"
        services = [
            {"service_key": store.put_json(f"{prefix}/services/{n:05d}.json", service)}
            for n, service in enumerate(inventory["services"])
        ]
        logger.info("discovered", extra={"services": len(services), "workloads": len(inventory["workloads"])})
        return {
            "prefix": prefix,
            "inventory_key": store.put_json(f"{prefix}/inventory.json", inventory),
            "services": services,
        }

    return discover_vpc


def _place(event: dict[str, Any]) -> tuple[str | None, str | None]:
    """The VPC's account and Region, when the execution's input names them (a hub's member VPC)."""
    from endpoint_guard.worker.messages import ACCOUNT, REGION

    account, region = event.get("account"), event.get("region")
    if account is not None and not (isinstance(account, str) and ACCOUNT.fullmatch(account)):
        raise InvalidEventError("account must be a 12-digit account id")
    if region is not None and not (isinstance(region, str) and REGION.fullmatch(region)):
        raise InvalidEventError("region must be a Region name")
    return account, region


def _name(event: dict[str, Any]) -> str:
    name = event.get("execution_name")
    return name if isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name) else "manual"


def make_target(clients: Clients | None = None) -> Handler:
    container = Container(clients)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    @classified
    def plan_target(event: Any, context: Any) -> dict[str, Any]:
        """{inventory_key, prefix} -> {target_key}"""
        from endpoint_guard.migration.target import plan_target

        need(event, "inventory_key", "prefix")
        store = plan_store(container)
        inventory = need(store.get_json(_key(event, "inventory_key")), "vpc_id", "cidrs", "subnets")
        logger.append_keys(vpc_id=inventory["vpc_id"])
        target = plan_target(inventory, interface_services(Settings.from_env().extra_services))
        return {"target_key": store.put_json(f"{_key(event, 'prefix')}/target.json", target)}

    return plan_target


def make_service(clients: Clients | None = None) -> Handler:
    container = Container(clients)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    @classified
    def plan_service(event: Any, context: Any) -> dict[str, Any]:
        """{service_key, target_key} -> {steps_key}: one service's cutover steps (one Map iteration)"""
        from endpoint_guard.migration.services import service_steps

        need(event, "service_key", "target_key")
        store = plan_store(container)
        service_key = _key(event, "service_key")
        steps = service_steps(
            need(store.get_json(service_key), "cluster", "service"), store.get_json(_key(event, "target_key"))
        )
        return {"steps_key": store.put_json(service_key.replace("/services/", "/steps/"), steps)}

    return plan_service


def make_assemble(clients: Clients | None = None) -> Handler:
    container = Container(clients)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    @classified
    def assemble_plan(event: Any, context: Any) -> dict[str, Any]:
        """{inventory_key, target_key, services: [{steps_key}], execution_name} -> {markdown_key, json_key, summary}:
        plan.md first, then plan.json (which marks a complete plan); a failed write of the second
        discards the first."""
        from endpoint_guard.cost.estimate import load_prices
        from endpoint_guard.migration import assemble, render_markdown, summary

        need(event, "inventory_key", "target_key", "services")
        if not isinstance(event["services"], list):
            raise InvalidEventError("services must be a list of {steps_key}")
        store = plan_store(container)
        inventory, target = store.get_json(_key(event, "inventory_key")), store.get_json(_key(event, "target_key"))
        services = [store.get_json(_key(need(s, "steps_key"), "steps_key")) for s in event["services"]]
        plan = assemble(inventory, target, services, load_prices(Settings.from_env().prices_file))
        prefix = f"plans/{plan['source_vpc_id']}/{_name(event)}"
        markdown_key, json_key = f"{prefix}/plan.md", f"{prefix}/plan.json"
        store.put_text(markdown_key, render_markdown(plan), "text/markdown")
        try:
            store.put_json(json_key, plan)
        except EndpointGuardError:
            store.delete(markdown_key)
            raise
        return {"markdown_key": markdown_key, "json_key": json_key, "summary": summary(plan)}

    return assemble_plan

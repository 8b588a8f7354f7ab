"""The maintenance window's Lambda tasks (statemachines/deferred-window.asl.json), thin like the sweep's:
``plan`` lists the approved deferred VPCs of every enrolled account-Region (and, at the end, words what
happened), ``apply`` adds the gateway to a VPC's next deferred route table, ``check`` says whether the
services behind it stayed steady. ``functions/window_*/app.py`` make the deployed ones."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from endpoint_guard.aws.base import Clients
from endpoint_guard.errors import EndpointGuardError, InvalidEventError
from endpoint_guard.lambdas.observability import Handler, logger, traced
from endpoint_guard.lambdas.runtime import Container, own_account
from endpoint_guard.lambdas.tasks import classified, need
from endpoint_guard.settings import Settings, Wiring
from endpoint_guard.worker.messages import ACCOUNT, REGION

Raw = dict[str, Any]


def _target(event: Raw) -> Raw:
    target = need(need(event, "vpc")["vpc"], "vpc_id", "region")
    from endpoint_guard.model import valid_vpc_id

    valid_vpc_id(target["vpc_id"])
    if not isinstance(target["region"], str) or not REGION.fullmatch(target["region"]):
        raise InvalidEventError("vpc.region must be a Region name")
    account = target.get("account")
    if account is not None and not (isinstance(account, str) and ACCOUNT.fullmatch(account)):
        raise InvalidEventError("vpc.account must be a 12-digit account id")
    return target


def make_plan(clients: Clients | None = None) -> Handler:
    container = Container(clients)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    @classified
    def plan_window(event: Any, context: Any) -> Raw:
        """{step: "collect"} -> {run, vpcs, count, settle_seconds, message};
        {step: "report", run, results} -> {message, added, stopped}."""
        from endpoint_guard.deferred.window import announcement, summary

        event = event if isinstance(event, dict) else {}
        wiring = Wiring.from_env()
        if event.get("step") == "report":
            run, results = str(need(event, "run", "results")["run"]), event["results"]
            if not isinstance(results, list):
                raise InvalidEventError("results must be the Map's list")
            return {
                "message": summary(run, results),
                "added": sum(len(r.get("added") or []) for r in results),
                "stopped": sum(1 for r in results if r.get("outcome") == "stopped"),
            }
        run = str(event.get("run") or time.strftime("window-%Y%m%dT%H%M%SZ", time.gmtime()))
        targets = [t.document() for t in _window_targets(container, wiring, context)]
        logger.info("window", run=run, vpcs=len(targets), approval=wiring.deferred_gateway_approval)
        return {
            "run": run,
            "vpcs": targets,
            "count": len(targets),
            "settle_seconds": wiring.deferred_gateway_settle_seconds,
            "message": announcement(run, targets, wiring.deferred_gateway_settle_seconds),
        }

    return plan_window


def _window_targets(container: Container, wiring: Wiring, context: Any) -> list[Any]:
    """The state table's approvals and deferral records, and the VPCs tagged for the window in every
    enrolled account-Region (one DescribeVpcs each, through the member role in a hub)."""
    from endpoint_guard.aws import Ec2Lookups, StateTable
    from endpoint_guard.deferred.approval import WINDOW_TAG, WINDOW_TAG_VALUE, tag_approval, window_targets
    from endpoint_guard.errors import ConfigurationError
    from endpoint_guard.lambdas.sweep import targets

    if not wiring.state_table:
        raise ConfigurationError("ENDPOINT_GUARD_STATE_TABLE is not set: the window reads its approvals there")
    approvals, deferred = StateTable(wiring.state_table, container.clients).window_items()
    own = own_account(context)
    for target in targets(container, wiring, context):
        try:
            clients = container.at(wiring, context, target.account, target.region)
            tagged = Ec2Lookups(clients).tagged_vpcs(WINDOW_TAG, WINDOW_TAG_VALUE)
        except EndpointGuardError as err:  # an account-Region that cannot be read is skipped, said in the log
            logger.warning("window target unreachable", account=target.account, region=target.region, error=str(err))
            continue
        account = None if target.account in (None, own) else target.account
        approvals += [a for v in tagged if (a := tag_approval(v, target.region, account))]
    return window_targets(approvals, deferred, mode=wiring.deferred_gateway_approval, now=time.time())


def make_apply(
    clients: Clients | None = None,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Handler:
    container = Container(clients)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    @classified
    def apply_window(event: Any, context: Any) -> Raw:
        """{run, vpc, added} -> the step: the table added (or done), the services behind it, the baseline
        of their stopped tasks."""
        from endpoint_guard.aws import Ec2Adapter, StateTable
        from endpoint_guard.aws.ecs import ServiceHealth
        from endpoint_guard.aws.workloads import pull_path
        from endpoint_guard.deferred.window import next_table
        from endpoint_guard.worker.pacing import Budget, Pace, Pacer, pace_key

        event = need(event, "run", "vpc")
        target, wiring = _target(event), Wiring.from_env()
        added = [str(t) for t in event.get("added") or []]
        account, region = target.get("account"), str(target["region"])
        here = container.at(wiring, context, account, region)
        settings = Settings.from_env()
        pace = None
        state = StateTable(wiring.state_table, container.clients) if wiring.state_table else None
        if state is not None:
            remaining = getattr(context, "get_remaining_time_in_millis", lambda: 60_000)()
            pace = Pacer(
                store=state,
                key=pace_key(account, region),
                pace=Pace(wiring.endpoint_calls_per_second, wiring.endpoint_call_burst),
                budget=Budget.from_remaining(clock(), remaining, wiring.budget_margin_seconds),
                clock=clock,
                sleep=sleep,
            )
        scoped = None
        if state is not None:
            scoped = state.of(account, region)
            released = scoped.mark(target["vpc_id"]).released_at
            if released is not None and clock() - released < wiring.release_quiet_seconds:
                # Its owner is deleting it (the worker released endpoint-guard's resources): left alone.
                logger.info("window step", vpc_id=target["vpc_id"], outcome="stood aside")
                return {
                    "vpc_id": target["vpc_id"],
                    "added": added,
                    "deferred_route_tables": [],
                    "done": True,
                    "outcome": "stood aside",
                    "compliant": False,
                    "baseline": [],
                }
        step = next_table(
            target,
            added,
            ec2=Ec2Adapter(here),
            settings=settings,
            workloads=pull_path(here, settings, account),
            pace=pace,
            now=clock(),
            run=str(event["run"]),
        )
        step["baseline"] = ServiceHealth(here).stopped(step.get("services", [])) if not step["done"] else []
        if scoped is not None:  # what is left deferred, for the next window
            left = [t for t in step["deferred_route_tables"] if t not in step["added"]]
            if step["done"] and not left:
                scoped.forget_deferred(target["vpc_id"])
            elif left:
                scoped.record_deferred(target["vpc_id"], region, account, left, int(clock()))
        logger.info("window step", vpc_id=target["vpc_id"], outcome=step["outcome"], table=step.get("table"))
        return step

    return apply_window


def make_check(clients: Clients | None = None) -> Handler:
    container = Container(clients)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    @classified
    def check_window(event: Any, context: Any) -> Raw:
        """{vpc, step} -> {steady, saw}: the services behind the table just changed, after the settle time."""
        from endpoint_guard.aws.ecs import ServiceHealth
        from endpoint_guard.deferred.window import still_steady

        event = need(event, "vpc", "step")
        target, step = _target(event), need(event["step"], "services")
        health = ServiceHealth(container.at(Wiring.from_env(), context, target.get("account"), str(target["region"])))
        baseline = set(step.get("baseline") or [])

        def describe(services: list[str]) -> tuple[list[Raw], list[Raw]]:
            new = [arn for arn in health.stopped(services) if arn not in baseline]
            return health.described(services), health.tasks(new)

        checked = still_steady(step, describe)
        logger.info("window check", vpc_id=target["vpc_id"], steady=checked["steady"], saw=checked["saw"])
        return checked

    return check_window

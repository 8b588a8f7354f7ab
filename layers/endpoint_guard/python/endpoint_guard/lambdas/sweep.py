"""The fleet-sweep workflow's Lambda tasks (statemachines/fleet-sweep.asl.json), thin like the migration
tasks: ``plan`` lists each target's VPCs into chunks (a JSON file in the plan bucket, the Distributed
Map's items), ``chunk`` sweeps one chunk with reads made once for it and writes its rows, ``report``
assembles the fleet report (JSON and Markdown) and the notification. ``functions/sweep_*/app.py`` make the
deployed ones. The states carry keys and counts, never the rows (a state's payload is capped at 256 KiB)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from endpoint_guard.aws.base import Clients
from endpoint_guard.errors import EndpointGuardError, InvalidEventError
from endpoint_guard.lambdas.observability import Handler, logger, traced
from endpoint_guard.lambdas.runtime import Container, own_account
from endpoint_guard.lambdas.tasks import classified, need, plan_store
from endpoint_guard.settings import Settings, Wiring
from endpoint_guard.worker.messages import ACCOUNT, REGION

TOLERATED_FAILURE_PERCENTAGE = 10
CHUNK = 25  # VPCs per Distributed Map item: one set of fleet reads serves them all
RUN = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")


def _run(event: dict[str, Any]) -> str:
    run = event.get("run")
    if not isinstance(run, str) or not RUN.fullmatch(run):
        raise InvalidEventError("run must be the sweep's name (letters, digits, _.:-)")
    return run


def make_plan(clients: Clients | None = None) -> Handler:
    container = Container(clients)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    @classified
    def plan_sweep(event: Any, context: Any) -> dict[str, Any]:
        """{run?, mode?} -> {run, mode, bucket, items_key, chunks, vpcs, unreachable, ...the Map's settings}."""
        from endpoint_guard.aws import Ec2Lookups
        from endpoint_guard.aws.workloads import PullPathReads
        from endpoint_guard.fleet.usecase import schedule
        from endpoint_guard.model import ignored

        event = event if isinstance(event, dict) else {}
        wiring = Wiring.from_env()
        run = event.get("run") or time.strftime("sweep-%Y%m%dT%H%M%SZ", time.gmtime())
        _run({"run": run})
        mode = event.get("mode") or wiring.sweep_mode
        if mode not in ("report", "enforce"):
            raise InvalidEventError("mode must be report or enforce")
        store = plan_store(container)
        items, unreachable, vpcs = [], [], 0
        for target in targets(container, wiring, context):
            account, region = target.account, target.region
            try:
                found = Ec2Lookups(container.at(wiring, context, account, region)).all_vpcs()
            except EndpointGuardError as err:  # a target that cannot be read is reported, the rest goes on
                unreachable.append({"account": account, "region": region, "reason": str(err)})
                continue
            ids = sorted(str(v["VpcId"]) for v in found)
            vpcs += len(ids)
            # The pull path of the account-Region, read once here and stored for its chunks.
            paths_key = f"sweeps/{run}/paths/{account or 'self'}-{region}.json"
            clients = container.at(wiring, context, account, region)
            store.put_json(paths_key, PullPathReads(clients).stored() if ids else {"workloads": [], "facts": {}})
            for start in range(0, len(ids), CHUNK):
                items.append(
                    {
                        "account": target.account,
                        "region": region,
                        "vpc_ids": ids[start : start + CHUNK],
                        "paths_key": paths_key,
                    }
                )
            logger.info(
                "listed", account=account, region=region, vpcs=len(ids), ignored=sum(1 for v in found if ignored(v))
            )
        prefix = f"sweeps/{run}/"
        items = schedule(items, wiring.sweep_describe_calls_per_second, wiring.sweep_describe_burst)
        store.put_json(prefix + "items.json", items)
        store.put_json(prefix + "unreachable.json", unreachable)
        return {
            "run": run,
            "mode": mode,
            "bucket": store.bucket,
            "items_key": prefix + "items.json",
            "chunks": len(items),
            "vpcs": vpcs,
            "unreachable": len(unreachable),
            "max_concurrency": wiring.sweep_max_concurrency,
            # Chunks that may fail (after their retries) before the whole sweep fails.
            "tolerated_failure_percentage": TOLERATED_FAILURE_PERCENTAGE,
        }

    return plan_sweep


def targets(container: Container, wiring: Wiring, context: Any) -> list[Any]:
    """What the sweep covers: a single-account stack's own account in the sweep's Regions (none: its
    own); a hub's enrolled accounts (none named: the Organization's active accounts) and its own, in
    each of those Regions."""
    from endpoint_guard.fleet.usecase import Target

    own = own_account(context)
    regions = wiring.sweep_regions or (str(container.clients.client("ec2").meta.region_name),)
    accounts: list[str | None] = [own]
    if wiring.hub:
        from endpoint_guard.fleet.connect import organization_accounts

        members = wiring.fleet_accounts or tuple(organization_accounts(container.clients))
        accounts += [a for a in members if a != own]
    return [Target(account, region) for account in accounts for region in regions]


def make_chunk(
    clients: Clients | None = None,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Handler:
    """``clock`` and ``sleep``: the task's time (a simulated sweep passes its own)."""
    container = Container(clients)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    @classified
    def sweep_chunk(event: Any, context: Any) -> dict[str, Any]:
        """{run, mode, item: {account, region, vpc_ids}} -> {rows_key, vpcs, compliant}."""
        import dataclasses

        from endpoint_guard.aws import Ec2Adapter, StateTable
        from endpoint_guard.fleet.usecase import Target, chunk_describes, sweep_target
        from endpoint_guard.worker.pacing import Budget, Pace, Pacer, pace_key

        event = need(event, "run", "mode", "item")
        run, item = _run(event), need(event["item"], "region", "vpc_ids")
        region, vpc_ids = item["region"], item["vpc_ids"]
        if not isinstance(region, str) or not REGION.fullmatch(region):
            raise InvalidEventError("item.region must be a Region name")
        if not isinstance(vpc_ids, list) or not vpc_ids or len(vpc_ids) > 200:
            raise InvalidEventError("item.vpc_ids must be 1 to 200 VPC ids")
        from endpoint_guard.model import valid_vpc_id

        vpc_ids = [valid_vpc_id(v) for v in vpc_ids]
        settings = dataclasses.replace(Settings.from_env(), verify_dns=True, dry_run=event["mode"] != "enforce")
        wiring = Wiring.from_env()
        account = item.get("account")
        if account is not None and not (isinstance(account, str) and ACCOUNT.fullmatch(account)):
            raise InvalidEventError("item.account must be a 12-digit account id")
        ec2 = Ec2Adapter(container.at(wiring, context, account, region))
        member = account if account not in (None, own_account(context)) else None
        account = account or own_account(context)
        pace, paced, scoped = None, None, None
        if wiring.state_table:
            remaining = getattr(context, "get_remaining_time_in_millis", lambda: 60_000)()
            budget = Budget.from_remaining(clock(), remaining, wiring.budget_margin_seconds)
            state = StateTable(wiring.state_table, container.clients)
            scoped = state.of(member, region)  # the account-Region's items: approvals, findings digests

            def pacer(bucket: str, rate: float, burst: int) -> Pacer:
                key = pace_key(account, region, bucket)
                return Pacer(store=state, key=key, pace=Pace(rate, burst), budget=budget, clock=clock, sleep=sleep)

            # Every chunk of the account-Region shares the sweep's describe pace: its reads are reserved in
            # one write, then each describe waits for its slot.
            describes = pacer("ec2-describes", wiring.sweep_describe_calls_per_second, wiring.sweep_describe_burst)
            describes.reserve(chunk_describes(len(vpc_ids)))

            def paced(model: Any, **_: Any) -> None:
                if model.name.startswith("Describe"):
                    describes()

            # The container keeps its clients between invocations: this invocation's hook goes with it.
            ec2.client.meta.events.register("before-call.ec2", paced)
            if not settings.dry_run:
                pace = pacer("ec2-endpoints", wiring.endpoint_calls_per_second, wiring.endpoint_call_burst)
        paths = None
        if isinstance(item.get("paths_key"), str) and item["paths_key"].startswith(f"sweeps/{run}/paths/"):
            from endpoint_guard.aws.workloads import StoredPullPath
            from endpoint_guard.cost.estimate import load_prices, region_prices

            prices = region_prices(load_prices(settings.prices_file), region)[0]
            stored = plan_store(container).get_json(item["paths_key"])
            paths = StoredPullPath(
                stored,
                account=account,
                nat_gb_price=float(prices["nat_gb"]),
                endpoint_hour_price=float(prices["endpoint_hour"]),
                endpoint_gb_price=float(prices["endpoint_gb"]),
            )
        findings = None
        if settings.security_hub_findings:  # each VPC's verdict, imported by the account it belongs to
            findings = _findings(ec2, str(account), scoped)
        try:
            rows = sweep_target(
                ec2,
                Target(account, region),
                settings,
                exclude=wiring.sweep_exclude_vpc_ids,
                vpc_ids=vpc_ids,
                pace=pace,
                workloads=paths,
                approvals=scoped.approval if scoped else None,  # the fleet report shows those that stand
                findings=findings,
            )
        finally:
            if paced is not None:
                ec2.client.meta.events.unregister("before-call.ec2", paced)
        key = f"sweeps/{run}/rows/{account or 'self'}-{region}-{vpc_ids[0]}.json"
        plan_store(container).put_json(key, rows)
        return {"rows_key": key, "vpcs": len(rows), "compliant": sum(1 for r in rows if r.get("compliant"))}

    return sweep_chunk


def _findings(ec2: Any, account: str, store: Any) -> Any:
    """Security Hub's import of each swept VPC's result, through the clients the chunk reconciles with (a
    member's role for a member's VPC); the state table's digest (``store``) spares unchanged VPCs the call."""
    from endpoint_guard.aws.securityhub import SecurityHubAdapter
    from endpoint_guard.lambdas.observability import LambdaObserver
    from endpoint_guard.securityhub.usecase import publisher

    # The chunk flushes no metrics: its findings are counted in its log lines.
    observer = LambdaObserver(emit_metrics=False)
    return publisher(lambda: SecurityHubAdapter(ec2.clients), lambda: account, lambda: ec2.partition, store, observer)


def make_report(clients: Clients | None = None) -> Handler:
    container = Container(clients)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    @classified
    def report_sweep(event: Any, context: Any) -> dict[str, Any]:
        """{run, mode, ...} -> {summary, json_key, markdown_key, message}: every chunk's rows, assembled."""
        from endpoint_guard.cost.html import render_html
        from endpoint_guard.fleet.render import render_fleet
        from endpoint_guard.fleet.usecase import summarise

        run = _run(need(event, "run", "mode"))
        store = plan_store(container)
        prefix = f"sweeps/{run}/"
        rows = [row for key in store.keys(prefix + "rows/") for row in store.get_json(key)]
        rows.sort(key=lambda r: (str(r["account"]), r["region"], r["vpc_id"]))
        unreachable = store.get_json(prefix + "unreachable.json")
        report: dict[str, Any] = {"summary": summarise(rows, unreachable, event["mode"] != "enforce"), "vpcs": rows}
        store.put_json(prefix + "report.json", report)
        store.put_text(prefix + "report.md", render_fleet(report, markdown=True), "text/markdown")
        store.put_text(prefix + "report.html", render_html(rows, f"endpoint-guard fleet sweep {run}"), "text/html")
        s = report["summary"]
        message = (
            f"endpoint-guard fleet sweep {run} ({s['mode']}): {s['vpcs']} VPC(s), {s['compliant']} compliant, "
            f"{s['not_compliant']} not, {s['errors']} with errors, {len(unreachable)} target(s) unreachable. "
            f"Report: s3://{store.bucket}/{prefix}report.md"
        )
        return {
            "summary": s,
            "json_key": prefix + "report.json",
            "markdown_key": prefix + "report.md",
            "message": message,
        }

    return report_sweep

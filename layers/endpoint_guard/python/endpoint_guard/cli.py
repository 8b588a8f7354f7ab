"""The ``endpoint-guard`` command. Options go after the subcommand, as people type them."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from endpoint_guard.cost import describe as describe_cost
from endpoint_guard.errors import EndpointGuardError

EXIT_OK = 0
EXIT_NOT_COMPLIANT = 1
EXIT_ERROR = 2
PROGRESS_FROM = 5  # VPCs; fewer finish before a progress bar would help


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every other input error
        self.exit(EXIT_ERROR, f"endpoint-guard: {message}\n")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-url", help="AWS endpoint to use (a moto server, for example)")
    parser.add_argument("--region", help="AWS region (default: the usual AWS configuration)")
    parser.add_argument("--profile", help="AWS named profile")
    parser.add_argument("--json", action="store_true", help="print the result document as JSON")
    parser.add_argument("--verbose", action="store_true", help="show the function's log lines on stderr")


def _traffic(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gb-per-month",
        type=_gb,
        help="image-pull traffic to assume for the cost estimate (overrides NAT metrics and ECR image sizes)",
    )


def _gb(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of GB (0 or more)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="endpoint-guard", description="Keep the VPC endpoints ECS image pulls need.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    invoke = sub.add_parser(
        "invoke", help="run an event file through the intake handler, reconciling in-process instead of queueing"
    )
    invoke.add_argument("event_file", help="a JSON event (see events/)")
    invoke.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    check = sub.add_parser("check", help="is a VPC compliant, and do its endpoints pay? (read-only; exit 0, 1 or 2)")
    check.add_argument("vpc_id", help="the VPC")
    _traffic(check)
    ensure = sub.add_parser("ensure", help="make a VPC compliant (exit 0 compliant, 1 not, 2 error)")
    ensure.add_argument("vpc_id", help="the VPC")
    ensure.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    plan = sub.add_parser(
        "plan",
        help="plan the move of a VPC's ECS services into a new VPC that has the S3 gateway (Markdown; --json)",
    )
    plan.add_argument("vpc_id", help="the source VPC")
    _traffic(plan)
    report = sub.add_parser("report", help="every VPC of the region: compliance, deferred route tables, tasks, cost")
    _traffic(report)
    for command in (invoke, check, ensure, plan, report):
        _common(command)
    return parser


def _configure_environment(args: argparse.Namespace) -> None:
    """The handler reads its settings from the environment, as in Lambda; the options set it."""
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    if args.region:
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = args.region
    if args.profile:
        os.environ["AWS_PROFILE"] = args.profile
    if getattr(args, "dry_run", False):
        os.environ["ENDPOINT_GUARD_DRY_RUN"] = "true"
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # EMF lines are for CloudWatch, not a terminal
    # A hand-run reconciles here and now: never through a deployed stack's queue or its dedup table.
    for name in ("ENDPOINT_GUARD_QUEUE_URL", "ENDPOINT_GUARD_STATE_TABLE"):
        os.environ.pop(name, None)


def _route_logs(logger: Any, verbose: bool) -> None:
    """Log lines go to stderr (stdout is for the result), and only with --verbose: without it an error
    is the CLI's own single line."""
    logger.registered_handler.stream = sys.stderr
    logger.setLevel("INFO" if verbose else "CRITICAL")


def _context() -> Any:
    """What Powertools reads from a Lambda context, for a run outside Lambda."""
    return SimpleNamespace(
        function_name="endpoint-guard-cli",
        memory_limit_in_mb=0,
        # No account in the ARN: a hand-run targets what the operator chose, so the handler's
        # "event from another account" check has nothing to compare with and stays off.
        invoked_function_arn="arn:aws:lambda:local:cli:function:endpoint-guard-cli",
        aws_request_id="cli",
    )


def _load_event(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except OSError as err:
        raise EndpointGuardError(f"cannot read {path}: {err.strerror}") from err
    except ValueError as err:
        raise EndpointGuardError(f"{path} is not valid JSON: {err}") from err


def _invoke(args: argparse.Namespace) -> int:
    event = _load_event(args.event_file)
    _configure_environment(args)
    from endpoint_guard import handlers  # after the environment is set: Powertools reads it at import

    _route_logs(handlers.logger, args.verbose)
    output = handlers.intake(event, _context())
    results, skipped = output["results"], output["skipped"]
    if args.json:
        document: Any = results[0] if len(results) == 1 and not skipped else output
        print(json.dumps(document, indent=2, sort_keys=False))
    else:
        for item in skipped:
            print(f"skipped {item['event_name']}: {item['reason']}")
        for result in results:
            print(render(result))
    return EXIT_OK


def _vpc_id(text: str) -> str:
    from endpoint_guard.events import VPC_ID

    if not VPC_ID.match(text):
        raise EndpointGuardError(f"{text!r} is not a VPC id (vpc- followed by 8 or 17 hex digits)")
    return text


def _start(args: argparse.Namespace) -> Any:
    """Environment, logs and settings for a subcommand that talks to AWS."""
    _configure_environment(args)
    from endpoint_guard import handlers
    from endpoint_guard.settings import Settings

    _route_logs(handlers.logger, args.verbose)
    return Settings.from_env()


def _check(args: argparse.Namespace) -> int:
    vpc_id = _vpc_id(args.vpc_id)
    settings = _start(args)
    from endpoint_guard.survey import SurveyAdapters, check

    result = check(vpc_id, settings, SurveyAdapters(), args.gb_per_month)
    print(json.dumps(result, indent=2) if args.json else render(result) + "\n" + describe_cost(result["cost"]))
    return EXIT_OK if result["compliant"] else EXIT_NOT_COMPLIANT


def _ensure(args: argparse.Namespace) -> int:
    vpc_id = _vpc_id(args.vpc_id)
    _start(args)
    from endpoint_guard import handlers

    [result] = handlers.intake({"vpc_id": vpc_id}, _context())["results"]
    print(json.dumps(result, indent=2) if args.json else render(result))
    return EXIT_OK if result["compliant"] else EXIT_NOT_COMPLIANT


def _plan(args: argparse.Namespace) -> int:
    """The migration workflow's steps, run here: what the deferred gateway would disrupt (a dry-run
    reconcile), the inventory with its measured traffic, and the plan."""
    vpc_id = _vpc_id(args.vpc_id)
    settings = _start(args)
    from endpoint_guard import migration, steps
    from endpoint_guard.cost import load_prices
    from endpoint_guard.inventory import DiscoveryAdapters, discover
    from endpoint_guard.reconcile import reconcile

    adapters = DiscoveryAdapters()
    looked = reconcile(vpc_id, adapter=adapters.ec2, settings=dataclasses.replace(settings, dry_run=True))
    inventory = discover(
        vpc_id,
        adapters,
        looked["deferred_route_tables"],
        default_gb=settings.default_gb_per_month,
        override_gb=args.gb_per_month,
    )
    document = migration.plan(inventory, steps.interface_services(), load_prices(settings.prices_file))
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(migration.render_markdown(document), end="")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    settings = _start(args)
    from endpoint_guard.survey import SurveyAdapters, report

    rows = report(settings, SurveyAdapters(), args.gb_per_month, _progress_bar(sys.stderr))
    print(json.dumps(rows, indent=2) if args.json else render_report(rows))
    return EXIT_OK


def _progress_bar(stream: Any) -> Any:
    """A one-line progress bar on ``stream`` (a terminal) once there are enough VPCs to wait for."""

    def show(done: int, total: int) -> None:
        if total < PROGRESS_FROM or not stream.isatty():
            return
        width = 30
        filled = width * done // total
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} VPCs")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


def render_report(rows: list[dict]) -> str:
    services = sorted({s for row in rows for s in row["endpoints"]}, key=lambda s: (s == "s3", s))
    header = ["VPC", "compliant", *services, "deferred", "tasks", "endpoints $/mo", "NAT avoided $/mo", "pays off"]
    table = [header]
    for row in rows:
        cost = row["cost"]
        table.append(
            [
                row["vpc_id"] + (f" ({row['name']})" if row.get("name") else ""),
                "yes" if row["compliant"] else "NO",
                *[row["endpoints"].get(s, "-") for s in services],
                str(len(row["deferred_route_tables"])),
                str(row["running_tasks"]),
                f"{cost['endpoints_monthly_usd']:,.2f}",
                f"{cost['nat_processing_avoided_monthly_usd']:,.2f}",
                ("yes" if cost["pays_off"] else f"no (break-even {cost['break_even_gb_per_month'] or 0:,.0f} GB)"),
            ]
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if rows:
        as_of = rows[0]["cost"]["prices_as_of"]
        lines.append(f"\n{len(rows)} VPC(s); costs a month at each VPC's measured traffic, prices as of {as_of}")
    else:
        lines.append("no VPCs in this region")
    return "\n".join(lines)


def render(result: dict) -> str:
    """The result document for a human: one line per endpoint, then the actions."""
    mode = " (dry run)" if result["dry_run"] else ""
    lines = [
        f"{result['vpc_id']} ({result['region']}){mode}: {'compliant' if result['compliant'] else 'NOT compliant'}"
    ]
    for e in result["endpoints"]:
        where = (
            ", ".join(e.get("availability_zones") or [])
            if e["type"] == "Interface"
            else ", ".join(e.get("route_table_ids") or [])
        )
        lines.append(
            f"  {e['service']:<15} {e['type']:<9} {e['status']:<9} {e['endpoint_id'] or '-':<24} {where}"
            + (f"\n  {'':<15} {e['reason']}" if e["reason"] else "")
        )
    for finding in result["findings"]:
        lines.append(f"  ! {finding}")
    for rt in result["deferred_route_tables"]:
        kinds = sorted({w["kind"] for w in rt["workloads"]})
        lines.append(f"  deferred {rt['route_table_id']}: {len(rt['workloads'])} workload ENI(s) ({', '.join(kinds)})")
    if result["actions"]:
        lines.append("  actions:" if not result["dry_run"] else "  would do:")
        lines += [
            f"    [{a['status']}] {a['description']}" + (f" -- {a['error']}" if a.get("error") else "")
            for a in result["actions"]
        ]
    else:
        lines.append("  nothing to do")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        commands = {"invoke": _invoke, "check": _check, "ensure": _ensure, "plan": _plan, "report": _report}
        return commands[args.command](args)
    except EndpointGuardError as err:
        print(f"endpoint-guard: {type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_ERROR
    except (BotoCoreError, ClientError) as err:  # the adapter wraps its calls; this is for anything outside them
        print(f"endpoint-guard: AWS error: {err}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

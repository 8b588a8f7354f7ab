"""The ``endpoint-guard`` command line's grammar: every subcommand and its options (options go after
the subcommand, as people type them). ``main`` runs them."""

from __future__ import annotations

import argparse
import os
from typing import NoReturn

from endpoint_guard.cli import deferred, dlq, explain

EXIT_OK = 0
EXIT_NOT_COMPLIANT = 1
EXIT_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as for every other input error
        self.exit(EXIT_ERROR, f"endpoint-guard: {message}\n")


def common(parser: argparse.ArgumentParser) -> None:
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


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.split(",") if w.strip()]


def _gb(text: str) -> float:
    from endpoint_guard.errors import ConfigurationError
    from endpoint_guard.settings import parse_gb

    try:
        return parse_gb("--gb-per-month", text) or 0.0
    except ConfigurationError as err:
        raise argparse.ArgumentTypeError(str(err).split("=", 1)[1]) from err


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
    _endpoint_profile(check)
    deferred.state_table_option(check)
    ensure = sub.add_parser("ensure", help="make a VPC compliant (exit 0 compliant, 1 not, 2 error)")
    ensure.add_argument("vpc_id", help="the VPC")
    ensure.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    ensure.add_argument(
        "--prune",
        action="store_true",
        help="cost-aware profile: also delete endpoint-guard's own interface endpoints that clearly do not pay",
    )
    deferred.add_ensure_options(ensure)
    _endpoint_profile(ensure)
    plan = sub.add_parser(
        "plan",
        help="plan the move of a VPC's ECS services into a new VPC that has the S3 gateway (Markdown; --json)",
    )
    plan.add_argument("vpc_id", help="the source VPC")
    _traffic(plan)
    report = sub.add_parser("report", help="every VPC of the region: compliance, deferred route tables, tasks, cost")
    _traffic(report)
    _html(report)
    deferred.state_table_option(report)
    release = sub.add_parser(
        "release",
        help="remove what endpoint-guard created in a VPC (its tagged endpoints and security group, nothing else)",
    )
    release.add_argument("vpc_id", help="the VPC")
    release.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    sweep = sub.add_parser(
        "sweep",
        help="every VPC of every account and Region asked for: reconcile (or --dry-run: report) and the fleet report",
    )
    sweep.add_argument("--regions", type=_words, help="comma-separated Regions (default: --region's)")
    accounts = sweep.add_mutually_exclusive_group()
    accounts.add_argument("--accounts", type=_words, help="comma-separated account ids (default: your own)")
    accounts.add_argument("--organization", action="store_true", help="every active account of the Organization")
    sweep.add_argument("--role-name", default=None, help="the member role to assume in other accounts")
    sweep.add_argument(
        "--external-id",
        default=os.environ.get("ENDPOINT_GUARD_FLEET_EXTERNAL_ID"),
        help="the external id the member role requires (default: $ENDPOINT_GUARD_FLEET_EXTERNAL_ID)",
    )
    sweep.add_argument("--exclude-vpcs", type=_words, default=[], help="comma-separated VPC ids to leave alone")
    sweep.add_argument("--dry-run", action="store_true", help="report only: change nothing")
    sweep.add_argument("--markdown", action="store_true", help="the fleet report as Markdown")
    _traffic(sweep)
    _html(sweep)
    prices = sub.add_parser(
        "prices",
        help="fetch the endpoint and NAT prices from the AWS Price List API into a prices file (ENDPOINT_GUARD_PRICES_FILE)",
    )
    prices.add_argument(
        "--regions", type=_words, help="comma-separated Regions, or all (default: the bundled table's Regions)"
    )
    prices.add_argument("--out", metavar="FILE", help="write the table here (default: stdout)")
    prices.add_argument(
        "--check",
        action="store_true",
        help="fetch nothing: say which catalogue Regions the prices file prices, prices with stale figures, or misses",
    )
    for command in (invoke, check, ensure, plan, report, release, sweep, prices):
        common(command)
    explain.add_command(sub, common)
    deferred.add_approve(sub, common)
    dlq.add_commands(sub, common)
    return parser


def _endpoint_profile(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--endpoint-profile",
        choices=("full", "cost-aware"),
        help="the endpoint profile (default: $ENDPOINT_GUARD_ENDPOINT_PROFILE, else full)",
    )


def _html(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--html", metavar="FILE", help="also write the cost picture: one self-contained page, a bar chart per VPC"
    )

"""The ``endpoint-guard`` command. Options go after the subcommand, as people type them."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from endpoint_guard.cli import dlq
from endpoint_guard.cli.render import progress_bar, render, render_release, render_report
from endpoint_guard.cost.estimate import describe as describe_cost
from endpoint_guard.errors import ConfigurationError, EndpointGuardError
from endpoint_guard.fleet.render import render_fleet
from endpoint_guard.model import IGNORE_TAG, valid_vpc_id

EXIT_OK = 0
EXIT_NOT_COMPLIANT = 1
EXIT_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as for every other input error
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
    ensure = sub.add_parser("ensure", help="make a VPC compliant (exit 0 compliant, 1 not, 2 error)")
    ensure.add_argument("vpc_id", help="the VPC")
    ensure.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    ensure.add_argument(
        "--prune",
        action="store_true",
        help="cost-aware profile: also delete endpoint-guard's own interface endpoints that clearly do not pay",
    )
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
        _common(command)
    dlq.add_commands(sub, _common)
    return parser


class _Run:
    """What every subcommand that talks to AWS starts from: the options' AWS clients, the settings (from
    the environment, as in Lambda, with --dry-run on top), and an observer that logs to stderr only with
    --verbose and emits no metrics (EMF lines are for CloudWatch, not a terminal)."""

    def __init__(self, args: argparse.Namespace) -> None:
        from endpoint_guard.aws import Clients, Services
        from endpoint_guard.lambdas.observability import LambdaObserver, logger
        from endpoint_guard.settings import Settings

        logger.registered_handler.stream = sys.stderr  # type: ignore[attr-defined]  # a StreamHandler
        logger.setLevel("INFO" if args.verbose else "CRITICAL")
        self.clients = Clients(
            region=args.region, endpoint_url=args.endpoint_url, profile=args.profile, session=args.session
        )
        self.aws = Services(self.clients)
        settings = Settings.from_env()
        self.settings = dataclasses.replace(settings, dry_run=True) if getattr(args, "dry_run", False) else settings
        if getattr(args, "endpoint_profile", None):
            self.settings = dataclasses.replace(self.settings, endpoint_profile=args.endpoint_profile)
        self.observer = LambdaObserver(emit_metrics=False)

    def intake(self, event: Any) -> dict[str, Any]:
        """The intake use case, reconciling here and now: a hand-run targets what the operator chose,
        never a deployed stack's queue or dedup table, and has no account of its own to compare with."""
        from endpoint_guard.intake import handle, parse_event

        return handle(
            parse_event(event), aws=self.aws, own_account=None, observer=self.observer, settings=self.settings
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
    output = _Run(args).intake(event)
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


def _left_alone(run: _Run, vpc_id: str, as_json: bool) -> bool:
    """Whether endpoint-guard leaves the VPC alone (said on stdout when so): its owner tagged it
    endpoint-guard:ignore = true, or it is another account's, shared with this one (only the owner can
    create endpoints in it)."""
    from endpoint_guard.aws.ec2 import account_or_none
    from endpoint_guard.model import ignored

    described = run.aws.lookups.vpcs([vpc_id])
    if not described:
        return False
    owner = described[0].get("OwnerId")
    if ignored(described[0]):
        kind, reason = "opted_out", f"{vpc_id} is tagged {IGNORE_TAG} = true (opted out)"
    elif owner and owner != account_or_none(run.aws.lookups):
        kind, reason = (
            "shared",
            f"{vpc_id} is account {owner}'s, shared with this one: only its owner can add endpoints",
        )
    else:
        return False
    skip = {"vpc_id": vpc_id, "skipped": kind, "reason": reason}
    print(json.dumps(skip, indent=2) if as_json else f"skipped {vpc_id}: {reason}")
    return True


def _check(args: argparse.Namespace) -> int:
    vpc_id = valid_vpc_id(args.vpc_id)
    run = _Run(args)
    from endpoint_guard.survey import check

    if _left_alone(run, vpc_id, args.json):
        return EXIT_OK

    result = check(vpc_id, run.settings, run.aws, args.gb_per_month)
    print(json.dumps(result, indent=2) if args.json else render(result) + "\n" + describe_cost(result["cost"]))
    return EXIT_OK if result["compliant"] else EXIT_NOT_COMPLIANT


def _ensure(args: argparse.Namespace) -> int:
    vpc_id = valid_vpc_id(args.vpc_id)
    run = _Run(args)
    if _left_alone(run, vpc_id, args.json):
        return EXIT_OK
    [result] = run.intake({"vpc_id": vpc_id})["results"]
    if args.prune:
        result["pruned"] = _prune(run, result)
    print(json.dumps(result, indent=2) if args.json else render(result))
    for action in result.get("pruned", []):
        if not args.json:
            print(f"  prune: {action['description']}: {action['status']}")
    return EXIT_OK if result["compliant"] else EXIT_NOT_COMPLIANT


def _prune(run: _Run, result: dict[str, Any]) -> list[dict[str, Any]]:
    """--prune (cost-aware profile only): delete endpoint-guard's own interface endpoints that clearly do
    not pay here (the choice's ``prunable``)."""
    from endpoint_guard.cost.aware import cost_aware
    from endpoint_guard.reconcile.run import prune

    if not cost_aware(run.settings):
        raise ConfigurationError("--prune needs the cost-aware profile (ENDPOINT_GUARD_ENDPOINT_PROFILE=cost-aware)")
    prunable = set(result.get("cost_aware", {}).get("prunable", []))
    ids = [e["endpoint_id"] for e in result["endpoints"] if e["service"] in prunable and e["endpoint_id"]]
    return [dict(a) for a in prune(result["vpc_id"], ec2=run.aws.ec2, endpoint_ids=ids, dry_run=run.settings.dry_run)]


def _release(args: argparse.Namespace) -> int:
    """Remove endpoint-guard's endpoints and group from a VPC, waiting for AWS to let go of the endpoints'
    network interfaces before the group goes. Exit 0 when all of it is gone (or would go, dry)."""
    import time

    from endpoint_guard.reconcile.run import release, wait_until_gone

    vpc_id = valid_vpc_id(args.vpc_id)
    run = _Run(args)
    ec2 = run.aws.ec2
    done = release(
        vpc_id,
        ec2=ec2,
        dry_run=run.settings.dry_run,
        wait=lambda ids: wait_until_gone(ec2, vpc_id, ids, sleep=time.sleep),
    )
    if args.json:
        print(json.dumps(done, indent=2))
    else:
        print(render_release(done))
    return EXIT_OK if done["released"] or done["dry_run"] else EXIT_NOT_COMPLIANT


def _plan(args: argparse.Namespace) -> int:
    """The migration workflow's steps, run here: what the deferred gateway would disrupt (a dry-run
    reconcile), the inventory with its measured traffic, and the plan."""
    vpc_id = valid_vpc_id(args.vpc_id)
    run = _Run(args)
    if _left_alone(run, vpc_id, args.json):
        return EXIT_OK
    from endpoint_guard.cost.estimate import load_prices
    from endpoint_guard.migration import plan, render_markdown
    from endpoint_guard.migration.inventory import discover
    from endpoint_guard.profile import interface_services
    from endpoint_guard.reconcile import reconcile

    looked = reconcile(vpc_id, ec2=run.aws.ec2, settings=dataclasses.replace(run.settings, dry_run=True))
    inventory = discover(
        vpc_id,
        run.aws,
        [dict(t) for t in looked["deferred_route_tables"]],
        default_gb=run.settings.default_gb_per_month,
        override_gb=args.gb_per_month,
    )
    document = plan(inventory, interface_services(run.settings.extra_services), load_prices(run.settings.prices_file))
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(render_markdown(document), end="")
    return EXIT_OK


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


def _write_html(path: str | None, rows: list[dict[str, Any]], title: str) -> None:
    if path:
        from endpoint_guard.cost.html import render_html

        Path(path).write_text(render_html(rows, title), encoding="utf-8")


def _report(args: argparse.Namespace) -> int:
    run = _Run(args)
    from endpoint_guard.survey import report

    rows = report(run.settings, run.aws, args.gb_per_month, progress_bar(sys.stderr))
    print(json.dumps(rows, indent=2) if args.json else render_report(rows))
    _write_html(args.html, rows, "endpoint-guard cost report")
    return EXIT_OK


def _sweep(args: argparse.Namespace) -> int:
    """The fleet sweep, here: the targets (accounts x Regions), each read once and reconciled VPC by VPC.
    Exit 0 when every VPC swept is compliant, 1 when not, 2 when a target or a VPC could not be done."""
    from endpoint_guard.fleet import Target, sweep
    from endpoint_guard.fleet.connect import DEFAULT_ROLE_NAME, connector, organization_accounts

    run = _Run(args)
    regions = args.regions or [run.clients.client("ec2").meta.region_name]
    accounts: list[str | None] = list(args.accounts or [None])
    if args.organization:
        accounts = list(organization_accounts(run.clients))
    targets = [Target(account, region) for account in accounts for region in regions]
    connect = connector(
        endpoint_url=args.endpoint_url,
        profile=args.profile,
        session=args.session,
        role_name=args.role_name or DEFAULT_ROLE_NAME,
        external_id=args.external_id,
    )
    settings = dataclasses.replace(run.settings, verify_dns=True)
    report = sweep(
        targets,
        connect,
        settings,
        exclude=args.exclude_vpcs,
        override_gb=args.gb_per_month,
        progress=progress_bar(sys.stderr),  # per account-Region, on a terminal
    )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render_fleet(report, markdown=args.markdown))
    _write_html(args.html, report["vpcs"], "endpoint-guard fleet cost report")
    summary = report["summary"]
    if summary["unreachable"] or summary["errors"]:
        return EXIT_ERROR
    return EXIT_NOT_COMPLIANT if summary["not_compliant"] else EXIT_OK


def _prices(args: argparse.Namespace) -> int:
    """Every Region asked for, priced from the Price List API (its endpoint is in us-east-1); a Region
    the list does not price is reported and left as it was. Exit 2 when one could not be priced."""
    import datetime

    from endpoint_guard.aws.pricing import PricingAdapter
    from endpoint_guard.cost.estimate import load_prices
    from endpoint_guard.cost.pricelist import price_table, region_prices
    from endpoint_guard.profile import commercial_regions

    run = _Run(args)
    base = load_prices(run.settings.prices_file)
    as_of = datetime.date.today().strftime("%Y-%m")
    regions = args.regions or (sorted(commercial_regions()) if args.check else sorted(base["regions"]))
    if regions == ["all"]:
        regions = sorted(commercial_regions())
    if args.check:
        return _price_coverage(base, regions, as_of)
    pricing = PricingAdapter(run.clients.in_region("us-east-1"))
    fetched, failed = {}, []
    for region in regions:
        try:
            fetched[region] = region_prices(pricing.region_documents(region), region, as_of)
        except EndpointGuardError as err:
            failed.append(region)
            print(f"{region}: {err}", file=sys.stderr)
    text = json.dumps(price_table(fetched, base, as_of), indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text, end="")
    return EXIT_ERROR if failed else EXIT_OK


def _price_coverage(table: dict[str, Any], regions: list[str], today: str) -> int:
    """The ``prices --check`` report: one line per Region; exit 2 when one is stale or missing."""
    from endpoint_guard.cost.pricelist import STALE_AFTER_MONTHS, coverage

    found = coverage(table, regions, today)
    for region in found["priced"] + found["stale"]:
        prices = table["regions"][region]
        status = "stale" if region in found["stale"] else "priced"
        print(f"{region}: {status}, as of {prices.get('as_of', table['as_of'])}")
    for region in found["missing"]:
        print(f"{region}: missing (estimates use us-east-1's prices, with a note)")
    print(
        f"{len(found['priced'])} priced, {len(found['stale'])} stale (older than {STALE_AFTER_MONTHS} months), "
        f"{len(found['missing'])} missing of {len(regions)} Regions",
        file=sys.stderr,
    )
    return EXIT_ERROR if found["stale"] or found["missing"] else EXIT_OK


def _dlq(args: argparse.Namespace) -> int:
    run = _Run(args)
    return dlq.run(args, run.clients, run.settings, run.observer)


def main(argv: list[str] | None = None, *, session: Any = None) -> int:
    """The command line. ``session``: the boto3 session to build clients from (default: one per
    ``--profile``, from the usual AWS configuration)."""
    args = build_parser().parse_args(argv)
    args.session = session
    try:
        commands = {
            "invoke": _invoke,
            "check": _check,
            "ensure": _ensure,
            "plan": _plan,
            "report": _report,
            "release": _release,
            "sweep": _sweep,
            "prices": _prices,
            "dlq": _dlq,
        }
        return commands[args.command](args)
    except EndpointGuardError as err:
        print(f"endpoint-guard: {type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_ERROR
    except (BotoCoreError, ClientError) as err:  # the adapter wraps its calls; this is for anything outside them
        print(f"endpoint-guard: AWS error: {err}", file=sys.stderr)
        return EXIT_ERROR

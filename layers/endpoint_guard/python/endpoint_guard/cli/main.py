"""The ``endpoint-guard`` command: each subcommand's run (its grammar is ``cli.parser``'s)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from endpoint_guard.cli import deferred, dlq, explain, prices
from endpoint_guard.cli.parser import EXIT_ERROR, EXIT_NOT_COMPLIANT, EXIT_OK, build_parser
from endpoint_guard.cli.render import progress_bar, render, render_release, render_report
from endpoint_guard.cost.estimate import describe as describe_cost
from endpoint_guard.errors import ConfigurationError, EndpointGuardError
from endpoint_guard.fleet.render import render_fleet
from endpoint_guard.model import IGNORE_TAG, valid_vpc_id


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

    result = check(vpc_id, run.settings, run.aws, args.gb_per_month, _approvals(args, run))
    print(json.dumps(result, indent=2) if args.json else render(result) + "\n" + describe_cost(result["cost"]))
    return EXIT_OK if result["compliant"] else EXIT_NOT_COMPLIANT


def _approvals(args: argparse.Namespace, run: _Run) -> Any:
    """The state table's approvals, when the command was given the table (check, report)."""
    if not args.state_table:
        return None
    from endpoint_guard.aws import StateTable

    return StateTable(args.state_table, run.clients).approval


def _ensure(args: argparse.Namespace) -> int:
    vpc_id = valid_vpc_id(args.vpc_id)
    if args.route_tables and not args.apply_deferred:
        raise ConfigurationError("--route-tables goes with --apply-deferred")
    run = _Run(args)
    if _left_alone(run, vpc_id, args.json):
        return EXIT_OK
    if args.apply_deferred:
        applied, _ = deferred.apply(args, run, vpc_id)
        print(json.dumps(applied, indent=2) if args.json else render(applied))
        return EXIT_OK if applied["compliant"] else EXIT_NOT_COMPLIANT
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


def _write_html(path: str | None, rows: list[dict[str, Any]], title: str) -> None:
    if path:
        from endpoint_guard.cost.html import render_html

        Path(path).write_text(render_html(rows, title), encoding="utf-8")


def _report(args: argparse.Namespace) -> int:
    run = _Run(args)
    from endpoint_guard.survey import report

    rows = report(run.settings, run.aws, args.gb_per_month, progress_bar(sys.stderr), _approvals(args, run))
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
    run = _Run(args)
    return prices.run(args, run.clients, run.settings)


def _explain(args: argparse.Namespace) -> int:
    run = _Run(args)
    return explain.run(args, run.aws, run.settings)


def _approve(args: argparse.Namespace) -> int:
    return deferred.approve(args, _Run(args).clients)


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
            "explain": _explain,
            "dlq": _dlq,
            "approve": _approve,
        }
        return commands[args.command](args)
    except EndpointGuardError as err:
        print(f"endpoint-guard: {type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_ERROR
    except (BotoCoreError, ClientError) as err:  # the adapter wraps its calls; this is for anything outside them
        print(f"endpoint-guard: AWS error: {err}", file=sys.stderr)
        return EXIT_ERROR

"""``endpoint-guard ensure --apply-deferred`` and ``endpoint-guard approve``: deferred gateways by hand,
and the approvals the maintenance window acts on."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from endpoint_guard.errors import ConfigurationError


def add_ensure_options(ensure: argparse.ArgumentParser) -> None:
    ensure.add_argument(
        "--apply-deferred",
        action="store_true",
        help="add the S3 gateway to the deferred route tables too: their open S3 connections drop once",
    )
    ensure.add_argument(
        "--route-tables", type=_ids, default=[], help="with --apply-deferred: only these (comma-separated)"
    )


def add_approve(sub: Any, common: Any) -> None:
    approve = sub.add_parser(
        "approve",
        help="approve adding the S3 gateway to a VPC's deferred route tables in the maintenance window",
    )
    approve.add_argument("vpc_id", help="the VPC")
    approve.add_argument("--route-tables", type=_ids, default=[], help="only these (default: every deferred one)")
    approve.add_argument("--expires", default="7d", help="how long the approval stands: 30m, 12h, 7d, 2w (default 7d)")
    approve.add_argument("--revoke", action="store_true", help="withdraw the VPC's approval")
    approve.add_argument("--account", help="a hub: the member account the VPC is in (default: your own)")
    state_table_option(approve)
    common(approve)


def state_table_option(command: argparse.ArgumentParser) -> None:
    import os

    command.add_argument(
        "--state-table",
        default=os.environ.get("ENDPOINT_GUARD_STATE_TABLE"),
        help="the deployed stack's state table (default: $ENDPOINT_GUARD_STATE_TABLE)",
    )


def _ids(text: str) -> list[str]:
    ids = [w.strip() for w in text.split(",") if w.strip()]
    wrong = [i for i in ids if not i.startswith("rtb-")]
    if wrong:
        raise argparse.ArgumentTypeError(f"not route table ids: {', '.join(wrong)}")
    return ids


def apply(args: argparse.Namespace, run: Any, vpc_id: str) -> tuple[dict[str, Any], list[str]]:
    """``ensure --apply-deferred``: names what runs behind each deferred table, then adds the gateway.
    (the result, the lines printed before acting)."""
    from endpoint_guard.aws.workloads import pull_path
    from endpoint_guard.deferred.behind import words
    from endpoint_guard.deferred.usecase import apply_deferred

    said: list[str] = []

    def announce(tables: list[dict[str, Any]]) -> None:
        verb = "would add" if run.settings.dry_run else "adding"
        if not tables:
            said.append(f"{vpc_id}: no deferred route table to add")
        for line in words(tables):
            said.append(f"{verb} the S3 gateway to {line}; their open S3 connections drop once")
        if not args.json:
            print("\n".join(said), flush=True)

    result = apply_deferred(
        vpc_id,
        ec2=run.aws.ec2,
        settings=run.settings,
        who=run.clients.caller(),
        now=time.time(),
        route_tables=args.route_tables,
        workloads=pull_path(run.clients, run.settings),
        announce=announce,
    )
    return dict(result), said


def approve(args: argparse.Namespace, clients: Any) -> int:
    from endpoint_guard.aws import StateTable
    from endpoint_guard.deferred.approval import Approval, seconds_of
    from endpoint_guard.deferred.usecase import iso
    from endpoint_guard.model import ALL_TABLES, valid_vpc_id

    vpc_id = valid_vpc_id(args.vpc_id)
    if not args.state_table:
        raise ConfigurationError("approve needs the stack's state table: --state-table or $ENDPOINT_GUARD_STATE_TABLE")
    region = str(clients.client("ec2").meta.region_name)
    member = args.account if args.account and args.account != clients.account() else None
    table = StateTable(args.state_table, clients).of(member, region)
    if args.revoke:
        gone = table.revoke_approval(vpc_id)
        document: dict[str, Any] = {"vpc_id": vpc_id, "revoked": gone.document() if gone else None}
        line = f"{vpc_id}: approval revoked" if gone else f"{vpc_id}: had no approval"
    else:
        now = int(time.time())
        approval = Approval(
            vpc_id=vpc_id,
            region=region,
            account=member,
            route_tables=tuple(sorted(args.route_tables)) or (ALL_TABLES,),
            by=clients.caller(),
            at=now,
            until=now + seconds_of(args.expires),
        )
        table.put_approval(approval)
        document = {"vpc_id": vpc_id, "approved": approval.document()}
        tables = ", ".join(args.route_tables) or "every deferred route table"
        line = f"{vpc_id}: approved for the maintenance window ({tables}) by {approval.by} until {iso(approval.until or now)}"
    print(json.dumps(document, indent=2) if args.json else line)
    return 0


def pending(state_table: str | None, clients: Any, vpc_id: str) -> dict[str, Any] | None:
    """The VPC's approval still standing, as a document (None without a state table or an approval)."""
    if not state_table:
        return None
    from endpoint_guard.aws import StateTable

    found = StateTable(state_table, clients).approval(vpc_id)
    return found.document() if found and found.active(time.time()) else None

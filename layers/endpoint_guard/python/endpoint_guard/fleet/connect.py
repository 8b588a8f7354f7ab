"""Reaching a target: the caller's own account directly, another account through its member role (STS
AssumeRole); and the accounts of an Organization. Thin adapters over boto3."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from endpoint_guard.aws import Clients, Ec2Adapter
from endpoint_guard.aws.base import aws_error
from endpoint_guard.fleet.usecase import Target

DEFAULT_ROLE_NAME = "endpoint-guard-member"


def connector(
    *, endpoint_url: str | None, profile: str | None, session: Any, role_name: str, external_id: str | None = None
) -> Callable[[Target], Ec2Adapter]:
    """``connect(target)``: the target's EC2 adapter. Raises AwsCallError when the role cannot be assumed."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    def base(region: str) -> Clients:
        return Clients(region=region, endpoint_url=endpoint_url, profile=profile, session=session)

    own: dict[str, str] = {}

    def own_account(region: str) -> str:
        if "id" not in own:
            try:
                own["id"] = str(base(region).client("sts").get_caller_identity()["Account"])
            except (ClientError, BotoCoreError) as err:
                raise aws_error("get_caller_identity", err) from err
        return own["id"]

    def connect(target: Target) -> Ec2Adapter:
        if target.account is None or target.account == own_account(target.region):
            return Ec2Adapter(base(target.region))
        sts = base(target.region).client("sts")
        partition = sts.meta.partition
        try:
            credentials = sts.assume_role(
                RoleArn=f"arn:{partition}:iam::{target.account}:role/{role_name}",
                RoleSessionName="endpoint-guard-sweep",
                **({"ExternalId": external_id} if external_id else {}),
            )["Credentials"]
        except (ClientError, BotoCoreError) as err:
            raise aws_error("assume_role", err) from err
        assumed = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=target.region,
        )
        return Ec2Adapter(Clients(region=target.region, endpoint_url=endpoint_url, session=assumed))

    return connect


def organization_accounts(clients: Clients) -> list[str]:
    """The active accounts of the caller's Organization (from its management or a delegated account)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        pages = clients.client("organizations").get_paginator("list_accounts").paginate()
        return sorted(a["Id"] for page in pages for a in page["Accounts"] if a.get("Status", "ACTIVE") == "ACTIVE")
    except (ClientError, BotoCoreError) as err:
        raise aws_error("list_accounts", err) from err

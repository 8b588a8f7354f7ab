"""Reaching a target: the caller's own account directly, another account through its member role (STS
AssumeRole, with the external id the spoke requires); and the accounts of an Organization. Thin
adapters over boto3 and botocore.

A member session's credentials are botocore's own refreshable assume-role credentials: a Lambda
container that lives for hours keeps its sessions, and botocore assumes the role again before the
credentials expire."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from endpoint_guard.aws import Clients, Ec2Adapter
from endpoint_guard.aws.base import aws_error, client_config
from endpoint_guard.fleet.usecase import Target

DEFAULT_ROLE_NAME = "endpoint-guard-member"


class MemberAccess:
    """``clients(account, region)``: the ``Clients`` of any account-Region, kept for this object's life.
    The own account (or None) is reached with the base credentials; another through its member role.
    Raises AwsCallError (operation assume_role) when the role cannot be assumed."""

    def __init__(
        self,
        *,
        role_name: str = DEFAULT_ROLE_NAME,
        external_id: str | None = None,
        session_name: str = "endpoint-guard",
        base: Clients,
        own_account: str | None = None,
    ) -> None:
        """``base``: the caller's own clients (its credentials and endpoint, in any Region)."""
        self.role_name, self.external_id, self.session_name = role_name, external_id, session_name
        self.base, self._own = base, own_account
        self._clients: dict[tuple[str | None, str], Clients] = {}
        self._sessions: dict[str, Any] = {}

    def _base(self, region: str) -> Clients:
        return self.base.in_region(region)

    def own_account(self, region: str) -> str:
        if self._own is None:
            self._own = self._base(region).account()
        return self._own

    def is_own(self, account: str | None, region: str) -> bool:
        return account is None or account == self.own_account(region)

    def clients(self, account: str | None, region: str) -> Clients:
        key = (None if self.is_own(account, region) else account, region)
        if key not in self._clients:
            if key[0] is None:
                self._clients[key] = self._base(region)
            else:
                self._clients[key] = Clients(
                    region=region,
                    endpoint_url=self.base.endpoint_url,
                    session=self._member_session(key[0], region),
                    account=key[0],
                )
        return self._clients[key]

    def _member_session(self, account: str, region: str) -> Any:
        """A boto3 session whose credentials are the member role's, assumed now (so a role that cannot be
        assumed is reported here, not at the first EC2 call) and again by botocore before they expire."""
        if account in self._sessions:
            return self._sessions[account]
        import boto3
        import botocore.session
        from botocore.credentials import (
            AssumeRoleCredentialFetcher,
            CredentialProvider,
            CredentialResolver,
            DeferredRefreshableCredentials,
        )
        from botocore.exceptions import BotoCoreError, ClientError

        base = self.base.session
        sts = functools.partial(
            base.client, region_name=region, endpoint_url=self.base.endpoint_url, config=client_config()
        )
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=sts,
            source_credentials=base.get_credentials(),
            role_arn=f"arn:{base.get_partition_for_region(region)}:iam::{account}:role/{self.role_name}",
            extra_args={
                "RoleSessionName": self.session_name,
                **({"ExternalId": self.external_id} if self.external_id else {}),
            },
        )
        credentials = DeferredRefreshableCredentials(refresh_using=fetcher.fetch_credentials, method="assume-role")
        try:
            credentials.get_frozen_credentials()
        except (ClientError, BotoCoreError) as err:
            raise aws_error("assume_role", err) from err

        class MemberRole(CredentialProvider):
            METHOD = CANONICAL_NAME = "endpoint-guard-member-role"

            def load(self) -> Any:
                return credentials

        member = botocore.session.Session()
        member.register_component("credential_provider", CredentialResolver(providers=[MemberRole()]))
        self._sessions[account] = boto3.session.Session(botocore_session=member, region_name=region)
        return self._sessions[account]


def connector(
    *, endpoint_url: str | None, profile: str | None, session: Any, role_name: str, external_id: str | None = None
) -> Callable[[Target], Ec2Adapter]:
    """``connect(target)``: the target's EC2 adapter. Raises AwsCallError when the role cannot be assumed."""
    access = MemberAccess(
        role_name=role_name,
        external_id=external_id,
        session_name="endpoint-guard-sweep",
        base=Clients(endpoint_url=endpoint_url, profile=profile, session=session),
    )
    return lambda target: Ec2Adapter(access.clients(target.account, target.region))


def organization_accounts(clients: Clients) -> list[str]:
    """The active accounts of the caller's Organization (from its management or a delegated account)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        pages = clients.client("organizations").get_paginator("list_accounts").paginate()
        return sorted(a["Id"] for page in pages for a in page["Accounts"] if a.get("Status", "ACTIVE") == "ACTIVE")
    except (ClientError, BotoCoreError) as err:
        raise aws_error("list_accounts", err) from err

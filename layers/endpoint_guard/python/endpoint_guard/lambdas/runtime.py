"""What a Lambda container keeps between invocations: its ``Clients``, built on the first invocation
(never at import) from the function's environment, or the one a test or benchmark injected."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from endpoint_guard.aws.base import Clients

if TYPE_CHECKING:  # pragma: no cover
    from endpoint_guard.fleet.connect import MemberAccess
    from endpoint_guard.settings import Wiring


class Container:
    def __init__(self, clients: Clients | None = None) -> None:
        self._clients = clients
        self._members: MemberAccess | None = None

    @property
    def clients(self) -> Clients:
        if self._clients is None:
            self._clients = Clients.from_env()
        return self._clients

    def at(self, wiring: Wiring, context: Any, account: str | None, region: str | None) -> Clients:
        """The clients of an account-Region a task was given: the container's own (in that Region), or in
        a hub a member's through its member role (kept for the container's life: botocore refreshes the
        role's credentials). ConfigurationError for another account without a hub."""
        own = own_account(context)
        home = self.clients if region is None else self.clients.in_region(region)
        if account is None or account == own:
            return home
        if not wiring.hub:
            from endpoint_guard.errors import ConfigurationError

            raise ConfigurationError(f"account {account} is not this stack's, and FleetMode is not hub")
        return self.members(wiring, own).clients(account, region or str(home.client("sts").meta.region_name))

    def members(self, wiring: Wiring, own: str | None) -> MemberAccess:
        """The container's way into member accounts, kept for its life: one AssumeRole per member
        account per container, not per invocation (botocore refreshes the credentials)."""
        if self._members is None:
            self._members = member_access(self.clients, wiring, own)
        return self._members


def own_account(context: Any) -> str | None:
    """The account of the invoked function (from its ARN), or None when the context has no real ARN."""
    from botocore.utils import ArnParser, InvalidArnException

    try:
        account = ArnParser().parse_arn(str(getattr(context, "invoked_function_arn", "")))["account"]
    except InvalidArnException:
        return None
    return account if account.isdigit() and len(account) == 12 else None


def member_access(clients: Clients, wiring: Wiring, own: str | None) -> MemberAccess:
    """A hub's way into its member accounts: their member role, with the stack's external id."""
    from endpoint_guard.fleet.connect import MemberAccess

    return MemberAccess(
        role_name=wiring.fleet_role_name,
        external_id=wiring.fleet_external_id,
        session_name="endpoint-guard-hub",
        base=clients,
        own_account=own,
    )

"""What a Lambda container keeps between invocations: its ``Clients``, built on the first invocation
(never at import) from the function's environment, or the one a test or benchmark injected."""

from __future__ import annotations

from typing import Any

from endpoint_guard.aws.base import Clients


class Container:
    def __init__(self, clients: Clients | None = None) -> None:
        self._clients = clients

    @property
    def clients(self) -> Clients:
        if self._clients is None:
            self._clients = Clients.from_env()
        return self._clients


def own_account(context: Any) -> str | None:
    """The account of the invoked function (from its ARN), or None when the context has no real ARN."""
    from botocore.utils import ArnParser, InvalidArnException

    try:
        account = ArnParser().parse_arn(str(getattr(context, "invoked_function_arn", "")))["account"]
    except InvalidArnException:
        return None
    return account if account.isdigit() and len(account) == 12 else None

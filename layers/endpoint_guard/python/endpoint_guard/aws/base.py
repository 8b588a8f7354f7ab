"""Clients and the adapter base: the only place boto3 sessions and clients are built.

A ``Clients`` object is one account-Region as endpoint-guard talks to it: it builds each service's
client on first use and keeps it (and what it learnt of the Region's endpoint services) for its own
life. Whoever needs AWS takes a ``Clients`` (or a client) as a parameter: the Lambda entry points make
one per container on the first invocation, the CLI one per command, tests one per test. Nothing is
built at import time and nothing is cached in a module, except the sessions' loaded service models.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from endpoint_guard.errors import AwsCallError, ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    import boto3

    from endpoint_guard.model import ServiceOffer

T = TypeVar("T")

# botocore's standard retry mode: throttling and 5xx are retried with jittered backoff, up to this many
# attempts per call. The README says why standard and not adaptive.
MAX_ATTEMPTS = 8


def client_config() -> Any:
    from botocore.config import Config

    config: Any = Config  # the stubs predate user_agent_appid
    return config(
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        connect_timeout=5,
        read_timeout=30,
        user_agent_appid="endpoint-guard",
    )


@cache
def _shared_session(profile: str | None) -> boto3.session.Session:
    """One session per profile for the process: it holds the loaded service models (~0.2 s to load) and
    the credential chain, not clients."""
    import boto3

    return boto3.session.Session(profile_name=profile)


class Clients:
    """boto3 clients for one account and Region, each built on first use and kept by this object."""

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        session: boto3.session.Session | None = None,
        account: str | None = None,
    ) -> None:
        """``account``: the account these credentials act in, when the caller knows it (else asked once)."""
        self._region, self.endpoint_url, self.profile = region, endpoint_url, profile
        self._session, self._account = session, account
        self._clients: dict[str, Any] = {}
        # (region, short name, type) -> the offer, or None when the Region does not offer it. Offers
        # change rarely: one read per Clients (a container, a CLI run) is enough.
        self.offers: dict[tuple[str, str, str], ServiceOffer | None] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Clients:
        """As the Lambda runtime (or a shell) configures AWS: region, endpoint URL and profile."""
        env = os.environ if environ is None else environ
        return cls(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            profile=env.get("AWS_PROFILE") or None,
        )

    def in_region(self, region: str) -> Clients:
        """The same credentials and endpoint in ``region`` (this object when it is already there)."""
        if region == self._region:
            return self
        return Clients(
            region=region,
            endpoint_url=self.endpoint_url,
            profile=self.profile,
            session=self._session,
            account=self._account,
        )

    def account(self) -> str:
        """The account these clients act in: as given, else STS GetCallerIdentity once (it needs no
        permission). Raises AwsCallError when STS cannot be reached."""
        if self._account is None:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                self._account = str(self.client("sts").get_caller_identity()["Account"])
            except (ClientError, BotoCoreError) as err:
                raise aws_error("get_caller_identity", err) from err
        return self._account

    def caller(self) -> str:
        """Who these clients act as (STS GetCallerIdentity's ARN): the name an approval or an accepted
        interruption is recorded under. Raises AwsCallError when STS cannot be reached."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return str(self.client("sts").get_caller_identity()["Arn"])
        except (ClientError, BotoCoreError) as err:
            raise aws_error("get_caller_identity", err) from err

    @property
    def session(self) -> boto3.session.Session:
        """The boto3 session these clients are made from."""
        return self._session or _shared_session(self.profile)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from botocore.exceptions import NoRegionError, ProfileNotFound

            try:
                session: Any = self.session
                self._clients[service] = session.client(
                    service, region_name=self._region, config=client_config(), endpoint_url=self.endpoint_url
                )
            except NoRegionError as err:
                raise ConfigurationError("no AWS region configured (set AWS_REGION or pass --region)") from err
            except ProfileNotFound as err:
                raise ConfigurationError(str(err)) from err
        return self._clients[service]


def aws_error(operation: str, err: Exception) -> AwsCallError:
    """A botocore error as endpoint-guard's named error, with AWS's code."""
    response = getattr(err, "response", {}) or {}
    error = response.get("Error", {})
    return AwsCallError(operation, error.get("Code", type(err).__name__), error.get("Message", str(err)))


class Adapter:
    """One AWS service: its client (from ``Clients``, or injected) and calls that raise named errors."""

    service = ""

    def __init__(self, clients: Clients | None = None, *, client: Any = None) -> None:
        self._clients = clients or Clients()
        self._client = client

    @property
    def clients(self) -> Clients:
        """The account-Region's clients this adapter was made with."""
        return self._clients

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._clients.client(self.service)
        return self._client

    @property
    def region(self) -> str:
        return str(self.client.meta.region_name)

    @property
    def partition(self) -> str:
        return str(self.client.meta.partition)

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response: dict[str, Any] = getattr(self.client, operation)(**params)
            return response
        except ClientError as err:
            raise aws_error(operation, err) from err
        except BotoCoreError as err:
            raise AwsCallError(operation, type(err).__name__, str(err)) from err

    def _pages(self, operation: str, key: str, **params: Any) -> list[Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return [
                item for page in self.client.get_paginator(operation).paginate(**params) for item in page.get(key, [])
            ]
        except ClientError as err:
            raise aws_error(operation, err) from err
        except BotoCoreError as err:
            raise AwsCallError(operation, type(err).__name__, str(err)) from err


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    listed = list(items)
    for start in range(0, len(listed), size):
        yield listed[start : start + size]


def by_vpc(vpc_id: str) -> list[dict[str, Any]]:
    return [{"Name": "vpc-id", "Values": [vpc_id]}]

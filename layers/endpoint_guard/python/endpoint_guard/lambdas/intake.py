"""The intake function: EventBridge rule -> parse -> resolve -> one message per VPC on the FIFO queue.
Thin: Powertools decorators, parse, call the intake use case, return.

``make_intake`` builds the handler; ``functions/intake/app.py`` makes the deployed one, tests their own
(with the ``Clients`` they inject)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from endpoint_guard.aws.base import Clients
from endpoint_guard.errors import EndpointGuardError, StateStoreError
from endpoint_guard.intake.events import parse_event
from endpoint_guard.lambdas.observability import Handler, LambdaObserver, logger, metrics, traced
from endpoint_guard.lambdas.runtime import Container, own_account
from endpoint_guard.observe import Skip
from endpoint_guard.settings import Settings, Wiring


def make_intake(clients: Clients | None = None) -> Handler:
    container = Container(clients)

    @metrics.log_metrics
    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    def intake(event: Any, context: Any) -> dict[str, Any]:
        """Turn an event into one work item per VPC and queue them (or, with no queue configured,
        reconcile them here). Raises on invalid input, unusable settings and failed AWS calls, so Lambda
        retries and then dead-letters the event with the error; a duplicate delivery does no second work."""
        observer = LambdaObserver()
        observer.count("EventsReceived")
        try:
            wiring, settings = Wiring.from_env(), Settings.from_env()
            triggers = parse_event(event)
        except EndpointGuardError as err:
            observer.failed("rejected input", err)
            raise

        def accept(event: Any) -> dict[str, Any]:
            account = own_account(context)
            hub = hub_of(container, wiring, account)
            return run_intake(triggers, container.clients, wiring, settings, observer, account, hub)

        if wiring.state_table and any(t.event_id for t in triggers) and isinstance(event, dict):
            from aws_lambda_powertools.utilities.idempotency.exceptions import (
                IdempotencyAlreadyInProgressError,
                IdempotencyPersistenceLayerError,
            )

            try:
                return _idempotent(accept, wiring, container.clients, context, observer)(event=event)
            except IdempotencyAlreadyInProgressError:
                # The same event is being handled by another invocation right now: fail this one, so
                # Lambda retries it later and then gets that invocation's answer.
                logger.warning("duplicate still in progress; retrying later", extra={"skip_kind": Skip.DUPLICATE})
                raise
            except IdempotencyPersistenceLayerError as err:
                failure = StateStoreError(f"the idempotency record could not be kept: {err}")
                observer.failed("state table failed", failure)
                raise failure from err
        return accept(event=event)

    return intake


def run_intake(
    triggers: list[Any],
    clients: Clients,
    wiring: Wiring,
    settings: Settings,
    observer: Any,
    account: str | None,
    hub: Any = None,
) -> dict[str, Any]:
    """The intake use case with the deployed collaborators."""
    from endpoint_guard.aws import QueueAdapter, Services, StateTable
    from endpoint_guard.intake.usecase import handle

    queue = QueueAdapter(wiring.queue_url, clients) if wiring.queue_url else None
    return handle(
        triggers,
        aws=Services(clients),
        own_account=account,
        observer=observer,
        settings=settings,
        queue=queue,
        own_roles=wiring.own_role_arns,
        records=StateTable(wiring.state_table, clients) if wiring.state_table else None,
        hub=hub,
    )


def hub_of(container: Container, wiring: Wiring, account: str | None) -> Any:
    """A hub's intake scope (None in a single-account stack): the enrolled accounts and Regions, and
    each member account-Region reached through its member role (the container's, kept between
    invocations)."""
    if not wiring.hub:
        return None
    from endpoint_guard.aws import Services
    from endpoint_guard.intake.usecase import Hub

    access = container.members(wiring, account)
    home = str(container.clients.client("sts").meta.region_name)
    reached: dict[tuple[str, str], Services] = {}

    def reach(member: str, region: str) -> Services:
        if (member, region) not in reached:
            reached[(member, region)] = Services(access.clients(member, region))
        return reached[(member, region)]

    return Hub(
        home_account=account,
        home_region=home,
        accounts=frozenset(wiring.fleet_accounts),
        regions=frozenset(wiring.sweep_regions or (home,)),
        member_role=wiring.fleet_role_name,
        reach=reach,
    )


def _idempotent(
    function: Callable[..., dict[str, Any]], wiring: Wiring, clients: Clients, context: Any, observer: LambdaObserver
) -> Callable[..., dict[str, Any]]:
    """Powertools Idempotency on the CloudTrail event id (with its account and Region): EventBridge
    delivers at least once, and a second delivery gets the first one's answer. Inputs without an event
    id (hand-made requests) are never deduplicated."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    def duplicate(response: Any, record: Any) -> Any:  # Powertools' IdempotentHookFunction
        observer.skipped(Skip.DUPLICATE, "this event was already accepted", idempotency_key=record.idempotency_key)
        return response

    config = IdempotencyConfig(
        # The account and Region with the event id: a hub takes events from many account-Regions.
        event_key_jmespath=(
            "[account || detail.recipientAccountId || recipientAccountId, region || detail.awsRegion || awsRegion,"
            " detail.eventID || eventID || id]"
        ),
        expires_after_seconds=wiring.idempotency_seconds,
        response_hook=duplicate,  # type: ignore[arg-type]  # Powertools types the hook narrowly
    )
    config.register_lambda_context(context)
    store = DynamoDBPersistenceLayer(
        table_name=wiring.state_table or "",
        key_attr="id",
        expiry_attr="expiration",
        boto3_client=clients.client("dynamodb"),
    )
    wrapped: Callable[..., dict[str, Any]] = idempotent_function(
        data_keyword_argument="event", persistence_store=store, config=config
    )(function)
    return wrapped

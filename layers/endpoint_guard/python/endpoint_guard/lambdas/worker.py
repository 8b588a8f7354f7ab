"""The reconcile worker (EnsureEndpoints function): a batch from the FIFO queue, one VPC per message.
Thin: Powertools Batch (FIFO partial processor) around the worker use case, with the invocation's
time budget (from the Lambda context), the account-Region's endpoint pace (in the state table), and
the messages it had no time for handed back to the queue."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from endpoint_guard.aws.base import Clients
from endpoint_guard.errors import EndpointGuardError, InvalidEventError
from endpoint_guard.lambdas.observability import Handler, LambdaObserver, logger, metrics, traced
from endpoint_guard.lambdas.runtime import Container, member_access, own_account
from endpoint_guard.settings import Settings, Wiring

if TYPE_CHECKING:  # pragma: no cover
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from endpoint_guard.fleet.connect import MemberAccess
    from endpoint_guard.worker.usecase import Worker

# A Lambda context without get_remaining_time_in_millis (a hand-made one) is given this much.
DEFAULT_REMAINING_MS = 60_000


def make_worker(
    clients: Clients | None = None,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Handler:
    """The handler. ``clock`` and ``sleep`` are the worker's time (a burst simulation passes its own)."""
    container = Container(clients)

    @metrics.log_metrics
    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @traced
    def ensure_endpoints(event: Any, context: Any) -> dict[str, Any]:
        """Reconcile the VPCs of a batch. A failed message is reported as a batch item failure (with the
        rest of its VPC's messages behind it), so SQS redelivers it; on its last attempt, or when
        retrying cannot help, it goes to the DLQ with the reason instead. Messages the invocation has
        no time for go back to the queue, unattempted."""
        observer = LambdaObserver()
        if not _is_sqs_batch(event):
            err = InvalidEventError("expected an SQS batch from the work queue (a hand-run goes through the intake)")
            observer.failed("rejected input", err)
            raise err
        if not event["Records"]:
            return {"batchItemFailures": []}  # nothing to do (the batch processor would refuse it)
        # Imported here: the intake shares the layer and never needs Batch (~25 ms of a cold start).
        from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response

        wiring = Wiring.from_env()
        members = container.members(wiring, own_account(context)) if wiring.hub else None
        worker = build_worker(
            container.clients,
            wiring,
            Settings.from_env(),
            observer,
            context=context,
            clock=clock,
            sleep=sleep,
            members=members,
        )
        processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        # A batch whose every message failed is answered like any other: with its item failures.
        # Raising instead would return the same messages to the queue, with a Lambda error on top.
        processor.raise_on_entire_batch_failure = False
        handle = functools.partial(_handle, worker)
        response = dict(
            process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
        )
        _hand_back(container.clients, wiring, worker, event, response, observer)
        return response

    return ensure_endpoints


def _is_sqs_batch(event: Any) -> bool:
    """An SQS event: records from SQS that each have a message id, a text body and text attributes (as
    SQS writes them; anything else would crash the batch processor before the worker saw it)."""
    records = event.get("Records") if isinstance(event, dict) else None
    return isinstance(records, list) and all(
        isinstance(r, dict)
        and r.get("eventSource") == "aws:sqs"
        and isinstance(r.get("messageId"), str)
        and isinstance(r.get("body"), str)
        and isinstance(r.get("attributes"), dict)
        and all(isinstance(v, str) for v in r["attributes"].values())
        for r in records
    )


def _handle(worker: Worker, record: SQSRecord) -> dict[str, Any]:
    from endpoint_guard.worker.usecase import Delivery

    attributes = record.raw_event.get("attributes") or {}
    delivery = Delivery(
        body=record.body,
        message_id=record.message_id,
        sent_ms=_whole(attributes.get("SentTimestamp"), 0),
        receive_count=_whole(attributes.get("ApproximateReceiveCount"), 1),
        group_id=attributes.get("MessageGroupId") if isinstance(attributes.get("MessageGroupId"), str) else None,
    )
    return worker.handle(delivery)


def _whole(value: Any, default: int) -> int:
    return int(value) if isinstance(value, str) and value.isdigit() else default


def _hand_back(
    clients: Clients, wiring: Wiring, worker: Worker, event: dict[str, Any], response: dict[str, Any], observer: Any
) -> None:
    """The failed messages of the groups the worker handed back (those it had no time for, and those the
    FIFO processor held behind them) become visible again soon, instead of after the visibility timeout."""
    if not worker.handed_back or not wiring.queue_url:
        return
    failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
    receipts = [
        (record["receiptHandle"], math.ceil(worker.handed_back[group]))
        for record in event["Records"]
        if record.get("messageId") in failed
        and (group := (record.get("attributes") or {}).get("MessageGroupId")) in worker.handed_back
    ]
    if not receipts:
        return
    from endpoint_guard.aws import QueueAdapter

    try:
        QueueAdapter(wiring.queue_url, clients).hand_back(receipts)
    except EndpointGuardError as err:  # they come back after the visibility timeout instead
        observer.failed("could not hand messages back early", err)


def build_worker(
    clients: Clients,
    wiring: Wiring,
    settings: Settings,
    observer: LambdaObserver,
    *,
    context: Any = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    members: MemberAccess | None = None,
) -> Worker:
    """The worker use case with the deployed collaborators (``members``: a hub's way into its member
    accounts; one is made when a hub's caller passes none)."""
    from endpoint_guard.aws import Ec2Adapter, QueueAdapter, Services, StateTable, StepFunctionsAdapter
    from endpoint_guard.aws.workloads import pull_path
    from endpoint_guard.errors import ReconcileFailedError
    from endpoint_guard.reconcile.result import reconcile_failed
    from endpoint_guard.reconcile.run import reconcile_observed
    from endpoint_guard.reconcile.run import release as run_release
    from endpoint_guard.settings import PROFILE_COST_AWARE
    from endpoint_guard.worker.messages import released_subnet
    from endpoint_guard.worker.pacing import Budget, Pace, Pacer, pace_key
    from endpoint_guard.worker.usecase import Place, Worker, WorkerRules

    state = StateTable(wiring.state_table, clients) if wiring.state_table else None
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    budget = Budget.from_remaining(
        clock(), remaining() if callable(remaining) else DEFAULT_REMAINING_MS, wiring.budget_margin_seconds
    )
    home_account = own_account(context)

    def place(at: Callable[[], Clients], account: str | None, region: str | None, scope: str = "") -> Place:
        """An account-Region's collaborators. ``at`` (its clients) is called on first use: a member role
        is assumed only when a VPC of that account is worked on."""
        ec2 = functools.cache(lambda: Ec2Adapter(at()))
        aws = functools.cache(lambda: Services(at()))
        paths = functools.cache(lambda: pull_path(at(), settings))  # one read of the workloads a batch
        marks = state.within(scope) if state is not None and scope else state
        pacer = None
        if state is not None:
            pacer = Pacer(
                store=state,
                key=pace_key(account, region or ec2().region),
                pace=Pace(wiring.endpoint_calls_per_second, wiring.endpoint_call_burst),
                budget=budget,
                clock=clock,
                sleep=sleep,
            )

        findings = None
        if settings.security_hub_findings and not settings.dry_run:  # imported by the account they belong to
            from endpoint_guard.aws.securityhub import SecurityHubAdapter
            from endpoint_guard.securityhub.usecase import publisher

            findings = publisher(
                functools.cache(lambda: SecurityHubAdapter(at())),
                lambda: at().account(),
                lambda: ec2().partition,
                marks,
                observer,
            )

        def reconcile(vpc_id: str, trusted: Any, pace: Any, dns: Any = None, pull: bool = False) -> Any:
            how = {"checked_group": trusted, "pace": pace, "dns_drift": dns}
            if pull:  # an ECS event, or one about a hop of the pulls: the workloads are read and judged
                how["workloads"] = paths()
            if settings.endpoint_profile == PROFILE_COST_AWARE:  # its pricing is imported only when in use
                from endpoint_guard.cost.aware import reconcile_profiled

                result, _ = reconcile_profiled(
                    vpc_id, aws=aws(), ec2=ec2(), settings=settings, observer=observer, **how
                )
            else:
                result, _ = reconcile_observed(vpc_id, ec2=ec2(), settings=settings, observer=observer, **how)
            failed = reconcile_failed(result)
            if failed is not None:
                raise failed
            if findings is not None:
                findings(result, clock())
            return result

        def release(vpc_id: str, what: str, pace: Any) -> Any:
            done = run_release(vpc_id, ec2=ec2(), subnet_id=released_subnet(what), pace=pace)
            failed = [
                f"{a['target']}: {a['description']}: {a.get('error', '')}"
                for a in done["actions"]
                if a["status"] == "failed"
            ]
            if failed:
                codes = tuple(dict.fromkeys(a["error_code"] for a in done["actions"] if "error_code" in a))
                retryable = all(a.get("retryable", True) for a in done["actions"] if a["status"] == "failed")
                raise ReconcileFailedError(vpc_id, failed, codes=codes, retryable=retryable, result=dict(done))
            return done

        releases = settings.release_on_dependency_violation and not settings.dry_run
        return Place(reconcile, marks, pacer, release if releases else None)

    own_region = Ec2Adapter(clients).region
    home = place(lambda: clients, home_account, None)
    places = None
    if wiring.hub:
        access = members or member_access(clients, wiring, home_account)

        def places(account: str, region: str) -> Place:
            if access.is_own(account, region) and region == own_region:
                return home
            return place(
                functools.cache(lambda: access.clients(account, region)), account, region, f"{account}/{region}/"
            )

    start = None
    if wiring.migration_state_machine_arn:
        start = functools.partial(StepFunctionsAdapter(clients).start_once, wiring.migration_state_machine_arn)
    return Worker(
        reconcile=home.reconcile,
        observer=observer,
        rules=WorkerRules(
            max_attempts=wiring.max_attempts,
            group_recheck_seconds=wiring.group_recheck_seconds,
            watermark_seconds=wiring.watermark_seconds,
            dry_run=settings.dry_run,
            release_quiet_seconds=wiring.release_quiet_seconds,
        ),
        marks=home.marks,
        dead_letters=QueueAdapter(wiring.dead_letter_queue_url, clients) if wiring.dead_letter_queue_url else None,
        start_migration=start,
        clock=clock,
        budget=budget,
        pacer=home.pacer,
        release=home.release,
        places=places,
    )

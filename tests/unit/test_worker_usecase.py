"""The worker's rules, without moto: covered, trust, retry or dead-letter, migration start. Every
collaborator is a fake here; test_pipeline.py runs the same use case through the deployed handler."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from endpoint_guard.errors import AwsCallError, OutOfTimeError, ReconcileFailedError, VpcNotFoundError
from endpoint_guard.model import CheckedGroup, DnsDrift, Mark
from endpoint_guard.observe import Recorded, Skip
from endpoint_guard.worker import Delivery, Worker, WorkerRules, WorkItem
from endpoint_guard.worker.pacing import Budget, Pace, Pacer
from endpoint_guard.worker.usecase import HandedBackError, Place

VPC = "vpc-0123456789abcdef0"
NOW = 1_700_000_000.0


def result(vpc_id: str = VPC, *, deferred: list | None = None, rules: str | None = "read") -> dict:
    return {
        "vpc_id": vpc_id,
        "region": "us-east-1",
        "dry_run": False,
        "compliant": True,
        "security_group_id": "sg-1",
        "security_group_rules": rules,
        "vpc_cidrs": ["10.0.0.0/16"],
        "deferred_route_tables": deferred or [],
        "migration_execution_arn": None,
    }


@dataclass
class Marks:
    known: dict[str, Mark] = field(default_factory=dict)
    written: list[tuple] = field(default_factory=list)
    reads: int = 0
    failures: dict[str, int] = field(default_factory=dict)

    def mark(self, vpc_id: str) -> Mark:
        self.reads += 1
        return self.known.get(vpc_id, Mark())

    def mark_reconciled(self, vpc_id, started_ms, expires_at, group=None, *, paths=False, deferred=False) -> None:
        self.written.append((vpc_id, started_ms, expires_at, group))
        self.failures.pop(vpc_id, None)

    deferrals: dict[str, list[str]] = field(default_factory=dict)

    def record_deferred(self, vpc_id, region, account, tables, at) -> None:
        self.deferrals[vpc_id] = list(tables)

    def forget_deferred(self, vpc_id) -> None:
        self.deferrals.pop(vpc_id)

    def record_failure(self, vpc_id: str, expires_at: int) -> int:
        self.failures[vpc_id] = self.failures.get(vpc_id, 0) + 1
        return self.failures[vpc_id]

    def forget_failures(self, vpc_id: str) -> None:
        self.failures.pop(vpc_id, None)

    dns: dict[str, int] = field(default_factory=dict)

    def dns_restored_at(self, vpc_id: str) -> int | None:
        return self.dns.get(vpc_id)

    def record_dns_restore(self, vpc_id: str, at_ms: int) -> None:
        self.dns[vpc_id] = at_ms

    recorded: list[tuple] = field(default_factory=list)

    def record_resources(self, vpc_id, resource_ids, expires_at) -> None:
        self.recorded.append((vpc_id, sorted(resource_ids)))

    releases: list[tuple] = field(default_factory=list)

    def record_release(self, vpc_id, at_s, expires_at) -> None:
        self.releases.append((vpc_id, at_s))


@dataclass
class Letters:
    sent: list[tuple[dict, dict]] = field(default_factory=list)

    def send(self, body: str, attributes: dict[str, str]) -> None:
        self.sent.append((json.loads(body), attributes))


class Reconciles:
    """Answers each reconcile with the next outcome: a result document or an error to raise."""

    def __init__(self, *outcomes) -> None:
        self.outcomes, self.calls = list(outcomes), []

    def __call__(self, vpc_id: str, trusted: CheckedGroup | None, pace=None, dns=None, pull=False):
        self.calls.append((vpc_id, trusted))
        self.pulls = [*getattr(self, "pulls", []), pull]
        self.drifts = [*getattr(self, "drifts", []), dns]
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        if callable(outcome):
            return outcome(pace)
        return outcome


def delivery(sent_ms: int = int(NOW * 1000) - 5000, receive_count: int = 1, body: str | None = None) -> Delivery:
    return Delivery(
        body=body if body is not None else WorkItem(VPC, "event-1", "CreateSubnet").to_message(),
        message_id="m-1",
        sent_ms=sent_ms,
        receive_count=receive_count,
    )


def worker(reconcile, *, marks=None, letters=None, start=None, budget=None, **rules) -> tuple[Worker, Recorded]:
    observer = Recorded()
    made = Worker(
        budget=budget,
        reconcile=reconcile,
        observer=observer,
        rules=WorkerRules(max_attempts=3, **rules),
        marks=marks,
        dead_letters=letters,
        start_migration=start,
        clock=lambda: NOW,
    )
    return made, observer


def test_a_success_is_marked_with_the_start_time_and_what_was_read_of_the_group() -> None:
    marks = Marks()
    done, _ = worker(Reconciles(result()), marks=marks)
    assert done.handle(delivery()) == {"vpc_id": VPC, "compliant": True, "migration_execution_arn": None}
    [(vpc, started, expires, group)] = marks.written
    assert (vpc, started, expires) == (VPC, int(NOW * 1000), int(NOW) + 86400)
    assert group == CheckedGroup("sg-1", ("10.0.0.0/16",), int(NOW))


def test_a_message_sent_before_the_last_reconcile_started_is_covered_and_reads_the_mark_once() -> None:
    marks = Marks({VPC: Mark(reconciled_from=int(NOW * 1000) - 1000)})
    reconciles = Reconciles()
    done, observer = worker(reconciles, marks=marks)
    for _ in range(3):
        assert done.handle(delivery(sent_ms=int(NOW * 1000) - 2000))["kind"] == "covered"
    assert reconciles.calls == [] and marks.reads == 1 and observer.counts["EventsSkipped"] == 3


def test_a_burst_in_one_batch_costs_one_reconcile() -> None:
    marks = Marks()
    reconciles = Reconciles(result())
    done, _ = worker(reconciles, marks=marks)
    done.handle(delivery())
    assert done.handle(delivery())["kind"] == "covered"  # sent before the first one's reconcile started
    assert len(reconciles.calls) == 1


@pytest.mark.parametrize(("age", "trusted"), [(60, True), (21600, False)])
def test_the_last_read_of_the_group_is_trusted_while_it_is_young(age: int, trusted: bool) -> None:
    group = CheckedGroup("sg-1", ("10.0.0.0/16",), int(NOW) - age)
    reconciles = Reconciles(result(rules="trusted"))
    done, _ = worker(reconciles, marks=Marks({VPC: Mark(None, group)}))
    done.handle(delivery())
    assert reconciles.calls == [(VPC, group if trusted else None)]


def test_a_retryable_failure_is_raised_while_attempts_remain_then_dead_lettered() -> None:
    failure = ReconcileFailedError(VPC, ["ecr.api: create: InternalError"])
    letters = Letters()
    done, observer = worker(Reconciles(failure, failure), letters=letters)
    with pytest.raises(ReconcileFailedError):
        done.handle(delivery(receive_count=2))
    assert letters.sent == []
    parked = done.handle(delivery(receive_count=3))
    assert parked["error_kind"] == "reconcile_failed" and parked["retryable"] is True and parked["attempts"] == 3
    [(record, attributes)] = letters.sent
    assert record["vpc_id"] == VPC and record["event_id"] == "event-1" and attributes["ErrorKind"] == "reconcile_failed"
    assert observer.counts["DeadLettered"] == 1 and observer.counts["Failures"] == 2


@pytest.mark.parametrize(
    "error", [VpcNotFoundError(VPC), AwsCallError("create_vpc_endpoint", "UnauthorizedOperation", "no")]
)
def test_a_failure_no_retry_can_cure_is_dead_lettered_on_the_first_attempt(error) -> None:
    letters = Letters()
    done, _ = worker(Reconciles(error), letters=letters)
    assert done.handle(delivery(receive_count=1))["retryable"] is False
    assert len(letters.sent) == 1


def test_an_unreadable_message_is_dead_lettered_without_a_vpc() -> None:
    letters = Letters()
    done, _ = worker(Reconciles(), letters=letters)
    parked = done.handle(delivery(body="not json"))
    assert parked["error_kind"] == "invalid_event" and parked["vpc_id"] is None and parked["message"] == "not json"


def test_without_a_dead_letter_queue_the_failure_stays_a_failure() -> None:
    done, _ = worker(Reconciles(VpcNotFoundError(VPC)))
    with pytest.raises(VpcNotFoundError):
        done.handle(delivery())


def test_a_deferred_gateway_starts_the_migration_plan_named_by_its_state() -> None:
    deferred = [{"route_table_id": "rtb-1", "workloads": [{"eni_id": "eni-1", "kind": "ecs-task"}]}]
    started: list[tuple[str, dict]] = []

    def start(name: str, document: dict) -> tuple[str, bool]:
        started.append((name, document))
        return f"arn:aws:states:us-east-1:123456789012:execution:plan:{name}", True

    done, observer = worker(Reconciles(result(deferred=deferred)), start=start)
    answer = done.handle(delivery())
    [(name, document)] = started
    assert name.startswith(VPC + "-") and document["deferred_route_tables"] == deferred
    assert answer["migration_execution_arn"].endswith(name) and observer.counts["MigrationPlansStarted"] == 1


def test_what_a_reconcile_deferred_is_recorded_for_the_window_and_forgotten_once_it_is_not() -> None:
    deferred = [{"route_table_id": "rtb-1", "workloads": [{"eni_id": "eni-1", "kind": "ecs-task"}]}]
    marks = Marks()
    done, _ = worker(Reconciles(result(deferred=deferred)), marks=marks)
    done.handle(delivery())
    assert marks.deferrals == {VPC: ["rtb-1"]}
    # A later container: the mark says the VPC was deferred, and this reconcile deferred nothing.
    marks.known[VPC] = Mark(reconciled_from=int(NOW * 1000) - 10_000_000, deferred=True)
    done, _ = worker(Reconciles(result()), marks=marks)
    done.handle(delivery(sent_ms=int(NOW * 1000)))
    assert marks.deferrals == {}
    # Nothing deferred before or now: no write about it at all.
    marks.known[VPC] = Mark(reconciled_from=int(NOW * 1000) - 10_000_000)
    marks.deferrals = {"other": ["rtb-9"]}
    done, _ = worker(Reconciles(result()), marks=marks)
    done.handle(delivery(sent_ms=int(NOW * 1000)))
    assert marks.deferrals == {"other": ["rtb-9"]}


def test_a_dry_run_marks_nothing() -> None:
    marks = Marks()
    done, _ = worker(Reconciles(result()), marks=marks, dry_run=True)
    done.handle(delivery())
    assert marks.written == []


# --- attempts, budget, bookkeeping ---------------------------------------------------------------------


def test_attempts_are_failed_reconciles_kept_with_the_mark_not_deliveries() -> None:
    failure = ReconcileFailedError(VPC, ["ecr.api: InternalError"])
    marks, letters = Marks(), Letters()
    done, _ = worker(Reconciles(failure, failure, failure), marks=marks, letters=letters)
    # Delivered many times already (hand-backs, a cut-short batch): still only the first failed reconcile.
    with pytest.raises(ReconcileFailedError):
        done.handle(delivery(receive_count=7))
    with pytest.raises(ReconcileFailedError):
        done.handle(delivery(receive_count=8))
    assert letters.sent == []
    assert done.handle(delivery(receive_count=9))["attempts"] == 3  # the third failed reconcile: parked
    assert len(letters.sent) == 1
    assert marks.failures == {}  # the next event for the VPC starts a fresh count


def test_a_permanent_failure_is_parked_at_once_with_its_codes_and_the_partial_result() -> None:
    partial = result()
    failure = ReconcileFailedError(
        VPC,
        ["ecr.dkr: DuplicateSubnetsInSameZone"],
        codes=("DuplicateSubnetsInSameZone",),
        retryable=False,
        result=partial,
    )
    letters = Letters()
    done, _ = worker(Reconciles(failure), marks=Marks(), letters=letters)
    parked = done.handle(delivery())
    assert parked["retryable"] is False and parked["attempts"] == 1
    assert parked["aws_codes"] == ["DuplicateSubnetsInSameZone"] and parked["result"]["vpc_id"] == VPC


def test_a_failed_record_of_a_success_does_not_fail_the_vpc() -> None:
    class Throttled(Marks):
        def mark_reconciled(self, *args, **kwargs) -> None:
            raise AwsCallError("update_item", "ProvisionedThroughputExceededException", "slow down")

    letters = Letters()
    done, observer = worker(Reconciles(result()), marks=Throttled(), letters=letters)
    assert done.handle(delivery())["compliant"] is True
    assert letters.sent == [] and observer.counts["BookkeepingFailures"] == 1


def test_out_of_time_mid_vpc_hands_it_and_the_rest_of_the_batch_back_unattempted() -> None:
    marks = Marks()

    def slow(pace):
        raise OutOfTimeError("no slot before the deadline", retry_after=12.0)

    reconciles = Reconciles(slow)
    done, observer = worker(reconciles, marks=marks, letters=Letters())
    with pytest.raises(HandedBackError):
        done.handle(delivery())
    other = Delivery(WorkItem("vpc-0fedcba9876543210", "e2").to_message(), "m-2", 0, 1, "vpc-0fedcba9876543210")
    with pytest.raises(HandedBackError):
        done.handle(other)
    assert len(reconciles.calls) == 1  # the second VPC was not started
    assert done.handed_back == {VPC: 12.0, "vpc-0fedcba9876543210": 12.0}
    assert marks.failures == {} and observer.counts["HandedBack"] == 2 and "Failures" not in observer.counts


def test_a_vpc_is_not_started_without_the_time_to_finish_it() -> None:
    reconciles = Reconciles(result())
    done, _ = worker(reconciles, budget=Budget(deadline=NOW + 5))  # less than vpc_seconds (10) left
    with pytest.raises(HandedBackError):
        done.handle(delivery())
    assert reconciles.calls == []


def test_an_ecs_or_path_event_reads_the_workloads_and_a_plain_vpc_event_does_not() -> None:
    reconciles = Reconciles(result(), result(), result())
    done, _ = worker(reconciles)
    for name in ("CreateSubnet", "RunTask", "RevokeSecurityGroupEgress"):
        body = WorkItem(VPC, f"e-{name}", name).to_message()
        done.handle(Delivery(body, f"m-{name}", int(NOW * 1000), 1, VPC))
    assert reconciles.pulls == [False, True, True]


def test_after_a_slow_vpc_the_next_is_started_only_with_as_much_time_left() -> None:
    """AWS is slow today: the first VPC took 30 s. With 20 s left, the next one (which vpc_seconds
    alone would let start) goes back to the queue instead of running into the function's timeout."""
    now = [NOW]

    def slow(pace):
        now[0] += 30
        return result()

    reconciles = Reconciles(slow, result())
    done = Worker(
        reconcile=reconciles,
        observer=Recorded(),
        rules=WorkerRules(vpc_seconds=10),
        clock=lambda: now[0],
        budget=Budget(deadline=NOW + 50),
    )
    assert done.handle(delivery())["compliant"] is True
    other = Delivery(WorkItem("vpc-0fedcba9876543210", "e2").to_message(), "m-2", 0, 1, "vpc-0fedcba9876543210")
    with pytest.raises(HandedBackError):
        done.handle(other)
    assert len(reconciles.calls) == 1


# --- the pace: GCRA over a shared store ----------------------------------------------------------------


class Slots:
    """The state table's reserve_slot, in memory (the same arithmetic as the conditional writes)."""

    def __init__(self) -> None:
        self.tat: dict[str, float] = {}

    def reserve_slot(self, key, now, interval, latest, *, busy=False):
        tat = self.tat.get(key)
        if tat is not None and tat > latest:
            return None
        self.tat[key] = max(tat or now, now) + interval
        return self.tat[key]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_pace_lets_a_burst_through_then_spaces_calls_by_the_interval() -> None:
    clock, slots = Clock(NOW), Slots()
    pace = Pace(rate=0.25, burst=4)
    pacer = Pacer(store=slots, key="k", pace=pace, budget=Budget(NOW + 1000), clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(7):
        pacer()
        starts.append(clock.now - NOW)
    assert starts == [0, 0, 0, 0, 4.0, 8.0, 12.0]


def test_two_workers_share_one_pace() -> None:
    clock, slots = Clock(NOW), Slots()
    pace = Pace(rate=0.5, burst=2)
    a, b = (
        Pacer(store=slots, key="k", pace=pace, budget=Budget(NOW + 1000), clock=clock, sleep=clock.sleep)
        for _ in range(2)
    )
    a(), b()  # the burst
    a()
    assert clock.now - NOW == 2.0  # the third call of the pair waits one interval, whoever makes it


def test_the_pace_refuses_a_slot_past_the_deadline_without_waiting() -> None:
    clock, slots = Clock(NOW), Slots()
    pace = Pace(rate=0.1, burst=1)
    pacer = Pacer(store=slots, key="k", pace=pace, budget=Budget(NOW + 15), clock=clock, sleep=clock.sleep)
    pacer()  # at once
    pacer()  # waits 10 s: the slot starts before the deadline
    with pytest.raises(OutOfTimeError):
        pacer()  # would start at +20, past the deadline at +15
    assert clock.now - NOW == 10.0


def test_a_covered_message_is_settled_even_without_time_for_a_vpc() -> None:
    marks = Marks({VPC: Mark(reconciled_from=int(NOW * 1000) - 1000)})
    done, _ = worker(Reconciles(), marks=marks, budget=Budget(deadline=NOW + 1))
    assert done.handle(delivery(sent_ms=int(NOW * 1000) - 2000))["kind"] == "covered"  # not handed back


# --- DNS drift and releases -----------------------------------------------------------------------------


def dns_delivery(sent_ms: int = int(NOW * 1000) - 5000) -> Delivery:
    item = WorkItem(VPC, "event-9", "ModifyVpcAttribute", dns_off_by="arn:aws:iam::1:user/tf")
    return Delivery(body=item.to_message(), message_id="m-9", sent_ms=sent_ms, receive_count=1)


def test_a_dns_off_event_is_never_covered_and_the_restore_is_remembered_once() -> None:
    marks = Marks(known={VPC: Mark(reconciled_from=int(NOW * 1000))})  # a later reconcile: would cover it
    reconciles = Reconciles(result() | {"dns_restored": True}, result() | {"dns_restored": False})
    done, observer = worker(reconciles, marks=marks)
    done.handle(dns_delivery())
    assert reconciles.drifts[0] == DnsDrift("arn:aws:iam::1:user/tf", None)  # read, with who did it
    assert marks.dns == {VPC: int(NOW * 1000)}
    done.handle(dns_delivery())  # turned off again: the reconcile learns endpoint-guard restored them
    assert reconciles.drifts[1] == DnsDrift("arn:aws:iam::1:user/tf", int(NOW * 1000))
    assert Skip.COVERED not in [s["kind"] for s in observer.skips]


def test_a_release_runs_the_releaser_not_a_reconcile_and_leaves_the_mark() -> None:
    released: list[tuple[str, str]] = []

    def release(vpc_id, what, pace):
        released.append((vpc_id, what))
        return {"vpc_id": vpc_id, "subnet_id": None, "released": True, "actions": [{"description": "delete x"}]}

    marks = Marks()
    item = WorkItem(VPC, "event-8", "DeleteVpc", release="vpc")
    made = Worker(
        reconcile=Reconciles(),
        observer=Recorded(),
        rules=WorkerRules(),
        marks=marks,
        release=release,
        clock=lambda: NOW,
    )
    outcome = made.handle(Delivery(body=item.to_message(), message_id="m", sent_ms=int(NOW * 1000), receive_count=1))
    assert outcome == {"vpc_id": VPC, "released": True, "actions": 1}
    assert released == [(VPC, "vpc")] and marks.written == []


def test_a_release_turned_off_is_a_skip_and_a_failed_one_is_retried() -> None:
    item = WorkItem(VPC, "event-8", "DeleteSubnet", release="subnet-1")
    body = item.to_message()
    off = Worker(reconcile=Reconciles(), observer=Recorded(), rules=WorkerRules(), release=None, clock=lambda: NOW)
    assert off.handle(Delivery(body, "m", int(NOW * 1000), 1))["kind"] == Skip.NO_EFFECT

    def busy(vpc_id, what, pace):
        raise ReconcileFailedError(vpc_id, ["endpoints: in use"], codes=("DependencyViolation",), retryable=True)

    on = Worker(reconcile=Reconciles(), observer=Recorded(), rules=WorkerRules(), release=busy, clock=lambda: NOW)
    with pytest.raises(ReconcileFailedError):
        on.handle(Delivery(body, "m", int(NOW * 1000), 1))


def test_a_drift_event_reads_the_group_again_names_the_drift_and_records_what_was_remade() -> None:
    checked = CheckedGroup("sg-1", ("10.0.0.0/16",), int(NOW) - 60)  # recent: normally trusted
    marks = Marks(known={VPC: Mark(reconciled_from=int(NOW * 1000), group=checked)})
    remade = result() | {
        "actions": [{"action": "create_interface_endpoint", "status": "done"}],
        "endpoints": [
            {"service": "ecr.dkr", "managed": True, "endpoint_id": "vpce-new", "subnet_ids": ["subnet-a"]},
            {"service": "s3", "managed": False, "endpoint_id": "vpce-theirs", "route_table_ids": ["rtb-x"]},
        ],
    }
    reconciles = Reconciles(remade)
    done, observer = worker(reconciles, marks=marks)
    item = WorkItem(VPC, "event-7", "DeleteVpcEndpoints", drift="DeleteVpcEndpoints by arn:aws:iam::1:user/x")
    done.handle(Delivery(body=item.to_message(), message_id="m", sent_ms=int(NOW * 1000) - 5000, receive_count=1))
    assert reconciles.calls == [(VPC, None)]  # never covered, and the group is read, not trusted
    assert observer.counts["DriftRepaired"] == 1
    assert remade["drift"] == "DeleteVpcEndpoints by arn:aws:iam::1:user/x"
    assert marks.recorded == [(VPC, ["sg-1", "subnet-a", "vpce-new"])]  # ours only


def test_a_compliant_reconcile_records_nothing() -> None:
    marks = Marks()
    done, _ = worker(Reconciles(result() | {"actions": [], "endpoints": []}), marks=marks)
    done.handle(delivery())
    assert marks.recorded == []


def test_after_a_release_the_vpcs_other_work_stands_aside_for_the_quiet_time() -> None:
    """A release means its owner is tearing the VPC down: a reconcile now would put back what the
    owner's next delete needs gone."""

    def release(vpc_id, what, pace):
        return {"vpc_id": vpc_id, "subnet_id": what, "released": True, "actions": [{"description": "x"}]}

    marks, clock = Marks(), [NOW]
    reconciles = Reconciles(result())
    made = Worker(
        reconcile=reconciles,
        observer=Recorded(),
        rules=WorkerRules(release_quiet_seconds=600),
        marks=marks,
        release=release,
        clock=lambda: clock[0],
    )
    released = WorkItem(VPC, "e1", "DeleteSubnet", release="subnet-0123456789abcdef0")
    made.handle(Delivery(released.to_message(), "m1", int(NOW * 1000), 1))
    assert marks.releases == [(VPC, int(NOW))]
    drift = WorkItem(VPC, "e2", "DeleteSubnet", drift="DeleteSubnet by x")
    skipped = made.handle(Delivery(drift.to_message(), "m2", int(NOW * 1000) + 1, 1))
    assert skipped["kind"] == Skip.STANDING_ASIDE and reconciles.calls == []
    clock[0] = NOW + 601
    marks.known[VPC] = Mark(released_at=int(NOW))  # as the table has it, for a later batch
    later = Worker(
        reconcile=reconciles,
        observer=Recorded(),
        rules=WorkerRules(release_quiet_seconds=600),
        marks=marks,
        clock=lambda: clock[0],
    )
    assert later.handle(Delivery(drift.to_message(), "m3", int(NOW * 1000) + 2, 1))["compliant"] is True


def test_a_hubs_members_are_worked_in_their_own_place_and_the_same_vpc_id_elsewhere_is_another_vpc() -> None:
    """A hub's items name an account and Region: each account-Region has its own reconcile and state view
    (asked for once per batch); the worker's own items stay at home with the single-account keys."""
    home_marks, member_marks = Marks(), Marks()
    home, member = Reconciles(result()), Reconciles(result(), result())
    asked: list[tuple[str, str]] = []

    def places(account: str, region: str) -> Place:
        asked.append((account, region))
        return Place(member, member_marks)

    done = Worker(
        reconcile=home,
        observer=Recorded(),
        rules=WorkerRules(),
        marks=home_marks,
        clock=lambda: NOW,
        places=places,
    )
    for item in (
        WorkItem(VPC, "e1", "CreateVpc"),
        WorkItem(VPC, "e2", "CreateVpc", account="111111111111", region="eu-west-1"),
        WorkItem(VPC, "e3", "CreateVpc", account="111111111111", region="eu-west-1"),
    ):
        sent = delivery(body=item.to_message())
        done.handle(Delivery(sent.body, item.event_id or "", int(NOW * 1000) + 1, 1, item.group_id))
    assert len(home.calls) == 1 and len(member.calls) == 2  # not covered by the home VPC's reconcile
    assert [w[0] for w in home_marks.written] == [VPC] and [w[0] for w in member_marks.written] == [VPC, VPC]
    assert asked == [("111111111111", "eu-west-1")]


def test_a_members_item_without_a_hub_is_dead_lettered_as_a_configuration_error() -> None:
    letters = Letters()
    done, _ = worker(Reconciles(), letters=letters, marks=Marks())
    item = WorkItem(VPC, "e1", "CreateVpc", account="111111111111", region="eu-west-1")
    parked = done.handle(delivery(body=item.to_message()))
    assert parked["error_kind"] == "configuration" and "FleetMode" in parked["error"]
    assert len(letters.sent) == 1

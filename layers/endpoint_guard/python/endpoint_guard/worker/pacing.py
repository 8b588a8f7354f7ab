"""Pacing to EC2's endpoint bucket, and the invocation's time budget (pure rules, injected stores).

EC2 throttles CreateVpcEndpoint/ModifyVpcEndpoint/DeleteVpcEndpoints per account and Region with a
token bucket (4 calls, refilled at 0.3 a second). Every worker of the account-Region shares one pace,
kept in the state table as a GCRA "theoretical arrival time" (TAT): a call reserves the next slot by
moving the TAT one interval on, and waits until its slot. The reservation is one conditional write, so
concurrent workers never hand out the same slot, and it is refused when the slot would start after the
invocation's deadline (so the worker never waits into a Lambda timeout)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from endpoint_guard.errors import OutOfTimeError


@dataclass(frozen=True)
class Pace:
    """``rate`` calls a second, at most ``burst`` at once."""

    rate: float
    burst: int

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    @property
    def tolerance(self) -> float:
        """How far ahead of now the TAT may run before a call must wait (GCRA's burst tolerance)."""
        return (self.burst - 1) * self.interval


def start_of_slot(tat: float, pace: Pace) -> float:
    """When the call whose reservation moved the TAT to ``tat`` may go."""
    return tat - pace.interval - pace.tolerance


class SlotStore(Protocol):
    def reserve_slot(self, key: str, now: float, interval: float, latest: float, *, busy: bool = False) -> float | None:
        """Move the key's TAT to max(TAT, now) + interval, unless the TAT is past ``latest``; return the
        new TAT, or None when refused. ``busy``: the caller last saw the TAT ahead of now (so the write
        that restarts an idle pace would fail: skip it)."""

    def current_slot(self, key: str) -> float | None:
        """The key's TAT as it stands (None for a pace never used)."""


@dataclass
class Budget:
    """The invocation's time: it must be done by ``deadline`` (epoch seconds), which keeps ``margin``
    seconds of the function's timeout for finishing the VPC at hand and the batch's bookkeeping."""

    deadline: float

    @classmethod
    def from_remaining(cls, now: float, remaining_ms: int, margin: float) -> Budget:
        return cls(now + remaining_ms / 1000.0 - margin)

    def allows(self, now: float, seconds: float) -> bool:
        return now + seconds <= self.deadline


class Pacer:
    """The worker's hold on the account-Region's pace. ``reserve(n)`` takes the slots of a VPC's n
    endpoint calls in one write, before the first of them (so a VPC is either given all its slots
    within the budget or not touched); each call then waits for its slot (``__call__``). A call with no
    slot reserved reserves its own. Raises OutOfTimeError when the slots would start after the deadline."""

    def __init__(
        self,
        *,
        store: SlotStore,
        key: str,
        pace: Pace,
        budget: Budget,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.store, self.key, self.pace, self.budget = store, key, pace, budget
        self.clock, self.sleep = clock, sleep
        self._last_tat: float | None = None  # the pace's TAT as this worker last saw it (None: not yet)
        self._slots: list[float] = []  # reserved slot starts, earliest first

    def can_start(self, calls: int) -> bool:
        """Whether ``calls`` endpoint calls could still start before the deadline: a VPC that could not
        finish is not started. While the pace is busy (this worker last saw it ahead of now), other
        workers move it too, so it is read again (one read); an idle pace costs nothing to ask about."""
        now = self.clock()
        if self._last_tat is not None and self._last_tat > now:
            self._last_tat = max(self._last_tat, self.store.current_slot(self.key) or 0.0)
        last = max(self._last_tat or 0.0, now) + calls * self.pace.interval
        return start_of_slot(last, self.pace) <= self.budget.deadline

    def reserve(self, calls: int) -> None:
        if calls <= 0:
            return
        now = self.clock()
        span = calls * self.pace.interval
        if start_of_slot(now + span, self.pace) > self.budget.deadline:
            raise self._out_of_time(calls)
        latest = self.budget.deadline + self.pace.tolerance - (calls - 1) * self.pace.interval
        tat = self.store.reserve_slot(self.key, now, span, latest, busy=(self._last_tat or 0.0) > now)
        if tat is None:
            raise self._out_of_time(calls)
        self._last_tat = tat
        first = tat - span
        self._slots += [start_of_slot(first + (n + 1) * self.pace.interval, self.pace) for n in range(calls)]

    def __call__(self) -> None:
        if not self._slots:
            self.reserve(1)
        wait = self._slots.pop(0) - self.clock()
        if wait > 0:
            self.sleep(wait)

    def _out_of_time(self, calls: int) -> OutOfTimeError:
        self._slots.clear()
        return OutOfTimeError(
            f"no {calls} endpoint-call slot(s) in {self.key} before this invocation's deadline",
            retry_after=self.pace.interval * self.pace.burst,
        )


def pace_key(account: str | None, region: str, bucket: str = "ec2-endpoints") -> str:
    """The state-table key of an account-Region's pace for one of EC2's buckets (the endpoint calls', or
    the sweep's share of the describes', ``ec2-describes``)."""
    return f"pace#{bucket}#{account or 'self'}#{region}"

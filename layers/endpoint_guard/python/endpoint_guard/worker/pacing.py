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
    """Called before each endpoint call: reserves a slot in the account-Region's pace and waits for
    it, or raises OutOfTimeError when the slot would start after the budget's deadline."""

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
        self.waited = 0.0
        self._last_tat = 0.0

    def __call__(self) -> None:
        now = self.clock()
        latest = self.budget.deadline + self.pace.tolerance
        tat = self.store.reserve_slot(self.key, now, self.pace.interval, latest, busy=self._last_tat > now)
        if tat is None:
            raise OutOfTimeError(
                f"no endpoint-call slot in {self.key} before this invocation's deadline",
                retry_after=self.pace.interval * self.pace.burst,
            )
        self._last_tat = tat
        wait = start_of_slot(tat, self.pace) - now
        if wait > 0:
            self.waited += wait
            self.sleep(wait)


def pace_key(account: str | None, region: str) -> str:
    """The state-table key of an account-Region's endpoint pace."""
    return f"pace#ec2-endpoints#{account or 'self'}#{region}"

"""The order the sweep's Distributed Map starts its chunks in (fleet.usecase.schedule): earliest
deadline first against each account-Region's describe pace. Pure."""

from __future__ import annotations

from endpoint_guard.fleet.usecase import chunk_describes, schedule


def chunks(account: str, region: str, *sizes: int) -> list[dict]:
    return [{"account": account, "region": region, "vpc_ids": [f"vpc-{n}"] * size} for n, size in enumerate(sizes)]


def test_the_busiest_account_regions_chunks_start_first_and_small_targets_fill_in_by_their_deadlines() -> None:
    big = chunks("111111111111", "us-east-1", 25, 25, 25, 25)
    small = [*chunks("222222222222", "us-east-1", 3), *chunks("333333333333", "eu-west-1", 10)]
    order = schedule([*small, *big], describes_per_second=18, burst=90)
    assert order[0] is big[0]
    # The big target needs (4*56 - 90)/18 = 7.4 s at its pace: chunk j must start by 7.4 - (4-j)*1.9 s;
    # the small ones (within their burst) need no time at all, so their deadline is the sweep's end.
    assert [order.index(c) for c in big] == [0, 1, 2, 3]
    assert order[4:] == small  # both at the end, in the plan's order
    assert sorted(map(id, order)) == sorted(map(id, [*small, *big]))  # nothing lost, nothing twice


def test_two_busy_targets_interleave_so_both_finish_with_the_sweep() -> None:
    one = chunks("111111111111", "us-east-1", *([25] * 6))  # (348 - 90) / 18 = 14.3 s: the sweep's length
    two = chunks("111111111111", "eu-west-1", *([25] * 3))  # 4.7 s: due to start by 14.3 - 4.7 = 9.7 s
    order = schedule([*one, *two], describes_per_second=18, burst=90)
    # one's deadlines: 0, 2.4, 4.8, 7.2, 9.6, 11.9 s; two's: 9.7, 11.3, 12.8 s
    assert order == [*one[:5], two[0], two[1], one[5], two[2]]
    assert [c for c in order if c in one] == one and [c for c in order if c in two] == two  # each in order
    assert chunk_describes(25) == 58


def test_an_empty_plan_is_an_empty_schedule() -> None:
    assert schedule([], 18, 90) == []

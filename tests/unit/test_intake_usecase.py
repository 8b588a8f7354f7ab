"""The intake's use case without moto: triggers -> work items, skips with reasons, the queue or an
in-process reconcile. The lookups are a fake here; test_resolve_moto.py runs them on moto."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from endpoint_guard.errors import AwsCallError, InvalidEventError, ReconcileFailedError
from endpoint_guard.intake import Hub, Trigger, accept, enqueue, reconcile_now
from endpoint_guard.observe import Recorded, Skip
from endpoint_guard.worker import WorkItem

VPC_A, VPC_B = "vpc-0123456789abcdef0", "vpc-0fedcba9876543210"


class Lookups:
    def __init__(
        self,
        subnets: dict[str, str],
        fail: bool = False,
        ignored: tuple[str, ...] = (),
        owners: dict[str, str] | None = None,
    ) -> None:
        self.subnets, self.fail, self.ignored, self.owners = subnets, fail, ignored, owners or {}

    def vpcs(self, vpc_ids) -> list[dict]:
        tags = [{"Key": "endpoint-guard:ignore", "Value": "true"}]
        return [
            {"VpcId": v, "OwnerId": self.owners.get(v, OWN), "Tags": tags if v in self.ignored else []}
            for v in sorted(set(vpc_ids))
        ]

    def vpcs_of_endpoints(self, endpoint_ids) -> tuple[str, ...]:
        return tuple(sorted({self.subnets[e] for e in endpoint_ids if e in self.subnets}))

    def vpcs_of_managed_groups(self, group_ids) -> tuple[str, ...]:
        return ()

    def vpcs_of(self, subnet_ids=(), route_table_ids=()) -> tuple[str, ...]:
        if self.fail:
            raise AwsCallError("describe_subnets", "InternalError", "later")
        return tuple(sorted({self.subnets[s] for s in subnet_ids if s in self.subnets}))


OWN = "123456789012"


def aws(**subnets: str) -> SimpleNamespace:
    return SimpleNamespace(lookups=Lookups(subnets))


def test_each_trigger_becomes_one_item_per_vpc_and_skips_keep_their_reason() -> None:
    observer = Recorded()
    accepted = accept(
        [
            Trigger("e1", "CreateVpc", vpc_ids=(VPC_A,)),
            Trigger("e2", "RunTask", subnet_ids=("subnet-1", "subnet-2")),
            Trigger("e3", "CreateVpc", skip_kind=Skip.FAILED_CALL, skip_reason="failed call"),
            Trigger("e4", "RunTask", subnet_ids=("subnet-gone",)),
        ],
        aws=aws(**{"subnet-1": VPC_A, "subnet-2": VPC_B}),
        own_account=None,
        observer=observer,
    )
    assert accepted.items == [
        WorkItem(VPC_A, "e1", "CreateVpc"),
        WorkItem(VPC_A, "e2", "RunTask"),
        WorkItem(VPC_B, "e2", "RunTask"),
    ]
    assert [s["kind"] for s in accepted.skipped] == [Skip.FAILED_CALL, Skip.GONE]
    assert observer.counts["EventsSkipped"] == 2


def test_a_vpc_tagged_ignore_is_skipped_as_opted_out_and_the_others_go_on() -> None:
    lookups = Lookups({"subnet-1": VPC_A, "subnet-2": VPC_B}, ignored=(VPC_A,))
    accepted = accept(
        [
            Trigger("e1", "CreateVpc", vpc_ids=(VPC_A,)),
            Trigger("e2", "RunTask", subnet_ids=("subnet-1", "subnet-2")),
            Trigger("e3", "DeleteVpc", vpc_ids=(VPC_A,), release="vpc"),  # releasing is standing aside too
        ],
        aws=SimpleNamespace(lookups=lookups),
        own_account=None,
        observer=Recorded(),
    )
    assert accepted.items == [WorkItem(VPC_B, "e2", "RunTask"), WorkItem(VPC_A, "e3", "DeleteVpc", release="vpc")]
    assert [s["kind"] for s in accepted.skipped] == [Skip.OPTED_OUT]
    assert "endpoint-guard:ignore" in accepted.skipped[0]["reason"]


def test_an_event_from_another_account_is_skipped() -> None:
    accepted = accept(
        [Trigger("e1", "CreateVpc", vpc_ids=(VPC_A,), account="210987654321")],
        aws=aws(),
        own_account="123456789012",
        observer=Recorded(),
    )
    assert accepted.items == [] and accepted.skipped[0]["kind"] == Skip.FOREIGN_ACCOUNT


def test_a_failed_lookup_is_raised_with_its_kind_recorded() -> None:
    observer = Recorded()
    with pytest.raises(AwsCallError):
        accept(
            [Trigger("e1", "RunTask", subnet_ids=("subnet-1",))],
            aws=SimpleNamespace(lookups=Lookups({}, fail=True)),
            own_account=None,
            observer=observer,
        )
    assert observer.failures == [("could not resolve the event's VPC", "aws_error")]


def test_enqueue_sends_one_message_per_vpc_grouped_by_vpc() -> None:
    sent: list[tuple[str, str, str]] = []
    queue = SimpleNamespace(send_fifo=lambda messages: sent.extend(messages))
    observer = Recorded()
    queued = enqueue([WorkItem(VPC_A, "e1", "CreateVpc"), WorkItem(VPC_B, "e1", "CreateVpc")], queue, observer)
    assert [group for _, group, _ in sent] == [VPC_A, VPC_B]
    assert [WorkItem.from_message(body).vpc_id for body, _, _ in sent] == [VPC_A, VPC_B]
    assert queued[0] == {"vpc_id": VPC_A, "event_id": "e1", "event_name": "CreateVpc"}
    assert observer.counts["VpcsQueued"] == 2


def test_reconcile_now_gives_every_vpc_its_turn_then_raises_the_failures() -> None:
    done: list[str] = []

    def reconcile(item: WorkItem):
        vpc_id = item.vpc_id
        done.append(vpc_id)
        return {"vpc_id": vpc_id}, (["ecr.api: create: InternalError"] if vpc_id == VPC_A else [])

    items = [WorkItem(VPC_A, "e1"), WorkItem(VPC_A, "e2"), WorkItem(VPC_B, "e3")]
    with pytest.raises(ReconcileFailedError, match=VPC_A):
        reconcile_now(items, reconcile, Recorded())
    assert done == [VPC_A, VPC_B]  # each VPC once, in order


class Records:
    def __init__(self, known: dict[str, str]) -> None:
        self.known, self.asked = known, []

    def vpcs_of_resources(self, ids) -> tuple[str, ...]:
        self.asked.append(tuple(ids))
        return tuple(sorted({self.known[i] for i in ids if i in self.known}))


def test_drift_finds_a_deleted_resources_vpc_in_the_records_and_own_calls_never_trigger() -> None:
    records = Records({"vpce-gone": VPC_A})
    accepted = accept(
        [
            Trigger("e1", "ModifyVpcEndpoint", endpoint_ids=("vpce-live",), drift="ModifyVpcEndpoint by x"),
            Trigger("e2", "DeleteVpcEndpoints", endpoint_ids=("vpce-gone",), drift="DeleteVpcEndpoints by x"),
            Trigger("e3", "DeleteVpcEndpoints", endpoint_ids=("vpce-unknown",), drift="DeleteVpcEndpoints by x"),
            Trigger("e4", "ModifyVpcEndpoint", endpoint_ids=("vpce-live",), caller="arn:aws:iam::1:role/worker"),
        ],
        aws=aws(**{"vpce-live": VPC_B}),
        own_account=None,
        observer=Recorded(),
        own_roles=frozenset({"arn:aws:iam::1:role/worker"}),
        records=records,
    )
    assert accepted.items == [
        WorkItem(VPC_B, "e1", "ModifyVpcEndpoint", drift="ModifyVpcEndpoint by x"),
        WorkItem(VPC_A, "e2", "DeleteVpcEndpoints", drift="DeleteVpcEndpoints by x"),
    ]
    assert [s["kind"] for s in accepted.skipped] == [Skip.GONE, Skip.OWN_CALL]
    assert records.asked == [("vpce-gone",), ("vpce-unknown",)]  # only when the live lookups find nothing


def test_a_hub_admits_only_its_enrolled_accounts_and_regions() -> None:

    hub = Hub(
        home_account="123456789012",
        home_region="us-east-1",
        accounts=frozenset({"111111111111"}),
        regions=frozenset({"us-east-1", "eu-west-1"}),
        member_role="endpoint-guard-member",
        reach=lambda account, region: pytest.fail("a refusal reaches nothing"),
    )
    assert hub.refusal("111111111111", "eu-west-1") is None
    assert hub.refusal("123456789012", "us-east-1") is None  # its own account is always its own
    assert hub.refusal(None, None) is None  # a hand-made request: the hub's own account-Region
    assert "222222222222 is not enrolled" in (hub.refusal("222222222222", "us-east-1") or "")
    assert "Region ap-south-1 is not enrolled" in (hub.refusal("111111111111", "ap-south-1") or "")
    assert "not an account id" in (hub.refusal("../../etc", "us-east-1") or "")
    assert "without its account and Region" in (hub.refusal("111111111111", None) or "")
    anyone = Hub("123456789012", "us-east-1", frozenset(), frozenset({"us-east-1"}), "m", lambda a, r: None)
    assert anyone.refusal("999999999999", "us-east-1") is None  # no list: every account the bus admits
    assert hub.own_call("arn:aws:iam::111111111111:role/endpoint-guard-member")
    assert not hub.own_call("arn:aws:iam::111111111111:role/endpoint-guard-member-forward")
    assert not hub.own_call(None)


def test_a_members_work_item_keeps_its_account_and_region_in_its_message_group_and_key() -> None:
    item = WorkItem(VPC_A, "e1", "CreateVpc", account="111111111111", region="eu-west-1")
    assert WorkItem.from_message(item.to_message()) == item
    assert item.group_id == f"111111111111/eu-west-1/{VPC_A}" and item.key == item.group_id
    assert WorkItem(VPC_A, "e1").group_id == VPC_A  # a single-account stack's keys are unchanged
    assert item.deduplication_id("n") != WorkItem(VPC_A, "e1", "CreateVpc").deduplication_id("n")
    for account, region in (("1111", "eu-west-1"), ("111111111111", None), ("111111111111", "../x")):
        body = json.dumps({**json.loads(item.to_message()), "account": account, "region": region})
        with pytest.raises(InvalidEventError, match="account"):
            WorkItem.from_message(body)


NETWORK = "222222222222"  # a network account that owns VPCs and shares their subnets (RAM)


def test_a_vpc_shared_with_this_account_is_skipped_naming_its_owner_and_the_own_ones_go_on() -> None:
    """A participant sees the owner's VPC (DescribeVpcs gives the owner's OwnerId) but AWS refuses it
    endpoints there ("This operation does not support shared VPCs"): the event is not work for it."""
    lookups = Lookups({"subnet-1": VPC_A, "subnet-2": VPC_B}, owners={VPC_A: NETWORK})
    accepted = accept(
        [
            Trigger("e1", "RunTask", subnet_ids=("subnet-1",)),
            Trigger("e2", "RunTask", subnet_ids=("subnet-1", "subnet-2")),
        ],
        aws=SimpleNamespace(lookups=lookups),
        own_account=OWN,
        observer=Recorded(),
    )
    assert accepted.items == [WorkItem(VPC_B, "e2", "RunTask")]
    [skip] = accepted.skipped
    assert skip["kind"] == Skip.SHARED_VPC and f"{VPC_A} is account {NETWORK}'s, shared with {OWN}" in skip["reason"]
    # the CLI knows no account of its own: it acts on what the credentials reach
    unknown = accept(
        [Trigger("e1", "RunTask", subnet_ids=("subnet-1",))],
        aws=SimpleNamespace(lookups=lookups),
        own_account=None,
        observer=Recorded(),
    )
    assert unknown.items == [WorkItem(VPC_A, "e1", "RunTask")]


def test_a_hub_reconciles_a_shared_vpc_in_its_owners_account_when_it_manages_that_account() -> None:
    member = "111111111111"
    lookups = Lookups({"subnet-1": VPC_A}, owners={VPC_A: NETWORK})
    reached: list[tuple[str, str]] = []

    def hub(accounts: frozenset[str]) -> Hub:
        def reach(account: str, region: str) -> SimpleNamespace:
            reached.append((account, region))
            return SimpleNamespace(lookups=lookups)

        return Hub(OWN, "us-east-1", accounts, frozenset({"us-east-1", "eu-west-1"}), "endpoint-guard-member", reach)

    event = Trigger("e1", "RunTask", subnet_ids=("subnet-1",), account=member, region="eu-west-1")
    both = accept([event], aws=aws(), own_account=OWN, observer=Recorded(), hub=hub(frozenset({member, NETWORK})))
    assert both.items == [WorkItem(VPC_A, "e1", "RunTask", account=NETWORK, region="eu-west-1")]
    assert both.skipped == [] and reached == [(member, "eu-west-1")]  # looked up where the event happened

    only_member = accept([event], aws=aws(), own_account=OWN, observer=Recorded(), hub=hub(frozenset({member})))
    assert only_member.items == [] and only_member.skipped[0]["kind"] == Skip.SHARED_VPC

    home = Trigger("e2", "RunTask", subnet_ids=("subnet-1",), account=member, region="us-east-1")
    lookups.owners = {VPC_A: OWN}  # the hub's own account shares it: its work keeps the single-account keys
    owned_by_hub = accept([home], aws=aws(), own_account=OWN, observer=Recorded(), hub=hub(frozenset({member})))
    assert owned_by_hub.items == [WorkItem(VPC_A, "e2", "RunTask")]

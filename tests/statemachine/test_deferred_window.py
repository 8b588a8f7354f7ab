"""The maintenance window as deployed: statemachines/deferred-window.asl.json run for real by moto's
Step Functions (its Lambda tasks routed to the in-process handlers, moto running no Lambda code without
Docker; its Wait state given 0 s by DeferredGatewaySettleSeconds), against VPCs with tasks behind their
NAT route tables. moto's ECS starts no task for a service and reports runningCount 0: AWS's answer for a
steady service (running = desired) is injected on DescribeServices, and for the unsteady one a task
short after the first table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import boto3
import moto.awslambda.models as moto_lambda
import pytest
from endpoint_guard.aws import Clients, StateTable
from endpoint_guard.deferred.approval import Approval
from moto import mock_aws

from tests.conftest import REGION, on_every_client
from tools import workflow as workflow_tools
from tools.esm import create_stack
from tools.world import awsvpc_service, build_vpc, run_fargate_tasks, stop_fargate_tasks

TABLE = "endpoint-guard-state"


@pytest.fixture
def window(monkeypatch) -> Iterator[SimpleNamespace]:
    monkeypatch.setattr(moto_lambda.LambdaBackend, "invoke", workflow_tools.invoke_in_process)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        names = ("iam", "lambda", "s3", "sns", "sqs", "stepfunctions", "ec2", "ecs", "dynamodb")
        clients = {n: boto3.client(n, region_name=REGION) for n in names}
        stack = create_stack(clients["sqs"], clients["dynamodb"])
        for key, value in stack.env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("ENDPOINT_GUARD_DEFERRED_GATEWAY_SETTLE_SECONDS", "0")
        deployed = workflow_tools.deploy(
            clients,
            asl=workflow_tools.WINDOW_ASL,
            functions=workflow_tools.WINDOW_FUNCTIONS,
            name="deferred-window",
        )
        unsteady: set[str] = set()  # clusters whose service loses a task once a table was added

        def running(parsed: dict, **_: object) -> None:
            for service in parsed.get("services", []):
                cluster = service["clusterArn"].rsplit("/", 1)[-1]
                short = 1 if cluster in unsteady else 0
                service["runningCount"] = service["desiredCount"] - short

        on_every_client(monkeypatch, "ecs", "after-call.ecs.DescribeServices", running)
        yield SimpleNamespace(machine=deployed.machine, inbox=deployed.inbox, unsteady=unsteady, **clients)


def busy_vpc(window, cidr: str, cluster: str):
    """A NAT VPC whose us-east-1a and us-east-1b private tables have the tasks of service ``cluster``/cart."""
    world = build_vpc(window.ec2, cidr=cidr)
    awsvpc_service(window.ecs, list(world.private_subnets.values()), cluster=cluster, name="cart", desired=2)
    tasks = []
    for az in ("us-east-1a", "us-east-1b"):
        tasks += run_fargate_tasks(
            window.ecs, window.ec2, world.private_subnets[az], cluster=cluster, count=1, group="service:cart"
        )
    world.tasks = tasks
    return world


def approve(vpc_id: str) -> None:
    StateTable(TABLE, Clients(region=REGION)).put_approval(
        Approval(vpc_id, REGION, by="arn:aws:iam::123456789012:user/ops", at=1, until=4_000_000_000)
    )


def gateway_tables(window, vpc_id: str) -> set[str]:
    found = window.ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    return {rt for e in found if e["VpcEndpointType"] == "Gateway" for rt in e["RouteTableIds"]}


def run(window, name: str) -> tuple[dict, list[str]]:
    sfn = window.stepfunctions
    arn = sfn.start_execution(stateMachineArn=window.machine, name=name, input="{}")["executionArn"]
    ended = workflow_tools.wait(sfn, arn, timeout=120)
    messages = window.sqs.receive_message(QueueUrl=window.inbox, MaxNumberOfMessages=10).get("Messages", [])
    return ended, [m["Body"] for m in messages]


def deferred(window, world) -> None:
    """The worker's reconcile: endpoints made, the gateway deferred on the busy tables (and recorded)."""
    from endpoint_guard.cli import main

    assert main(["ensure", world.vpc_id, "--region", REGION]) == 1
    table = StateTable(TABLE, Clients(region=REGION))
    table.record_deferred(
        world.vpc_id, REGION, None, [world.private_route_tables[az] for az in ("us-east-1a", "us-east-1b")], 1
    )


def test_an_approved_vpc_gets_both_tables_one_at_a_time_and_an_unapproved_one_is_left(window, capsys) -> None:
    approved, left = busy_vpc(window, "10.40.0.0/16", "shop"), busy_vpc(window, "10.41.0.0/16", "other")
    for world in (approved, left):
        deferred(window, world)
    approve(approved.vpc_id)
    ended, messages = run(window, "w1")
    assert ended["status"] == "SUCCEEDED", ended
    busy = {approved.private_route_tables[az] for az in ("us-east-1a", "us-east-1b")}
    assert busy <= gateway_tables(window, approved.vpc_id)
    assert not {left.private_route_tables[az] for az in ("us-east-1a", "us-east-1b")} & gateway_tables(
        window, left.vpc_id
    )
    output = json.loads(ended["output"])
    [result] = output["results"]
    assert result["vpc_id"] == approved.vpc_id and result["added"] == sorted(busy) and result["compliant"]
    # The list before, what was added after, on the plan topic.
    before, after = messages
    assert approved.vpc_id in before and left.vpc_id not in before and "approved by" in before
    assert f"added {', '.join(sorted(busy))}" in after
    # The VPC is compliant now, and nothing is recorded deferred for the next window.
    _, deferrals = StateTable(TABLE, Clients(region=REGION)).window_items()
    assert (None, REGION, approved.vpc_id) not in deferrals


def test_a_service_that_goes_unsteady_after_the_first_table_stops_that_vpc(window) -> None:
    world = busy_vpc(window, "10.42.0.0/16", "flaky")
    deferred(window, world)
    approve(world.vpc_id)
    window.unsteady.add("flaky")
    ended, messages = run(window, "w2")
    assert ended["status"] == "SUCCEEDED", ended
    [result] = json.loads(ended["output"])["results"]
    first, second = sorted(world.private_route_tables[az] for az in ("us-east-1a", "us-east-1b"))
    assert result["outcome"] == "stopped" and result["added"] == [first]
    assert any("cart: 1 of 2 tasks running" in line for line in result["saw"])
    tables = gateway_tables(window, world.vpc_id)
    assert first in tables and second not in tables  # what was added stays; the rest waits
    assert "STOPPED after adding" in messages[-1] and "left in place" in messages[-1]
    _, deferrals = StateTable(TABLE, Clients(region=REGION)).window_items()
    assert deferrals[(None, REGION, world.vpc_id)] == (second,)


def test_without_approval_required_every_deferred_vpc_is_taken(window, monkeypatch) -> None:
    monkeypatch.setenv("ENDPOINT_GUARD_DEFERRED_GATEWAY_APPROVAL", "none")
    world = busy_vpc(window, "10.43.0.0/16", "shop")
    deferred(window, world)
    ended, messages = run(window, "w3")
    assert ended["status"] == "SUCCEEDED", ended
    [result] = json.loads(ended["output"])["results"]
    assert len(result["added"]) == 2 and "no approval required" in messages[0]


def test_a_vpc_whose_deferral_ended_meanwhile_is_simply_reconciled(window) -> None:
    world = busy_vpc(window, "10.44.0.0/16", "shop")
    deferred(window, world)
    approve(world.vpc_id)
    stop_fargate_tasks(window.ecs, window.ec2, world.tasks, cluster="shop")  # the tasks are gone
    ended, _ = run(window, "w4")
    [result] = json.loads(ended["output"])["results"]
    assert result["outcome"] == "nothing deferred" and result["added"] == [] and result["compliant"]
    assert set(world.private_route_tables.values()) <= gateway_tables(window, world.vpc_id)


def test_the_tag_approves_a_vpc_and_an_empty_window_says_so(window) -> None:
    ended, messages = run(window, "w5")
    assert ended["status"] == "SUCCEEDED" and "nothing to do" in messages[0]
    world = busy_vpc(window, "10.45.0.0/16", "shop")
    deferred(window, world)
    window.ec2.create_tags(Resources=[world.vpc_id], Tags=[{"Key": "endpoint-guard:apply-deferred", "Value": "window"}])
    ended, messages = run(window, "w6")
    [result] = json.loads(ended["output"])["results"]
    assert len(result["added"]) == 2 and "tag endpoint-guard:apply-deferred=window" in messages[0]


def test_a_vpc_its_owner_is_deleting_is_left_alone(window) -> None:
    """The worker released endpoint-guard's resources for the owner's DeleteVpc within the quiet time:
    the window stands aside as the worker does."""
    import time

    world = busy_vpc(window, "10.46.0.0/16", "shop")
    deferred(window, world)
    approve(world.vpc_id)
    StateTable(TABLE, Clients(region=REGION)).record_release(world.vpc_id, int(time.time()), 4_000_000_000)
    ended, _ = run(window, "w7")
    [result] = json.loads(ended["output"])["results"]
    assert result["outcome"] == "stood aside" and result["added"] == []
    assert not {world.private_route_tables[az] for az in ("us-east-1a", "us-east-1b")} & gateway_tables(
        window, world.vpc_id
    )

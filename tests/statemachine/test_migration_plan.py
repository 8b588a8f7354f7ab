"""The migration-plan workflow as deployed: the ASL file the template deploys, run for real by moto's
Step Functions, with its Lambda tasks routed to the in-process handlers (moto runs no Lambda code
without Docker) and its S3 and SNS tasks hitting moto."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from types import SimpleNamespace

import boto3
import moto.awslambda.models as moto_lambda
import moto.s3.models as moto_s3
import pytest
from endpoint_guard.migration import execution_name
from moto import mock_aws

from tests.conftest import EVENTS, REGION, SAMPLE_ROUTE_TABLE, SAMPLE_VPC
from tools import workflow as workflow_tools
from tools.world import build_vpc, load_balanced_service, member_client, run_fargate_tasks

BUCKET = workflow_tools.BUCKET


@pytest.fixture
def workflow(monkeypatch) -> Iterator[SimpleNamespace]:
    monkeypatch.setattr(moto_lambda.LambdaBackend, "invoke", workflow_tools.invoke_in_process)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        names = ("iam", "lambda", "s3", "sns", "sqs", "stepfunctions", "ec2", "ecs", "elbv2")
        clients = {n: boto3.client(n, region_name=REGION) for n in names}
        deployed = workflow_tools.deploy(clients)
        yield SimpleNamespace(machine=deployed.machine, inbox=deployed.inbox, **clients)


def run(workflow: SimpleNamespace, document: dict, name: str) -> dict:
    sfn = workflow.stepfunctions
    arn = sfn.start_execution(stateMachineArn=workflow.machine, name=name, input=json.dumps(document))["executionArn"]
    return workflow_tools.wait(sfn, arn)


def objects(workflow: SimpleNamespace, prefix: str = "plans/") -> list[str]:
    """The plans in the bucket (the run's working documents live under work/, expired by a lifecycle rule)."""
    found = workflow.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in found)


def notifications(workflow: SimpleNamespace) -> list[str]:
    return [
        m["Body"]
        for m in workflow.sqs.receive_message(QueueUrl=workflow.inbox, MaxNumberOfMessages=10).get("Messages", [])
    ]


def deferred_input(world, route_table: str) -> dict:
    return {
        "vpc_id": world.vpc_id,
        "region": REGION,
        "deferred_route_tables": [
            {"route_table_id": route_table, "workloads": [{"eni_id": "eni-x", "kind": "ecs-task"}]}
        ],
    }


def test_a_load_balanced_service_gets_a_complete_plan_stored_and_announced(workflow) -> None:
    world = build_vpc(workflow.ec2)
    load_balanced_service(workflow.ecs, workflow.elbv2, world)
    run_fargate_tasks(workflow.ecs, workflow.ec2, world.private_subnets["us-east-1a"])
    document = deferred_input(world, world.private_route_tables["us-east-1a"])
    name = execution_name(world.vpc_id, document["deferred_route_tables"])

    result = run(workflow, document, name)

    assert result["status"] == "SUCCEEDED", result
    prefix = f"plans/{world.vpc_id}/{name}"
    assert objects(workflow) == [f"{prefix}/plan.json", f"{prefix}/plan.md"]
    plan = json.loads(workflow.s3.get_object(Bucket=BUCKET, Key=f"{prefix}/plan.json")["Body"].read())
    assert plan["schema_version"] == 1 and plan["source_vpc_id"] == world.vpc_id
    [web] = plan["services"]
    assert (web["cluster"], web["service"], web["behind_load_balancer"]) == ("shop", "web", True)
    assert "create-target-group" in [s["action"] for s in web["steps"]]
    assert plan["source"]["deferred_route_tables"] == [world.private_route_tables["us-east-1a"]]
    markdown = workflow.s3.get_object(Bucket=BUCKET, Key=f"{prefix}/plan.md")["Body"].read().decode()
    assert markdown.startswith(f"# Migration plan for {world.vpc_id}")
    [message] = notifications(workflow)
    assert message.startswith(f"Migration plan for {world.vpc_id}") and f"{prefix}/plan.md" in message


def test_a_vpc_without_ecs_services_gets_a_plan_with_no_service_steps(workflow) -> None:
    world = build_vpc(workflow.ec2)
    result = run(workflow, {"vpc_id": world.vpc_id}, "no-services")  # a hand-start: nothing deferred given
    assert result["status"] == "SUCCEEDED", result
    plan = json.loads(
        workflow.s3.get_object(Bucket=BUCKET, Key=f"plans/{world.vpc_id}/no-services/plan.json")["Body"].read()
    )
    assert plan["services"] == [] and plan["alternative"] is None
    assert re.fullmatch(r"10\.\d+\.0\.0/16", plan["target"]["cidr"]) and plan["target"]["cidr"] != "10.40.0.0/16"


def test_a_failing_task_ends_in_the_failure_notification_and_writes_nothing(workflow) -> None:
    result = run(workflow, {"vpc_id": "vpc-0123456789abcdef0"}, "missing-vpc")
    assert result["status"] == "FAILED" and result["error"] == "MigrationPlanFailed"
    assert objects(workflow) == []
    [message] = notifications(workflow)
    assert "vpc-0123456789abcdef0" in message and "VpcNotFoundError" in message


def test_a_failed_store_leaves_no_half_written_plan(workflow, monkeypatch) -> None:
    real = moto_s3.S3Backend.put_object

    def refuse_documents(self, bucket_name, key_name, *args, **kwargs):
        if key_name.endswith("plan.json"):
            raise moto_s3.InvalidRequest("PutObject")  # what a denied or throttled write looks like to the task
        return real(self, bucket_name, key_name, *args, **kwargs)

    monkeypatch.setattr(moto_s3.S3Backend, "put_object", refuse_documents)
    world = build_vpc(workflow.ec2)
    result = run(workflow, {"vpc_id": world.vpc_id}, "store-fails")
    assert result["status"] == "FAILED"
    assert objects(workflow) == []  # the Markdown written first was discarded again
    assert objects(workflow, "work/")  # the run's documents stay for inspection (a lifecycle rule expires them)
    [message] = notifications(workflow)
    assert "No migration plan" in message


def test_the_sample_execution_input_in_events_runs(workflow) -> None:
    world = build_vpc(workflow.ec2)
    sample = (EVENTS / "statemachine" / "migration-plan.json").read_text()
    document = json.loads(
        sample.replace(SAMPLE_VPC, world.vpc_id).replace(SAMPLE_ROUTE_TABLE, world.private_route_tables["us-east-1b"])
    )
    assert run(workflow, document, "sample")["status"] == "SUCCEEDED"


def _largest_state_payload(workflow: SimpleNamespace, execution_arn: str) -> int:
    """The largest input or output any state of the execution carried, in bytes (from its history)."""
    largest = 0
    pages = workflow.stepfunctions.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    for page in pages:
        for event in page["events"]:
            for key, details in event.items():
                if key.endswith("EventDetails") and isinstance(details, dict):
                    for field in ("input", "output"):
                        if isinstance(details.get(field), str):
                            largest = max(largest, len(details[field].encode()))
    return largest


def test_a_very_large_vpc_is_planned_with_every_state_payload_small(workflow) -> None:
    """200 ECS services, 100 security groups and 1,000 ENIs: the documents stay in S3, the states carry
    keys, so no state comes near Step Functions' 256 KiB (States.DataLimitExceeded cannot be caught)."""
    ec2, ecs = workflow.ec2, workflow.ecs
    world = build_vpc(ec2)
    subnets = list(world.private_subnets.values())
    groups = [
        ec2.create_security_group(GroupName=f"app-{n}", Description=f"application tier {n}", VpcId=world.vpc_id)[
            "GroupId"
        ]
        for n in range(100)
    ]
    for n in range(1000):
        ec2.create_network_interface(SubnetId=subnets[n % 3], Groups=[groups[n % 100]], Description=f"worker {n}")
    ecs.create_cluster(clusterName="big")
    family = ecs.register_task_definition(
        family="big",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27", "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]
    for n in range(200):
        ecs.create_service(
            cluster="big",
            serviceName=f"service-{n:03d}",
            taskDefinition=family,
            desiredCount=2,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [groups[n % 100]]}},
        )
    document = deferred_input(world, world.private_route_tables["us-east-1a"])
    sfn = workflow.stepfunctions
    arn = sfn.start_execution(stateMachineArn=workflow.machine, name="large", input=json.dumps(document))[
        "executionArn"
    ]
    result = workflow_tools.wait(sfn, arn, timeout=300)

    assert result["status"] == "SUCCEEDED", result
    plan = json.loads(workflow.s3.get_object(Bucket=BUCKET, Key=f"plans/{world.vpc_id}/large/plan.json")["Body"].read())
    assert len(plan["services"]) == 200 and len(plan["target"]["security_groups"]) >= 100
    sizes = [
        len(workflow.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        for key in (
            f"work/{world.vpc_id}/large/inventory.json",
            f"plans/{world.vpc_id}/large/plan.json",
            f"plans/{world.vpc_id}/large/plan.md",
        )
    ]
    assert sum(sizes) > 256 * 1024  # what the states carried before: more than a state may hold
    assert 0 < _largest_state_payload(workflow, arn) < 64 * 1024


def test_a_hub_plans_the_move_of_a_member_accounts_vpc(workflow, monkeypatch) -> None:
    """The worker of a hub starts the workflow with the member's account and Region: the discovery reads
    that VPC through the member role."""
    member, region = "111111111111", "eu-west-1"
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_MODE", "hub")
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_EXTERNAL_ID", "hub-external-id-0123456789")
    world = build_vpc(member_client("ec2", member, region), azs=("eu-west-1a", "eu-west-1b"))
    document = {**deferred_input(world, world.private_route_tables["eu-west-1a"]), "region": region}
    result = run(workflow, {**document, "account": member}, "member-plan")
    assert result["status"] == "SUCCEEDED", result
    plan = json.loads(
        workflow.s3.get_object(Bucket=BUCKET, Key=f"plans/{world.vpc_id}/member-plan/plan.json")["Body"].read()
    )
    assert plan["source_vpc_id"] == world.vpc_id
    # Without the hub, another account's VPC is refused with a classified error (no guessing).
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_MODE", "single")
    refused = run(workflow, {**document, "account": member}, "member-plan-single")
    assert refused["status"] == "FAILED"
    assert "ConfigurationError" in notifications(workflow)[-1]

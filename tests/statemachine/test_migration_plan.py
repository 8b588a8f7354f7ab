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
from tools.world import build_vpc, load_balanced_service, run_fargate_tasks

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


def objects(workflow: SimpleNamespace) -> list[str]:
    return sorted(o["Key"] for o in workflow.s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


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
    [message] = notifications(workflow)
    assert "No migration plan" in message


def test_the_sample_execution_input_in_events_runs(workflow) -> None:
    world = build_vpc(workflow.ec2)
    sample = (EVENTS / "statemachine" / "migration-plan.json").read_text()
    document = json.loads(
        sample.replace(SAMPLE_VPC, world.vpc_id).replace(SAMPLE_ROUTE_TABLE, world.private_route_tables["us-east-1b"])
    )
    assert run(workflow, document, "sample")["status"] == "SUCCEEDED"

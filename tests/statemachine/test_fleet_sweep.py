"""The fleet-sweep workflow as deployed: the ASL file the template deploys, run by moto's Step Functions
(its Distributed Map reads the items file from S3), with the Lambda tasks routed to the in-process
handlers. moto's ResultWriter writes only a manifest; the report is built from the rows each chunk
writes, which works the same on AWS. The Distributed Map's settings are also checked statically."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import boto3
import moto.awslambda.models as moto_lambda
import pytest
from moto import mock_aws

from tests.conftest import REGION
from tools import workflow as workflow_tools
from tools.world import OWN_ACCOUNT, build_vpc, member_client


@pytest.fixture
def sweep(monkeypatch) -> Iterator[SimpleNamespace]:
    monkeypatch.setattr(moto_lambda.LambdaBackend, "invoke", workflow_tools.invoke_in_process)
    monkeypatch.setattr(workflow_tools.sweep_tasks, "CHUNK", 2)  # several chunks from a few VPCs
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        names = ("iam", "lambda", "s3", "sns", "sqs", "stepfunctions", "ec2")
        clients = {n: boto3.client(n, region_name=REGION) for n in names}
        deployed = workflow_tools.deploy(
            clients, asl=workflow_tools.SWEEP_ASL, functions=workflow_tools.SWEEP_FUNCTIONS, name="fleet-sweep"
        )
        yield SimpleNamespace(machine=deployed.machine, inbox=deployed.inbox, **clients)


def run(sweep: SimpleNamespace, document: dict) -> dict:
    sfn = sweep.stepfunctions
    arn = sfn.start_execution(stateMachineArn=sweep.machine, input=json.dumps(document))["executionArn"]
    return workflow_tools.wait(sfn, arn, timeout=120)


def report(sweep: SimpleNamespace, run_name: str) -> dict:
    body = sweep.s3.get_object(Bucket=workflow_tools.BUCKET, Key=f"sweeps/{run_name}/report.json")["Body"]
    return json.loads(body.read())


def test_a_report_sweep_runs_every_chunk_and_writes_the_fleet_report(sweep) -> None:
    vpcs = [build_vpc(sweep.ec2, cidr=f"10.{50 + n}.0.0/16", azs=("us-east-1a",)).vpc_id for n in range(3)]
    ended = run(sweep, {"run": "nightly-1", "mode": "report"})
    assert ended["status"] == "SUCCEEDED", ended
    document = report(sweep, "nightly-1")
    rows = {r["vpc_id"]: r for r in document["vpcs"]}
    assert set(vpcs) <= set(rows)  # and moto's default VPC
    assert all(rows[v]["compliant"] is False and set(rows[v]["endpoints"].values()) == {"planned"} for v in vpcs)
    assert document["summary"]["mode"] == "report" and document["summary"]["vpcs"] == len(rows)
    # the pull path, read once by the plan step and stored for the chunks (no ECS workload here)
    assert all(
        rows[v]["workloads"] == {"workloads": 0, "through_endpoints": 0, "via_nat": 0, "blocked": 0} for v in vpcs
    )
    paths = sweep.s3.list_objects_v2(Bucket=workflow_tools.BUCKET, Prefix="sweeps/nightly-1/paths/")["Contents"]
    assert [o["Key"] for o in paths] == ["sweeps/nightly-1/paths/123456789012-us-east-1.json"]
    assert sweep.ec2.describe_vpc_endpoints()["VpcEndpoints"] == []  # report mode changes nothing
    markdown = sweep.s3.get_object(Bucket=workflow_tools.BUCKET, Key="sweeps/nightly-1/report.md")["Body"].read()
    assert markdown.decode().startswith("# endpoint-guard fleet report")
    page = sweep.s3.get_object(Bucket=workflow_tools.BUCKET, Key="sweeps/nightly-1/report.html")["Body"].read()
    assert page.decode().startswith("<!DOCTYPE html>") and all(v.encode() in page for v in vpcs)
    [message] = [m["Body"] for m in sweep.sqs.receive_message(QueueUrl=sweep.inbox).get("Messages", [])]
    assert "fleet sweep nightly-1 (report)" in message and "report.md" in message


def test_an_enforcing_sweep_makes_the_vpcs_compliant(sweep) -> None:
    vpcs = [build_vpc(sweep.ec2, cidr=f"10.{60 + n}.0.0/16", azs=("us-east-1a",)).vpc_id for n in range(3)]
    assert run(sweep, {"run": "fix-1", "mode": "enforce"})["status"] == "SUCCEEDED"
    rows = {r["vpc_id"]: r for r in report(sweep, "fix-1")["vpcs"]}
    assert all(rows[v]["compliant"] for v in vpcs)
    for vpc in vpcs:
        found = sweep.ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]
        assert len(found) == 4


def test_the_distributed_map_is_configured_as_the_fleet_needs() -> None:
    definition = json.loads(workflow_tools.SWEEP_ASL.read_text())
    map_state = definition["States"]["SweepChunks"]
    assert map_state["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert map_state["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert map_state["MaxConcurrencyPath"] == "$.max_concurrency"
    assert map_state["ToleratedFailurePercentagePath"] == "$.tolerated_failure_percentage"
    assert 0 < workflow_tools.sweep_tasks.TOLERATED_FAILURE_PERCENTAGE < 50
    assert map_state["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"


def test_a_hubs_sweep_covers_its_enrolled_accounts_through_their_member_role(sweep, monkeypatch) -> None:
    """FleetMode hub: the plan lists the hub's own account and each enrolled account (FleetAccounts) in
    each Region; each chunk reaches its account through the member role, with the external id."""
    member, region = "111111111111", "eu-west-1"
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_MODE", "hub")
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_ACCOUNTS", member)
    monkeypatch.setenv("ENDPOINT_GUARD_SWEEP_REGIONS", f"{REGION},{region}")
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_EXTERNAL_ID", "hub-external-id-0123456789")
    own = build_vpc(sweep.ec2, cidr="10.70.0.0/16", azs=("us-east-1a",)).vpc_id
    theirs = build_vpc(member_client("ec2", member, region), cidr="10.71.0.0/16", azs=("eu-west-1a",)).vpc_id
    assert run(sweep, {"run": "hub-1", "mode": "enforce"})["status"] == "SUCCEEDED"
    document = report(sweep, "hub-1")
    rows = {(r["account"], r["region"], r["vpc_id"]): r for r in document["vpcs"]}
    assert rows[(OWN_ACCOUNT, REGION, own)]["compliant"] and rows[(member, region, theirs)]["compliant"]
    assert {(a, r) for a, r, _ in rows} == {(a, r) for a in (OWN_ACCOUNT, member) for r in (REGION, region)}
    made = member_client("ec2", member, region).describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [theirs]}]
    )["VpcEndpoints"]
    assert len(made) == 4

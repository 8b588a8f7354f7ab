"""What deploys is what is tested: `sam build` makes the artefacts, and every function runs from them as
Lambda runs it (its own CodeUri folder, the built layer where Lambda mounts /opt/python, the runtime's
boto3, nothing of the source tree), on a moto server; the deployed state machines run those built
handlers. A static guard reads every import of the built code, lazy ones included.

moto runs no Lambda code without Docker: its Lambda invoke is answered here by the built function of
the same name (tools/built.py), in a clean interpreter of its own per invocation."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import boto3
import moto.awslambda.models as moto_lambda
import pytest
import requests
from endpoint_guard.worker.messages import WorkItem

from tests.app.conftest import sam_env
from tests.conftest import REGION, REPO, sample
from tools import workflow as workflow_tools
from tools.built import Build, load_template, missing_imports, runtime_dir
from tools.esm import create_stack, sqs_event
from tools.world import awsvpc_service, build_vpc, nat_gateway, run_fargate_tasks

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def build_dir(sam: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `sam build` for the module, with the project's own build targets (offline, no Docker)."""
    scratch = tmp_path_factory.mktemp("sam")
    build = scratch / "build"
    command = [str(sam), "build", "--build-dir", str(build), "--cache-dir", str(scratch / "cache")]
    ran = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=sam_env(), timeout=600)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return build


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return runtime_dir(tmp_path_factory.mktemp("runtime") / "python")


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    """The stack's queues, table, bucket and topic on a moto server that runs state machines, and the
    test's clients for it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("MOTO_PORT", moto_server.rsplit(":", 1)[-1])  # where moto's own Step Functions calls go
    requests.post(f"{moto_server}/moto-api/reset", timeout=5)  # the server's backends are the process's
    requests.post(f"{moto_server}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}, timeout=5)
    names = ("iam", "lambda", "s3", "sns", "sqs", "stepfunctions", "ec2", "ecs", "dynamodb")
    clients = {n: boto3.client(n, region_name=REGION, endpoint_url=moto_server) for n in names}
    stack = create_stack(clients["sqs"], clients["dynamodb"])
    yield SimpleNamespace(url=moto_server, stack=stack, **clients)
    requests.post(f"{moto_server}/moto-api/config", json={"stepfunctions": {"execute_state_machine": False}}, timeout=5)
    requests.post(f"{moto_server}/moto-api/reset", timeout=5)


def built(build_dir: Path, runtime: Path, aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, **more: str) -> Build:
    """The build, its functions' environment resolved with the resources of ``aws``, answering moto's
    Lambda invoke."""
    build = Build(build_dir, runtime, endpoint_url=aws.url)
    build.resources = {
        "WorkQueue": aws.stack.work,
        "DeadLetterQueue": aws.stack.dead,
        "StateTable": aws.stack.env["ENDPOINT_GUARD_STATE_TABLE"],
        "PlanBucket": workflow_tools.BUCKET,
        "MigrationPlanStateMachine": "",
        **more,
    }
    monkeypatch.setattr(moto_lambda.LambdaBackend, "invoke", build.moto_invoke())
    return build


def deploy(aws: SimpleNamespace, state_machine: str) -> SimpleNamespace:
    """The template's state machine: its ASL file, its substitutions naming the functions that answer."""
    properties = load_template()["Resources"][state_machine]["Properties"]
    functions = {
        key: (value["Fn::GetAtt"].split(".")[0], None)
        for key, value in properties["DefinitionSubstitutions"].items()
        if "Fn::GetAtt" in value
    }
    clients = {n: getattr(aws, n) for n in ("iam", "lambda", "s3", "sns", "sqs", "stepfunctions")}
    return workflow_tools.deploy(
        clients, asl=REPO / properties["DefinitionUri"], functions=functions, name=state_machine
    )


def messages(aws: SimpleNamespace, queue_url: str) -> list[dict]:
    return aws.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]).get(
        "Messages", []
    )


def endpoints(aws: SimpleNamespace, vpc_id: str) -> dict[str, str]:
    found = aws.ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    return {e["ServiceName"].removeprefix(f"com.amazonaws.{REGION}."): e["VpcEndpointType"] for e in found}


def test_the_layer_carries_what_lambda_lacks_and_its_bytecode(build_dir: Path, runtime: Path) -> None:
    build = Build(build_dir, runtime)
    assert (build.layer / "endpoint_guard" / "catalog.json").exists()
    assert (build.layer / "aws_xray_sdk").is_dir()  # the Tracer's dependency: the Lambda runtime does not have it
    assert not (build.layer / "botocore").exists() and not (build.layer / "boto3").exists()  # the runtime's
    for function in build.function_ids():
        assert sorted(p.name for p in (build_dir / function).iterdir()) == ["app.py"], function
    lambda_python = subprocess.run(
        ["make", "-s", "-C", str(REPO / "layers" / "endpoint_guard"), "lambda-python"], capture_output=True, text=True
    ).stdout.strip()
    if lambda_python:  # Lambda's /opt is read-only: bytecode must ship, for the runtime's Python, unchecked
        pyc = (build.layer / "endpoint_guard" / "lambdas" / "__pycache__" / "intake.cpython-313.pyc").read_bytes()
        assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, source never checked
        assert (build.layer / "aws_lambda_powertools" / "__pycache__" / "__init__.cpython-313.pyc").exists()


# --- the static guard ------------------------------------------------------------------------------------


def test_every_import_of_the_built_code_resolves_in_the_build(build_dir: Path, runtime: Path) -> None:
    build = Build(build_dir, runtime)
    assert not (build.layer / "endpoint_guard" / "cli").exists()  # the CLI stays out of the layer
    assert missing_imports(build) == []


def test_the_tier_fails_when_the_build_leaves_out_a_module_a_handler_needs(
    build_dir: Path, runtime: Path, aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The defect this tier exists for: a module the sweep's report imports lazily, missing from the
    layer (as endpoint_guard.cli was). Both the guard and the invocation see it."""
    broken = tmp_path / "build"
    shutil.copytree(build_dir, broken, symlinks=True)
    (broken / "CoreLayer" / "python" / "endpoint_guard" / "fleet" / "render.py").unlink()
    build = built(broken, runtime, aws, monkeypatch)
    assert any(p.endswith(": endpoint_guard.fleet.render") and "lambdas/sweep.py" in p for p in missing_imports(build))
    aws.s3.create_bucket(Bucket=workflow_tools.BUCKET)
    answer = build.invoke("SweepReportFunction", {"run": "r-1", "mode": "report"})
    assert answer.get("errorType") == "ModuleNotFoundError", answer
    assert "endpoint_guard.fleet.render" in answer["errorMessage"]


# --- every handler from its artefact ---------------------------------------------------------------------


def test_an_event_goes_from_the_built_intake_through_the_queue_to_the_built_worker(
    build_dir: Path, runtime: Path, aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = built(build_dir, runtime, aws, monkeypatch)
    world = build_vpc(aws.ec2, azs=("us-east-1a", "us-east-1b"))

    intake = build.invoke("IntakeFunction", sample("create-vpc.json", world.vpc_id))
    assert "result" in intake, intake
    queued = messages(aws, aws.stack.work)
    assert [json.loads(m["Body"])["vpc_id"] for m in queued] == [world.vpc_id]

    worker = build.invoke(
        "EnsureEndpointsFunction", sqs_event(queued, "arn:aws:sqs:us-east-1:123456789012:w.fifo", REGION)
    )
    assert worker.get("result") == {"batchItemFailures": []}, worker
    assert endpoints(aws, world.vpc_id) == {
        "ecr.api": "Interface",
        "ecr.dkr": "Interface",
        "logs": "Interface",
        "s3": "Gateway",
    }
    assert '"VpcsReconciled"' in worker["logs"]  # its metrics, flushed as on Lambda


def test_a_busy_vpc_starts_the_deployed_migration_plan_and_the_built_tasks_write_it(
    build_dir: Path, runtime: Path, aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = deploy(aws, "MigrationPlanStateMachine")
    build = built(build_dir, runtime, aws, monkeypatch, MigrationPlanStateMachine=machine.machine)
    world = build_vpc(aws.ec2, azs=("us-east-1a",))
    nat_gateway(aws.ec2, world.public_subnets["us-east-1a"])
    awsvpc_service(aws.ecs, [world.private_subnets["us-east-1a"]])  # a service: the plan has its steps
    run_fargate_tasks(aws.ecs, aws.ec2, world.private_subnets["us-east-1a"])
    aws.sqs.send_message(
        QueueUrl=aws.stack.work,
        MessageBody=WorkItem(world.vpc_id, event_name="RunTask").to_message(),
        MessageGroupId=world.vpc_id,
        MessageDeduplicationId="busy-1",
    )

    worker = build.invoke(
        "EnsureEndpointsFunction", sqs_event(messages(aws, aws.stack.work), "arn:aws:sqs:us-east-1:1:w.fifo", REGION)
    )
    assert worker.get("result") == {"batchItemFailures": []}, worker
    [execution] = aws.stepfunctions.list_executions(stateMachineArn=machine.machine)["executions"]
    ended = workflow_tools.wait(aws.stepfunctions, execution["executionArn"], timeout=180)

    assert ended["status"] == "SUCCEEDED", ended
    keys = [o["Key"] for o in aws.s3.list_objects_v2(Bucket=workflow_tools.BUCKET, Prefix="plans/")["Contents"]]
    assert sorted(k.rsplit("/", 1)[-1] for k in keys) == ["plan.json", "plan.md"]
    ran = [name for name, _ in build.invocations]
    assert {f"Migration{t}Function" for t in ("Discover", "Target", "Service", "Assemble")} <= set(ran)
    assert messages(aws, machine.inbox), "the plan is announced on the topic"


@pytest.mark.parametrize("mode", ["report", "enforce"])
def test_the_deployed_fleet_sweep_runs_the_built_tasks_and_writes_its_reports(
    build_dir: Path, runtime: Path, aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    machine = deploy(aws, "FleetSweepStateMachine")
    build = built(build_dir, runtime, aws, monkeypatch)
    vpcs = [build_vpc(aws.ec2, cidr=f"10.{70 + n}.0.0/16", azs=("us-east-1a",)).vpc_id for n in range(2)]

    arn = aws.stepfunctions.start_execution(
        stateMachineArn=machine.machine, input=json.dumps({"run": f"built-{mode}", "mode": mode})
    )["executionArn"]
    ended = workflow_tools.wait(aws.stepfunctions, arn, timeout=240)

    assert ended["status"] == "SUCCEEDED", (ended, [a for _, a in build.invocations if "errorType" in a])
    prefix = f"sweeps/built-{mode}/"
    stored = {o["Key"] for o in aws.s3.list_objects_v2(Bucket=workflow_tools.BUCKET, Prefix=prefix)["Contents"]}
    assert {prefix + name for name in ("report.json", "report.md", "report.html")} <= stored
    report = json.loads(aws.s3.get_object(Bucket=workflow_tools.BUCKET, Key=prefix + "report.json")["Body"].read())
    rows = {r["vpc_id"]: r for r in report["vpcs"]}
    assert set(vpcs) <= set(rows) and report["summary"]["mode"] == mode
    assert all(rows[v]["compliant"] is (mode == "enforce") for v in vpcs)
    markdown = aws.s3.get_object(Bucket=workflow_tools.BUCKET, Key=prefix + "report.md")["Body"].read().decode()
    assert markdown.startswith("# endpoint-guard fleet report")
    [summary] = [m["Body"] for m in messages(aws, machine.inbox)]
    assert f"fleet sweep built-{mode} ({mode})" in summary
    assert {"SweepPlanFunction", "SweepChunkFunction", "SweepReportFunction"} <= {n for n, _ in build.invocations}

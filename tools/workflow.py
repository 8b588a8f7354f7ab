"""The migration-plan workflow on moto, for the tests and the demo: the deployed ASL file with the
template's substitutions pointed at moto resources, and moto's Lambda invoke answered by the real task
handlers in-process (moto runs no Lambda code without Docker)."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from endpoint_guard.lambdas import migration as tasks
from endpoint_guard.lambdas import sweep as sweep_tasks
from endpoint_guard.lambdas import window as window_tasks

from tools.esm import context

ASL = Path(__file__).resolve().parents[1] / "statemachines" / "migration-plan.asl.json"
SWEEP_ASL = ASL.with_name("fleet-sweep.asl.json")
WINDOW_ASL = ASL.with_name("deferred-window.asl.json")
# The template's DefinitionSubstitutions for the task functions: moto function name and the handler's
# factory (each invoke gets a fresh handler, with clients for the moto of the moment).
FUNCTIONS = {
    "DiscoverFunctionArn": ("migration-discover", tasks.make_discover),
    "TargetFunctionArn": ("migration-target", tasks.make_target),
    "ServiceFunctionArn": ("migration-service", tasks.make_service),
    "AssembleFunctionArn": ("migration-assemble", tasks.make_assemble),
}
SWEEP_FUNCTIONS = {
    "SweepPlanFunctionArn": ("sweep-plan", sweep_tasks.make_plan),
    "SweepChunkFunctionArn": ("sweep-chunk", sweep_tasks.make_chunk),
    "SweepReportFunctionArn": ("sweep-report", sweep_tasks.make_report),
}
WINDOW_FUNCTIONS = {
    "WindowPlanFunctionArn": ("window-plan", window_tasks.make_plan),
    "WindowApplyFunctionArn": ("window-apply", window_tasks.make_apply),
    "WindowCheckFunctionArn": ("window-check", window_tasks.make_check),
}
BUCKET = "endpoint-guard-plans"


def invoke_in_process(
    self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
) -> str:
    """Stands in for moto's LambdaBackend.invoke: the real handler answers, with Lambda's error shape
    (the exception's class name as errorType) on failure."""
    name = function_name.rsplit(":", 1)[-1]
    every = (*FUNCTIONS.values(), *SWEEP_FUNCTIONS.values(), *WINDOW_FUNCTIONS.values())
    handler = next(make() for n, make in every if n == name)
    try:
        return json.dumps(handler(json.loads(body or "{}"), context(name)))
    except Exception as err:  # noqa: BLE001 (Lambda reports any exception as a function error)
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps({"errorType": type(err).__name__, "errorMessage": str(err)})


def deploy(
    clients: dict[str, Any], *, asl: Path = ASL, functions: dict[str, Any] = FUNCTIONS, name: str = "migration-plan"
) -> SimpleNamespace:
    """A workflow's resources: task functions, plan bucket, topic (with a queue subscribed, to read the
    notifications), and the state machine (the migration plan's, or ``asl``/``functions`` of another).
    ``clients``: iam, lambda, s3, sns, sqs, stepfunctions."""
    role = clients["iam"].create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("app.py", "")
    substitutions = {"PlanBucket": BUCKET}
    for key, (name_of, _) in functions.items():
        created = clients["lambda"].create_function(
            FunctionName=name_of,
            Runtime="python3.13",
            Role=role,
            Handler="app.lambda_handler",
            Code={"ZipFile": archive.getvalue()},
        )
        substitutions[key] = created["FunctionArn"]
    existing = {b["Name"] for b in clients["s3"].list_buckets().get("Buckets", [])}
    if BUCKET not in existing:  # a second workflow in the same world shares the plan bucket
        clients["s3"].create_bucket(Bucket=BUCKET)
    os.environ["ENDPOINT_GUARD_PLAN_BUCKET"] = BUCKET  # as the template sets it for the task functions
    topic = clients["sns"].create_topic(Name=f"{name}-notifications")["TopicArn"]
    substitutions["PlanTopicArn"] = topic
    inbox = clients["sqs"].create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
    inbox_arn = clients["sqs"].get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    clients["sns"].subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"}
    )
    definition = asl.read_text()
    for key, value in substitutions.items():
        definition = definition.replace("${" + key + "}", value)
    machine = clients["stepfunctions"].create_state_machine(name=name, definition=definition, roleArn=role)
    return SimpleNamespace(machine=machine["stateMachineArn"], inbox=inbox, bucket=BUCKET, topic=topic)


def wait(stepfunctions: Any, execution_arn: str, timeout: float = 60) -> dict:
    """The execution once it has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = stepfunctions.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise TimeoutError(execution_arn)

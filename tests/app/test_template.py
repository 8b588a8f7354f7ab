"""The SAM app as deployed: it validates, builds without Docker, its artifact imports on its own, the
translated CloudFormation is wired as documented, and IAM grants exactly the calls the code makes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from endpoint_guard import aws
from endpoint_guard.aws import Ec2Adapter
from endpoint_guard.reconcile import reconcile
from endpoint_guard.settings import Settings

from tests.conftest import REPO, CallRecorder
from tools.world import build_vpc

SAM_VENV = REPO / ".venv-sam" / "bin"


def sam_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(SAM_CLI_TELEMETRY="0", AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1")
    return env


@pytest.fixture(scope="session")
def sam() -> Path:
    if not (SAM_VENV / "sam").exists():
        pytest.fail("the SAM CLI is not installed in .venv-sam: run the tests with `make test`, which installs it")
    return SAM_VENV / "sam"


@pytest.fixture(scope="session")
def cloudformation(sam: Path) -> dict:
    out = subprocess.run(
        [str(SAM_VENV / "python"), str(REPO / "tools/translate_template.py"), str(REPO / "template.yaml")],
        capture_output=True,
        text=True,
        env=sam_env(),
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout)["Resources"]


def test_sam_validate_lint_passes(sam: Path) -> None:
    result = subprocess.run(
        [str(sam), "validate", "--lint"], cwd=REPO, capture_output=True, text=True, env=sam_env(), timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_build_produces_an_artifact_that_imports_and_runs_on_its_own(sam: Path, tmp_path: Path) -> None:
    build = tmp_path / "build"
    result = subprocess.run(
        [str(sam), "build", "--build-dir", str(build), "--cache-dir", str(tmp_path / "cache")],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=sam_env(),
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    layer, function = build / "CoreLayer" / "python", build / "EnsureEndpointsFunction"
    assert sorted(p.name for p in function.iterdir()) == ["app.py"]
    assert (layer / "endpoint_guard" / "catalog.json").exists()
    # A clean interpreter (-S: no site-packages, so not the editable install) with only what Lambda has:
    # the function, the layer, and boto3 (which the Python runtime provides).
    probe = (
        "import sys, json\n"
        f"sys.path[:0] = [{str(function)!r}, {str(layer)!r}, {sysconfig.get_paths()['purelib']!r}]\n"
        "import app, endpoint_guard\n"
        f"assert endpoint_guard.__file__.startswith({str(layer)!r}), endpoint_guard.__file__\n"
        "class C: function_name='f'; memory_limit_in_mb=128; invoked_function_arn='arn:aws:lambda:us-east-1:1:function:f'; aws_request_id='r'\n"
        "try:\n    app.lambda_handler({'hello': 'world'}, C())\nexcept Exception as err:\n    print(type(err).__name__)\n"
    )
    env = dict(sam_env(), POWERTOOLS_METRICS_DISABLED="true", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
    ran = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip().splitlines()[-1] == "InvalidEventError"


def test_rule_matches_on_source_and_name_and_never_loses_an_event(cloudformation: dict) -> None:
    rules = {k: v for k, v in cloudformation.items() if v["Type"] == "AWS::Events::Rule"}
    assert rules
    for rule in rules.values():
        pattern = rule["Properties"]["EventPattern"]
        assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
        assert pattern["detail"]["eventSource"] and pattern["detail"]["eventName"]
        [target] = rule["Properties"]["Targets"]
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    [invoke_config] = [v for v in cloudformation.values() if v["Type"] == "AWS::Lambda::EventInvokeConfig"]
    assert invoke_config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
    }
    queue = cloudformation["DeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True


def test_function_runtime_layer_and_log_retention(cloudformation: dict) -> None:
    function = cloudformation["EnsureEndpointsFunction"]["Properties"]
    assert function["Runtime"] == "python3.13" and function["Handler"] == "app.lambda_handler"
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "EnsureEndpointsLogGroup"}
    assert cloudformation["EnsureEndpointsLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert len(function["Layers"]) == 1


def _granted(node: object) -> set[str]:
    """Every IAM action named anywhere in a policy tree (both branches of an Fn::If count)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Action":
                found |= set([value] if isinstance(value, str) else value)
            else:
                found |= _granted(value)
    elif isinstance(node, list):
        for item in node:
            found |= _granted(item)
    return found


def _exercise_every_call(ec2) -> list[str]:
    """Runs reconciles that between them make every EC2 call the adapter has."""
    recorder = CallRecorder(aws.client("ec2"))
    world = build_vpc(ec2, dns_support=False, dns_hostnames=False)
    ec2.create_vpc_endpoint(
        VpcId=world.vpc_id,
        ServiceName="com.amazonaws.us-east-1.logs",
        VpcEndpointType="Interface",
        SubnetIds=[world.private_subnets["us-east-1a"]],
    )
    reconcile(world.vpc_id, adapter=Ec2Adapter(), settings=Settings(adopt_unmanaged="modify"))
    group = ec2.describe_security_groups(Filters=[{"Name": "tag:ManagedBy", "Values": ["endpoint-guard"]}])[
        "SecurityGroups"
    ][0]
    ec2.authorize_security_group_ingress(
        GroupId=group["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    reconcile(world.vpc_id, adapter=Ec2Adapter(), settings=Settings())
    return recorder.operations


def test_iam_grants_exactly_the_ec2_calls_the_code_makes(cloudformation: dict, ec2) -> None:
    called = {f"ec2:{op}" for op in _exercise_every_call(ec2)}
    adapter_calls = {name for name, value in vars(Ec2Adapter).items() if callable(value) and not name.startswith("_")}
    assert len(adapter_calls) >= 13  # the scenario above must keep covering every adapter method
    role = cloudformation["EnsureEndpointsFunctionRole"]["Properties"]
    granted = _granted([p for p in role["Policies"] if p["PolicyName"].endswith("RolePolicy0")])
    # Permissions the code needs without calling them by name: tags on create, Route 53 for private DNS.
    implied = {"ec2:CreateTags", "route53:AssociateVPCWithHostedZone"}
    assert called - granted == set(), "calls the function makes but may not"
    assert granted - called - implied == set(), "grants for calls the function never makes"

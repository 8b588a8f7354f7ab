"""The deployed intake handler (functions/intake/app.py) driven directly, as Lambda would call it. With no
queue configured it reconciles in-process (the CLI path); the queued path is in test_pipeline.py."""

from __future__ import annotations

import importlib.util

import pytest
from endpoint_guard.errors import ConfigurationError, InvalidEventError, ReconcileFailedError, VpcNotFoundError
from endpoint_guard.lambdas.observability import traced

from tests.conftest import REPO, emf, load_event, with_vpc
from tools.esm import context
from tools.world import build_vpc

CONTEXT = context("endpoint-guard-intake")


def load_app():
    spec = importlib.util.spec_from_file_location("intake_app", REPO / "functions/intake/app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_create_vpc_event_through_the_deployed_handler(ec2, logs, capsys) -> None:
    world = build_vpc(ec2)
    event = with_vpc(load_event("create-vpc.json"), world.vpc_id)
    output = load_app().lambda_handler(event, CONTEXT)

    [result] = output["results"]
    assert result["vpc_id"] == world.vpc_id and result["compliant"] is True
    lines = logs()
    reconciled = next(line for line in lines if line["message"] == "reconciled")
    assert reconciled["correlation_id"] == event["detail"]["eventID"]
    assert reconciled["vpc_id"] == world.vpc_id
    assert reconciled["function_request_id"] == CONTEXT.aws_request_id
    metrics = emf(capsys.readouterr().out)
    assert metrics["EventsReceived"] == 1.0
    assert metrics["VpcsReconciled"] == 1.0
    assert metrics["EndpointsCreated"] == 4.0


def test_failed_call_is_skipped_without_touching_aws(moto, logs, capsys, intake, clients) -> None:
    event = load_event("create-vpc.json")
    event["detail"]["errorCode"] = "Client.UnauthorizedOperation"
    event["detail"]["responseElements"] = None
    recorder = []
    clients.client("ec2").meta.events.register("before-call.*.*", lambda model, **_: recorder.append(model.name))
    output = intake(event, CONTEXT)
    assert output["results"] == [] and "Client.UnauthorizedOperation" in output["skipped"][0]["reason"]
    assert recorder == []
    assert emf(capsys.readouterr().out)["EventsSkipped"] == 1.0


def test_unknown_vpc_raises_so_lambda_retries_then_dead_letters(moto, logs, capsys, intake) -> None:
    with pytest.raises(VpcNotFoundError):
        intake(load_event("create-vpc.json"), CONTEXT)
    error = next(line for line in logs() if line["message"] == "reconcile failed")
    assert error["error_kind"] == "vpc_not_found" and error["correlation_id"] == "c3d9a6f1-2b47-4e8c-9f05-6a1b8d2e7c43"
    assert emf(capsys.readouterr().out)["Failures"] == 1.0


def test_garbage_is_rejected_with_a_classified_error(moto, logs, intake) -> None:
    with pytest.raises(InvalidEventError, match="expected"):
        intake({"hello": "world"}, CONTEXT)
    assert next(line for line in logs() if line["message"] == "rejected input")["error_kind"] == "invalid_event"


def test_bad_setting_is_a_configuration_error(moto, logs, monkeypatch, intake) -> None:
    monkeypatch.setenv("ENDPOINT_GUARD_S3_POLICY", "closed")
    with pytest.raises(ConfigurationError, match="ENDPOINT_GUARD_S3_POLICY"):
        intake({"vpc_id": "vpc-0123456789abcdef0"}, CONTEXT)


def test_failed_action_raises_after_doing_the_rest(ec2, logs, capsys, intake, clients) -> None:
    from botocore.exceptions import ClientError

    world = build_vpc(ec2)

    def throttle_forever(params: dict, **_: object) -> None:
        if params.get("ServiceName", "").endswith(".ecr.api"):
            raise ClientError({"Error": {"Code": "InternalError", "Message": "try later"}}, "CreateVpcEndpoint")

    clients.client("ec2").meta.events.register("provide-client-params.ec2.CreateVpcEndpoint", throttle_forever)
    with pytest.raises(ReconcileFailedError, match=r"ecr\.api"):
        intake({"vpc_id": world.vpc_id}, CONTEXT)
    created = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["VpcEndpoints"]
    assert len(created) == 3  # the others were made; the retry will only add ecr.api


def test_dry_run_setting_reaches_the_handler(ec2, logs, monkeypatch, intake) -> None:
    world = build_vpc(ec2)
    monkeypatch.setenv("ENDPOINT_GUARD_DRY_RUN", "true")
    [result] = intake({"vpc_id": world.vpc_id}, CONTEXT)["results"]
    assert result["dry_run"] is True
    assert ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["VpcEndpoints"] == []


def test_the_tracer_is_built_only_when_tracing_is_on(monkeypatch) -> None:
    import aws_lambda_powertools

    built = []

    class Recording:
        def __init__(self, **kwargs) -> None:
            built.append(kwargs)

        def capture_lambda_handler(self, handler, capture_response):
            return handler

    monkeypatch.setattr(aws_lambda_powertools, "Tracer", Recording)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert traced(lambda event, context: event)(1, None) == 1
    assert built == []
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    assert traced(lambda event, context: event)(2, None) == 2
    assert built == [{"service": "endpoint-guard"}]

"""The SAM app as deployed: it validates, builds without Docker, its artifact imports on its own, the
translated CloudFormation is wired as documented, and IAM grants exactly the calls the code makes."""

from __future__ import annotations

import json
import os
import re

import boto3
import pytest
from botocore.exceptions import ClientError
from endpoint_guard.aws import (
    AutoScalingAdapter,
    Clients,
    Ec2Adapter,
    Ec2Lookups,
    EcsAdapter,
    QueueAdapter,
    StateTable,
    StepFunctionsAdapter,
)
from endpoint_guard.lambdas import migration as tasks
from endpoint_guard.lambdas.intake import make_intake
from endpoint_guard.lambdas.worker import make_worker
from endpoint_guard.migration import execution_name
from endpoint_guard.reconcile import reconcile
from endpoint_guard.settings import Settings

from tests.app.iam import granted_by, iam_name
from tests.conftest import EVENTS, REGION, REPO, CallRecorder, load_event, sample, subnet_event, with_vpc
from tools.esm import context, create_stack, run_worker
from tools.workflow import ASL, SWEEP_ASL, WINDOW_ASL
from tools.world import (
    awsvpc_service,
    build_vpc,
    central_spoke,
    ecr_image,
    load_balanced_service,
    nat_gateway,
    run_fargate_tasks,
    stop_fargate_tasks,
)


def test_rules_invoke_the_intake_and_never_lose_an_event(cloudformation: dict) -> None:
    rules = {
        k: v
        for k, v in cloudformation.items()
        if v["Type"] == "AWS::Events::Rule" and not k.startswith("FleetSweepStateMachine")  # the schedule
    }
    assert len(rules) == 10
    for name, rule in rules.items():
        pattern = rule["Properties"]["EventPattern"]
        if name.startswith("IntakeFunctionSecurityHubFindings"):  # Security Hub's events: failed controls
            assert pattern["detail-type"] == ["Security Hub Findings - Imported"]
            assert rule["Properties"]["EventBusName"] == "default"  # where Security Hub puts them, hub or not
        else:
            assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
            assert pattern["detail"]["eventSource"] and pattern["detail"]["eventName"]
        [target] = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["IntakeFunction", "Arn"]}
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    [invoke_config] = [v for v in cloudformation.values() if v["Type"] == "AWS::Lambda::EventInvokeConfig"]
    assert invoke_config["Properties"]["FunctionName"] == {"Ref": "IntakeFunction"}
    assert invoke_config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
    }
    assert cloudformation["DeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    # The schedule: a sweep EventBridge could not start is retried, then parked where the alarm sees it.
    [schedule] = [
        v for k, v in cloudformation.items() if k.startswith("FleetSweepStateMachine") and "Rule" in v["Type"]
    ]
    [target] = schedule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": "FleetSweepStateMachine"}
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0 and target["RetryPolicy"]["MaximumEventAgeInSeconds"]
    dimensions = cloudformation["DeadLettersAlarm"]["Properties"]["Dimensions"]
    assert dimensions == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}]


def test_the_work_queue_serializes_per_vpc_and_settles_bursts(cloudformation: dict) -> None:
    queue = cloudformation["WorkQueue"]["Properties"]
    assert queue["FifoQueue"] is True and queue["SqsManagedSseEnabled"] is True
    assert queue["DelaySeconds"] == {"Ref": "SettleSeconds"}
    worker = cloudformation["EnsureEndpointsFunction"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["WorkBackstopQueue", "Arn"]}
    assert cloudformation["WorkBackstopQueue"]["Properties"]["FifoQueue"] is True
    [mapping] = [v["Properties"] for v in cloudformation.values() if v["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["WorkQueue", "Arn"]}
    assert mapping["FunctionName"] == {"Ref": "EnsureEndpointsFunction"}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and mapping["BatchSize"] <= 10
    assert "MaximumBatchingWindowInSeconds" not in mapping  # FIFO sources do not support it
    table = cloudformation["StateTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_functions_are_wired_to_the_queue_table_and_dead_letter_queue(cloudformation: dict) -> None:
    intake = cloudformation["IntakeFunction"]["Properties"]
    worker = cloudformation["EnsureEndpointsFunction"]["Properties"]
    intake_env, worker_env = intake["Environment"]["Variables"], worker["Environment"]["Variables"]
    assert intake_env["ENDPOINT_GUARD_QUEUE_URL"] == {"Ref": "WorkQueue"}
    assert worker_env["ENDPOINT_GUARD_QUEUE_URL"] == {"Ref": "WorkQueue"}  # to hand unstarted work back
    assert worker_env["ENDPOINT_GUARD_ENDPOINT_CALLS_PER_SECOND"] == {"Ref": "EndpointCallsPerSecond"}
    assert worker_env["ENDPOINT_GUARD_ENDPOINT_CALL_BURST"] == {"Ref": "EndpointCallBurst"}
    [mapping] = [v["Properties"] for v in cloudformation.values() if v["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "WorkerConcurrency"}}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    redrive = cloudformation["WorkQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] >= 50  # hand-backs count as receives; attempts are counted apart
    for env in (intake_env, worker_env):
        assert env["ENDPOINT_GUARD_STATE_TABLE"] == {"Ref": "StateTable"}
    assert worker_env["ENDPOINT_GUARD_DEAD_LETTER_QUEUE_URL"] == {"Ref": "DeadLetterQueue"}
    assert worker_env["ENDPOINT_GUARD_MAX_ATTEMPTS"] == {"Ref": "ReconcileAttempts"}
    for name, function in (("Intake", intake), ("EnsureEndpoints", worker)):
        assert function["Runtime"] == "python3.13" and function["Handler"] == "app.lambda_handler"
        assert function["TracingConfig"] == {"Mode": {"Ref": "Tracing"}}
        assert function["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == {
            "Fn::If": ["TracingOn", "false", "true"]
        }
        assert function["LoggingConfig"]["LogGroup"] == {"Ref": f"{name}LogGroup"}
        assert cloudformation[f"{name}LogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert len(function["Layers"]) == 1


def _role_grants(cloudformation: dict, function: str) -> set[str]:
    """What the template's own statements grant a function (SAM adds the queue poller, the async
    destination and X-Ray writes in policies of its own)."""
    role = cloudformation[f"{function}Role"]["Properties"]
    managed = [
        cloudformation[arn["Ref"]]["Properties"]["PolicyDocument"]
        for arn in role.get("ManagedPolicyArns", [])
        if isinstance(arn, dict) and "Ref" in arn
    ]
    own = [p for p in role.get("Policies", []) if re.search(r"RolePolicy\d+$", p["PolicyName"])]
    return granted_by(own + managed)


# ReconcilePolicy's CostAware statement (EndpointProfile=cost-aware): the worker's NAT traffic metrics
# (the NAT gateways themselves are read under ReadVpcShape: a way out being set up).
COST_AWARE_READS = frozenset({"cloudwatch:GetMetricData"})


class _AllCalls:
    """Records the calls endpoint-guard's own clients make, as IAM actions."""

    def __init__(self, clients: Clients) -> None:
        self.recorders = {
            service: CallRecorder(clients.client(service))
            for service in (
                "ec2",
                "ecs",
                "autoscaling",
                "sqs",
                "dynamodb",
                "stepfunctions",
                "elbv2",
                "cloudwatch",
                "ecr",
                "s3",
                "securityhub",
                "route53",
            )
        }

    @property
    def actions(self) -> set[str]:
        return {iam_name(service, op) for service, rec in self.recorders.items() for op in rec.operations}


def _adapter_methods(*classes: type) -> set[str]:
    """Every public method of the adapter classes (their own and inherited ones), as ``Class.method``."""
    return {
        f"{c.__name__}.{n}"
        for c in classes
        for n in dir(c)
        if not n.startswith("_") and callable(getattr(c, n)) and n not in ("client",)
    }


@pytest.fixture
def used(monkeypatch) -> set[str]:
    """The adapter methods a scenario calls, as ``Class.method`` of the class it was called through."""
    seen: set[str] = set()
    classes = (Ec2Adapter, Ec2Lookups, EcsAdapter, AutoScalingAdapter, QueueAdapter, StateTable, StepFunctionsAdapter)
    for method in _adapter_methods(*classes):
        cls_name, name = method.split(".")
        cls = next(c for c in classes if c.__name__ == cls_name)
        real = getattr(cls, name)

        def record(self, *args, _real=real, _name=name, **kwargs):
            seen.add(f"{type(self).__name__}.{_name}")
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, record)
    return seen


def _exercise_the_intake(ec2, ecs) -> set[str]:
    """Intake runs that between them make every call the intake can make."""
    sqs, dynamodb = boto3.client("sqs", region_name=REGION), boto3.client("dynamodb", region_name=REGION)
    stack = create_stack(sqs, dynamodb)
    os.environ.update({"ENDPOINT_GUARD_QUEUE_URL": stack.work, "ENDPOINT_GUARD_STATE_TABLE": "endpoint-guard-state"})
    clients = Clients(region=REGION)
    intake = make_intake(clients)
    calls = _AllCalls(clients)
    world = build_vpc(ec2)
    ctx = context("endpoint-guard-intake")
    event = with_vpc(load_event("create-vpc.json"), world.vpc_id)
    intake(event, ctx)
    intake(event, ctx)  # a duplicate
    rt = json.loads(
        (EVENTS / "associate-route-table.json").read_text().replace("rtb-0f1e2d3c4b5a69788", world.main_route_table_id)
    )
    intake(rt, ctx)
    # A cluster with every source: an awsvpc service, a container instance, an Auto Scaling capacity provider.
    arn = awsvpc_service(ecs, [world.private_subnets["us-east-1a"]])
    instance = ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=world.private_subnets["us-east-1b"]
    )
    document = json.dumps({"instanceId": instance["Instances"][0]["InstanceId"], "region": REGION})
    ecs.register_container_instance(cluster=arn, instanceIdentityDocument=document)
    autoscaling = boto3.client("autoscaling", region_name=REGION)
    ec2.create_launch_template(LaunchTemplateName="hosts", LaunchTemplateData={"ImageId": "ami-12345678"})
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="hosts",
        LaunchTemplate={"LaunchTemplateName": "hosts"},
        MinSize=0,
        MaxSize=1,
        VPCZoneIdentifier=world.private_subnets["us-east-1c"],
    )
    group = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]["AutoScalingGroupARN"]
    ecs.create_capacity_provider(name="hosts", autoScalingGroupProvider={"autoScalingGroupArn": group})
    ecs.put_cluster_capacity_providers(cluster=arn, capacityProviders=["hosts"], defaultCapacityProviderStrategy=[])
    intake({"cluster": arn}, ctx)
    # Drift: a group (someone else's: nothing to repair) and an endpoint AWS no longer knows (its VPC from
    # endpoint-guard's records).
    theirs = ec2.create_security_group(GroupName="app", Description="app", VpcId=world.vpc_id)["GroupId"]
    intake(sample("drift-revoke-security-group-ingress.json", world.vpc_id, group=theirs), ctx)
    intake(sample("drift-delete-vpc-endpoints.json", world.vpc_id, endpoint="vpce-0123456789abcdef0"), ctx)
    # A hop of the pulls: a group's egress (found where it is in use), an ACL (found on its subnets).
    intake(sample("path-revoke-security-group-egress.json", world.vpc_id, group=theirs), ctx)
    acls = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["NetworkAcls"]
    acl_event = load_event("path-replace-network-acl-entry.json")
    acl_event["detail"]["requestParameters"]["networkAclId"] = acls[0]["NetworkAclId"]
    intake(acl_event, ctx)

    def refuse(**_: object) -> None:
        raise ClientError({"Error": {"Code": "InternalError", "Message": "later"}}, "SendMessageBatch")

    clients.client("sqs").meta.events.register("before-call.sqs.SendMessageBatch", refuse)
    with pytest.raises(Exception, match="InternalError"):  # the idempotency record is deleted again
        intake(subnet_event(world, 1), ctx)
    return calls.actions


def _exercise_the_worker(ec2) -> set[str]:
    """Worker runs that between them make every call the reconcile worker can make."""
    sqs, dynamodb = boto3.client("sqs", region_name=REGION), boto3.client("dynamodb", region_name=REGION)
    stack = create_stack(sqs, dynamodb)
    # Security Hub, out: every reconcile's findings imported (the digest read and written in the table).
    os.environ.update(
        {**stack.env, "ENDPOINT_GUARD_QUEUE_URL": stack.work, "ENDPOINT_GUARD_SECURITY_HUB_FINDINGS": "on"}
    )
    clients = Clients(region=REGION)
    intake, ensure_endpoints = make_intake(Clients(region=REGION)), make_worker(clients)
    world = build_vpc(ec2, dns_support=False, dns_hostnames=False)
    ec2.create_vpc_endpoint(
        VpcId=world.vpc_id,
        ServiceName="com.amazonaws.us-east-1.logs",
        VpcEndpointType="Interface",
        SubnetIds=[world.private_subnets["us-east-1a"]],
    )
    busy = build_vpc(ec2, cidr="10.41.0.0/16")  # tasks on a private route table: the gateway is deferred there
    spoke = central_spoke(ec2, boto3.client("route53", region_name=REGION))  # its interface services are central
    # A VPC whose NAT gateway is up but not routed yet: its interface endpoints wait for the route.
    building = build_vpc(ec2, cidr="10.42.0.0/16", nat=False)
    nat_gateway(ec2, building.public_subnets["us-east-1a"])
    busy_tasks = run_fargate_tasks(boto3.client("ecs", region_name=REGION), ec2, busy.private_subnets["us-east-1a"])
    machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="plan", definition=ASL.read_text(), roleArn="arn:aws:iam::123456789012:role/plan"
    )["stateMachineArn"]
    os.environ["ENDPOINT_GUARD_MIGRATION_STATE_MACHINE_ARN"] = machine
    # An earlier plan of the same deferred state that failed: the worker starts it again.
    deferred = [{"route_table_id": busy.private_route_tables["us-east-1a"], "workloads": [{"kind": "ecs-task"}]}]
    sfn = boto3.client("stepfunctions", region_name=REGION)
    failed = sfn.start_execution(stateMachineArn=machine, name=execution_name(busy.vpc_id, deferred), input="{}")
    sfn.stop_execution(executionArn=failed["executionArn"])
    # Its workloads, for an ECS event's pull path: a service, standalone tasks (above), a container
    # instance, and DHCP options that name other DNS servers (which set the VPC uses is then read).
    ecs = boto3.client("ecs", region_name=REGION)
    awsvpc_service(ecs, [busy.private_subnets["us-east-1b"]], cluster="web")
    instance = ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=world.private_subnets["us-east-1c"]
    )
    document = json.dumps({"instanceId": instance["Instances"][0]["InstanceId"], "region": REGION})
    ecs.register_container_instance(cluster="web", instanceIdentityDocument=document)
    options = ec2.create_dhcp_options(DhcpConfigurations=[{"Key": "domain-name-servers", "Values": ["10.0.0.53"]}])
    ec2.associate_dhcp_options(DhcpOptionsId=options["DhcpOptions"]["DhcpOptionsId"], VpcId=busy.vpc_id)
    intake(subnet_event(world, 1), context("intake"))
    intake(subnet_event(busy, 2), context("intake"))
    intake(sample("ecs-run-task.json", busy.vpc_id, busy.private_subnets["us-east-1a"]), context("intake"))
    intake(subnet_event(building, 3), context("intake"))
    intake(subnet_event(spoke, 5), context("intake"))
    intake({"vpc_id": "vpc-0123456789abcdef0"}, context("intake"))  # dead-lettered: it does not exist
    os.environ["ENDPOINT_GUARD_ADOPT_UNMANAGED"] = "modify"
    calls = _AllCalls(clients)
    run_worker(sqs, stack.work, ensure_endpoints, remaining_ms=5_000)  # no time for any VPC: all handed back
    run_worker(sqs, stack.work, ensure_endpoints)
    group = ec2.describe_security_groups(Filters=[{"Name": "tag:ManagedBy", "Values": ["endpoint-guard"]}])[
        "SecurityGroups"
    ][0]
    ec2.authorize_security_group_ingress(
        GroupId=group["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    reconcile(world.vpc_id, ec2=Ec2Adapter(clients), settings=Settings())
    # Someone turns DNS hostnames off under the endpoints: turned back on, and remembered.
    ec2.modify_vpc_attribute(VpcId=world.vpc_id, EnableDnsHostnames={"Value": False})
    intake(sample("modify-vpc-attribute-dns-off.json", world.vpc_id), context("intake"))
    run_worker(sqs, stack.work, ensure_endpoints)
    # The busy VPC's tasks stop: its deferral ends, and the record the window would take goes.
    stop_fargate_tasks(ecs, ec2, busy_tasks)
    intake(subnet_event(busy, 4), context("intake"))
    run_worker(sqs, stack.work, ensure_endpoints)
    # The owner's DeleteVpc fails on endpoint-guard's resources: released.
    intake(sample("delete-vpc-dependency-violation.json", world.vpc_id), context("intake"))
    run_worker(sqs, stack.work, ensure_endpoints)
    return calls.actions


def _check(granted: set[str], called: set[str], implied: set[str]) -> None:
    assert called - granted == set(), "calls the function makes but may not"
    assert granted - called - implied == set(), "grants for calls the function never makes"


def test_iam_grants_the_intake_exactly_the_calls_it_makes(cloudformation: dict, ec2, ecs, used) -> None:
    called = _exercise_the_intake(ec2, ecs)
    # The scenario covers every lookup the intake has (ECS's cluster_arns, services, task_definition
    # and task_count are discovery's and the traffic estimate's, tested below).
    intake_lookups = {
        "Ec2Lookups.vpcs_of",
        "Ec2Lookups.vpcs_of_instances",
        "Ec2Lookups.vpcs",
        "Ec2Lookups.vpcs_of_endpoints",
        "Ec2Lookups.vpcs_of_managed_groups",
        "Ec2Lookups.vpcs_of_groups_in_use",
        "Ec2Lookups.vpcs_of_acls",
        "StateTable.vpcs_of_resources",
        "QueueAdapter.send_fifo",
    }
    ecs_lookups = _adapter_methods(EcsAdapter, AutoScalingAdapter) - {
        "EcsAdapter.cluster_arns",
        "EcsAdapter.task_definition",
        "EcsAdapter.task_count",
    }
    assert intake_lookups | ecs_lookups <= used, sorted(intake_lookups | ecs_lookups - used)
    # Powertools idempotency reads a record with GetItem only when a conditional put cannot return it.
    _check(_role_grants(cloudformation, "IntakeFunction"), called, implied={"dynamodb:GetItem"})


def test_iam_grants_the_worker_exactly_the_calls_it_makes(cloudformation: dict, ec2, used) -> None:
    called = _exercise_the_worker(ec2)
    # The scenario calls every method of the worker's adapters (the queue's send_fifo is the intake's).
    worker_methods = _adapter_methods(Ec2Adapter, StateTable, StepFunctionsAdapter) | {"QueueAdapter.send"}
    # Reading where a busy pace stands (a GetItem, granted for the mark) needs a burst: test_burst.py.
    # current_slot: a burst (test_burst.py); vpcs_of_resources: the intake's; region_wide: the sweep's;
    # within: a member account-Region's view of the table (no call of its own); account: the sweep's and
    # the report's (STS GetCallerIdentity, which needs no grant).
    worker_methods -= {
        "Ec2Adapter.account",
        "StateTable.current_slot",
        "StateTable.vpcs_of_resources",
        "Ec2Adapter.region_wide",
        "StateTable.within",
        "StateTable.of",  # the same view, for the sweep, the window and approve (no call of its own)
        # approve's and the maintenance window's (test_deferred_window.py checks their roles).
        "StateTable.approval",
        "StateTable.put_approval",
        "StateTable.revoke_approval",
        "StateTable.window_items",
    }
    assert worker_methods - {m for m in used if not m.startswith("Ec2Lookups.")} == set()
    # Permissions the code needs without calling them by name: tags on create, Route 53 for private DNS.
    # The CostAware statement's reads are made under EndpointProfile=cost-aware only (test_cost_aware.py).
    _check(
        _role_grants(cloudformation, "EnsureEndpointsFunction"),
        called,
        implied={"ec2:CreateTags", "route53:AssociateVPCWithHostedZone", *COST_AWARE_READS},
    )


def test_iam_grants_migration_discovery_exactly_the_calls_it_makes(cloudformation: dict, ec2, ecs, monkeypatch) -> None:
    world = build_vpc(ec2, nat=False)
    load_balanced_service(ecs, boto3.client("elbv2", region_name=REGION), world)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_nat_gateway(SubnetId=world.public_subnets["us-east-1a"], AllocationId=eip)  # no metrics: images next
    image = ecr_image(boto3.client("ecr", region_name=REGION), "shop/api", "v3", 250_000_000)
    awsvpc_service(ecs, [world.private_subnets["us-east-1b"]], cluster="api", name="api", image=image)
    plan_bucket(monkeypatch)
    clients = Clients(region=REGION)
    calls = _AllCalls(clients)
    tasks.make_discover(clients)({"vpc_id": world.vpc_id}, context("discover"))
    _check(_role_grants(cloudformation, "MigrationDiscoverFunction"), calls.actions, implied=set())


def plan_bucket(monkeypatch) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="plans")
    monkeypatch.setenv("ENDPOINT_GUARD_PLAN_BUCKET", "plans")


def test_the_plan_steps_only_read_and_write_their_documents(cloudformation: dict, ec2, ecs, monkeypatch) -> None:
    world = build_vpc(ec2)
    awsvpc_service(ecs, [world.private_subnets["us-east-1b"]], cluster="api", name="api")
    plan_bucket(monkeypatch)
    discovered = tasks.make_discover(Clients(region=REGION))({"vpc_id": world.vpc_id}, context("discover"))
    granted = {}
    for function, make, event in (
        ("MigrationTargetFunction", tasks.make_target, discovered),
        ("MigrationServiceFunction", tasks.make_service, None),
        ("MigrationAssembleFunction", tasks.make_assemble, None),
    ):
        clients = Clients(region=REGION)
        calls = _AllCalls(clients)
        if function == "MigrationServiceFunction":
            event = {"service_key": discovered["services"][0]["service_key"], "target_key": granted["target_key"]}
        if function == "MigrationAssembleFunction":
            event = {**discovered, "target_key": granted["target_key"], "services": [granted["steps"]]}
        answer = make(clients)(event, context(function))
        granted.update(target_key=answer.get("target_key", granted.get("target_key")))
        if "steps_key" in answer:
            granted["steps"] = answer
        # Assemble deletes plan.md only when plan.json cannot be written (test_migration_plan.py).
        implied = {"s3:DeleteObject"} if function == "MigrationAssembleFunction" else set()
        _check(_role_grants(cloudformation, function), calls.actions, implied=implied)


def test_the_state_machines_are_the_asl_files_with_every_substitution_wired(cloudformation: dict) -> None:
    machines = {
        v["Properties"]["StateMachineName"]["Fn::Sub"]: v["Properties"]
        for v in cloudformation.values()
        if v["Type"] == "AWS::StepFunctions::StateMachine"
    }
    assert set(machines) == {
        "${AWS::StackName}-migration-plan",
        "${AWS::StackName}-fleet-sweep",
        "${AWS::StackName}-deferred-window",
    }
    for name, asl, functions in (
        (
            "${AWS::StackName}-migration-plan",
            ASL,
            (
                ("DiscoverFunctionArn", "MigrationDiscoverFunction"),
                ("TargetFunctionArn", "MigrationTargetFunction"),
                ("ServiceFunctionArn", "MigrationServiceFunction"),
                ("AssembleFunctionArn", "MigrationAssembleFunction"),
            ),
        ),
        (
            "${AWS::StackName}-fleet-sweep",
            SWEEP_ASL,
            (
                ("SweepPlanFunctionArn", "SweepPlanFunction"),
                ("SweepChunkFunctionArn", "SweepChunkFunction"),
                ("SweepReportFunctionArn", "SweepReportFunction"),
            ),
        ),
        (
            "${AWS::StackName}-deferred-window",
            WINDOW_ASL,
            (
                ("WindowPlanFunctionArn", "WindowPlanFunction"),
                ("WindowApplyFunctionArn", "WindowApplyFunction"),
                ("WindowCheckFunctionArn", "WindowCheckFunction"),
            ),
        ),
    ):
        machine = machines[name]
        # The translator inlines DefinitionUri (as `sam package` uploads it): the deployed definition is the file.
        joined = machine["DefinitionString"]["Fn::Join"]
        assert json.loads(joined[0].join(joined[1])) == json.loads(asl.read_text())
        subs = machine["DefinitionSubstitutions"]
        for key, function in functions:
            assert subs[key] == {"Fn::GetAtt": [function, "Arn"]}
        assert subs["PlanTopicArn"] == {"Ref": "PlanTopic"}
        assert "PlanBucket" not in subs or subs["PlanBucket"] == {"Ref": "PlanBucket"}
    schedule = cloudformation["FleetSweepStateMachineScheduled"]["Properties"]
    assert schedule["State"] == {"Fn::If": ["SweepOn", "ENABLED", "DISABLED"]}
    # The window: an EventBridge Scheduler schedule in the deployer's time zone, off while empty,
    # retried and dead-lettered like the sweep's.
    window = next(v["Properties"] for v in cloudformation.values() if v["Type"] == "AWS::Scheduler::Schedule")
    assert window["State"] == {"Fn::If": ["WindowOn", "ENABLED", "DISABLED"]}
    assert window["ScheduleExpression"]["Fn::If"][:2] == ["WindowOn", {"Ref": "DeferredGatewayWindow"}]
    assert window["ScheduleExpressionTimezone"] == {"Ref": "DeferredGatewayWindowTimezone"}
    assert window["Target"]["Arn"] == {"Ref": "DeferredWindowStateMachine"}
    assert window["Target"]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert window["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 10
    planner = cloudformation["WindowPlanFunction"]["Properties"]["Environment"]["Variables"]
    assert planner["ENDPOINT_GUARD_DEFERRED_GATEWAY_APPROVAL"] == {"Ref": "DeferredGatewayApproval"}
    assert planner["ENDPOINT_GUARD_DEFERRED_GATEWAY_SETTLE_SECONDS"] == {"Ref": "DeferredGatewaySettleSeconds"}
    bucket = cloudformation["PlanBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    worker = cloudformation["EnsureEndpointsFunction"]["Properties"]["Environment"]["Variables"]
    assert worker["ENDPOINT_GUARD_MIGRATION_STATE_MACHINE_ARN"] == {"Ref": "MigrationPlanStateMachine"}


def test_every_function_logs_to_its_own_group_with_retention(cloudformation: dict) -> None:
    functions = {k: v for k, v in cloudformation.items() if v["Type"] == "AWS::Lambda::Function"}
    assert len(functions) == 12
    for name, function in functions.items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert cloudformation[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name


def test_every_stateful_resource_says_what_happens_to_it_on_delete_and_replace(cloudformation: dict) -> None:
    stateful = ("AWS::SQS::Queue", "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Logs::LogGroup")
    for name, resource in cloudformation.items():
        if resource["Type"] in stateful:
            assert resource.get("DeletionPolicy") in ("Delete", "Retain", "Snapshot"), name
            assert resource.get("UpdateReplacePolicy") == resource["DeletionPolicy"], name
    assert cloudformation["PlanBucket"]["DeletionPolicy"] == "Retain"  # plans outlive the stack


def test_alarms_tell_the_operator_through_one_topic(cloudformation: dict) -> None:
    alarms = {k: v["Properties"] for k, v in cloudformation.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {
        "DeadLettersAlarm",
        "BackstopAlarm",
        "IntakeErrorsAlarm",
        "WorkerErrorsAlarm",
        "MigrationPlanFailedAlarm",
        "NotCompliantAlarm",
        "WorkloadsBlockedAlarm",
    }
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert len(alarm["AlarmDescription"]) > 80, name  # what it means and what to do
    assert alarms["NotCompliantAlarm"]["MetricName"] == "VpcsNotCompliant"
    assert alarms["NotCompliantAlarm"]["DatapointsToAlarm"] == 6  # sustained, not one reconcile
    assert alarms["WorkloadsBlockedAlarm"]["MetricName"] == "WorkloadsBlocked"  # at once: tasks cannot start
    assert cloudformation["AlarmTopicEmail"]["Condition"] == "AlarmEmailGiven"


def test_the_dashboard_is_json_and_shows_every_metric_the_code_emits(cloudformation: dict) -> None:
    body, values = cloudformation["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    text = body.replace("${AWS::Region}", "us-east-1")
    for key in values:
        text = text.replace("${" + key + "}", key.lower())
    dashboard = json.loads(text)
    shown = json.dumps(dashboard)
    code = (REPO / "layers/endpoint_guard/python/endpoint_guard").rglob("*.py")
    emitted = {m for path in code for m in re.findall(r'count\("([A-Z]\w+)"', path.read_text())}
    assert emitted >= {"EventsReceived", "VpcsReconciled", "DeadLettered", "HandedBack"}
    assert {m for m in emitted if m not in shown} == set()


def test_any_stack_name_fits_the_names_aws_allows(cloudformation: dict) -> None:
    """Function names are generated (64 characters at most), so a long stack name cannot push one past
    the limit; the log groups, named after the stack, allow 512."""
    for name, resource in cloudformation.items():
        if resource["Type"] == "AWS::Lambda::Function":
            assert "FunctionName" not in resource["Properties"], name


def test_iam_grants_the_sweep_tasks_exactly_the_calls_they_make(cloudformation: dict, ec2, monkeypatch) -> None:
    """The three fleet-sweep tasks, run in-process on moto: plan, an enforcing chunk (paced through the
    state table), the report. The chunk shares the reconcile's managed policy with the worker; what only
    the worker calls (releases, the drift records) is granted through it without the sweep calling it."""
    from endpoint_guard.lambdas import sweep as sweep_tasks

    sqs, dynamodb = boto3.client("sqs", region_name=REGION), boto3.client("dynamodb", region_name=REGION)
    stack = create_stack(sqs, dynamodb)
    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ENDPOINT_GUARD_SECURITY_HUB_FINDINGS", "on")  # each swept VPC's findings
    world = build_vpc(ec2, dns_support=False, dns_hostnames=False)
    central_spoke(ec2, boto3.client("route53", region_name=REGION))  # its interface services are central
    # Workloads for the plan's pull-path read: a service, standalone tasks (their ENIs), an instance.
    ecs = boto3.client("ecs", region_name=REGION)
    awsvpc_service(ecs, [world.private_subnets["us-east-1a"]], cluster="web")
    run_fargate_tasks(ecs, ec2, world.private_subnets["us-east-1b"], cluster="web")
    instance = ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=world.private_subnets["us-east-1c"]
    )
    document = json.dumps({"instanceId": instance["Instances"][0]["InstanceId"], "region": REGION})
    ecs.register_container_instance(cluster="web", instanceIdentityDocument=document)
    plan_bucket(monkeypatch)
    clients = Clients(region=REGION)
    calls = _AllCalls(clients)
    planned = sweep_tasks.make_plan(clients)({"run": "r1", "mode": "enforce"}, context("sweep-plan"))
    plan_calls = calls.actions
    _check(_role_grants(cloudformation, "SweepPlanFunction"), plan_calls, implied=set())

    calls = _AllCalls(clients)
    items = boto3.client("s3", region_name=REGION).get_object(Bucket="plans", Key=planned["items_key"])["Body"]
    for item in json.loads(items.read()):
        sweep_tasks.make_chunk(clients)({"run": "r1", "mode": "enforce", "item": item}, context("sweep-chunk"))
    worker_only = {
        "ec2:DeleteVpcEndpoints",
        "ec2:DeleteSecurityGroup",
        "ec2:RevokeSecurityGroupIngress",  # a hand edit of the group, which a fresh VPC does not have
        "route53:AssociateVPCWithHostedZone",  # implied by private DNS
        "ec2:CreateTags",  # implied by the tagged creates
        "ec2:ModifyVpcEndpoint",  # an endpoint with a gap; the worker's scenario has one
        "dynamodb:GetItem",  # where a busy pace stands: a burst (test_burst.py)
        "ec2:DescribeNatGateways",  # a way out being set up; the worker's scenario has one
        "ec2:DescribeTransitGatewayAttachments",
        *COST_AWARE_READS,  # the CostAware statement, for the worker's cost-aware profile
    }
    _check(_role_grants(cloudformation, "SweepChunkFunction"), calls.actions, implied=worker_only)

    calls = _AllCalls(clients)
    sweep_tasks.make_report(clients)({"run": "r1", "mode": "enforce"}, context("sweep-report"))
    _check(_role_grants(cloudformation, "SweepReportFunction"), calls.actions, implied=set())


def test_iam_grants_the_window_tasks_exactly_the_calls_they_make(cloudformation: dict, ec2, monkeypatch) -> None:
    """The maintenance window's three tasks in-process on moto: plan (an approval, a tagged VPC, a
    deferral record), apply on a VPC with workloads behind every routed table (so the gateway is
    created) and on one whose gateway exists (modified), check, and the report."""
    from endpoint_guard.deferred.approval import Approval
    from endpoint_guard.lambdas import window as window_tasks

    sqs, dynamodb = boto3.client("sqs", region_name=REGION), boto3.client("dynamodb", region_name=REGION)
    stack = create_stack(sqs, dynamodb)
    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    ecs = boto3.client("ecs", region_name=REGION)
    lone = build_vpc(ec2, azs=("us-east-1a",))  # tasks behind its public and its private table: no gateway yet
    for subnet in (lone.public_subnets["us-east-1a"], lone.private_subnets["us-east-1a"]):
        run_fargate_tasks(ecs, ec2, subnet, cluster="lone", count=1, group="service:api")
    awsvpc_service(ecs, [lone.private_subnets["us-east-1a"]], cluster="lone", name="api")
    busy = build_vpc(ec2, cidr="10.41.0.0/16")
    run_fargate_tasks(ecs, ec2, busy.private_subnets["us-east-1a"], cluster="web", count=1, group="service:web")
    # What the pull path reads beyond services and tasks: a container instance, and DHCP options that
    # name other DNS servers (which set the VPC uses is then read).
    instance = ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=busy.private_subnets["us-east-1b"]
    )
    document = json.dumps({"instanceId": instance["Instances"][0]["InstanceId"], "region": REGION})
    ecs.register_container_instance(cluster="web", instanceIdentityDocument=document)
    options = ec2.create_dhcp_options(DhcpConfigurations=[{"Key": "domain-name-servers", "Values": ["10.0.0.53"]}])
    ec2.associate_dhcp_options(DhcpOptionsId=options["DhcpOptions"]["DhcpOptionsId"], VpcId=busy.vpc_id)
    clients = Clients(region=REGION)
    reconcile(busy.vpc_id, ec2=Ec2Adapter(clients), settings=Settings())  # lone was never reconciled
    table = StateTable(stack.env["ENDPOINT_GUARD_STATE_TABLE"], clients)
    table.put_approval(Approval(lone.vpc_id, REGION, by="ops", at=1, until=4_000_000_000))
    table.record_deferred(busy.vpc_id, REGION, None, [busy.private_route_tables["us-east-1a"]], 1)
    ec2.create_tags(Resources=[busy.vpc_id], Tags=[{"Key": "endpoint-guard:apply-deferred", "Value": "window"}])

    clients = Clients(region=REGION)  # fresh: nothing the reconcile above read is cached
    calls = _AllCalls(clients)
    planned = window_tasks.make_plan(clients)({"step": "collect", "run": "w1"}, context("window-plan"))
    assert {v["vpc_id"] for v in planned["vpcs"]} == {lone.vpc_id, busy.vpc_id}
    _check(_role_grants(cloudformation, "WindowPlanFunction"), calls.actions, implied=set())

    calls = _AllCalls(clients)
    steps = []
    for target in planned["vpcs"]:  # table after table until none is left
        step = {"added": [], "done": False}
        while not step["done"]:
            event = {"run": "w1", "vpc": target, "added": step["added"]}
            step = window_tasks.make_apply(clients)(event, context("window-apply"))
            steps.append((target, step))
    assert {len(step["added"]) for _, step in steps if step["done"]} == {2}
    # GetItem: where a busy pace stands (a burst, test_burst.py); CreateTags: implied by the tagged create.
    _check(
        _role_grants(cloudformation, "WindowApplyFunction"),
        calls.actions,
        implied={"ec2:CreateTags", "dynamodb:GetItem"},
    )

    calls = _AllCalls(clients)
    target, step = next((t, s) for t, s in steps if s.get("services"))
    cluster = step["services"][0].split("/")[0]
    # A task of the service stops after the change (so it is described).
    stopped = run_fargate_tasks(ecs, ec2, lone.private_subnets["us-east-1a"], cluster=cluster, count=1)
    stop_fargate_tasks(ecs, ec2, stopped, cluster=cluster, reason="CannotPullContainerError: layer from S3")
    checked = window_tasks.make_check(clients)({"vpc": target, "step": step}, context("window-check"))
    assert not checked["steady"]
    _check(_role_grants(cloudformation, "WindowCheckFunction"), calls.actions, implied=set())
    report = window_tasks.make_plan(clients)({"step": "report", "run": "w1", "results": []}, context("window-plan"))
    assert report["added"] == 0

"""A hub (FleetMode = hub) through the deployed path on moto: events forwarded from member accounts and
Regions are queued per account/Region/VPC and reconciled through the member role with the external id;
accounts and Regions not enrolled are skipped; the member role's own calls never trigger; drift in a
member account is found in that account's records; the migration plan reads the member's VPC.

moto keeps a backend per account and honours an assumed role's account, but it enforces neither trust
policies nor external ids: a refusal of AssumeRole without the external id is injected (as the spoke's
trust policy would answer)."""

from __future__ import annotations

import copy
import json
import os

import boto3
import pytest
from botocore.exceptions import ClientError
from endpoint_guard.worker.messages import WorkItem

from tests.app.iam import SPOKE, granted_by, iam_action
from tests.conftest import emf, endpoints_of, load_event, on_assume_role, sample
from tools.esm import context, receive, run_worker
from tools.world import (
    OWN_ACCOUNT,
    awsvpc_service,
    build_vpc,
    central_spoke,
    ecr_image,
    load_balanced_service,
    member_client,
    run_fargate_tasks,
)

MEMBER, STRANGER = "111111111111", "222222222222"
EXTERNAL_ID = "hub-external-id-0123456789"
INTAKE = context("endpoint-guard-intake")


@pytest.fixture
def hub(stack, monkeypatch):
    """The stack as a hub: MEMBER enrolled, in us-east-1 and eu-west-1. Every AssumeRole must carry the
    external id (the spoke's trust policy; injected, moto does not check it)."""
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_MODE", "hub")
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_ACCOUNTS", MEMBER)
    monkeypatch.setenv("ENDPOINT_GUARD_SWEEP_REGIONS", "us-east-1,eu-west-1")
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_EXTERNAL_ID", EXTERNAL_ID)
    assumed: list[dict] = []

    def trust(params: dict, **_: object) -> None:
        if params["RoleSessionName"] == "endpoint-guard-world":
            return  # the test building its world, not the hub
        assumed.append(dict(params))
        if params.get("ExternalId") != EXTERNAL_ID:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no external id"}}, "AssumeRole")

    on_assume_role(monkeypatch, trust)
    return assumed


def forwarded(event: dict, account: str, region: str) -> dict:
    """``event`` as a spoke's forward rule delivers it to the fleet bus: its account and Region kept."""
    event = copy.deepcopy(event)
    event["account"], event["region"] = account, region
    # Each delivery its own event (the intake deduplicates on the event id).
    event["id"] = event["detail"]["eventID"] = f"{event['detail']['eventID']}-{account}-{region}"
    event["detail"]["recipientAccountId"], event["detail"]["awsRegion"] = account, region
    return event


def member_vpc(account: str, region: str):
    ec2 = member_client("ec2", account, region)
    return ec2, build_vpc(ec2, azs=(f"{region}a", f"{region}b"))


def test_a_members_new_vpc_is_reconciled_through_its_member_role(hub, sqs, stack, intake, ensure_endpoints) -> None:
    ec2, world = member_vpc(MEMBER, "eu-west-1")
    event = forwarded(load_event("create-vpc.json"), MEMBER, "eu-west-1")
    event["detail"]["responseElements"]["vpc"]["vpcId"] = world.vpc_id
    answer = intake(event, INTAKE)
    assert [q["vpc_id"] for q in answer["queued"]] == [world.vpc_id]
    [message] = receive(sqs, stack.work)
    item = WorkItem.from_message(message["Body"])
    assert (item.account, item.region) == (MEMBER, "eu-west-1")
    # One VPC of one account-Region is one message group; its mark is kept apart from any other's.
    assert message["Attributes"]["MessageGroupId"] == f"{MEMBER}/eu-west-1/{world.vpc_id}"
    sqs.change_message_visibility(QueueUrl=stack.work, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    run_worker(sqs, stack.work, ensure_endpoints)
    assert len(endpoints_of(ec2, world.vpc_id)) == 4
    assert hub and all(a["ExternalId"] == EXTERNAL_ID for a in hub)
    assert {a["RoleArn"] for a in hub} == {f"arn:aws:iam::{MEMBER}:role/endpoint-guard-member"}
    table = boto3.client("dynamodb", region_name="us-east-1")
    mark = table.get_item(TableName="endpoint-guard-state", Key={"id": {"S": f"vpc#{MEMBER}/eu-west-1/{world.vpc_id}"}})
    assert "reconciled_from" in mark["Item"]
    assert receive(sqs, stack.work) == [] and receive(sqs, stack.dead) == []


def test_accounts_and_regions_not_enrolled_and_the_member_roles_own_calls_are_skipped(
    hub, sqs, stack, intake, logs
) -> None:
    _, world = member_vpc(MEMBER, "eu-west-1")
    base = load_event("create-vpc.json")
    base["detail"]["responseElements"]["vpc"]["vpcId"] = world.vpc_id
    stranger = intake(forwarded(base, STRANGER, "us-east-1"), INTAKE)
    elsewhere = intake(forwarded(base, MEMBER, "ap-south-1"), INTAKE)
    own = forwarded(base, MEMBER, "eu-west-1")
    own["detail"]["userIdentity"] = {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{MEMBER}:assumed-role/endpoint-guard-member/endpoint-guard-hub",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{MEMBER}:role/endpoint-guard-member"}
        },
    }
    own["id"] = own["detail"]["eventID"] = "own-call"
    loop = intake(own, INTAKE)
    assert [s["kind"] for s in stranger["skipped"]] == ["not_enrolled"]
    assert STRANGER in stranger["skipped"][0]["reason"]
    assert [s["kind"] for s in elsewhere["skipped"]] == ["not_enrolled"]
    assert "ap-south-1" in elsewhere["skipped"][0]["reason"]
    assert [s["kind"] for s in loop["skipped"]] == ["own_call"]
    assert not (stranger["queued"] or elsewhere["queued"] or loop["queued"])
    assert receive(sqs, stack.work) == []
    assert hub == []  # nothing was assumed for events that are not the hub's
    reasons = [line.get("skip_kind") for line in logs() if line.get("message") == "skipped"]
    assert reasons.count("not_enrolled") == 2


def security_hub_finding(account: str, region: str, vpc_id: str) -> dict:
    """The sample EC2.55 finding as Security Hub's administrator (the hub) gets a member's aggregated one."""
    event = load_event("securityhub-ec2-55-failed.json")
    finding = event["detail"]["findings"][0]
    finding["AwsAccountId"], finding["Region"] = account, region
    finding["Id"] = f"{finding['Id']}-{account}-{region}"
    event["id"] = f"{event['id']}-{account}-{region}"  # each delivery its own event (the intake deduplicates)
    finding["Resources"][0]["Id"] = f"arn:aws:ec2:{region}:{account}:vpc/{vpc_id}"
    return event


def test_a_members_failed_security_hub_control_is_work_for_that_vpc_and_a_strangers_is_not(
    hub, sqs, stack, intake, ensure_endpoints
) -> None:
    ec2, world = member_vpc(MEMBER, "eu-west-1")
    answer = intake(security_hub_finding(MEMBER, "eu-west-1", world.vpc_id), INTAKE)
    assert [q["vpc_id"] for q in answer["queued"]] == [world.vpc_id]
    run_worker(sqs, stack.work, ensure_endpoints)
    assert len(endpoints_of(ec2, world.vpc_id)) == 4  # reconciled through the member role
    stranger = intake(security_hub_finding(STRANGER, "eu-west-1", world.vpc_id), INTAKE)
    assert [s["kind"] for s in stranger["skipped"]] == ["not_enrolled"] and not stranger["queued"], stranger


def test_the_hubs_own_account_region_keeps_the_single_account_keys(hub, ec2, sqs, stack, intake) -> None:
    world = build_vpc(ec2)
    event = forwarded(load_event("create-vpc.json"), OWN_ACCOUNT, "us-east-1")
    event["detail"]["responseElements"]["vpc"]["vpcId"] = world.vpc_id
    intake(event, INTAKE)
    [message] = receive(sqs, stack.work)
    assert message["Attributes"]["MessageGroupId"] == world.vpc_id
    assert hub == []  # its own account is reached directly


def test_drift_in_a_member_account_is_repaired_there(hub, sqs, stack, intake, ensure_endpoints, capsys) -> None:
    ec2, world = member_vpc(MEMBER, "us-east-1")
    created = forwarded(load_event("create-vpc.json"), MEMBER, "us-east-1")
    created["detail"]["responseElements"]["vpc"]["vpcId"] = world.vpc_id
    intake(created, INTAKE)
    run_worker(sqs, stack.work, ensure_endpoints)
    dkr = next(e for e in endpoints_of(ec2, world.vpc_id) if e["ServiceName"].endswith("ecr.dkr"))
    ec2.delete_vpc_endpoints(VpcEndpointIds=[dkr["VpcEndpointId"]])
    capsys.readouterr()
    event = forwarded(
        sample("drift-delete-vpc-endpoints.json", world.vpc_id, endpoint=dkr["VpcEndpointId"]), MEMBER, "us-east-1"
    )
    assert [q["vpc_id"] for q in intake(event, INTAKE)["queued"]] == [world.vpc_id]
    run_worker(sqs, stack.work, ensure_endpoints)
    assert len(endpoints_of(ec2, world.vpc_id)) == 4
    assert emf(capsys.readouterr().out)["DriftRepaired"] == 1.0
    # What endpoint-guard made in the member account is recorded under that account-Region.
    table = boto3.client("dynamodb", region_name="us-east-1")
    record = table.get_item(
        TableName="endpoint-guard-state", Key={"id": {"S": f"res#{MEMBER}/us-east-1/{dkr['VpcEndpointId']}"}}
    )
    assert record["Item"]["vpc_id"]["S"] == world.vpc_id


def test_a_member_role_that_cannot_be_assumed_dead_letters_with_the_reason(
    hub, sqs, stack, intake, ensure_endpoints, monkeypatch
) -> None:
    _, world = member_vpc(MEMBER, "eu-west-1")
    event = forwarded(load_event("create-vpc.json"), MEMBER, "eu-west-1")
    event["detail"]["responseElements"]["vpc"]["vpcId"] = world.vpc_id
    intake(event, INTAKE)
    monkeypatch.setenv("ENDPOINT_GUARD_FLEET_EXTERNAL_ID", "a-wrong-external-id-000")
    run_worker(sqs, stack.work, ensure_endpoints)
    [parked] = receive(sqs, stack.dead)
    assert "assume_role" in parked["Body"] and "AccessDenied" in parked["Body"]
    assert receive(sqs, stack.work) == []


def test_a_delivery_is_deduplicated_per_account_and_region(hub, sqs, stack, intake) -> None:
    """A second delivery of one event gets the first one's answer; the same event id from another
    account-Region is another event (the idempotency key holds the account and Region)."""
    _, first = member_vpc(MEMBER, "us-east-1")
    event = forwarded(load_event("create-vpc.json"), MEMBER, "us-east-1")
    event["detail"]["responseElements"]["vpc"]["vpcId"] = first.vpc_id
    assert len(intake(event, INTAKE)["queued"]) == 1
    assert intake(copy.deepcopy(event), INTAKE)["queued"] == intake(event, INTAKE)["queued"]
    _, second = member_vpc(MEMBER, "eu-west-1")
    elsewhere = copy.deepcopy(event)
    elsewhere["region"] = elsewhere["detail"]["awsRegion"] = "eu-west-1"
    elsewhere["detail"]["responseElements"]["vpc"]["vpcId"] = second.vpc_id
    assert [q["vpc_id"] for q in intake(elsewhere, INTAKE)["queued"]] == [second.vpc_id]
    assert sorted(WorkItem.from_message(m["Body"]).key for m in receive(sqs, stack.work)) == sorted(
        [f"{MEMBER}/us-east-1/{first.vpc_id}", f"{MEMBER}/eu-west-1/{second.vpc_id}"]
    )


# --- the member role allows every call the hub makes with it ---------------------------------------------

# Granted for what the code needs without calling it by name (tags on create, Route 53 for private DNS)
# or only under EndpointProfile=cost-aware (test_cost_aware.py).
IMPLIED = frozenset({"ec2:CreateTags", "route53:AssociateVPCWithHostedZone", "cloudwatch:GetMetricData"})


@pytest.fixture
def member_calls(monkeypatch) -> set[str]:
    """The IAM actions of every call made with a member role's credentials (every client of a member
    session the hub assumes), from here on."""
    from endpoint_guard.fleet.connect import MemberAccess

    seen: set[str] = set()
    original = MemberAccess._member_session

    def recorded(self, account: str, region: str):
        fresh = account not in self._sessions
        session = original(self, account, region)
        if fresh:
            session.events.register("before-call", lambda model, **_: seen.add(iam_action(model)))
        return session

    monkeypatch.setattr(MemberAccess, "_member_session", recorded)
    return seen


def test_the_member_role_allows_every_call_the_hub_makes_with_it_and_nothing_more(
    hub, member_calls, sqs, stack, intake, ensure_endpoints, monkeypatch
) -> None:
    """Every hub path that reaches a member account, through the deployed handlers: the intake (a new
    VPC, a cluster, drift on a group and on an endpoint, DNS turned off, a blocked delete), the worker
    on each, the migration plan's discovery, and the fleet sweep in both modes. The calls, recorded,
    are compared with the spoke's MemberRole both ways, as the functions' own roles are. The
    maintenance window's tasks too, for an approved member VPC."""
    from endpoint_guard.lambdas import migration as tasks
    from endpoint_guard.lambdas import sweep as sweep_tasks

    region = "eu-west-1"
    ec2, world = member_vpc(MEMBER, region)
    member = {n: member_client(n, MEMBER, region) for n in ("ecs", "elbv2", "ecr", "autoscaling")}
    # What the hub meets there: an endpoint someone made by hand in one AZ (adopted and widened under
    # AdoptUnmanagedEndpoints=modify), a service behind a load balancer, one with an ECR image, a
    # cluster with a container instance and an Auto Scaling capacity provider, and a NAT gateway.
    monkeypatch.setenv("ENDPOINT_GUARD_ADOPT_UNMANAGED", "modify")
    # Security Hub, out: the member's findings are imported through its member role.
    monkeypatch.setenv("ENDPOINT_GUARD_SECURITY_HUB_FINDINGS", "on")
    ec2.create_vpc_endpoint(
        VpcId=world.vpc_id,
        ServiceName=f"com.amazonaws.{region}.logs",
        VpcEndpointType="Interface",
        SubnetIds=[world.private_subnets[f"{region}a"]],
    )
    load_balanced_service(member["ecs"], member["elbv2"], world)
    image = ecr_image(member["ecr"], "shop/api", "v3", 250_000_000)
    cluster = awsvpc_service(
        member["ecs"], [world.private_subnets[f"{region}b"]], cluster="api", name="api", image=image
    )
    instance = ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=world.private_subnets[f"{region}a"]
    )
    document = json.dumps({"instanceId": instance["Instances"][0]["InstanceId"], "region": region})
    member["ecs"].register_container_instance(cluster=cluster, instanceIdentityDocument=document)
    ec2.create_launch_template(LaunchTemplateName="hosts", LaunchTemplateData={"ImageId": "ami-12345678"})
    member["autoscaling"].create_auto_scaling_group(
        AutoScalingGroupName="hosts",
        LaunchTemplate={"LaunchTemplateName": "hosts"},
        MinSize=0,
        MaxSize=1,
        VPCZoneIdentifier=world.private_subnets[f"{region}b"],
    )
    group_arn = member["autoscaling"].describe_auto_scaling_groups()["AutoScalingGroups"][0]["AutoScalingGroupARN"]
    member["ecs"].create_capacity_provider(name="hosts", autoScalingGroupProvider={"autoScalingGroupArn": group_arn})
    member["ecs"].put_cluster_capacity_providers(
        cluster=cluster, capacityProviders=["hosts"], defaultCapacityProviderStrategy=[]
    )
    run_fargate_tasks(member["ecs"], ec2, world.private_subnets[f"{region}b"], cluster="batch")  # standalone tasks
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_nat_gateway(SubnetId=world.public_subnets[f"{region}a"], AllocationId=eip)  # no metrics: images next

    def deliver(event: dict) -> None:
        intake(forwarded(event, MEMBER, region), INTAKE)
        run_worker(sqs, stack.work, ensure_endpoints)

    deliver(sample("create-vpc.json", world.vpc_id))
    # A spoke of the member's served by central endpoints (its private hosted zones read through the role).
    spoke = central_spoke(ec2, member_client("route53", MEMBER, region), azs=(f"{region}a",))
    deliver(sample("create-vpc.json", spoke.vpc_id))
    cluster_event = sample("ecs-create-cluster.json", world.vpc_id)
    cluster_event["detail"]["responseElements"]["cluster"]["clusterArn"] = cluster
    deliver(cluster_event)
    # Hand edits: a rule added to endpoint-guard's group (taken out again), someone else's group, an
    # endpoint AWS no longer knows, the DNS attributes turned off.
    managed = ec2.describe_security_groups(Filters=[{"Name": "tag:ManagedBy", "Values": ["endpoint-guard"]}])
    ours = managed["SecurityGroups"][0]["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=ours,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    deliver(sample("drift-revoke-security-group-ingress.json", world.vpc_id, group=ours))
    theirs = ec2.create_security_group(GroupName="app", Description="app", VpcId=world.vpc_id)["GroupId"]
    deliver(sample("drift-revoke-security-group-ingress.json", world.vpc_id, group=theirs))
    deliver(sample("drift-delete-vpc-endpoints.json", world.vpc_id, endpoint="vpce-0123456789abcdef0"))
    deliver(sample("path-revoke-security-group-egress.json", world.vpc_id, group=theirs))  # a hop: nothing uses it
    acls = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["NetworkAcls"]
    acl_event = load_event("path-replace-network-acl-entry.json")
    acl_event["detail"]["requestParameters"]["networkAclId"] = acls[0]["NetworkAclId"]
    deliver(acl_event)  # and an ACL on the VPC's subnets: the pulls judged again, through the member role
    ec2.modify_vpc_attribute(VpcId=world.vpc_id, EnableDnsHostnames={"Value": False})
    deliver(sample("modify-vpc-attribute-dns-off.json", world.vpc_id))

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="plans")
    monkeypatch.setenv("ENDPOINT_GUARD_PLAN_BUCKET", "plans")
    tasks.make_discover()({"vpc_id": world.vpc_id, "account": MEMBER, "region": region}, context("discover"))
    for mode in ("report", "enforce"):
        plan = sweep_tasks.make_plan()({"run": f"hub-{mode}", "mode": mode}, context("sweep-plan"))
        items = json.loads(s3.get_object(Bucket="plans", Key=plan["items_key"])["Body"].read())
        for item in (i for i in items if i["account"] == MEMBER):
            sweep_tasks.make_chunk()({"run": f"hub-{mode}", "mode": mode, "item": item}, context("sweep-chunk"))
    # The maintenance window, for the member's VPC approved in the hub's state table.
    from endpoint_guard.aws import Clients, StateTable
    from endpoint_guard.deferred.approval import Approval
    from endpoint_guard.lambdas import window as window_tasks

    approvals = StateTable(os.environ["ENDPOINT_GUARD_STATE_TABLE"], Clients(region="us-east-1"))
    approvals.within(f"{MEMBER}/{region}/").put_approval(
        Approval(world.vpc_id, region, account=MEMBER, by="ops", at=1, until=4_000_000_000)
    )
    planned = window_tasks.make_plan()({"step": "collect", "run": "hub-window"}, context("window-plan"))
    [target] = [t for t in planned["vpcs"] if t["account"] == MEMBER]
    step: dict = {"added": [], "done": False}
    while not step["done"]:
        event = {"run": "hub-window", "vpc": target, "added": step["added"]}
        step = window_tasks.make_apply()(event, context("window-apply"))
        if not step["done"]:
            window_tasks.make_check()({"vpc": target, "step": step}, context("window-check"))
    deliver(sample("delete-vpc-dependency-violation.json", world.vpc_id))
    assert receive(sqs, stack.dead) == []  # every path ran to its end
    # The findings are the member's own, imported in its account (not the hub's).
    imported = member_client("securityhub", MEMBER, region).get_findings()["Findings"]
    assert imported and {f["AwsAccountId"] for f in imported} == {MEMBER}
    assert any(f["Resources"][0]["Id"].endswith(world.vpc_id) for f in imported)

    [policy] = SPOKE["Resources"]["MemberRole"]["Properties"]["Policies"]
    granted = granted_by(policy)
    assert member_calls - granted == set(), "calls the hub makes with the member role, which it may not"
    assert granted - member_calls - IMPLIED == set(), "member-role grants the hub never uses"

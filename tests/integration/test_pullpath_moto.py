"""The pull path on moto, each case its own world: what `endpoint-guard check` and `ensure` say of a
VPC's ECS workloads, hop by hop, and what the reconcile does about it.

Where moto does not answer as AWS does, AWS's answer is injected and the test says so: DescribePrefixLists
returns no ranges in moto (AWS lists the S3 prefix list's CIDRs); moto's ECS starts no task for a service (its tasks are run by hand where they matter)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import boto3
import pytest
from endpoint_guard.cli import main

from tests.conftest import REGION, on_every_client
from tools.world import build_vpc, nat_gateway, run_fargate_tasks, terraform_module_vpc, tiered_vpc

ACCOUNT = "123456789012"
ECR_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop/api:v3"
S3_RANGES = ["52.216.0.0/15", "3.5.0.0/19", "54.231.0.0/16"]  # us-east-1's S3 prefix list, abridged
LAYERS = f"arn:aws:s3:::prod-{REGION}-starport-layer-bucket/*"


@pytest.fixture
def aws(moto, monkeypatch) -> SimpleNamespace:
    def ranges(parsed: dict, **_: object) -> None:  # AWS lists the prefix list's CIDRs; moto lists none
        for found in parsed.get("PrefixLists", []):
            if found.get("PrefixListName") == f"com.amazonaws.{REGION}.s3":
                found["Cidrs"] = list(S3_RANGES)

    on_every_client(monkeypatch, "ec2", "after-call.ec2.DescribePrefixLists", ranges)
    names = ("ec2", "ecs", "ecr")
    return SimpleNamespace(**{n: boto3.client(n, region_name=REGION) for n in names})


def service(
    aws,
    subnets: list[str],
    *,
    cluster: str = "shop",
    name: str = "api",
    groups: list[str] | None = None,
    image: str = ECR_IMAGE,
    secrets: list[dict] | None = None,
    logs: bool = True,
) -> str:
    container: dict = {"name": "app", "image": image, "memory": 512}
    if logs:
        container["logConfiguration"] = {
            "logDriver": "awslogs",
            "options": {"awslogs-group": f"/{cluster}/{name}", "awslogs-region": REGION},
        }
    if secrets:
        container["secrets"] = secrets
    aws.ecs.create_cluster(clusterName=cluster)
    aws.ecs.register_task_definition(
        family=name,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[container],
    )
    aws.ecs.create_service(
        cluster=cluster,
        serviceName=name,
        taskDefinition=name,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups or []}},
    )
    return f"{cluster}/{name}"


def check(vpc_id: str, capsys) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["check", vpc_id, "--json", "--region", REGION])
    return code, json.loads(capsys.readouterr().out)


def ensure(vpc_id: str, capsys) -> int:
    code = main(["ensure", vpc_id, "--region", REGION])
    capsys.readouterr()
    return code


def workload(result: dict, key: str) -> dict:
    return next(w for w in result["workloads"] if f"{w['cluster']}/{w['name']}" == key)


def problems(found: dict) -> list[tuple[str, str, str]]:
    return [(p["hop"], p["service"], p["effect"]) for p in found["problems"]]


def task_group(aws, vpc_id: str, *egress: dict) -> str:
    """A task group with only the given egress rules (a new group allows everything out: revoked)."""
    gid = aws.ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc_id)["GroupId"]
    aws.ec2.revoke_security_group_egress(
        GroupId=gid, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    if egress:
        aws.ec2.authorize_security_group_egress(GroupId=gid, IpPermissions=list(egress))
    return gid


def https_to(*, cidr: str | None = None, prefix_list: str | None = None) -> dict:
    rule: dict = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
    if cidr:
        rule["IpRanges"] = [{"CidrIp": cidr}]
    if prefix_list:
        rule["PrefixListIds"] = [{"PrefixListId": prefix_list}]
    return rule


def s3_prefix_list(aws) -> str:
    found = aws.ec2.describe_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [f"com.amazonaws.{REGION}.s3"]}]
    )["PrefixLists"]
    return str(found[0]["PrefixListId"])


# --- the reconcile's answers ---------------------------------------------------------------------------


def test_a_fully_private_vpc_with_a_fargate_service_gets_the_layers_gateway_and_pulls_through_endpoints(
    aws, capsys
) -> None:
    vpc = tiered_vpc(aws.ec2, {"app": "isolated"})
    key = service(aws, list(vpc.subnets["app"].values()))
    code, before = check(vpc.vpc_id, capsys)
    assert code == 1 and workload(before, key)["verdict"] == "blocked"
    assert ("route", "s3", "blocked") in problems(workload(before, key))
    assert ensure(vpc.vpc_id, capsys) == 0
    code, after = check(vpc.vpc_id, capsys)
    assert code == 0 and after["compliant"] is True, after["findings"]
    assert workload(after, key)["verdict"] == "through_endpoints" and workload(after, key)["problems"] == []
    assert after["workloads_summary"] == {"workloads": 1, "through_endpoints": 1, "via_nat": 0, "blocked": 0}
    statuses = {e["service"]: e["status"] for e in after["endpoints"]}
    assert statuses["s3-layers"] == "compliant" and after["deferred_route_tables"] == []


def test_public_nat_private_database_and_intra_tiers_together_leave_the_database_untouched(aws, capsys) -> None:
    vpc = terraform_module_vpc(aws.ec2)
    key = service(aws, list(vpc.subnets["private"].values()))
    assert ensure(vpc.vpc_id, capsys) == 0
    code, result = check(vpc.vpc_id, capsys)
    assert code == 0 and workload(result, key)["verdict"] == "through_endpoints"
    gateways = [e for e in result["endpoints"] if e["type"] == "Gateway"]
    assert [e["service"] for e in gateways] == ["s3"]  # no layers gateway: no workload in an isolated tier
    assert not set(gateways[0]["route_table_ids"]) & (vpc.route_tables["database"] | vpc.route_tables["intra"])


def test_a_service_whose_tasks_run_behind_a_nat_route_defers_the_gateway_and_pays_nat_for_its_layers(
    aws, capsys
) -> None:
    world = build_vpc(aws.ec2)
    key = service(aws, [world.private_subnets["us-east-1a"]])
    run_fargate_tasks(aws.ecs, aws.ec2, world.private_subnets["us-east-1a"])
    ensure(world.vpc_id, capsys)
    code, result = check(world.vpc_id, capsys)
    found = workload(result, key)
    assert code == 1 and found["verdict"] == "via_nat" and ("route", "s3", "via_nat") in problems(found)
    route = next(p for p in found["problems"] if p["hop"] == "route")
    assert (
        world.private_route_tables["us-east-1a"] in route["resource_ids"] and "/GB of NAT processing" in route["detail"]
    )


# --- security groups, ACLs, DNS ------------------------------------------------------------------------


def test_a_task_group_without_the_s3_prefix_list_is_blocked_and_one_that_allows_it_is_clean(aws, capsys) -> None:
    """The public report: 443 out to the VPC's range only. Manifests come through the interface
    endpoints; layers come from S3 through the gateway, which that rule does not reach."""
    world = build_vpc(aws.ec2, nat=False)
    narrow = task_group(aws, world.vpc_id, https_to(cidr="10.40.0.0/16"))
    key = service(aws, list(world.private_subnets.values()), groups=[narrow])
    ensure(world.vpc_id, capsys)
    code, result = check(world.vpc_id, capsys)
    found = workload(result, key)
    assert code == 1 and found["verdict"] == "blocked"
    assert problems(found)[0] == ("security_group", "s3", "blocked")
    assert s3_prefix_list(aws) in found["problems"][0]["fix"]
    aws.ec2.authorize_security_group_egress(GroupId=narrow, IpPermissions=[https_to(prefix_list=s3_prefix_list(aws))])
    code, fixed = check(world.vpc_id, capsys)
    assert code == 0 and workload(fixed, key)["verdict"] == "through_endpoints"


def test_a_network_acl_that_passes_443_only_inside_the_vpc_blocks_s3(aws, capsys) -> None:
    world = build_vpc(aws.ec2, nat=False)
    key = service(aws, list(world.private_subnets.values()))
    ensure(world.vpc_id, capsys)
    acl = aws.ec2.create_network_acl(VpcId=world.vpc_id)["NetworkAcl"]["NetworkAclId"]
    for number, egress, ports in (
        (100, True, (443, 443)),
        (110, False, (1024, 65535)),
        (120, False, (443, 443)),
        (130, True, (1024, 65535)),
    ):
        aws.ec2.create_network_acl_entry(
            NetworkAclId=acl,
            RuleNumber=number,
            Protocol="6",
            RuleAction="allow",
            Egress=egress,
            CidrBlock="10.40.0.0/16",
            PortRange={"From": ports[0], "To": ports[1]},
        )
    for subnet in world.private_subnets.values():
        [current] = aws.ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])[
            "NetworkAcls"
        ]
        association = next(a for a in current["Associations"] if a["SubnetId"] == subnet)
        aws.ec2.replace_network_acl_association(AssociationId=association["NetworkAclAssociationId"], NetworkAclId=acl)
    code, result = check(world.vpc_id, capsys)
    found = workload(result, key)
    assert code == 1 and found["verdict"] == "blocked"
    assert {(hop, svc) for hop, svc, _ in problems(found)} == {("network_acl", "s3")}
    assert acl in found["problems"][0]["resource_ids"]


def test_an_adopted_endpoint_on_the_default_group_admits_nothing_from_the_tasks(aws, capsys) -> None:
    world = build_vpc(aws.ec2, nat=False)
    tasks = task_group(aws, world.vpc_id, {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    default = aws.ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    adopted = aws.ec2.create_vpc_endpoint(
        VpcId=world.vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.ecr.dkr",
        VpcEndpointType="Interface",
        SubnetIds=list(world.private_subnets.values()),
        SecurityGroupIds=[default],
        PrivateDnsEnabled=True,
    )["VpcEndpoint"]["VpcEndpointId"]
    key = service(aws, list(world.private_subnets.values()), groups=[tasks])
    ensure(world.vpc_id, capsys)
    code, result = check(world.vpc_id, capsys)
    found = workload(result, key)
    assert code == 1 and found["verdict"] == "blocked"
    groups = [p for p in found["problems"] if p["hop"] == "security_group"]  # one per subnet of the tasks
    assert groups and all(p["service"] == "ecr.dkr" and adopted in p["resource_ids"] for p in groups)
    assert default in groups[0]["fix"]
    # endpoint-guard's own endpoints are never the broken hop: its group admits the VPC
    assert all(p["service"] == "ecr.dkr" for p in found["problems"])


def test_an_adopted_s3_gateway_without_the_layer_bucket_blocks_the_layers(aws, capsys) -> None:
    world = build_vpc(aws.ec2, nat=False)
    aws.ec2.create_vpc_endpoint(
        VpcId=world.vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=list(world.private_route_tables.values()),
        PolicyDocument=json.dumps(
            {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::our-*"}]}
        ),
    )
    key = service(aws, list(world.private_subnets.values()))
    ensure(world.vpc_id, capsys)
    code, result = check(world.vpc_id, capsys)
    found = workload(result, key)
    assert code == 1 and problems(found) == [("endpoint_policy", "s3", "blocked")]
    assert "prod-us-east-1-starport-layer-bucket" in found["problems"][0]["fix"]


def test_custom_dhcp_dns_servers_are_a_warning_naming_them(aws, capsys) -> None:
    world = build_vpc(aws.ec2, nat=False)
    options = aws.ec2.create_dhcp_options(
        DhcpConfigurations=[{"Key": "domain-name-servers", "Values": ["10.9.0.53", "10.9.1.53"]}]
    )["DhcpOptions"]["DhcpOptionsId"]
    aws.ec2.associate_dhcp_options(DhcpOptionsId=options, VpcId=world.vpc_id)
    key = service(aws, list(world.private_subnets.values()))
    ensure(world.vpc_id, capsys)
    code, result = check(world.vpc_id, capsys)
    found = workload(result, key)
    assert code == 0 and found["verdict"] == "through_endpoints"  # a warning: it may still resolve
    warnings = [p for p in found["problems"] if p["effect"] == "warning"]
    assert warnings and all(p["hop"] == "dns" and "10.9.0.53, 10.9.1.53" in p["detail"] for p in warnings)


# --- what workloads need beyond the profile -------------------------------------------------------------


def test_secrets_in_an_isolated_vpc_get_their_endpoint(aws, capsys) -> None:
    vpc = tiered_vpc(aws.ec2, {"app": "isolated"})
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf"
    key = service(aws, list(vpc.subnets["app"].values()), secrets=[{"name": "DB", "valueFrom": secret}])
    assert ensure(vpc.vpc_id, capsys) == 0
    code, result = check(vpc.vpc_id, capsys)
    statuses = {e["service"]: e["status"] for e in result["endpoints"]}
    assert code == 0 and statuses["secretsmanager"] == "compliant"
    assert workload(result, key)["verdict"] == "through_endpoints"
    assert "secretsmanager" in workload(result, key)["needs"]


def test_secrets_behind_a_nat_are_reported_not_created(aws, capsys) -> None:
    world = build_vpc(aws.ec2)
    key = service(aws, list(world.private_subnets.values()), secrets=[{"name": "FLAG", "valueFrom": "/shop/flag"}])
    ensure(world.vpc_id, capsys)
    code, result = check(world.vpc_id, capsys)
    assert "ssm" not in {e["service"] for e in result["endpoints"]}
    found = workload(result, key)
    assert found["verdict"] == "via_nat" and ("endpoint", "ssm", "via_nat") in problems(found)
    assert code == 0  # a way out: it works, and the finding says what it costs
    ssm = next(p for p in found["problems"] if p["service"] == "ssm")
    # us-east-1: 3 AZs x 730 h x $0.01 = $21.90 a month; it pays above 21.90 / (0.045 - 0.01) = 626 GB
    assert "$0.045/GB of NAT processing here" in ssm["detail"]
    assert "would cost $21.90 a month and pays above about 626 GB a month" in ssm["detail"]


def test_ec2_container_instances_in_isolated_subnets_get_the_ecs_endpoints(aws, capsys) -> None:
    vpc = tiered_vpc(aws.ec2, {"app": "isolated"})
    subnet = vpc.subnets["app"]["us-east-1a"]
    aws.ecs.create_cluster(clusterName="hosts")
    instance = aws.ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0]
    document = json.dumps({"instanceId": instance["InstanceId"], "region": REGION})
    aws.ecs.register_container_instance(cluster="hosts", instanceIdentityDocument=document)
    assert ensure(vpc.vpc_id, capsys) == 0
    _, result = check(vpc.vpc_id, capsys)
    statuses = {e["service"]: e["status"] for e in result["endpoints"]}
    assert {statuses[s] for s in ("ecs", "ecs-agent", "ecs-telemetry")} == {"compliant"}
    found = workload(result, f"hosts/{instance['InstanceId']}")
    assert found["kind"] == "container_instance" and found["verdict"] == "through_endpoints"


def test_a_docker_hub_image_behind_a_nat_goes_through_nat_and_the_vpc_is_still_compliant(aws, capsys) -> None:
    world = build_vpc(aws.ec2)
    key = service(aws, list(world.private_subnets.values()), image="nginx:1.27", logs=False)
    ensure(world.vpc_id, capsys)
    code, result = check(world.vpc_id, capsys)
    found = workload(result, key)
    assert found["verdict"] == "via_nat" and problems(found) == [("image", "ecr", "via_nat")]
    assert "pull-through cache rule for docker.io" in found["problems"][0]["fix"]
    assert code == 0 and result["compliant"] is True


def test_a_vpc_without_ecs_workloads_says_so(aws, capsys) -> None:
    world = build_vpc(aws.ec2)
    nat_gateway(aws.ec2, world.public_subnets["us-east-1a"])
    ensure(world.vpc_id, capsys)
    code, result = check(world.vpc_id, capsys)
    assert code == 0 and result["workloads"] == [] and result["workloads_summary"]["workloads"] == 0


# --- the events that change a hop ----------------------------------------------------------------------


def test_a_task_groups_egress_cut_reaches_the_vpc_where_the_group_is_in_use_and_judges_its_pulls(
    aws, clients, capsys
) -> None:
    """RevokeSecurityGroupEgress on a group on an in-use network interface (here an EC2 instance's): the
    intake finds its VPC with one read, and the reconcile judges the workloads there. A group nothing
    uses leads nowhere (the events folder's sample)."""
    from endpoint_guard.lambdas.intake import make_intake

    from tests.conftest import sample
    from tools.esm import context

    world = build_vpc(aws.ec2, nat=False)
    narrow = task_group(aws, world.vpc_id, https_to(cidr="10.40.0.0/16"))
    key = service(aws, list(world.private_subnets.values()), groups=[narrow])
    ensure(world.vpc_id, capsys)
    aws.ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        SubnetId=world.private_subnets["us-east-1a"],
        SecurityGroupIds=[narrow],
    )
    output = make_intake(clients)(
        sample("path-revoke-security-group-egress.json", world.vpc_id, group=narrow), context("i")
    )
    [result] = output["results"]
    assert result["vpc_id"] == world.vpc_id and result["compliant"] is False
    assert workload(result, key)["verdict"] == "blocked"


def test_explain_walks_each_pull_hop_by_hop_and_names_the_fix(aws, capsys) -> None:
    vpc = tiered_vpc(aws.ec2, {"app": "isolated"})
    key = service(aws, list(vpc.subnets["app"].values()))
    capsys.readouterr()
    assert main(["explain", vpc.vpc_id, "--workload", key, "--region", REGION]) == 1
    text = capsys.readouterr().out
    assert text.startswith(f"service {key} (FARGATE) in {vpc.vpc_id}: blocked")
    assert "x  s3              route:" in text and "fix: add the S3 gateway endpoint" in text
    assert "ok ecr             image" in text
    # the hops behind a broken one are not reached, so never reported "ok"
    assert not any(line.strip().startswith("ok ecr.api") for line in text.splitlines())
    assert main(["explain", vpc.vpc_id, "--workload", "shop/none", "--region", REGION]) == 2
    assert "no ECS workload shop/none" in capsys.readouterr().err
    ensure(vpc.vpc_id, capsys)
    assert main(["explain", vpc.vpc_id, "--json", "--region", REGION]) == 0
    [document] = json.loads(capsys.readouterr().out)
    assert document["verdict"] == "through_endpoints" and document["name"] == "api"


def test_the_ecs_reads_follow_the_clusters_counts(aws) -> None:
    """C clusters and S services: ListClusters and DescribeClusters once, then ListServices and one
    DescribeServices per 10 services only for a cluster with services; tasks and instances are listed
    only where the counts say there are standalone tasks or instances. moto's cluster counts are AWS's
    here (tools.emulator)."""
    from endpoint_guard.aws import Clients
    from endpoint_guard.aws.workloads import PullPathReads

    from tests.conftest import CallRecorder

    world = build_vpc(aws.ec2)
    subnets = list(world.private_subnets.values())
    for n in range(12):
        service(aws, subnets, name=f"svc{n}")
    aws.ecs.create_cluster(clusterName="empty")

    def reads() -> tuple[list[str], list]:
        clients = Clients(region=REGION)
        recorder = CallRecorder(clients.client("ecs"))
        found = PullPathReads(clients).workloads_in(set(subnets))
        return recorder.operations, found

    reads()  # the task definitions, read once and cached
    operations, found = reads()
    assert len(found) == 12
    assert sorted(operations) == sorted(["ListClusters", "DescribeClusters", "ListServices"] + ["DescribeServices"] * 2)

    run_fargate_tasks(aws.ecs, aws.ec2, subnets[0], cluster="batch", count=1)
    hosts = aws.ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=subnets[1])["Instances"]
    document = json.dumps({"instanceId": hosts[0]["InstanceId"], "region": REGION})
    aws.ecs.register_container_instance(cluster="empty", instanceIdentityDocument=document)
    operations, found = reads()
    assert {w.kind for w in found} == {"service", "task", "container_instance"}
    assert operations.count("ListTasks") == 1 and operations.count("ListContainerInstances") == 1
    assert operations.count("ListServices") == 1  # the batch and empty clusters run no service

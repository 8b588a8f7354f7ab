"""Where the cost estimate's traffic comes from, on moto: NAT gateway metrics, ECR image sizes x tasks
started, a default, or the command line, in that order."""

from __future__ import annotations

import boto3
import pytest
from endpoint_guard.cost.traffic import measure

from tests.conftest import REGION
from tools.world import awsvpc_service, build_vpc, daily_metric, ecr_image, run_fargate_tasks


@pytest.fixture
def cloudwatch(moto: None):
    return boto3.client("cloudwatch", region_name=REGION)


@pytest.fixture
def ecr(moto: None):
    return boto3.client("ecr", region_name=REGION)


def nat_traffic(cloudwatch, nat_id: str, gb_per_day: float, days: int) -> None:
    for metric in ("BytesInFromDestination", "BytesOutToDestination"):
        daily_metric(cloudwatch, "AWS/NATGateway", metric, ("NatGatewayId", nat_id), gb_per_day * 1e9 / 2, days)


def services_of(ecs, cluster_arn: str) -> list[dict]:
    described = ecs.describe_services(
        cluster=cluster_arn, services=ecs.list_services(cluster=cluster_arn)["serviceArns"]
    )
    return [
        {"cluster_arn": cluster_arn, "service": s["serviceName"], "task_definition": s["taskDefinition"]}
        for s in described["services"]
    ]


@pytest.fixture
def run(services):
    def measured(nat_ids: list[str], ecs_services: list[dict], override: float | None = None):
        return measure(
            nat_gateway_ids=nat_ids,
            services=ecs_services,
            region=REGION,
            account="123456789012",
            aws=services,
            override_gb=override,
            default_gb=25.0,
        )

    return measured


def list_tasks_as_aws_does(clients, ecs) -> None:
    """moto's ListTasks ignores ``serviceName``; AWS lists only the service's tasks (ECS marks them with
    the group ``service:<name>``). Injected on endpoint-guard's own client."""

    def remember(params: dict, context: dict, **_: object) -> None:
        context["list_tasks"] = (params.get("cluster"), params.get("serviceName"))

    def only_the_service(parsed: dict, context: dict, **_: object) -> None:
        cluster, service = context.get("list_tasks", (None, None))
        if service and parsed.get("taskArns"):
            tasks = ecs.describe_tasks(cluster=cluster, tasks=parsed["taskArns"])["tasks"]
            parsed["taskArns"] = [t["taskArn"] for t in tasks if t.get("group") == f"service:{service}"]

    events = clients.client("ecs").meta.events
    events.register("provide-client-params.ecs.ListTasks", remember)
    events.register("after-call.ecs.ListTasks", only_the_service)


def test_nat_gateway_metrics_come_first(ec2, ecs, ecr, cloudwatch, run) -> None:
    nat_traffic(cloudwatch, "nat-0123456789abcdef0", gb_per_day=20, days=14)
    world = build_vpc(ec2)
    arn = awsvpc_service(
        ecs, [world.private_subnets["us-east-1a"]], image=ecr_image(ecr, "shop/web", "v1", 300_000_000)
    )
    traffic, logs = run(["nat-0123456789abcdef0"], services_of(ecs, arn))
    assert traffic.source == "nat-gateway-metrics" and logs is None
    assert traffic.gb_per_month == pytest.approx(20 * 30, rel=0.08)  # 14 days of 20 GB, as a 30-day month
    assert "NAT gateway" in traffic.detail


def test_without_nat_metrics_ecr_image_sizes_times_tasks_started(ec2, ecs, ecr, clients, run) -> None:
    list_tasks_as_aws_does(clients, ecs)
    world = build_vpc(ec2)
    image = ecr_image(ecr, "shop/web", "v1", 300_000_000)
    arn = awsvpc_service(ecs, [world.private_subnets["us-east-1a"]], cluster="shop", image=image)
    subnet = world.private_subnets["us-east-1a"]
    run_fargate_tasks(ecs, ec2, subnet, cluster="shop", count=3, group="service:checkout")  # the service's tasks
    run_fargate_tasks(ecs, ec2, subnet, cluster="shop", count=2)  # standalone tasks: not the service's pulls
    traffic, _ = run(["nat-without-metrics"], services_of(ecs, arn))
    assert traffic.source == "ecr-image-sizes"
    assert traffic.gb_per_month == pytest.approx(0.3 * 3)
    assert "1 ECR image(s), 300 MB" in traffic.detail and "the tasks ECS lists now, a floor" in traffic.detail


def test_images_from_other_registries_do_not_count_and_the_default_is_used(ec2, ecs, run) -> None:
    world = build_vpc(ec2)
    arn = awsvpc_service(ecs, [world.private_subnets["us-east-1a"]])  # a public.ecr.aws image
    traffic, _ = run([], services_of(ecs, arn))
    assert (traffic.source, traffic.gb_per_month) == ("default", 25.0)


def test_the_command_line_overrides_everything(cloudwatch, run) -> None:
    nat_traffic(cloudwatch, "nat-0123456789abcdef0", gb_per_day=20, days=2)
    assert run(["nat-0123456789abcdef0"], [], override=3.5)[0].source == "command-line"


def log_traffic(cloudwatch, group: str, gb_per_day: float, days: int) -> None:
    daily_metric(cloudwatch, "AWS/Logs", "IncomingBytes", ("LogGroupName", group), gb_per_day * 1e9, days)


def logged_task_definition(ecs, image: str, group: str, region: str = REGION) -> str:
    return ecs.register_task_definition(
        family="web",
        containerDefinitions=[
            {
                "name": "web",
                "image": image,
                "memory": 512,
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": "web"},
                },
            },
            {"name": "sidecar", "image": image, "memory": 128},  # no awslogs: not counted
        ],
    )["taskDefinition"]["taskDefinitionArn"]


def test_logs_come_from_the_log_groups_incoming_bytes_and_leave_the_nat_figure(ecs, ecr, cloudwatch, run) -> None:
    nat_traffic(cloudwatch, "nat-0123456789abcdef0", gb_per_day=20, days=14)
    log_traffic(cloudwatch, "/ecs/web", gb_per_day=2, days=14)
    log_traffic(cloudwatch, "/ecs/elsewhere", gb_per_day=50, days=14)  # no task definition of the VPC's
    definition = logged_task_definition(ecs, ecr_image(ecr, "shop/web", "v1", 300_000_000), "/ecs/web")
    traffic, logs = run(
        ["nat-0123456789abcdef0"], [{"cluster_arn": "c", "service": "web", "task_definition": definition}]
    )
    assert logs is not None and logs.source == "awslogs-incoming-bytes" and "/ecs/web" in logs.detail
    assert logs.gb_per_month == pytest.approx(2 * 30, rel=0.08)
    # The NAT gateways carried the logs too: the image-pull figure is what is left.
    assert traffic.gb_per_month == pytest.approx(18 * 30, rel=0.08) and "less the" in traffic.detail


def test_image_pulls_count_the_tasks_the_service_events_say_were_started(ecs, ecr, run) -> None:
    definition = logged_task_definition(ecs, ecr_image(ecr, "shop/web", "v1", 300_000_000), "/ecs/quiet")
    service = {"cluster_arn": "c", "service": "web", "task_definition": definition, "tasks_started_per_month": 120.0}
    traffic, logs = run([], [service])
    assert traffic.source == "ecr-image-sizes" and traffic.gb_per_month == pytest.approx(0.3 * 120)
    assert "120 task start(s) a month from the service events" in traffic.detail and "floor" not in traffic.detail
    assert logs is None  # the group has no data points

"""make demo: endpoint-guard end to end on an embedded AWS emulator, no account and no Docker.

1. A moto server on 127.0.0.1 and a VPC in three AZs: events/create-vpc.json, pointed at it, goes through
   the real CLI and handler (dry run, for real, and again to show a compliant VPC needs nothing).
2. A second VPC whose private subnet runs Fargate tasks, through the deployed path: intake -> SQS FIFO ->
   the reconcile worker. Its interface endpoints are created, the S3 gateway is deferred, and the worker
   starts the migration-plan state machine (the deployed ASL, run by moto; its Lambda tasks are the real
   handlers, in this process). The plan lands in the plan bucket.
3. A fully private VPC (no NAT) running a Fargate service: `check` finds its tasks blocked (no S3
   route for the image layers), `explain` walks the pull hop by hop and names the fix, `ensure` adds the
   layers-only S3 gateway, and `check` finds the tasks pulling through the endpoints.
4. endpoint-guard report: every VPC with its compliance and what its endpoints cost against the NAT.
5. The fleet: a second account (reached through its member role, STS on the emulator) and a second
   Region get VPCs of their own; endpoint-guard sweep reports on both accounts and both Regions, then
   enforces, and the fleet is compliant.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tools import emulator  # noqa: E402
from tools.world import awsvpc_service, build_vpc, run_fargate_tasks, tiered_vpc  # noqa: E402

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def banner(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def main() -> int:
    emulator.install()  # AWS's answers where moto has none (cluster counts, gateway routes)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's request log is noise here
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ENDPOINT_GUARD_"))}
    env.update(AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo")
    try:
        ec2 = boto3.client(
            "ec2", region_name=REGION, endpoint_url=endpoint, aws_access_key_id="demo", aws_secret_access_key="demo"
        )
        world = build_vpc(ec2)
        banner(
            f"embedded AWS (moto) at {endpoint}: new VPC {world.vpc_id} with subnets in {', '.join(world.private_subnets)}"
        )
        event = json.loads((REPO / "events" / "create-vpc.json").read_text())
        event["detail"]["responseElements"]["vpc"]["vpcId"] = world.vpc_id
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(event, handle)
        cli = [
            str(Path(sys.executable).parent / "endpoint-guard"),
            "invoke",
            handle.name,
            "--endpoint-url",
            endpoint,
            "--region",
            REGION,
        ]

        banner("endpoint-guard invoke events/create-vpc.json --dry-run   (what it would do)")
        subprocess.run([*cli, "--dry-run"], env=env, check=True)
        banner("endpoint-guard invoke events/create-vpc.json   (the CreateVpc event through the Lambda handler)")
        subprocess.run(cli, env=env, check=True)
        banner("endpoints now in the VPC")
        for ep in ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [world.vpc_id]}])["VpcEndpoints"]:
            if ep["VpcEndpointType"] == "Interface":
                where = f"{len(ep['SubnetIds'])} subnets, private DNS {'on' if ep['PrivateDnsEnabled'] else 'off'}"
            else:
                where = f"{len(ep['RouteTableIds'])} route tables"
            print(f"  {ep['VpcEndpointId']}  {ep['ServiceName']:<34} {ep['VpcEndpointType']:<9} {where}")
        banner("the same event again: a compliant VPC needs nothing")
        subprocess.run(cli, env=env, check=True)
        os.unlink(handle.name)

        deployed_path(endpoint, port)
        pull_path(endpoint, env)

        picture = Path(tempfile.gettempdir()) / "endpoint-guard-cost.html"
        banner(f"endpoint-guard report --html {picture}   (every VPC of the region, with the cost column)")
        report = [str(Path(sys.executable).parent / "endpoint-guard"), "report", "--endpoint-url", endpoint]
        subprocess.run([*report, "--region", REGION, "--html", str(picture)], env=env, check=True)
        banner("endpoint-guard check --json: the cost object's per-service verdicts for the VPC")
        checked = subprocess.run(
            [*report[:1], "check", world.vpc_id, "--json", "--endpoint-url", endpoint, "--region", REGION],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        cost = json.loads(checked.stdout)["cost"]
        for entry in cost["services"]:
            print(f"  {entry['service']:<8} {entry['verdict']:<13} ${entry['monthly_usd']:>7,.2f}/month")
        print(f"  {cost['verdict']}")
        print(f"  the cost picture: {picture.as_uri()}")

        fleet(endpoint, env)
    finally:
        server.stop()
    return 0


def pull_path(endpoint: str, env: dict[str, str]) -> None:
    """The fully private VPC (no NAT anywhere) with a Fargate service: its tasks cannot pull until the
    layers-only S3 gateway is there. check says so, explain says which hop and the fix, ensure fixes it."""
    kw = {"region_name": REGION, "endpoint_url": endpoint, "aws_access_key_id": "demo", "aws_secret_access_key": "demo"}
    ec2, ecs = boto3.client("ec2", **kw), boto3.client("ecs", **kw)
    vpc = tiered_vpc(ec2, {"app": "isolated"}, cidr="10.70.0.0/16")
    image = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/shop/api:v3"
    awsvpc_service(ecs, list(vpc.subnets["app"].values()), cluster="shop", name="api", image=image)
    cli = [str(Path(sys.executable).parent / "endpoint-guard")]
    where = ["--endpoint-url", endpoint, "--region", REGION]
    banner(f"a fully private VPC {vpc.vpc_id} (no NAT) running service shop/api: endpoint-guard check")
    subprocess.run([*cli, "check", vpc.vpc_id, *where], env=env, check=False)
    banner("endpoint-guard explain --workload shop/api   (the pull, hop by hop)")
    subprocess.run([*cli, "explain", vpc.vpc_id, "--workload", "shop/api", *where], env=env, check=False)
    banner("endpoint-guard ensure: the interface endpoints, and the layers-only S3 gateway on the isolated table")
    subprocess.run([*cli, "ensure", vpc.vpc_id, *where], env=env, check=True)
    banner("endpoint-guard check again: the tasks pull through the endpoints")
    subprocess.run([*cli, "check", vpc.vpc_id, *where], env=env, check=True)


SECOND_ACCOUNT, SECOND_REGION = "111111111111", "eu-west-1"


def fleet(endpoint: str, env: dict[str, str]) -> None:
    """Part 4: two accounts, two Regions, one sweep."""
    sts = boto3.client(
        "sts", region_name=REGION, endpoint_url=endpoint, aws_access_key_id="demo", aws_secret_access_key="demo"
    )
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{SECOND_ACCOUNT}:role/endpoint-guard-member", RoleSessionName="demo"
    )["Credentials"]
    keys = {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }
    made = []
    for region, azs in ((REGION, ("us-east-1a", "us-east-1b")), (SECOND_REGION, ("eu-west-1a", "eu-west-1b"))):
        ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint, **keys)
        made.append(f"{build_vpc(ec2, cidr='10.70.0.0/16', azs=azs).vpc_id} ({region})")
    own = boto3.client(
        "ec2", region_name=SECOND_REGION, endpoint_url=endpoint, aws_access_key_id="demo", aws_secret_access_key="demo"
    )
    made.append(f"{build_vpc(own, cidr='10.71.0.0/16', azs=('eu-west-1a',)).vpc_id} ({SECOND_REGION}, own account)")
    banner(f"the fleet: account {SECOND_ACCOUNT} gets {', '.join(made[:2])}; and {made[2]}")
    sweep = [
        str(Path(sys.executable).parent / "endpoint-guard"),
        "sweep",
        "--endpoint-url",
        endpoint,
        "--region",
        REGION,
        "--regions",
        f"{REGION},{SECOND_REGION}",
        "--accounts",
        f"123456789012,{SECOND_ACCOUNT}",
    ]
    banner(
        f"endpoint-guard sweep --accounts 123456789012,{SECOND_ACCOUNT} --regions {REGION},{SECOND_REGION} --dry-run"
    )
    subprocess.run([*sweep, "--dry-run"], env=env, check=False)  # exit 1: not compliant yet
    banner("endpoint-guard sweep (enforce), then the fleet report as Markdown")
    subprocess.run(sweep, env=env, stdout=subprocess.DEVNULL, check=False)
    subprocess.run([*sweep, "--dry-run", "--markdown"], env=env, check=False)


def deployed_path(endpoint: str, port: int) -> None:
    """Part 2: the stack's own path, with its two functions called as Lambda would call them."""
    import urllib.request

    import moto.awslambda.models as moto_lambda

    from tools import esm, workflow

    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="demo",
        AWS_SECRET_ACCESS_KEY="demo",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        MOTO_PORT=str(port),  # moto's Step Functions calls its own services through the server
        POWERTOOLS_METRICS_DISABLED="true",
    )
    config = json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/config", data=config, method="POST"))
    moto_lambda.LambdaBackend.invoke = workflow.invoke_in_process
    names = ("iam", "lambda", "s3", "sns", "sqs", "stepfunctions", "ec2", "ecs", "dynamodb")
    clients = {n: boto3.client(n, region_name=REGION) for n in names}
    plans = workflow.deploy(clients)
    stack = esm.create_stack(clients["sqs"], clients["dynamodb"])
    os.environ.update(stack.env, ENDPOINT_GUARD_MIGRATION_STATE_MACHINE_ARN=plans.machine)

    from endpoint_guard.lambdas.intake import make_intake
    from endpoint_guard.lambdas.observability import logger
    from endpoint_guard.lambdas.worker import make_worker

    logger.setLevel("CRITICAL")
    intake, ensure_endpoints = make_intake(), make_worker()
    busy = build_vpc(clients["ec2"], cidr="10.41.0.0/16", nat=False)  # its NAT gateway is made below
    # moto starts no task for a service; MOTO_ECS_SERVICE_RUNNING is its knob for the running count AWS
    # would report (the maintenance window below checks that the service stays steady).
    os.environ["MOTO_ECS_SERVICE_RUNNING"] = "2"
    tasks = run_fargate_tasks(clients["ecs"], clients["ec2"], busy.private_subnets["us-east-1a"], cluster="checkout")
    awsvpc_service(clients["ecs"], list(busy.private_subnets.values()), cluster="checkout", name="cart", desired=2)
    nat = busy_nat_gateway(clients, busy, gb_per_day=100)
    banner(
        f"second VPC {busy.vpc_id}: {len(tasks)} Fargate tasks running in its private subnet in us-east-1a, "
        f"service checkout/cart in all three AZs, NAT gateway {nat} moving 100 GB a day"
    )
    event = json.loads((REPO / "events" / "create-subnet.json").read_text())
    event["detail"]["responseElements"]["subnet"]["vpcId"] = event["detail"]["requestParameters"]["vpcId"] = busy.vpc_id
    queued = intake(event, esm.context("endpoint-guard-intake"))["queued"]
    print(f"  intake: CreateSubnet event -> {len(queued)} message on the FIFO work queue (group {busy.vpc_id})")
    messages = clients["sqs"].receive_message(
        QueueUrl=stack.work, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    arn = clients["sqs"].get_queue_attributes(QueueUrl=stack.work, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    ensure_endpoints(esm.sqs_event(messages, arn, REGION), esm.context("endpoint-guard-ensure-endpoints"))
    esm.settle(clients["sqs"], stack.work, messages, set())
    found = clients["ec2"].describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [busy.vpc_id]}])["VpcEndpoints"]
    for ep in found:
        where = (
            f"{len(ep['RouteTableIds'])} route tables"
            if ep["VpcEndpointType"] == "Gateway"
            else f"{len(ep['SubnetIds'])} subnets"
        )
        print(f"  worker: {ep['ServiceName']:<34} {ep['VpcEndpointType']:<9} on {where}")
    print(f"  worker: the S3 gateway is deferred on {busy.private_route_tables['us-east-1a']} (tasks would lose S3)")
    [execution] = clients["stepfunctions"].list_executions(stateMachineArn=plans.machine)["executions"]
    banner(f"migration-plan state machine: execution {execution['name']}")
    ended = workflow.wait(clients["stepfunctions"], execution["executionArn"])
    print(f"  status {ended['status']}")
    keys = sorted(o["Key"] for o in clients["s3"].list_objects_v2(Bucket=plans.bucket).get("Contents", []))
    for key in keys:
        print(f"  s3://{plans.bucket}/{key}")
    markdown = next((k for k in keys if k.endswith(".md")), None)
    if markdown:
        text = clients["s3"].get_object(Bucket=plans.bucket, Key=markdown)["Body"].read().decode()
        print("\n".join("  | " + line for line in text.splitlines()))
    maintenance_window(clients, busy)


def maintenance_window(clients: dict, busy) -> None:
    """Part 2, continued: the deferred gateway approved, then added by the maintenance-window workflow
    (the deployed ASL, run by moto), one route table at a time; the VPC ends compliant."""
    from endpoint_guard.cli import main as cli

    from tools import workflow

    table = os.environ["ENDPOINT_GUARD_STATE_TABLE"]
    banner(f"endpoint-guard approve {busy.vpc_id} --expires 7d   (accept one drop of open S3 connections)")
    cli(["approve", busy.vpc_id, "--expires", "7d", "--state-table", table, "--region", REGION])
    os.environ["ENDPOINT_GUARD_DEFERRED_GATEWAY_SETTLE_SECONDS"] = "0"  # the Wait state's 120 s, cut for the demo
    window = workflow.deploy(
        clients, asl=workflow.WINDOW_ASL, functions=workflow.WINDOW_FUNCTIONS, name="deferred-window"
    )
    banner("the maintenance window (DeferredGatewayWindow): the deferred-window state machine")
    sfn = clients["stepfunctions"]
    started = sfn.start_execution(stateMachineArn=window.machine, name="window-demo", input="{}")
    ended = workflow.wait(sfn, started["executionArn"], timeout=120)
    print(f"  status {ended['status']}")
    notices = clients["sqs"].receive_message(QueueUrl=window.inbox, MaxNumberOfMessages=10).get("Messages", [])
    for notice in notices:
        print("\n".join("  | " + line for line in notice["Body"].splitlines()))
    banner(f"endpoint-guard check {busy.vpc_id}   (after the window)")
    code = cli(["check", busy.vpc_id, "--region", REGION, "--state-table", table])
    print(f"  exit {code}")


def busy_nat_gateway(clients: dict, world, gb_per_day: float) -> str:
    """A NAT gateway in the first public subnet, the private route tables' default route, and 14 days
    of CloudWatch bytes: what the cost estimate reads first."""
    import datetime

    ec2 = clients["ec2"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=world.public_subnets["us-east-1a"], AllocationId=allocation)["NatGateway"]
    for table in world.private_route_tables.values():
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat["NatGatewayId"])
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    now = datetime.datetime.now(datetime.UTC)
    cloudwatch.put_metric_data(
        Namespace="AWS/NATGateway",
        MetricData=[
            {
                "MetricName": "BytesInFromDestination",
                "Dimensions": [{"Name": "NatGatewayId", "Value": nat["NatGatewayId"]}],
                "Timestamp": now - datetime.timedelta(days=day, hours=2),
                "Value": gb_per_day * 1e9,
                "Unit": "Bytes",
            }
            for day in range(14)
        ],
    )
    return nat["NatGatewayId"]


if __name__ == "__main__":
    sys.exit(main())

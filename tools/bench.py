"""make bench: AWS calls, cold start, package sizes, scale and warm latency. Prints a table and writes
BENCHMARKS.md. A measurement, not a test: nothing here fails on a number.

Calls are counted exactly with botocore's before-call event on endpoint-guard's own clients, on moto.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REGION = "us-east-1"
os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_REGION=REGION,
    AWS_DEFAULT_REGION=REGION,
    MOTO_EC2_LOAD_DEFAULT_AMIS="false",
    POWERTOOLS_METRICS_DISABLED="true",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_LOG_LEVEL="ERROR",
)
for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(key, None)

import boto3  # noqa: E402
from endpoint_guard.aws import Clients, Ec2Adapter  # noqa: E402
from endpoint_guard.lambdas.worker import make_worker  # noqa: E402
from endpoint_guard.reconcile import reconcile  # noqa: E402
from endpoint_guard.settings import Settings  # noqa: E402
from endpoint_guard.worker import WorkItem  # noqa: E402
from moto import mock_aws  # noqa: E402

from tools import emulator, peer  # noqa: E402
from tools.esm import context, create_stack, settle, sqs_event  # noqa: E402
from tools.world import build_vpc, fargate_task_definition  # noqa: E402


class Container:
    """The clients of one simulated Lambda container (a fresh one per scenario): what it keeps between
    invocations, the service offers among them."""

    clients = Clients(region=REGION)

    @classmethod
    def fresh(cls) -> Clients:
        cls.clients = Clients(region=REGION)
        return cls.clients


MUTATING = ("Create", "Modify", "Authorize", "Revoke", "Delete", "Associate", "Replace")


class Calls:
    """Every call endpoint-guard's clients of these services make, by operation."""

    def __init__(self, *services: str) -> None:
        self.ops: collections.Counter[str] = collections.Counter()
        self.in_calls = 0.0  # seconds spent inside the calls (on moto: moto's own work)
        self._started = 0.0
        for service in services or ("ec2",):
            events = Container.clients.client(service).meta.events
            events.register("before-call.*.*", self._record)
            events.register("after-call.*.*", self._done)

    def _record(self, model, **_: object) -> None:
        self.ops[model.name] += 1
        self._started = time.perf_counter()

    def _done(self, **_: object) -> None:
        self.in_calls += time.perf_counter() - self._started

    def take(self) -> collections.Counter[str]:
        taken, self.ops, self.in_calls = self.ops, collections.Counter(), 0.0
        return taken


def by_operation(ops: collections.Counter[str]) -> str:
    return ", ".join(f"{name} {n}" if n > 1 else name for name, n in sorted(ops.items()))


def mutating(ops: collections.Counter[str]) -> int:
    return sum(n for name, n in ops.items() if name.startswith(MUTATING))


def run(vpc_id: str) -> dict:
    return reconcile(vpc_id, ec2=Ec2Adapter(Container.clients), settings=Settings())


class Worker:
    """The deployed path: a message on the FIFO work queue, one event source mapping poll, the real
    ensure_endpoints handler with its state table."""

    def __init__(self) -> None:
        self.sqs = boto3.client("sqs", region_name=REGION)
        stack = create_stack(self.sqs, boto3.client("dynamodb", region_name=REGION))
        os.environ.update(stack.env)
        self.queue, self.sent = stack.work, 0
        self.handler = make_worker(Container.clients)

    def run(self, vpc_id: str) -> None:
        self.sent += 1
        item = WorkItem(vpc_id, f"bench-{self.sent}", "CreateSubnet")
        self.sqs.send_message(
            QueueUrl=self.queue,
            MessageBody=item.to_message(),
            MessageGroupId=item.group_id,
            MessageDeduplicationId=item.deduplication_id("bench"),
        )
        messages = self.sqs.receive_message(
            QueueUrl=self.queue, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        )["Messages"]
        event = sqs_event(messages, f"arn:aws:sqs:{REGION}:123456789012:endpoint-guard-work.fifo", REGION)
        response = self.handler(event, context("endpoint-guard-ensure-endpoints"))
        if response["batchItemFailures"]:
            raise RuntimeError(f"the worker failed: {response}")
        settle(self.sqs, self.queue, messages, set())


# --- AWS calls -----------------------------------------------------------------------------------------


def worker_state(ops: collections.Counter[str]) -> tuple[str, int, str, str]:
    return ("  and the worker's state table (its mark of the VPC)", sum(ops.values()), "", by_operation(ops))


def call_scenarios() -> list[tuple[str, int, str, str]]:
    rows = []
    with mock_aws():
        Container.fresh()
        ec2 = boto3.client("ec2", region_name=REGION)
        worker = Worker()
        calls, state = Calls("ec2"), Calls("dynamodb")
        worker.run(build_vpc(ec2, cidr="10.99.0.0/16").vpc_id)  # warms the container: service offers cached
        calls.take(), state.take()

        fresh = build_vpc(ec2)
        worker.run(fresh.vpc_id)
        ops = calls.take()
        made = len(ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [fresh.vpc_id]}])["VpcEndpoints"])
        rows.append(
            (
                "fresh VPC, 3 AZs, warm container",
                sum(ops.values()),
                "<= 14",
                f"{made} endpoints made; {by_operation(ops)}",
            )
        )
        rows.append(worker_state(state.take()))
        worker.run(fresh.vpc_id)
        ops = calls.take()
        rows.append(("the same VPC again (compliant)", sum(ops.values()), "<= 3", by_operation(ops)))
        rows.append(("  of which mutating", mutating(ops), "0", ""))
        rows.append(worker_state(state.take()))
        run(fresh.vpc_id)
        ops = calls.take()
        rows.append(
            ("the same VPC, `endpoint-guard check` (reads the group)", sum(ops.values()), "", by_operation(ops))
        )

        ecs = boto3.client("ecs", region_name=REGION)
        from moto.moto_api import state_manager

        state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**9})
        for clusters in (1, 10, 50):
            world = build_vpc(ec2, cidr=f"10.{100 + clusters}.0.0/16")
            ec2.modify_vpc_attribute(VpcId=world.vpc_id, EnableDnsHostnames={"Value": True})
            subnet = world.private_subnets["us-east-1a"]
            tasks = 0
            for n in range(clusters):
                name = f"c{clusters}-{n}"
                ecs.create_cluster(clusterName=name)
                fargate_task_definition(ecs, name)
                count = max(1, 300 // clusters) if clusters > 1 else 300
                for start in range(0, count, 10):
                    ecs.run_task(
                        cluster=name,
                        taskDefinition=name,
                        launchType="FARGATE",
                        count=min(10, count - start),
                        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": []}},
                    )
                tasks += count
            calls.take()
            run(world.vpc_id)
            ops = calls.take()
            rows.append(
                (
                    f"{clusters} ECS cluster(s), {tasks} tasks",
                    ops["DescribeNetworkInterfaces"],
                    "flat (pages only)",
                    f"DescribeNetworkInterfaces calls; total {sum(ops.values())}",
                )
            )
    return rows


# --- against the peer: the blog's manual steps, scripted -------------------------------------------------


def peer_comparison() -> list[tuple[str, int, int]]:
    """The same scenarios for endpoint-guard's worker and for tools/peer.py, each on its own fresh VPC."""
    rows = []
    with mock_aws():
        Container.fresh()
        ec2 = boto3.client("ec2", region_name=REGION)
        worker = Worker()
        ours, theirs = Calls("ec2"), collections.Counter()
        ec2.meta.events.register("before-call.*.*", lambda model, **_: theirs.update([model.name]))
        worker.run(build_vpc(ec2, cidr="10.99.0.0/16").vpc_id)  # a warm container, as above
        mine, peers = build_vpc(ec2, cidr="10.41.0.0/16").vpc_id, build_vpc(ec2, cidr="10.42.0.0/16").vpc_id
        for scenario in ("fresh VPC, 3 AZs", "the same VPC again (compliant)"):
            ours.take(), theirs.clear()
            worker.run(mine)
            counted = ours.take()
            peer.ensure(ec2, peers)
            rows.append((scenario, sum(counted.values()), sum(theirs.values())))
        vpcs = [build_vpc(ec2, cidr=f"10.{60 + n}.0.0/16").vpc_id for n in range(20)]
        ours.take(), theirs.clear()
        for vpc_id in vpcs[:10]:
            worker.run(vpc_id)
        counted = ours.take()
        for vpc_id in vpcs[10:]:
            peer.ensure(ec2, vpc_id)
        rows.append(("10 fresh VPCs, per VPC", sum(counted.values()) // 10, sum(theirs.values()) // 10))
    return rows


# --- scale and warm latency ------------------------------------------------------------------------------


def scale() -> list[tuple[str, str, str, str]]:
    rows = []
    with mock_aws():
        Container.fresh()
        ec2 = boto3.client("ec2", region_name=REGION)
        calls = Calls()
        run(build_vpc(ec2, cidr="10.99.0.0/16").vpc_id)
        for count in (1, 10, 100):
            vpcs = [
                build_vpc(ec2, cidr=f"10.{n % 200}.0.0/16", azs=("us-east-1a", "us-east-1b")).vpc_id
                for n in range(count)
            ]
            calls.take()
            start = time.perf_counter()
            for vpc_id in vpcs:
                run(vpc_id)
            elapsed = time.perf_counter() - start
            own = elapsed - calls.in_calls
            ops = calls.take()
            rows.append(
                (
                    f"{count} VPC(s)",
                    f"{sum(ops.values()) / count:.1f}",
                    f"{elapsed / count * 1000:.0f} ms",
                    f"{own / count * 1000:.1f} ms",
                )
            )
    return rows


def pull_path_calls(counts: tuple[int, ...] = (1, 10, 100)) -> list[tuple[str, ...]]:
    """The pull path's reads for one VPC with one cluster of S services, each with its own task
    definition: the ECS reads (a fresh container, then a warm one whose task definitions are cached) and
    the EC2 reads of the VPC's network facts."""
    from endpoint_guard.aws.workloads import PullPathReads, forget_task_definitions
    from endpoint_guard.reconcile.run import read_core

    rows = []
    for count in counts:
        with mock_aws():
            forget_task_definitions()
            ec2, ecs = boto3.client("ec2", region_name=REGION), boto3.client("ecs", region_name=REGION)
            world = build_vpc(ec2)
            ecs.create_cluster(clusterName="shop")
            for n in range(count):
                family = fargate_task_definition(
                    ecs, f"svc-{n}", image=f"123456789012.dkr.ecr.{REGION}.amazonaws.com/s{n}:1"
                )
                ecs.create_service(
                    cluster="shop",
                    serviceName=f"svc-{n}",
                    taskDefinition=family,
                    desiredCount=1,
                    launchType="FARGATE",
                    networkConfiguration={
                        "awsvpcConfiguration": {"subnets": list(world.private_subnets.values()), "securityGroups": []}
                    },
                )
            clients = Container.fresh()
            ecs_calls, ec2_calls = Calls("ecs"), Calls("ec2")
            snapshot = read_core(Ec2Adapter(clients), world.vpc_id)
            ec2_calls.take()
            pull = PullPathReads(clients)
            found = pull.workloads_in({s.subnet_id for s in snapshot.subnets})
            first = ecs_calls.take()
            pull.network(dataclasses.replace(snapshot, dns_support=True, dns_hostnames=True))
            network = ec2_calls.take()
            PullPathReads(clients).workloads_in({s.subnet_id for s in snapshot.subnets})
            warm = ecs_calls.take()
            target = 1 + 1 * -(-count // 10)  # the C + C*ceil(S/10), C = 1
            listing = 2  # ListClusters and DescribeClusters, once per account-Region
            rows.append(
                (
                    f"{count} service(s), {len(found)} workload(s)",
                    str(sum(first.values())),
                    str(sum(warm.values())),
                    f"{target} + {listing} + {count} definitions / {target} + {listing}",
                    by_operation(warm),
                    f"{sum(network.values())} ({by_operation(network)})",
                )
            )
    return rows


def fleet_calls(sizes: tuple[int, ...] = (10, 100, 1000)) -> list[tuple[str, ...]]:
    """A report-mode sweep of N VPCs in one account-Region (endpoint-guard.fleet): EC2 calls counted
    exactly, against the target 2·N + 7·pages (the ways out are read when a VPC needs them: here all do,
    their VPCs having only isolated subnets)."""
    from endpoint_guard.fleet import Target, sweep_target

    rows = []
    for count in sizes:
        with mock_aws():
            Container.fresh()
            ec2 = boto3.client("ec2", region_name=REGION)
            for _ in range(count):  # overlapping CIDRs are allowed; one private subnet each keeps it quick
                build_vpc(ec2, cidr="10.0.0.0/16", azs=("us-east-1a",), public_subnets=False)
            calls = Calls()
            start = time.perf_counter()
            swept = sweep_target(
                Ec2Adapter(Container.clients), Target(None, REGION), Settings(dry_run=True, verify_dns=True)
            )
            elapsed = time.perf_counter() - start
            ops = calls.take()
            per_vpc = ops["DescribeVpcAttribute"]
            fleet_wide = sum(ops.values()) - per_vpc
            pages = max((n for op, n in ops.items() if op != "DescribeVpcAttribute"), default=0)
            n = len(swept)
            rows.append(
                (
                    f"{n} VPCs",
                    str(sum(ops.values())),
                    f"{fleet_wide} ({by_operation(ops - collections.Counter({'DescribeVpcAttribute': per_vpc}))})",
                    str(per_vpc),
                    f"<= {2 * n + 7 * pages + 1}",
                    f"{elapsed:.1f} s",
                )
            )
    return rows


def bursts() -> list[tuple[str, ...]]:
    """N fresh VPCs at once against EC2's buckets, in simulated time (tools/burst.py)."""
    from tools.burst import simulate

    rows = []
    for count in (30, 100, 300):
        for pollers in (1, 5):
            with mock_aws():
                create_stack(boto3.client("sqs", region_name=REGION), boto3.client("dynamodb", region_name=REGION))
                o = simulate(count, pollers=pollers)
            rows.append(
                (
                    f"{count} VPCs, {pollers} poller(s)",
                    f"{o.seconds_to_compliant:,.0f} s",
                    f"{o.floor_seconds:,.0f} s",
                    f"{o.ratio:.2f}x (target <= 1.3x)",
                    str(o.timeouts),
                    str(len(o.dead_letters)),
                    f"{o.reconciles_per_vpc:.2f}",
                    f"{o.compliant}/{count}" + ("" if o.endpoints_per_service_ok else ", duplicates!"),
                    str(o.throttled),
                    str(o.handed_back),
                )
            )
    return rows


def fleet_sweeps() -> list[tuple[str, ...]]:
    """A report-mode sweep of many VPCs across accounts and Regions through the real plan and chunk
    tasks, in simulated time against EC2's describe buckets (tools/fleet_sim.py)."""
    from tools.fleet_sim import simulate_sweep

    rows = []
    for vpcs, accounts, regions in ((100, 2, 2), (1000, 10, 4)):
        with mock_aws():
            create_stack(boto3.client("sqs", region_name=REGION), boto3.client("dynamodb", region_name=REGION))
            o = simulate_sweep(vpcs=vpcs, accounts=accounts, regions=regions)
        rows.append(
            (
                f"{vpcs:,} VPCs, {accounts} accounts x {regions} Regions",
                str(o.chunks),
                f"{o.calls:,} (busiest account-Region {o.busiest_calls})",
                f"{o.seconds:.1f} s",
                f"{o.floor_seconds:.1f} s",
                f"{o.ratio:.2f}x (target <= 1.2x)",
                str(o.throttled),
                str(o.rows),
            )
        )
    return rows


def warm_latency(runs: int = 7) -> float:
    samples = []
    with mock_aws():
        Container.fresh()
        ec2 = boto3.client("ec2", region_name=REGION)
        run(build_vpc(ec2, cidr="10.99.0.0/16").vpc_id)
        for n in range(runs):
            vpc_id = build_vpc(ec2, cidr=f"10.{n}.0.0/16").vpc_id
            start = time.perf_counter()
            run(vpc_id)
            samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


# --- cold start ------------------------------------------------------------------------------------------
#
# Measured on what `sam build` makes, as Lambda runs it: the function's folder and the layer on the path,
# under the runtime's Python (3.13, from .venv-bench) when this machine has it, and with
# PYTHONDONTWRITEBYTECODE (Lambda's /opt is read-only: what has no bytecode in the layer is compiled on
# every cold start).

FLOOR = "import boto3; boto3.client('ec2', region_name='us-east-1')"
FUNCTION = (
    "import sys; sys.path[:0] = [{function!r}, {layer!r}]\n"
    "import app\n"
    "from endpoint_guard import settings\n"
    "from endpoint_guard.aws import Clients\n"
    "clients = Clients.from_env()\n"
    "settings.Settings.from_env(); settings.Wiring.from_env()\n"
)
# What a first invocation builds besides: the imports its handler defers, and its clients. The worker
# always reads the VPC (EC2) and its mark (DynamoDB). The intake always records the event (DynamoDB) and
# queues (SQS); only some events need EC2 lookups (a route table association, ECS calls).
FIRST_INVOCATION = {
    "ensure_endpoints": (
        "EnsureEndpointsFunction",
        "from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor\n"
        "from endpoint_guard import reconcile\n"
        "clients.client('ec2'); clients.client('dynamodb')\n",
    ),
    "intake": (
        "IntakeFunction",
        "from aws_lambda_powertools.utilities.idempotency import idempotent_function\n"
        "clients.client('dynamodb'); clients.client('sqs')\n",
    ),
    "intake, an event that needs EC2 lookups": (
        "IntakeFunction",
        "from aws_lambda_powertools.utilities.idempotency import idempotent_function\n"
        "clients.client('dynamodb'); clients.client('sqs'); clients.client('ec2')\n",
    ),
}
# VmHWM, not ru_maxrss: ru_maxrss carries the forking parent's peak over into the child.
PEAK = "\nprint(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))"


def runtime_python() -> tuple[str, str]:
    """The interpreter that stands in for the Lambda runtime, and how to describe it."""
    bench = REPO / ".venv-bench" / "bin" / "python"
    python = str(bench) if bench.exists() else sys.executable
    version = subprocess.run(
        [python, "-c", "import sys, boto3; print(sys.version.split()[0], boto3.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    where = "a venv with only boto3" if bench.exists() else "the project's .venv (no Python 3.13 found)"
    return python, f"Python {version[0]}, boto3 {version[1]}, {where}"


def lambda_env(function: str, tracing: bool) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "POWERTOOLS_SERVICE_NAME": "endpoint-guard",
        "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def cold_start(build: Path, python: str, runs: int = 15) -> dict:
    tracer = "from aws_lambda_powertools import Tracer; Tracer(service='endpoint-guard')\n"
    layer = build / "CoreLayer" / "python"
    # The same layer as it was built before it carried bytecode: what that saves each cold start.
    bare = build.parent / "layer-without-bytecode"
    shutil.copytree(layer, bare, ignore=shutil.ignore_patterns("__pycache__"))
    results = {}
    variants = (
        ("ensure_endpoints", False, layer, ""),
        ("intake", False, layer, ""),
        ("intake, an event that needs EC2 lookups", False, layer, ""),
        ("ensure_endpoints", True, layer, " (Tracing=Active)"),
        ("ensure_endpoints", False, bare, " (a layer without bytecode)"),
    )
    for name, tracing, path, note in variants:
        function, first = FIRST_INVOCATION[name]
        code = FUNCTION.format(function=str(build / function), layer=str(path)) + first + (tracer if tracing else "")
        env = lambda_env(function, tracing)
        floor_t, fn_t, floor_rss, fn_rss = [], [], [], []
        for n in range(runs):  # interleaved, so both see the same machine, and in turns which goes first
            pair = [(FLOOR, floor_t, floor_rss), (code, fn_t, fn_rss)]
            for script, times, rss in pair if n % 2 else reversed(pair):
                start = time.perf_counter()
                out = subprocess.run([python, "-c", script + PEAK], capture_output=True, text=True, env=env, check=True)
                times.append(time.perf_counter() - start)
                rss.append(int(out.stdout.strip().splitlines()[-1]))
        results[name + (note or " (as deployed by default)")] = {
            "floor_ms": statistics.median(floor_t) * 1000,
            "function_ms": statistics.median(fn_t) * 1000,
            "ratio": statistics.median(f / b for f, b in zip(fn_t, floor_t, strict=True)),
            "floor_rss_mb": max(floor_rss) / 1024,
            "function_rss_mb": max(fn_rss) / 1024,
        }
    return results


def import_costs(build: Path, python: str) -> list[tuple[str, float]]:
    """What each Powertools utility (from the built layer) adds on the cold path, timed inside a fresh
    process that has already imported boto3 (median of 7 processes)."""
    modules = {
        "Logger": "from aws_lambda_powertools import Logger; Logger(service='x')",
        "Metrics": "from aws_lambda_powertools import Metrics; Metrics(namespace='x')",
        "Tracer": "from aws_lambda_powertools import Tracer; Tracer(service='x')",
        "Batch": "from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor",
        "Idempotency": "from aws_lambda_powertools.utilities.idempotency import idempotent_function",
        "event_source data classes": "from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent",
    }
    base = f"import sys, time; sys.path.insert(0, {str(build / 'CoreLayer' / 'python')!r})\nimport boto3\n"
    env = lambda_env("bench", tracing=True)
    rows = []
    for name, statement in modules.items():
        script = base + f"start = time.perf_counter()\n{statement}\nprint(time.perf_counter() - start)"
        samples = [
            float(subprocess.run([python, "-c", script], check=True, capture_output=True, text=True, env=env).stdout)
            for _ in range(7)
        ]
        rows.append((name, statistics.median(samples) * 1000))
    return rows


# --- sizes ----------------------------------------------------------------------------------------------


def sam_build(into: Path) -> Path:
    """`sam build` of the template, as deployed; returns the build folder."""
    sam = REPO / ".venv-sam" / "bin" / "sam"
    build = into / "build"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(SAM_CLI_TELEMETRY="0", AWS_DEFAULT_REGION=REGION)
    subprocess.run(
        [str(sam), "build", "--build-dir", str(build), "--cache-dir", str(into / "cache")],
        cwd=REPO,
        check=True,
        capture_output=True,
        env=env,
    )
    return build


def sizes(build: Path, into: Path) -> dict:
    found = {}
    for artifact in sorted(p for p in build.iterdir() if p.is_dir()):
        zipped = into / f"{artifact.name}.zip"
        with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
            for f in artifact.rglob("*"):
                if f.is_file():
                    z.write(f, f.relative_to(artifact))
        found[artifact.name] = zipped.stat().st_size
    layer = build / "CoreLayer" / "python"
    parts = collections.Counter()
    bytecode = 0
    for f in layer.rglob("*"):
        if f.is_file():
            parts[f.relative_to(layer).parts[0]] += f.stat().st_size
            bytecode += f.stat().st_size if f.suffix == ".pyc" else 0
    return {"zips": found, "layer_parts": parts.most_common(5), "bytecode": bytecode}


# --- report ---------------------------------------------------------------------------------------------


def table(headers: tuple[str, ...], rows: list[tuple]) -> list[str]:
    """A Markdown table."""
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows),
    ]


def main() -> int:
    emulator.install()  # AWS's answers where moto has none (cluster counts, gateway routes)
    lines = [
        "# Benchmarks",
        "",
        f"`make bench` on {os.cpu_count()} cores, Python {sys.version.split()[0]}, moto in-process.",
        "",
    ]
    lines += ["## AWS calls per reconcile (counted exactly)", ""]
    lines += table(("Scenario", "Calls", "Target", "By operation"), call_scenarios())
    lines += [
        "",
        "## Against a script of the blog's manual steps (tools/peer.py)",
        "",
        "EC2 calls; the script does less (no DNS attributes, no check of running workloads, no repair).",
        "",
    ]
    lines += table(("Scenario", "endpoint-guard", "the script"), peer_comparison())
    lines += ["", "## Scale: reconcile of many fresh 2-AZ VPCs", ""]
    lines += table(("VPCs", "Calls per VPC", "Wall time per VPC", "Of which outside the AWS calls"), scale())
    lines += [
        "",
        "The wall time includes moto, whose describe calls scan everything it holds; the last column is",
        "endpoint-guard's own time (parsing, deciding, building requests).",
    ]
    lines += [
        "",
        "## Fleet reads: a report-mode sweep of one account-Region",
        "",
        "Every VPC planned (so its DNS attributes are read: two calls each); everything else read once for",
        "the account-Region. Target: 2·N + 7·pages, plus the VPC listing (the deployed sweep lists in its plan",
        "step); pages: the most calls any one fleet-wide read took (moto answers in one page). Seven paged",
        "reads: route tables, endpoints, subnets, groups, ENIs (when a placement is open), and the NAT",
        "gateways and transit gateway attachments (when a VPC's new endpoints would go to the isolated tier,",
        "as these VPCs' do).",
        "",
    ]
    lines += table(("Sweep", "EC2 calls", "Fleet-wide (by operation)", "Per VPC", "Target", "Wall time"), fleet_calls())
    lines += [
        "",
        f"Warm reconcile of a fresh 3-AZ VPC, in-process on moto: median {warm_latency():.0f} ms (relative figure).",
        "",
    ]
    lines += [
        "## The pull path's reads: one VPC, one cluster, S services",
        "",
        "ECS reads with a fresh container (every task definition read once) and a warm one (cached), against",
        "the issue's C + C·⌈S/10⌉ plus one per task definition not yet cached. endpoint-guard also lists and",
        "describes the clusters, once per account-Region (2 more; their counts decide the rest: a cluster's",
        "tasks and instances are listed only when it runs standalone tasks or has instances, as none here",
        "does). EC2: the VPC's network facts (target: 4). Counts as AWS gives them (tools/emulator.py).",
        "",
    ]
    lines += table(
        ("VPC", "ECS reads, fresh", "ECS reads, warm", "Target fresh / warm", "Warm, by operation", "EC2 reads"),
        pull_path_calls(),
    )
    lines += [""]
    lines += [
        "## Fleet sweep: many VPCs across accounts and Regions (simulated time, real sweep tasks on moto)",
        "",
        "The plan task lists every target through the member role and orders the chunks (earliest deadline",
        "first); 10 Distributed Map slots run the chunk task; EC2's describe bucket (100 / 20 s) per",
        "account-Region, 50 ms a call; the sweep's describe pace is 18 / s with a burst of 90 per",
        "account-Region. VPCs spread unevenly (Zipf). Floor: the busiest account-Region's describes through",
        "its bucket, the Map's slots making every call, or the longest chunk's sequential reads, whichever is",
        "longest. Rows include each account-Region's default VPC.",
        "",
    ]
    lines += table(
        ("Sweep", "Chunks", "EC2 calls", "Done after", "Floor", "Ratio", "Throttled calls", "Rows"), fleet_sweeps()
    )
    lines += [
        "",
        "## Bursts: N fresh VPCs at once, one account-Region (simulated time, real handlers on moto)",
        "",
        "EC2's buckets injected (endpoint calls 4 / 0.3 s, other changes 50 / 5, reads 100 / 20), 60 s settle,",
        "120 s function timeout, batches of 10. Floor: 4·N / 0.3 s + the settle time.",
        "",
    ]
    lines += table(
        (
            "Burst",
            "All compliant after",
            "Floor",
            "Ratio",
            "Lambda timeouts",
            "DLQ records",
            "Reconciles per VPC",
            "Compliant",
            "Throttled calls",
            "Handed back",
        ),
        bursts(),
    )
    lines += [""]
    tmp = tempfile.TemporaryDirectory()
    into = Path(tmp.name)
    build = sam_build(into)
    python, described = runtime_python()
    cold = cold_start(build, python)
    lines += [
        "## Cold start (fresh process, Lambda-like environment; median of interleaved runs)",
        "",
        f"The `sam build` output, under {described}; no bytecode is written (Lambda's /opt is read-only).",
        "",
    ]
    lines += table(
        ("Function", "Floor (import boto3, one client)", "Function", "Ratio", "Peak RSS floor / function"),
        [
            (
                name,
                f"{c['floor_ms']:.0f} ms",
                f"{c['function_ms']:.0f} ms",
                f"{c['ratio']:.2f}x (target <= 1.3x)",
                f"{c['floor_rss_mb']:.0f} MB / {c['function_rss_mb']:.0f} MB",
            )
            for name, c in cold.items()
        ],
    )
    lines += ["", "What each Powertools utility adds to `import boto3` on its own:", ""]
    lines += table(("Utility", "Added"), [(name, f"{ms:.0f} ms") for name, ms in import_costs(build, python)])
    built = sizes(build, into)
    tmp.cleanup()
    lines += ["", "## Package sizes (sam build output, zipped)", ""]
    lines += table(("Artifact", "Bytes"), [(name, f"{size:,}") for name, size in built["zips"].items()])
    lines += [
        "",
        "The layer, unzipped, by top-level entry: "
        + ", ".join(f"{n} {s / 1e6:.1f} MB" for n, s in built["layer_parts"])
        + f"; of all that, bytecode for Python 3.13: {built['bytecode'] / 1e6:.1f} MB.",
    ]
    text = "\n".join(lines) + "\n"
    (REPO / "BENCHMARKS.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""make demo: endpoint-guard end to end on an embedded AWS emulator, no account and no Docker.

Starts a moto server on 127.0.0.1, builds a VPC in three AZs (a public and a private subnet in each),
sends events/create-vpc.json (pointed at that VPC) through the real CLI and handler, shows what was
created, and runs again to show that a compliant VPC needs nothing.
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
from tools.world import build_vpc  # noqa: E402

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def banner(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def main() -> int:
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
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

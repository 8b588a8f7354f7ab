"""A VPC that Terraform owns, and endpoint-guard beside it: after endpoint-guard ran, ``terraform plan``
shows no changes, a second apply changes nothing, and the VPC is still compliant. Runs when terraform and
its AWS provider (in a local filesystem mirror: no registry access here) are on the machine; skipped with
a message otherwise. The configuration is written inline in the shape of the most used VPC module: public,
private (one NAT gateway), intra; every subnet explicitly associated; routes as separate resources."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from endpoint_guard.cli import main

MIRRORS = (Path("/opt/tf-plugins"), Path.home() / ".terraform.d" / "plugins")

CONFIG = """
terraform {
  required_providers { aws = { source = "hashicorp/aws" } }
}
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints { ec2 = "%(endpoint)s" }
}
locals { azs = ["us-east-1a", "us-east-1b"] }
resource "aws_vpc" "this" {
  cidr_block           = "10.70.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = "tf-shaped" }
}
resource "aws_internet_gateway" "this" { vpc_id = aws_vpc.this.id }
resource "aws_subnet" "public" {
  count             = 2
  vpc_id            = aws_vpc.this.id
  cidr_block        = "10.70.${count.index}.0/24"
  availability_zone = local.azs[count.index]
}
resource "aws_subnet" "private" {
  count             = 2
  vpc_id            = aws_vpc.this.id
  cidr_block        = "10.70.${count.index + 10}.0/24"
  availability_zone = local.azs[count.index]
}
resource "aws_subnet" "intra" {
  count             = 2
  vpc_id            = aws_vpc.this.id
  cidr_block        = "10.70.${count.index + 20}.0/24"
  availability_zone = local.azs[count.index]
}
resource "aws_eip" "nat" { domain = "vpc" }
resource "aws_nat_gateway" "this" {
  allocation_id = aws_eip.nat.id
  subnet_id     = aws_subnet.public[0].id
}
resource "aws_route_table" "public" { vpc_id = aws_vpc.this.id }
resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}
resource "aws_route_table" "private" { vpc_id = aws_vpc.this.id }
resource "aws_route" "private_nat" {
  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this.id
}
resource "aws_route_table" "intra" { vpc_id = aws_vpc.this.id }
resource "aws_route_table_association" "public" {
  count          = 2
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}
resource "aws_route_table_association" "private" {
  count          = 2
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}
resource "aws_route_table_association" "intra" {
  count          = 2
  subnet_id      = aws_subnet.intra[count.index].id
  route_table_id = aws_route_table.intra.id
}
output "vpc_id" { value = aws_vpc.this.id }
"""


def _mirror() -> Path | None:
    return next((m for m in MIRRORS if list(m.glob("registry.terraform.io/hashicorp/aws/*"))), None)


@pytest.fixture
def terraform(tmp_path: Path, moto_server: str, monkeypatch: pytest.MonkeyPatch):
    binary, mirror = shutil.which("terraform"), _mirror()
    if binary is None or mirror is None:
        pytest.skip(f"terraform ({binary or 'not found'}) and its AWS provider in a local mirror ({mirror}) are needed")
    rc = tmp_path / "terraformrc"
    rc.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n')
    (tmp_path / "main.tf").write_text(CONFIG % {"endpoint": moto_server})
    env = {"TF_CLI_CONFIG_FILE": str(rc), "TF_IN_AUTOMATION": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [binary, *args, "-no-color"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )

    init = run("init", "-input=false")
    assert init.returncode == 0, init.stderr
    return run


def test_endpoint_guard_and_terraform_leave_each_other_alone(terraform, moto_server: str, capsys) -> None:
    applied = terraform("apply", "-auto-approve", "-input=false")
    assert applied.returncode == 0, applied.stderr
    vpc_id = terraform("output", "-raw", "vpc_id").stdout.strip()
    where = ["--endpoint-url", moto_server, "--region", "us-east-1"]

    assert main(["ensure", vpc_id, "--json", *where]) == 0, capsys.readouterr()
    capsys.readouterr()
    plan = terraform("plan", "-detailed-exitcode", "-input=false")
    assert plan.returncode == 0, plan.stdout + plan.stderr  # 0: no changes (2 would be changes)
    again = terraform("apply", "-auto-approve", "-input=false")
    assert again.returncode == 0 and "0 added, 0 changed, 0 destroyed" in again.stdout, again.stdout
    assert main(["check", vpc_id, "--json", *where]) == 0

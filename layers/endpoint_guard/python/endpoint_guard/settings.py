"""Settings, read in one place and at call time (never at import time)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from endpoint_guard.errors import ConfigurationError

ADOPT_REPORT = "report"
ADOPT_MODIFY = "modify"
# What endpoint-guard does with the endpoints a workload cannot start without where it has no other way
# out (isolated): secretsmanager/ssm for its secrets, ecs/ecs-agent/ecs-telemetry for EC2 instances,
# ssmmessages for ECS Exec. "required": creates them; "report": says so.
WORKLOAD_ENDPOINTS_REQUIRED = "required"
WORKLOAD_ENDPOINTS_REPORT = "report"
S3_POLICY_FULL = "full"
S3_POLICY_RESTRICTIVE = "restrictive"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


# --- parsing: the one place a setting's text becomes a value (environment and command line alike) ---


def parse_flag(name: str, raw: str | None, default: bool) -> bool:
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean (use true or false)")


def parse_gb(name: str, raw: str | None, default: float | None = None) -> float | None:
    """A number of GB, 0 or more; ``default`` when empty."""
    text = (raw or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ConfigurationError(f"{name}={raw!r} is not a number of GB (0 or more)")
    return value


def parse_whole(name: str, raw: str | None, default: int, *, least: int = 0) -> int:
    text = (raw or "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < least:
        kind = "a positive" if least else "a"
        raise ConfigurationError(f"{name}={raw!r} is not {kind} whole number")
    return int(text)


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    return parse_flag(name, environ.get(name), default)


FLEET_SINGLE, FLEET_HUB = "single", "hub"
PROFILE_FULL, PROFILE_COST_AWARE = "full", "cost-aware"


def _choice(environ: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = environ.get(name, default).strip().lower() or default
    if value not in allowed:
        raise ConfigurationError(f"{name}={value!r}; expected one of {', '.join(allowed)}")
    return value


def _list(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in environ.get(name, "").split(",") if item.strip())


def _accounts(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    accounts = _list(environ, name)
    wrong = [a for a in accounts if not (a.isdigit() and len(a) == 12)]
    if wrong:
        raise ConfigurationError(f"{name} holds {', '.join(wrong)}: expected 12-digit account ids")
    return accounts


def _gb(environ: Mapping[str, str], name: str, default: float) -> float:
    return parse_gb(name, environ.get(name), default) or 0.0


@dataclass(frozen=True)
class Settings:
    """What the deployer chose. Every field has a template Parameter of the same meaning."""

    dry_run: bool = False
    # Read the DNS attributes whenever an endpoint relies on private DNS (check, report, a DNS event);
    # otherwise only when private DNS is about to be turned on (the worker's compliant path stays cheap).
    verify_dns: bool = False
    manage_dns_attributes: bool = True
    adopt_unmanaged: str = ADOPT_REPORT
    s3_policy: str = S3_POLICY_FULL
    s3_allowed_buckets: tuple[str, ...] = ()
    # Whether isolated tiers (no default route) get the S3 gateway too (reconcile.gateway's rule).
    s3_gateway_on_isolated: bool = False
    extra_services: tuple[str, ...] = ()
    # Whether a DeleteSubnet/DeleteVpc that endpoint-guard's resources block makes it release them.
    release_on_dependency_violation: bool = True
    default_gb_per_month: float = 100.0
    prices_file: str | None = None
    # "full": the profile's every endpoint. "cost-aware": the S3 gateway always, an interface endpoint
    # only where it is required or pays (cost.choose).
    endpoint_profile: str = PROFILE_FULL
    workload_endpoints: str = WORKLOAD_ENDPOINTS_REQUIRED
    # Security Hub, out: each not-compliant VPC and blocked workload as a finding (securityhub.usecase).
    security_hub_findings: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            dry_run=_flag(env, "ENDPOINT_GUARD_DRY_RUN", False),
            manage_dns_attributes=_flag(env, "ENDPOINT_GUARD_MANAGE_DNS_ATTRIBUTES", True),
            adopt_unmanaged=_choice(env, "ENDPOINT_GUARD_ADOPT_UNMANAGED", ADOPT_REPORT, (ADOPT_REPORT, ADOPT_MODIFY)),
            s3_policy=_choice(env, "ENDPOINT_GUARD_S3_POLICY", S3_POLICY_FULL, (S3_POLICY_FULL, S3_POLICY_RESTRICTIVE)),
            s3_allowed_buckets=_list(env, "ENDPOINT_GUARD_S3_ALLOWED_BUCKETS"),
            s3_gateway_on_isolated=_flag(env, "ENDPOINT_GUARD_S3_GATEWAY_ON_ISOLATED_TIERS", False),
            extra_services=_list(env, "ENDPOINT_GUARD_EXTRA_SERVICES"),
            release_on_dependency_violation=_flag(env, "ENDPOINT_GUARD_RELEASE_ON_DEPENDENCY_VIOLATION", True),
            default_gb_per_month=_gb(env, "ENDPOINT_GUARD_DEFAULT_GB_PER_MONTH", 100.0),
            prices_file=env.get("ENDPOINT_GUARD_PRICES_FILE") or None,
            endpoint_profile=_choice(
                env, "ENDPOINT_GUARD_ENDPOINT_PROFILE", PROFILE_FULL, (PROFILE_FULL, PROFILE_COST_AWARE)
            ),
            workload_endpoints=_choice(
                env,
                "ENDPOINT_GUARD_WORKLOAD_ENDPOINTS",
                WORKLOAD_ENDPOINTS_REQUIRED,
                (WORKLOAD_ENDPOINTS_REQUIRED, WORKLOAD_ENDPOINTS_REPORT),
            ),
            security_hub_findings=_choice(env, "ENDPOINT_GUARD_SECURITY_HUB_FINDINGS", "off", ("off", "on")) == "on",
        )


def _whole_number(environ: Mapping[str, str], name: str, default: int, *, least: int = 0) -> int:
    return parse_whole(name, environ.get(name), default, least=least)


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    return _whole_number(environ, name, default, least=1)


def _rate(environ: Mapping[str, str], name: str, default: float) -> float:
    value = parse_gb(name, environ.get(name), default)
    if not value:
        raise ConfigurationError(f"{name}={environ.get(name)!r} is not a rate (a number above 0)")
    return value


@dataclass(frozen=True)
class Wiring:
    """Where the deployed stack's parts are; the template sets these. Without a queue (the CLI, a test),
    the intake reconciles in-process; without a state table there is no deduplication and no collapse."""

    queue_url: str | None = None
    state_table: str | None = None
    dead_letter_queue_url: str | None = None
    migration_state_machine_arn: str | None = None
    plan_bucket: str | None = None  # the migration workflow's documents
    max_attempts: int = 3
    idempotency_seconds: int = 3600
    watermark_seconds: int = 86400
    # How long the worker trusts its last read of a VPC's managed security group (reconcile.reads.trusted_group);
    # 0 reads it on every reconcile.
    group_recheck_seconds: int = 21600
    # The worker's share of EC2's endpoint bucket per account-Region (worker.pacing): calls a second,
    # and at most this many at once. EC2's own bucket is 4 calls refilled at 0.3 a second.
    endpoint_calls_per_second: float = 0.28
    endpoint_call_burst: int = 4
    # Seconds of the function timeout kept for finishing the VPC at hand and the batch's bookkeeping.
    budget_margin_seconds: int = 15
    # After releasing a VPC's resources for its owner's delete, how long its other work is skipped.
    release_quiet_seconds: int = 3600
    # endpoint-guard's own roles (ARNs): their calls never trigger it, so its changes cause no loop.
    own_role_arns: frozenset[str] = frozenset()
    # The scheduled sweep: the Regions of this account it covers (none: the stack's own), the VPCs it
    # leaves alone, its mode ("report" or "enforce"), and how many chunks run at once.
    sweep_regions: tuple[str, ...] = ()
    sweep_exclude_vpc_ids: tuple[str, ...] = ()
    sweep_mode: str = "report"
    sweep_max_concurrency: int = 10
    # The sweep's share of EC2's describe bucket per account-Region (100 calls, refilled at 20 a second),
    # shared by all its chunks there: calls a second, and at most this many at once.
    sweep_describe_calls_per_second: float = 18.0
    sweep_describe_burst: int = 90
    # "single": this account, events from its default bus. "hub": the enrolled member accounts (and
    # this one), events forwarded by the spokes to the fleet bus, reached through the member role.
    fleet_mode: str = FLEET_SINGLE
    # The enrolled accounts (none: every account of the Organization); the enrolled Regions are the
    # sweep's (none: the stack's own).
    fleet_accounts: tuple[str, ...] = ()
    fleet_role_name: str = "endpoint-guard-member"
    fleet_external_id: str | None = None
    # The maintenance window for deferred gateways: whether a VPC needs an approval (``required``) or
    # every deferred VPC is taken (``none``), and how long it waits after each route table.
    deferred_gateway_approval: str = "required"
    deferred_gateway_settle_seconds: int = 120

    @property
    def hub(self) -> bool:
        return self.fleet_mode == FLEET_HUB

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Wiring:
        env = os.environ if environ is None else environ
        return cls(
            queue_url=env.get("ENDPOINT_GUARD_QUEUE_URL") or None,
            state_table=env.get("ENDPOINT_GUARD_STATE_TABLE") or None,
            dead_letter_queue_url=env.get("ENDPOINT_GUARD_DEAD_LETTER_QUEUE_URL") or None,
            migration_state_machine_arn=env.get("ENDPOINT_GUARD_MIGRATION_STATE_MACHINE_ARN") or None,
            plan_bucket=env.get("ENDPOINT_GUARD_PLAN_BUCKET") or None,
            max_attempts=_positive_int(env, "ENDPOINT_GUARD_MAX_ATTEMPTS", 3),
            idempotency_seconds=_positive_int(env, "ENDPOINT_GUARD_IDEMPOTENCY_SECONDS", 3600),
            group_recheck_seconds=_whole_number(env, "ENDPOINT_GUARD_GROUP_RECHECK_SECONDS", 21600),
            endpoint_calls_per_second=_rate(env, "ENDPOINT_GUARD_ENDPOINT_CALLS_PER_SECOND", 0.28),
            endpoint_call_burst=_positive_int(env, "ENDPOINT_GUARD_ENDPOINT_CALL_BURST", 4),
            budget_margin_seconds=_whole_number(env, "ENDPOINT_GUARD_BUDGET_MARGIN_SECONDS", 15),
            release_quiet_seconds=_whole_number(env, "ENDPOINT_GUARD_RELEASE_QUIET_SECONDS", 3600),
            own_role_arns=frozenset(_list(env, "ENDPOINT_GUARD_OWN_ROLE_ARNS")),
            sweep_regions=_list(env, "ENDPOINT_GUARD_SWEEP_REGIONS"),
            sweep_exclude_vpc_ids=_list(env, "ENDPOINT_GUARD_SWEEP_EXCLUDE_VPC_IDS"),
            sweep_mode=_choice(env, "ENDPOINT_GUARD_SWEEP_MODE", "report", ("report", "enforce")),
            sweep_max_concurrency=_positive_int(env, "ENDPOINT_GUARD_SWEEP_MAX_CONCURRENCY", 10),
            sweep_describe_calls_per_second=_rate(env, "ENDPOINT_GUARD_SWEEP_DESCRIBE_CALLS_PER_SECOND", 18.0),
            sweep_describe_burst=_positive_int(env, "ENDPOINT_GUARD_SWEEP_DESCRIBE_BURST", 90),
            fleet_mode=_choice(env, "ENDPOINT_GUARD_FLEET_MODE", FLEET_SINGLE, (FLEET_SINGLE, FLEET_HUB)),
            fleet_accounts=_accounts(env, "ENDPOINT_GUARD_FLEET_ACCOUNTS"),
            fleet_role_name=env.get("ENDPOINT_GUARD_FLEET_ROLE_NAME") or "endpoint-guard-member",
            fleet_external_id=env.get("ENDPOINT_GUARD_FLEET_EXTERNAL_ID") or None,
            deferred_gateway_approval=_choice(
                env, "ENDPOINT_GUARD_DEFERRED_GATEWAY_APPROVAL", "required", ("required", "none")
            ),
            deferred_gateway_settle_seconds=_whole_number(env, "ENDPOINT_GUARD_DEFERRED_GATEWAY_SETTLE_SECONDS", 120),
        )

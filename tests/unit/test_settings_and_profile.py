from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from endpoint_guard.errors import ConfigurationError
from endpoint_guard.profile import known_services, load_profile
from endpoint_guard.settings import Settings, Wiring

from tests.conftest import REPO, CfnLoader


def test_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_values_are_read_from_the_environment() -> None:
    s = Settings.from_env(
        {
            "ENDPOINT_GUARD_DRY_RUN": "true",
            "ENDPOINT_GUARD_MANAGE_DNS_ATTRIBUTES": "false",
            "ENDPOINT_GUARD_ADOPT_UNMANAGED": "modify",
            "ENDPOINT_GUARD_S3_POLICY": "restrictive",
            "ENDPOINT_GUARD_S3_ALLOWED_BUCKETS": " a , b,,",
            "ENDPOINT_GUARD_EXTRA_SERVICES": "ssm",
            "ENDPOINT_GUARD_S3_GATEWAY_ON_ISOLATED_TIERS": "true",
        }
    )
    assert s == Settings(
        dry_run=True,
        manage_dns_attributes=False,
        adopt_unmanaged="modify",
        s3_policy="restrictive",
        s3_allowed_buckets=("a", "b"),
        extra_services=("ssm",),
        s3_gateway_on_isolated=True,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ENDPOINT_GUARD_DRY_RUN", "maybe"),
        ("ENDPOINT_GUARD_ADOPT_UNMANAGED", "always"),
        ("ENDPOINT_GUARD_S3_POLICY", "none"),
    ],
)
def test_bad_values_are_configuration_errors_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: value})


def test_default_profile_is_the_four_endpoints() -> None:
    assert [(s.short, s.type) for s in load_profile()] == [
        ("ecr.dkr", "Interface"),
        ("ecr.api", "Interface"),
        ("logs", "Interface"),
        ("s3", "Gateway"),
    ]


def test_unknown_extra_service_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="secretsmanager"):
        load_profile(("sqs",))


def test_the_extra_services_parameter_accepts_every_optional_service_and_nothing_else() -> None:
    """The parameter's AllowedPattern, applied as CloudFormation applies it: each optional service of the
    catalogue alone and all of them together pass; a name the catalogue does not know is refused."""
    template = yaml.load((REPO / "template.yaml").read_text(), Loader=CfnLoader)
    pattern = re.compile(template["Parameters"]["ExtraServices"]["AllowedPattern"])
    optional = [name for name in known_services() if name not in ("ecr.dkr", "ecr.api", "logs", "s3")]
    assert optional
    for name in optional:
        assert pattern.fullmatch(name), name
        load_profile((name,))  # and the code takes what the template lets through
    assert pattern.fullmatch(",".join(optional))
    assert pattern.fullmatch("")
    for wrong in ("sqs", "ssm,", "ssm,sqs", " ssm"):
        assert not pattern.fullmatch(wrong), wrong


def test_the_layer_pins_what_the_constraints_pin() -> None:
    """The layer ships exactly the versions the project is tested with."""

    def pins(path: Path) -> dict[str, str]:
        found = {}
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if "==" in line:
                name, version = line.split("==", 1)
                found[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
        return found

    layer, constraints = pins(REPO / "layers/endpoint_guard/requirements.txt"), pins(REPO / "constraints.txt")
    assert layer
    assert {name: constraints.get(name) for name in layer} == layer


def test_wiring_defaults_to_in_process_without_queue_or_table() -> None:
    wiring = Wiring.from_env({})
    assert wiring.queue_url is None and wiring.state_table is None and wiring.max_attempts == 3


def test_wiring_reads_the_stack_and_refuses_a_bad_attempt_count() -> None:
    wiring = Wiring.from_env(
        {
            "ENDPOINT_GUARD_QUEUE_URL": "https://sqs/q.fifo",
            "ENDPOINT_GUARD_STATE_TABLE": "t",
            "ENDPOINT_GUARD_MAX_ATTEMPTS": "5",
        }
    )
    assert (wiring.queue_url, wiring.state_table, wiring.max_attempts) == ("https://sqs/q.fifo", "t", 5)
    with pytest.raises(ConfigurationError, match="ENDPOINT_GUARD_MAX_ATTEMPTS"):
        Wiring.from_env({"ENDPOINT_GUARD_MAX_ATTEMPTS": "0"})


def test_the_group_recheck_may_be_zero_but_not_negative() -> None:
    assert Wiring.from_env({}).group_recheck_seconds == 21600
    assert Wiring.from_env({"ENDPOINT_GUARD_GROUP_RECHECK_SECONDS": "0"}).group_recheck_seconds == 0
    with pytest.raises(ConfigurationError, match="not a whole number"):
        Wiring.from_env({"ENDPOINT_GUARD_GROUP_RECHECK_SECONDS": "-1"})

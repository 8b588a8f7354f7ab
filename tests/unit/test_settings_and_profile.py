from __future__ import annotations

import pytest
from endpoint_guard.errors import ConfigurationError
from endpoint_guard.profile import known_services, load_profile
from endpoint_guard.settings import Settings, Wiring


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
        }
    )
    assert s == Settings(True, False, "modify", "restrictive", ("a", "b"), ("ssm",))


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


def test_template_allowed_pattern_knows_every_optional_service() -> None:
    from pathlib import Path

    template = (Path(__file__).resolve().parents[2] / "template.yaml").read_text()
    for name in known_services():
        if name not in ("ecr.dkr", "ecr.api", "logs", "s3"):
            assert name in template


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

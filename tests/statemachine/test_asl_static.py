"""Static checks of the deployed ASL (statelint runs in make lint): the template's substitutions, and the promise that
every task retries with backoff and every failure ends in the failure notification."""

from __future__ import annotations

import json
import re

import yaml

from tests.conftest import REPO, CfnLoader

ASL = REPO / "statemachines" / "migration-plan.asl.json"
FAILURE_NOTIFICATION = "NotifyFailure"


def states(definition: dict) -> dict[str, dict]:
    """Every state, those inside Map and Parallel states included."""
    found = {}
    for name, state in definition["States"].items():
        found[name] = state
        for inner in [state.get("ItemProcessor") or state.get("Iterator"), *state.get("Branches", [])]:
            if inner:
                found.update(states(inner))
    return found


def test_every_placeholder_has_a_substitution_and_every_substitution_is_used() -> None:
    template = yaml.load((REPO / "template.yaml").read_text(), Loader=CfnLoader)  # a SafeLoader subclass
    machines = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine"]
    [machine] = [m for m in machines if m["Properties"]["DefinitionUri"] == "statemachines/migration-plan.asl.json"]
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", ASL.read_text()))
    assert placeholders == set(machine["Properties"]["DefinitionSubstitutions"])


def test_every_task_retries_with_backoff_and_every_failure_ends_in_the_notification() -> None:
    definition = json.loads(ASL.read_text())
    every = states(definition)
    top = definition["States"]
    for name, state in every.items():
        if state["Type"] != "Task":
            continue
        assert state.get("Retry"), f"{name} has no Retry"
        assert all(r.get("BackoffRate", 1) >= 1 and r.get("IntervalSeconds") for r in state["Retry"]), name
        if name in top and name != FAILURE_NOTIFICATION:
            assert state.get("Catch"), f"{name} has no Catch"
    for name, state in top.items():
        for catch in state.get("Catch", []):
            assert catch["ErrorEquals"] == ["States.ALL"], name
            assert _reaches(top, catch["Next"], FAILURE_NOTIFICATION), (
                f"{name}'s Catch does not end in {FAILURE_NOTIFICATION}"
            )
    assert top[top[FAILURE_NOTIFICATION]["Next"]]["Type"] == "Fail"


def _reaches(top: dict, start: str, goal: str) -> bool:
    seen, name = set(), start
    while name and name not in seen:
        if name == goal:
            return True
        seen.add(name)
        name = top[name].get("Next")
    return False


def test_states_pass_keys_never_documents() -> None:
    """A state's payload is capped at 256 KiB and a large VPC's inventory is bigger: the tasks keep the
    inventory, target, steps and plan in the plan bucket and the states carry their keys."""
    text = ASL.read_text()
    for document in ('$.discovered.inventory"', '$.planned.target"', "$.assembled.plan", '$.assembled.markdown"'):
        assert document not in text, document
    top = json.loads(text)["States"]
    assert top["Assemble"]["Next"] == "Publish"  # Assemble stores plan.md, then plan.json, itself
    assert not [n for n, s in top.items() if "s3:putObject" in str(s.get("Resource", ""))]

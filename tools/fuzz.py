"""Hypothesis strategies for hostile input: arbitrary JSON, odd text, and mutations of real documents
(every event in events/ and ../shared/real-events/). Shared by the property-based tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"
SHARED = REPO.parent / "shared"

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
ODD_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=60) | st.sampled_from(
    ["", "\x00", "vpc-\x00", "\ud800", "vpc-0123456789abcdef0\n", "x" * 5000, "\u202e\u200b", "vpc-" + "0" * 400]
)
SAMPLES = sorted(EVENTS.glob("*.json")) + (sorted((SHARED / "real-events").glob("*.json")) if SHARED.exists() else [])
NAMES = ("CreateVpc", "CreateSubnet", "AssociateRouteTable", "CreateCluster", "RunTask", "DeleteVpc", "")
SOURCES = ("ec2.amazonaws.com", "ecs.amazonaws.com", "eks.amazonaws.com", "")


def _paths(node: Any, here: tuple = ()) -> list[tuple]:
    found = [here]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*here, key))
    elif isinstance(node, list):
        for n, value in enumerate(node):
            found += _paths(value, (*here, n))
    return found


@st.composite
def mutated(draw: st.DrawFn, documents: list[Any]) -> Any:
    """A document with a few of its fields dropped, nulled, retyped or replaced by odd text, and
    sometimes its eventSource/eventName swapped for another pair."""
    document = copy.deepcopy(draw(st.sampled_from(documents)))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(document) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["drop", "null", "json", "text", "list", "number"]))
        if action == "drop":
            del parent[path[-1]]
        else:
            parent[path[-1]] = {
                "null": None,
                "json": draw(JSON),
                "text": draw(ODD_TEXT),
                "list": [parent[path[-1]]],
                "number": draw(st.integers() | st.floats(allow_nan=False)),
            }[action]
    detail = document.get("detail") if isinstance(document, dict) else None
    if isinstance(detail, dict) and draw(st.booleans()):
        detail["eventSource"], detail["eventName"] = draw(st.sampled_from(SOURCES)), draw(st.sampled_from(NAMES))
    return document


def load(path: Path) -> Any:
    return json.loads(path.read_text())


EVENT_DOCUMENTS = [load(p) for p in SAMPLES]

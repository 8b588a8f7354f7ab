"""statelint over the deployed ASL files, knowing what statelint 3.1 does not: a Distributed Map's
``ItemReader.ReaderConfig`` may hold ``InputType`` (CSV, JSON, JSONL, MANIFEST) and the CSV header fields,
which AWS documents (docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html) and its
linter rejects. Those are checked here and taken out before statelint reads the rest."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from statelint.config import Config
from statelint.linter import Linter
from statelint.problem import ProblemType

INPUT_TYPES = {"CSV", "JSON", "JSONL", "MANIFEST"}
NEWER_FIELDS = ("InputType", "CSVHeaderLocation", "CSVHeaders")


def _reader_configs(node: Any, path: str = "") -> list[tuple[str, dict]]:
    found = []
    if isinstance(node, dict):
        reader = node.get("ItemReader")
        if isinstance(reader, dict) and isinstance(reader.get("ReaderConfig"), dict):
            found.append((path + ".ItemReader.ReaderConfig", reader["ReaderConfig"]))
        for key, value in node.items():
            found += _reader_configs(value, f"{path}.{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            found += _reader_configs(value, f"{path}[{n}]")
    return found


def problems(path: Path) -> list[str]:
    definition = json.loads(path.read_text())
    found = []
    for where, config in _reader_configs(definition):
        kind = config.get("InputType")
        if kind is not None and kind not in INPUT_TYPES:
            found.append(f"{where}.InputType {kind!r} is not one of {sorted(INPUT_TYPES)}")
        for field in NEWER_FIELDS:
            config.pop(field, None)
    # As `statelint --ignore=URI,FLOAT`: the template substitutes the function ARNs, and 2 is a rate.
    found += Linter.validate(json.dumps(definition), Config({ProblemType.URI, ProblemType.FLOAT}))
    return [str(p) for p in found]


def main(paths: list[str]) -> int:
    failed = 0
    for path in paths:
        for problem in problems(Path(path)):
            print(f"{path}: {problem}")
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The template read as a file (no SAM CLI): every checkov skip says why."""

from __future__ import annotations

import yaml

from tests.conftest import REPO, CfnLoader


def test_every_checkov_skip_is_justified() -> None:
    template = yaml.load((REPO / "template.yaml").read_text(), Loader=CfnLoader)
    skips = [
        (name, skip)
        for name, resource in template["Resources"].items()
        for skip in ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert skip["id"].startswith("CKV_") and len(skip.get("comment", "")) > 30, (name, skip)

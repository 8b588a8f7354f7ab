"""The cost picture (`report --html FILE`, `sweep --html FILE`): one self-contained page whose bars are
the JSON's figures on one scale, with the break-even marked; rendered by headless Chromium when the
machine has one (skipped otherwise)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from endpoint_guard.cli import main

from tools.world import build_vpc


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.bars: list[dict[str, str]] = []
        self.marks: list[dict[str, str]] = []
        self.external: list[tuple[str, str]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        if tag == "rect" and found.get("class") == "bar":
            self.bars.append(found)
        if tag == "line" and found.get("class") == "break-even":
            self.marks.append(found)
        self.external += [(tag, v) for k, v in found.items() if k in ("src", "href") and v]

    handle_startendtag = handle_starttag


def read(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text())
    return page


def test_the_report_page_draws_each_vpcs_figures_on_one_scale(ec2, capsys, tmp_path) -> None:
    small = build_vpc(ec2, azs=("us-east-1a",))
    big = build_vpc(ec2, cidr="10.41.0.0/16")
    out = tmp_path / "cost.html"
    main(["report", "--json", "--gb-per-month", "800", "--html", str(out)])
    rows = {r["vpc_id"]: r for r in json.loads(capsys.readouterr().out)}
    page = read(out)
    assert page.external == [] and "script" not in page.tags and "img" not in page.tags  # self-contained
    drawn = {(b["data-vpc"], b["data-kind"]): b for b in page.bars}
    scales: set[float] = set()
    for vpc in (small.vpc_id, big.vpc_id):
        cost = rows[vpc]["cost"]
        for kind, figure in (
            ("cost", cost["endpoints_monthly_usd"]),
            ("avoided", cost["nat_processing_avoided_monthly_usd"]),
        ):
            bar = drawn[(vpc, kind)]
            assert float(bar["data-usd"]) == pytest.approx(figure, abs=0.005)
            scales.add(float(bar["width"]) / figure)
        [mark] = [m for m in page.marks if m["data-vpc"] == vpc]
        assert float(mark["data-gb"]) == pytest.approx(cost["break_even_gb_per_month"], abs=0.05)
    assert max(scales) == pytest.approx(min(scales), rel=0.01)  # one scale: twice as long is twice the money
    total = next(b for b in page.bars if b["data-vpc"] == "total" and b["data-kind"] == "cost")
    assert float(total["data-usd"]) == pytest.approx(
        sum(r["cost"]["endpoints_monthly_usd"] for r in rows.values()), abs=0.02
    )
    # The bigger VPC (3 AZs) costs more than the one-AZ VPC, and its bar is longer.
    assert float(drawn[(big.vpc_id, "cost")]["width"]) > float(drawn[(small.vpc_id, "cost")]["width"])


def test_the_fleet_sweep_writes_the_same_page(ec2, capsys, tmp_path) -> None:
    world = build_vpc(ec2)
    out = tmp_path / "fleet.html"
    assert main(["sweep", "--dry-run", "--json", "--html", str(out)]) == 1
    report = json.loads(capsys.readouterr().out)
    row = next(r for r in report["vpcs"] if r["vpc_id"] == world.vpc_id)
    bar = next(b for b in read(out).bars if b["data-vpc"] == world.vpc_id and b["data-kind"] == "avoided")
    assert float(bar["data-usd"]) == pytest.approx(row["cost"]["nat_processing_avoided_monthly_usd"], abs=0.005)


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome", "headless_shell"):
        if found := shutil.which(name):
            return found
    return None


def _pixels_vary(png: bytes) -> bool:
    """Whether a PNG's decoded rows hold more than one byte value (a blank page is one colour)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    data, at = b"", 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        if kind == b"IDAT":
            data += png[at + 8 : at + 8 + length]
        at += 12 + length
    raw = zlib.decompress(data)
    return len(set(raw[1:20000])) > 2


# .ci/run installs Debian's Chromium when it is missing: in CI the test runs, never skips.
@pytest.mark.skipif(_browser() is None and not os.environ.get("CI"), reason="no headless Chromium on this machine")
def test_headless_chromium_renders_a_page_that_is_not_blank(ec2, capsys, tmp_path) -> None:
    assert _browser() is not None, "CI has no headless Chromium: .ci/run installs Debian's chromium"
    build_vpc(ec2)
    page, shot = tmp_path / "cost.html", tmp_path / "shot.png"
    main(["report", "--html", str(page)])
    browser = _browser()
    assert browser is not None
    subprocess.run(
        [
            browser,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            # No calls home: the machine's network is closed, and the page is a local file.
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=900,700",
            page.as_uri(),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    assert _pixels_vary(shot.read_bytes())

"""The cost picture: one self-contained HTML page (inline SVG and CSS, no external assets) with a bar
chart per VPC (what its endpoints cost a month against the NAT processing they remove, the break-even
marked) and the fleet's total. Pure: rows in (``report``'s or the sweep's), text out.

Every bar carries its figure (``data-usd``) and its width is that figure on the page's one scale, so a
test can read the page back and hold it to the JSON."""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH = 520  # the longest bar, in px
BAR = 16
COLOURS = {"cost": "#c0504d", "avoided": "#4f81bd"}
LABELS = {"cost": "endpoints cost", "avoided": "NAT processing avoided"}


def _bars(key: str, cost: dict[str, Any], scale: float) -> tuple[list[str], int]:
    """The two bars of one chart and the break-even mark, with the chart's height."""
    parts, y = [], 4
    figures = {"cost": cost["endpoints_monthly_usd"], "avoided": cost["nat_processing_avoided_monthly_usd"]}
    for kind, usd in figures.items():
        width = round(usd * scale, 2)
        parts.append(
            f'<rect class="bar" data-vpc="{escape(key)}" data-kind="{kind}" data-usd="{usd:.2f}" x="150" y="{y}" '
            f'width="{width}" height="{BAR}" fill="{COLOURS[kind]}"/>'
            f'<text x="146" y="{y + 12}" text-anchor="end">{LABELS[kind]}</text>'
            f'<text x="{150 + width + 4}" y="{y + 12}">${usd:,.2f}</text>'
        )
        y += BAR + 6
    traffic, break_even = cost.get("traffic_gb_per_month") or 0.0, cost.get("break_even_gb_per_month")
    if break_even is not None and traffic > 0:
        # NAT processing avoided grows with the traffic: at the break-even it equals the endpoints' cost.
        at = round(figures["avoided"] / traffic * break_even * scale, 2)
        parts.append(
            f'<line class="break-even" data-vpc="{escape(key)}" data-gb="{break_even:.1f}" x1="{150 + at}" '
            f'x2="{150 + at}" y1="0" y2="{y}" stroke="#333" stroke-dasharray="4 3"/>'
            f'<text x="{150 + at + 3}" y="{y + 10}" class="note">break-even {break_even:,.0f} GB/month</text>'
        )
        y += 14
    return parts, y + 4


def _chart(key: str, title: str, cost: dict[str, Any], scale: float, pulls: dict[str, int] | None = None) -> str:
    """One VPC's (or the total's) bars, verdict and, when its workloads were read, how many pull through
    the endpoints."""
    bars, height = _bars(key, cost, scale)
    services = ", ".join(
        f"{escape(s['service'])}: {escape(s['verdict'].replace('_', ' '))}" for s in cost.get("services", [])
    )
    through = f"<p>workloads through endpoints {pulls['through_endpoints']}/{pulls['workloads']}</p>" if pulls else ""
    return (
        f'<section class="vpc"><h2>{escape(title)}</h2>'
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH + 260}" height="{height}">'
        f"{''.join(bars)}</svg>"
        f"<p>{escape(cost.get('verdict', ''))}</p>"
        + through
        + (f"<p class='note'>{services}</p>" if services else "")
        + "</section>"
    )


def _pulls(rows: list[dict[str, Any]]) -> dict[str, int] | None:
    read = [r["workloads"] for r in rows if isinstance(r.get("workloads"), dict)]
    if not read:
        return None
    return {k: sum(int(w.get(k, 0)) for w in read) for k in ("through_endpoints", "workloads")}


def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    costs = [r["cost"] for r in rows]
    return {
        "endpoints_monthly_usd": round(sum(c["endpoints_monthly_usd"] for c in costs), 2),
        "nat_processing_avoided_monthly_usd": round(sum(c["nat_processing_avoided_monthly_usd"] for c in costs), 2),
        "verdict": f"{len(costs)} VPC(s)",
    }


def render_html(rows: list[dict[str, Any]], title: str = "endpoint-guard cost report") -> str:
    """The page for ``rows`` (each with ``vpc_id``, optionally ``account`` and ``region``, and ``cost``);
    rows without a cost (skipped, failed) are listed without a chart."""
    priced = [r for r in rows if isinstance(r.get("cost"), dict)]
    total = _total(priced)
    biggest = max(
        [total["endpoints_monthly_usd"], total["nat_processing_avoided_monthly_usd"], 0.01]
        + [
            r["cost"]["nat_processing_avoided_monthly_usd"]
            / max(r["cost"].get("traffic_gb_per_month") or 1, 1e-9)
            * (r["cost"].get("break_even_gb_per_month") or 0)
            for r in priced
        ]
    )
    scale = WIDTH / biggest
    charts = [_chart("total", "Fleet total", total, scale, _pulls(priced))]
    for r in priced:
        where = " ".join(str(r[k]) for k in ("account", "region") if r.get(k))
        pulls = r["workloads"] if isinstance(r.get("workloads"), dict) else None
        charts.append(_chart(r["vpc_id"], f"{r['vpc_id']} {where}".strip(), r["cost"], scale, pulls))
    unpriced = [r for r in rows if not isinstance(r.get("cost"), dict)]
    listed = "".join(
        f"<li>{escape(str(r.get('vpc_id')))}: {escape(str(r.get('skipped') or r.get('error') or 'no cost'))}</li>"
        for r in unpriced
    )
    as_of = priced[0]["cost"].get("prices_as_of", "") if priced else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>"
        "body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
        "h2{font-size:15px;margin:1.2em 0 .3em}text{font:12px system-ui,sans-serif}"
        ".note{color:#666;font-size:12px}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p class='note'>Monthly figures, USD; one scale for every chart; prices as of {escape(str(as_of))}.</p>"
        + "".join(charts)
        + (f"<h2>Not priced</h2><ul>{listed}</ul>" if listed else "")
        + "</body></html>\n"
    )

"""The HTML report of a twin run: one self-contained page (inline SVG, no scripts, no CDN)
with the KPIs, the stock by supply mode and over time per mode, the supply of each mode (line
stops, parts found at the line, on time, the ledger's reservations and shortages), the items
projected short, the line stops by cause and the truck timeline."""

from __future__ import annotations

from datetime import timedelta
from html import escape
from pathlib import Path
from typing import Any

from jisflow.simulation.twin import TwinResult

WIDTH, HEIGHT, PAD = 860, 220, 40
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def render_report(result: TwinResult) -> str:
    """The report page as a string."""
    kpis = result.kpis()
    rows = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
        for k, v in kpis.items() if not isinstance(v, (list, dict))
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>jisflow simulation: {escape(result.scenario)}</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}
th,td{{border:1px solid #ccc;padding:3px 8px;text-align:left}}svg{{background:#fafafa;border:1px solid #ddd}}
text{{font-size:11px}}</style></head><body>
<h1>Simulation of plant {escape(result.plant)}, line {escape(result.line)}</h1>
<p>scenario {escape(result.scenario)}, seed {result.seed}, {escape(kpis['start'])} to {escape(kpis['end'])} (UTC)</p>
<h2>Key figures</h2><table>{rows}</table>
<h2>Stock by supply mode</h2>{_mode_table(kpis)}
<h2>Supply by mode: line stops, parts at the line, on time, ledger</h2>{_supply_table(kpis)}
<h2>Stock-fed items the projection sees running short at the end of the run</h2>{_shortage_table(kpis)}
<h2>Stock over time per supply mode</h2>{_mode_chart(result)}
<h2>JIS parts at the line side and at the dock over time</h2>{_stock_chart(result)}
<h2>Line stops by cause</h2>{_stops_chart(kpis['line_stops'])}
<h2>Truck timeline</h2>{_truck_chart(result)}
</body></html>
"""


def write_report(result: TwinResult, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(render_report(result), encoding="utf-8")
    return path


def _x(t: int, t0: int, t1: int) -> float:
    return PAD + (WIDTH - 2 * PAD) * (t - t0) / max(t1 - t0, 1)


def _stock_chart(result: TwinResult) -> str:
    if not result.series:
        return "<p>no samples</p>"
    t0, t1 = result.series[0][0], result.series[-1][0]
    top = max(max(s[1], s[2]) for s in result.series) or 1

    def y(v: int) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top

    line_side = " ".join(f"{_x(t, t0, t1):.1f},{y(v):.1f}" for t, v, _ in result.series)
    dock = " ".join(f"{_x(t, t0, t1):.1f},{y(d):.1f}" for t, _, d in result.series)
    return (
        f'<svg width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="stock over time">'
        f'<polyline fill="none" stroke="{COLOURS[0]}" stroke-width="2" points="{line_side}"/>'
        f'<polyline fill="none" stroke="{COLOURS[1]}" stroke-width="1" points="{dock}"/>'
        f'<text x="{PAD}" y="15">parts line side (blue), waiting at the dock (orange); peak {top}</text>'
        f'<text x="{PAD}" y="{HEIGHT - 10}">{escape(_clock(result, t0))}</text>'
        f'<text x="{WIDTH - PAD - 80}" y="{HEIGHT - 10}">{escape(_clock(result, t1))}</text></svg>'
    )


def _mode_table(kpis: dict[str, Any]) -> str:
    head = "<tr><th>mode</th><th>families</th><th>avg stock</th><th>peak stock</th><th>handling touches</th><th>emergency deliveries</th></tr>"
    rows = "".join(
        f"<tr><td>{escape(mode)}</td><td>{m['families']}</td><td>{m['avg_stock']}</td><td>{m['peak_stock']}</td><td>{m['handling_touches']}</td><td>{m['emergency_deliveries']}</td></tr>"
        for mode, m in kpis["by_mode"].items()
    )
    return f"<table>{head}{rows}</table>"


def _supply_table(kpis: dict[str, Any]) -> str:
    """Per supply mode: the line stops its families caused, the parts the line found at the
    line side, what was on time (JIS parts in sequence, JIT calls by their window) and the
    ledger of the stock-fed parts (open and backflushed reservations, shortage alerts)."""
    head = ("<tr><th>mode</th><th>line-stop minutes</th><th>stops</th><th>parts needed</th><th>found at the line side</th>"
            "<th>on time</th><th>reservations open / backflushed</th><th>shortage alerts</th><th>items projected short</th></tr>")
    rows = []
    for mode, m in kpis["by_mode"].items():
        if "on_time_in_sequence" in m:
            on_time = f"{m['on_time_in_sequence']} in sequence ({m['parts_due']} parts due)"
        elif "on_time" in m:
            on_time = f"{m['on_time']} ({m['calls_on_time']} of {m['calls_due']} calls)"
        else:
            on_time = "-"
        ledger = f"{m['reservations']} / {m['backflushed']}" if "reservations" in m else "-"
        rows.append(
            f"<tr><td>{escape(mode)}</td><td>{m['line_stop_minutes']}</td><td>{m['line_stops']}</td><td>{m['parts_needed']}</td>"
            f"<td>{m['parts_available']} ({m['availability']})</td><td>{escape(on_time)}</td><td>{ledger}</td>"
            f"<td>{m.get('shortage_alerts', '-')}</td><td>{m.get('projected_shortages', '-')}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _shortage_table(kpis: dict[str, Any]) -> str:
    shortages = kpis["projected_shortages"]
    if not shortages:
        return "<p>the projection sees no stock-fed item running short</p>"
    head = "<tr><th>item</th><th>family</th><th>mode</th><th>first shortage (UTC)</th><th>vehicle</th><th>seq</th><th>short</th><th>line-stop risk min</th></tr>"
    rows = "".join(
        f"<tr><td>{escape(k['item'])}</td><td>{escape(k['family'])}</td><td>{escape(k['mode'])}</td><td>{escape(k['first_shortage_at'])}</td>"
        f"<td>{escape(k['order_id'] or '-')}</td><td>{k['seq_no'] if k['seq_no'] is not None else '-'}</td><td>{k['short_quantity']}</td><td>{k['line_stop_risk_minutes']}</td></tr>"
        for k in shortages
    )
    return f"<table>{head}{rows}</table>"


def _mode_chart(result: TwinResult) -> str:
    """One strip per stock category (mode and place), each on its own scale, in pieces, over
    the sampled run: bolts by the thousand and seat sets by the dozen stay readable together."""
    samples = result.level_series
    if not samples:
        return "<p>no samples</p>"
    categories = sorted({k for _, levels in samples for k in levels})
    if not categories:
        return "<p>no stock</p>"
    t0, t1 = samples[0][0], samples[-1][0]
    strip = 56
    parts = []
    for i, cat in enumerate(categories):
        colour = COLOURS[i % len(COLOURS)]
        top = max(levels.get(cat, 0) for _, levels in samples) or 1
        base = 10 + i * strip + strip - 12
        points = " ".join(f"{_x(t, t0, t1) + 120:.1f},{base - (strip - 20) * levels.get(cat, 0) / top:.1f}" for t, levels in samples)
        parts.append(f'<text x="5" y="{base - 14}">{escape(cat)}</text><text x="5" y="{base}">peak {top}</text>'
                     f'<line x1="{PAD + 120}" y1="{base}" x2="{WIDTH - PAD + 120}" y2="{base}" stroke="#ccc"/>'
                     f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"><title>{escape(cat)}</title></polyline>')
    height = 20 + strip * len(categories)
    return (
        f'<svg width="{WIDTH + 120}" height="{height + 16}" role="img" aria-label="stock over time per supply mode">{"".join(parts)}'
        f'<text x="{PAD + 120}" y="{height + 10}">{escape(_clock(result, t0))}</text>'
        f'<text x="{WIDTH - PAD + 40}" y="{height + 10}">{escape(_clock(result, t1))}</text></svg>'
    )


def _stops_chart(stops: list[dict[str, Any]]) -> str:
    if not stops:
        return "<p>the line never stopped</p>"
    stops = [s for s in stops if s["minutes"] > 0] or stops
    top = max(s["minutes"] for s in stops) or 1
    bar = 22
    height = PAD + bar * len(stops)
    parts = []
    for i, s in enumerate(stops):
        label = s["cause"] if s["supplier"] is None else f"{s['supplier']} / {s['family']}" + ("" if s["cause"] == "supplier" else f" ({s['cause']})")
        w = (WIDTH - 300) * s["minutes"] / top
        y = 10 + i * bar
        parts.append(f'<text x="5" y="{y + 14}">{escape(label)}</text>'
                     f'<rect x="220" y="{y}" width="{w:.1f}" height="{bar - 6}" fill="{COLOURS[3]}"/>'
                     f'<text x="{225 + w:.1f}" y="{y + 14}">{s["minutes"]} min ({s["stops"]} stops)</text>')
    return f'<svg width="{WIDTH}" height="{height}" role="img" aria-label="line stops">{"".join(parts)}</svg>'


def _truck_chart(result: TwinResult) -> str:
    if not result.trucks:
        return "<p>no trucks</p>"
    suppliers = sorted({t.supplier for t in result.trucks})
    t0 = min(t.departed_at for t in result.trucks)
    t1 = max(t.arrived_at for t in result.trucks)
    lane = 22
    height = PAD + lane * len(suppliers)
    parts = []
    for i, code in enumerate(suppliers):
        y = 10 + i * lane
        parts.append(f'<text x="5" y="{y + 14}">{escape(code)}</text>')
        for t in (t for t in result.trucks if t.supplier == code):
            x0, x1 = _x(t.departed_at, t0, t1) + 60, _x(t.arrived_at, t0, t1) + 60
            colour = COLOURS[3] if t.emergency else COLOURS[i % len(COLOURS)]
            what = "emergency delivery" if t.emergency else f"{t.parts} parts"
            parts.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1):.1f}" height="{lane - 8}" '
                         f'fill="{colour}" fill-opacity="0.6"><title>{what}</title></rect>')
    return f'<svg width="{WIDTH + 60}" height="{height}" role="img" aria-label="truck timeline">{"".join(parts)}</svg>'


def _clock(result: TwinResult, t: int) -> str:
    return f"{result.origin + timedelta(seconds=t):%Y-%m-%d %H:%M}Z"

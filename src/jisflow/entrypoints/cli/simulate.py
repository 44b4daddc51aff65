"""``jisflow simulate``: run a scenario through the digital twin and show its KPIs."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from jisflow.entrypoints.cli.common import console, reports_errors


@reports_errors
def simulate(
    scenario: Path = typer.Argument(..., help="Scenario file (YAML)."),
    seed: int = typer.Option(None, "--seed", help="Override the scenario's seed."),
    as_json: bool = typer.Option(False, "--json", help="Print the KPIs as JSON."),
    report: Path = typer.Option(None, "--report", help="Write a self-contained HTML report to this file."),
) -> None:
    """Simulate a plant and its JIS suppliers through the real services; report line stops,
    on-time-in-sequence, stock and trucks."""
    from jisflow.simulation.report import write_report
    from jisflow.simulation.scenario import load_scenario
    from jisflow.simulation.twin import simulate as run

    loaded = load_scenario(scenario)
    if seed is not None:
        loaded = loaded.with_seed(seed)
    result = run(loaded)
    kpis = result.kpis()
    if report is not None:
        write_report(result, report)
    if as_json:
        print(json.dumps(kpis, indent=2))
        return
    table = Table("KPI", "value", title=f"simulation of {kpis['plant']} line {kpis['line']} (seed {kpis['seed']})")
    for key, value in kpis.items():
        if not isinstance(value, (list, dict)):
            table.add_row(key, str(value))
    console.print(table)
    stops = Table("cause", "supplier", "family", "stops", "minutes", title="line stops")
    for s in kpis["line_stops"]:
        stops.add_row(s["cause"], s["supplier"] or "-", s["family"] or "-", str(s["stops"]), str(s["minutes"]))
    console.print(stops)
    if report is not None:
        console.print(f"report written to {report}")

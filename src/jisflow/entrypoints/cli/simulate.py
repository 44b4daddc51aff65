"""``jisflow simulate``: run a scenario through the digital twin and show its KPIs;
``jisflow simulate compare``: the same scenario under other supply modes or parameter values,
on common random numbers, with confidence intervals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from jisflow.domain.errors import ValidationError
from jisflow.entrypoints.cli.common import console, reports_errors


class _RunByDefault(TyperGroup):
    """``jisflow simulate SCENARIO ...`` runs a scenario; ``jisflow simulate compare ...``
    compares variants of it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


simulate_app = typer.Typer(
    cls=_RunByDefault, no_args_is_help=True,
    help="Digital twin: simulate a plant and its suppliers through the real services (SCENARIO runs one; 'compare' compares variants).",
)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True)


def _run_parallel(variants: dict, replications: int, scheduler: str | None, quiet: bool) -> dict[str, list[dict[str, Any]]]:
    from jisflow.simulation.montecarlo import replicate

    total = replications * len(variants)
    if quiet:
        return replicate(variants, replications, scheduler=scheduler)
    with _progress() as progress:
        task = progress.add_task(f"{total} replication(s) on Dask", total=total)
        return replicate(variants, replications, scheduler=scheduler, on_done=lambda label, seed: progress.advance(task))


def _fmt(d: dict[str, Any]) -> str:
    if d["half_width"] is None:
        return f"{d['mean']:g}"
    return f"{d['mean']:g} ± {d['half_width']:g}"


@simulate_app.command("run")
@reports_errors
def simulate(
    scenario: Path = typer.Argument(..., help="Scenario file (YAML)."),
    seed: int = typer.Option(None, "--seed", help="Override the scenario's seed."),
    replications: int = typer.Option(1, "--replications", "-n", min=1, help="Runs with seeds seed, seed+1, ... in parallel on Dask; report means with 95 % intervals."),
    scheduler: str = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler (default: a local cluster)."),
    as_json: bool = typer.Option(False, "--json", help="Print the KPIs as JSON."),
    report: Path = typer.Option(None, "--report", help="Write a self-contained HTML report of the (first) run to this file."),
) -> None:
    """Simulate a scenario through the real services: line stops and causes, sequence, stock, space, touches, emergencies, trucks.

    SCENARIO is a scenario file; with --replications N the seeds seed..seed+N-1 run in
    parallel on Dask and the means come with 95 % confidence intervals."""
    from jisflow.simulation.report import write_report
    from jisflow.simulation.scenario import load_scenario
    from jisflow.simulation.twin import simulate as run

    loaded = load_scenario(scenario)
    if seed is not None:
        loaded = loaded.with_seed(seed)
    if replications > 1:
        from jisflow.simulation.montecarlo import summarise

        runs = _run_parallel({"scenario": loaded}, replications, scheduler, as_json)["scenario"]
        summary = {"scenario": loaded.name, "plant": loaded.plant.code, "line": loaded.line, **summarise(runs)}
        if report is not None:
            write_report(run(loaded), report)
        if as_json:
            print(json.dumps(summary, indent=2))
            return
        table = Table("KPI", "mean ± 95 % CI", title=f"{replications} replications of {loaded.name} (seeds {loaded.seed}..{loaded.seed + replications - 1})")
        for key, value in summary["kpis"].items():
            table.add_row(key, _fmt(value))
        p = summary["p_line_stop"]
        table.add_row("P(at least one line stop)", f"{p['p']:g} [{p['ci_low']:g}, {p['ci_high']:g}]")
        console.print(table)
        causes = Table("cause", "mean minutes", title="line stops by cause")
        for cause, minutes in summary["line_stop_minutes_by_cause"].items():
            causes.add_row(cause, f"{minutes:g}")
        console.print(causes)
        if report is not None:
            console.print(f"report of seed {loaded.seed} written to {report}")
        return
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
    modes = Table("mode", "families", "avg stock", "peak stock", "touches", "emergencies", title="by supply mode")
    for mode, m in kpis["by_mode"].items():
        modes.add_row(mode, str(m["families"]), str(m["avg_stock"]), str(m["peak_stock"]), str(m["handling_touches"]), str(m["emergency_deliveries"]))
    console.print(modes)
    supply = Table("mode", "stop minutes", "found at line", "on time", "reservations", "shortage alerts", title="supply by mode")
    for mode, m in kpis["by_mode"].items():
        on_time = m.get("on_time_in_sequence", m.get("on_time"))
        supply.add_row(mode, f"{m['line_stop_minutes']} ({m['line_stops']} stops)", f"{m['parts_available']} of {m['parts_needed']}",
                       "-" if on_time is None else str(on_time), str(m.get("reservations", "-")), str(m.get("shortage_alerts", "-")))
    console.print(supply)
    if kpis["projected_shortages"]:
        short = Table("item", "mode", "first shortage (UTC)", "vehicle", "short", "line-stop risk min", title="projected shortages at the end of the run")
        for k in kpis["projected_shortages"]:
            short.add_row(k["item"], k["mode"], k["first_shortage_at"], k["order_id"] or "-", str(k["short_quantity"]), str(k["line_stop_risk_minutes"]))
        console.print(short)
    stops = Table("cause", "supplier", "family", "stops", "minutes", title="line stops")
    for s in kpis["line_stops"]:
        stops.add_row(s["cause"], s["supplier"] or "-", s["family"] or "-", str(s["stops"]), str(s["minutes"]))
    console.print(stops)
    if report is not None:
        console.print(f"report written to {report}")


def _value(text: str) -> Any:
    """A variant's value as YAML reads it (numbers, booleans, mappings), else the text."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


@simulate_app.command("compare")
@reports_errors
def compare(
    scenario: Path = typer.Argument(..., help="Scenario file (YAML); the baseline."),
    modes: str = typer.Option(None, "--modes", help="Supply modes to compare, the first the baseline: every family with a supplier switched to each (e.g. JIS,JIT,STOCK)."),
    variant: list[str] = typer.Option(None, "--variant", help="A variant KEY=VALUE against the scenario as is (dotted field path, e.g. suppliers.SITZ.truck_interval_minutes=90); repeatable."),
    replications: int = typer.Option(5, "--replications", "-n", min=2, help="Replications per variant (the same seeds for every variant)."),
    seed: int = typer.Option(None, "--seed", help="First seed (default: the scenario's)."),
    scheduler: str = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler (default: a local cluster)."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Compare supply modes or parameter variants of a scenario on common random numbers.

    Each KPI's mean difference to the baseline comes with a paired-t 95 % confidence
    interval (the same seeds for every variant)."""
    from jisflow.simulation.montecarlo import compare as paired
    from jisflow.simulation.scenario import load_scenario

    base = load_scenario(scenario)
    if seed is not None:
        base = base.with_seed(seed)
    variants: dict[str, Any] = {}
    if modes and variant:
        raise ValidationError("compare either --modes or --variant, not both")
    if modes:
        for mode in [m.strip().upper() for m in modes.split(",") if m.strip()]:
            if mode not in ("JIS", "JIT", "KANBAN", "STOCK"):
                raise ValidationError(f"--modes: {mode!r} is not a supply mode (JIS, JIT, KANBAN, STOCK)")
            variants[mode] = base.with_mode(mode)
        if len(variants) < 2:
            raise ValidationError("--modes needs at least two supply modes to compare")
    else:
        if not variant:
            raise ValidationError("give --modes or at least one --variant KEY=VALUE to compare with the scenario")
        variants["baseline"] = base
        for text in variant:
            key, sep, value = text.partition("=")
            if not sep or not key.strip():
                raise ValidationError(f"--variant {text!r} is not KEY=VALUE")
            variants[text] = base.with_variant(key.strip(), _value(value.strip()))
    results = _run_parallel(variants, replications, scheduler, as_json)
    baseline = next(iter(variants))
    outcome = paired(results, baseline)
    outcome = {"scenario": base.name, "replications": replications, "seeds": [base.seed + i for i in range(replications)], **outcome}
    if as_json:
        print(json.dumps(outcome, indent=2))
        return
    labels = list(variants)
    table = Table("KPI", *[f"{label}{' (baseline)' if label == baseline else ''}" for label in labels],
                  *[f"{label} - {baseline}" for label in labels[1:]],
                  title=f"{base.name}: {replications} replications per variant, common random numbers; mean ± 95 % CI")
    summaries = outcome["summaries"]
    for key in summaries[baseline]["kpis"]:
        cells = [_fmt(summaries[label]["kpis"][key]) for label in labels]
        for label in labels[1:]:
            d = outcome["differences"][label][key]
            text = f"{d['mean']:+g} [{d['ci_low']:+g}, {d['ci_high']:+g}]"
            cells.append(f"[bold]{text}[/]" if d["significant"] else text)
        table.add_row(key, *cells)
    row = [f"{summaries[label]['p_line_stop']['p']:g}" for label in labels] + ["" for _ in labels[1:]]
    table.add_row("P(at least one line stop)", *row)
    console.print(table)
    console.print("differences in bold: the 95 % interval excludes zero")

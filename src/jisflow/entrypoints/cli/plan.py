"""``jisflow plan``: sequence planning from the command line.

``jisflow plan sequence FILE --format csplib|roadef`` reads a benchmark instance (a CSPLib
file, or a ROADEF 2005 instance folder), runs the local search for ``--time-limit`` seconds and
writes ``--output OUT.json``:

* ``sequence``: CSPLib -- the class index of each car, in order; ROADEF -- the ``Ident`` of
  each day-D vehicle, in order;
* ``objective``: the components (excess per priority, colour changes, violated windows, paint
  batch overflow) and the weighted total, recomputed by the independent evaluator;
* ``instance``, ``format``, ``seed``, ``time_limit``, ``elapsed``, ``moves``.

Anyone can check the solution from the instance file alone.
"""

from __future__ import annotations

import enum
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from jisflow.domain.errors import ValidationError
from jisflow.optimization.csplib import read_csplib
from jisflow.optimization.instance import Instance
from jisflow.optimization.roadef import read_roadef
from jisflow.optimization.search import Solution, solve

app = typer.Typer(help="Plan the pearl chain: optimise the sequence of vehicles.", no_args_is_help=True)


@app.callback()
def plan() -> None:
    """Plan the pearl chain: optimise the sequence of vehicles."""


class Format(str, enum.Enum):
    CSPLIB = "csplib"
    ROADEF = "roadef"


def _load(file: Path, fmt: Format, name: str | None) -> Instance:
    if fmt == Format.CSPLIB:
        return read_csplib(file, instance=name)
    if name is not None:
        raise ValidationError("--instance applies to CSPLib files only; a ROADEF instance is a folder")
    return read_roadef(file)


def _report(instance: Instance, fmt: Format, solution: Solution, seed: int, time_limit: float) -> dict:
    if fmt == Format.CSPLIB:
        names = instance.class_names or tuple(str(c) for c in range(len(instance.classes)))
        sequence: list = [int(names[c]) for c in solution.sequence]
    else:
        sequence = instance.ids_for(solution.sequence)
    evaluation = solution.evaluation
    return {
        "instance": instance.name,
        "format": fmt.value,
        "sequence": sequence,
        "objective": {
            "components": evaluation.components(),
            "excess_per_constraint": {r.name: e for r, e in zip(instance.constraints, evaluation.excess, strict=True)},
            "weights": {component.value: weight for component, weight in instance.objective},
            "weighted_total": evaluation.total,
            "feasible": evaluation.feasible,
        },
        "seed": seed,
        "time_limit": time_limit,
        "elapsed": round(solution.elapsed, 3),
        "moves": solution.moves,
    }


@app.command()
def sequence(
    file: Path | None = typer.Argument(None, help="CSPLib file, or ROADEF 2005 instance folder (or use --line)"),
    fmt: Format | None = typer.Option(None, "--format", help="input format of FILE"),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.0, help="seconds of search"),
    seed: int = typer.Option(0, "--seed", help="random seed of the search"),
    output: Path | None = typer.Option(None, "--output", help="write the solution as JSON here"),
    instance_name: str | None = typer.Option(
        None, "--instance", help="instance name in a CSPLib file holding several (e.g. 4/72, 60-01)"
    ),
    line: str | None = typer.Option(None, "--line", "-l", help="re-plan the unfrozen tail of this line's stored pearl chain"),
    apply: bool = typer.Option(False, "--apply", help="with --line: apply the new order (else only report it)"),
    db: str | None = typer.Option(None, "--db", envvar="JISFLOW_DATABASE_URL", help="database URL (with --line)"),
) -> None:
    """Sequence the cars of a benchmark instance (FILE --format), or re-plan a line's
    unfrozen tail (--line), and report the objective."""
    err = Console(stderr=True)
    if line is not None:
        if file is not None:
            raise typer.BadParameter("give either FILE or --line, not both")
        _plan_line(line, time_limit, seed, apply, db, output)
        return
    if file is None or fmt is None:
        raise typer.BadParameter("give FILE with --format csplib|roadef, or --line LINE")
    try:
        instance = _load(file, fmt, instance_name)
    except ValidationError as exc:
        err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(code=2) from exc
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("best {task.fields[best]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(f"sequencing {instance.name} ({instance.n} cars)", total=max(time_limit, 1e-9), best="-")
        solution = solve(
            instance,
            time_limit=time_limit,
            seed=seed,
            progress=lambda elapsed, best: bar.update(task, completed=min(elapsed, time_limit), best=f"{best:,}"),
        )
    report = _report(instance, fmt, solution, seed, time_limit)
    if output is not None:
        output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    components = report["objective"]["components"]
    parts = ", ".join(f"{key} {value}" for key, value in components.items() if value or key == "high_ratio")
    typer.echo(
        f"{instance.name}: {instance.n} cars, objective {report['objective']['weighted_total']:,} ({parts}), "
        f"{'feasible' if solution.evaluation.feasible else 'paint batch limit broken'}, {solution.elapsed:.2f} s"
        + (f", written to {output}" if output is not None else "")
    )


def _plan_line(line: str, time_limit: float, seed: int, apply: bool, db: str | None, output: Path | None) -> None:
    """Re-plan the unfrozen tail of a stored pearl chain with the line's sequencing rules,
    keeping the frozen zone and moving as few vehicles as the better objective allows."""
    from jisflow.domain.errors import JisflowError
    from jisflow.entrypoints.cli.common import app_for, err_console
    from jisflow.services.planning import ReplanSequence

    jf = app_for(db)
    try:
        outcome = jf.bus.handle(ReplanSequence(line, time_limit=max(time_limit, 0.1), seed=seed, apply=apply, actor="cli"))
    except JisflowError as exc:
        err_console.print(f"[bold red]error[/] ({exc.code}): {exc.message}", highlight=False)
        for problem in exc.problems:
            err_console.print(f"  - {problem}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    if apply:
        jf.relay()
    plan = outcome.details["plan"]
    report = {
        "line": plan.line, "frozen": plan.frozen, "planned": plan.planned, "moved": plan.moved,
        "before": plan.before, "after": plan.after, "applied": plan.applied,
        "calloff_lines_amended": outcome.lines_changed,
    }
    if output is not None:
        output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    typer.echo(
        f"line {line}: {plan.planned} planned, {plan.frozen} frozen kept; objective {plan.before['total']:,} -> {plan.after['total']:,} "
        f"(high ratio {plan.before['high_ratio']} -> {plan.after['high_ratio']}, colour changes {plan.before['colour_changes']} -> {plan.after['colour_changes']}); "
        f"{len(plan.moved)} vehicle(s) move"
        + (f", applied: {outcome.lines_changed} call-off line(s) amended" if plan.applied else " (not applied: add --apply)")
    )

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
    file: Path = typer.Argument(..., help="CSPLib file, or ROADEF 2005 instance folder"),
    fmt: Format = typer.Option(..., "--format", help="input format"),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.0, help="seconds of search"),
    seed: int = typer.Option(0, "--seed", help="random seed of the search"),
    output: Path | None = typer.Option(None, "--output", help="write the solution as JSON here"),
    instance_name: str | None = typer.Option(
        None, "--instance", help="instance name in a CSPLib file holding several (e.g. 4/72, 60-01)"
    ),
) -> None:
    """Sequence the cars of a benchmark instance and report the objective."""
    err = Console(stderr=True)
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

"""Car sequencing benchmark: jisflow's local search against a plain CP-SAT model, side by side.

Sets (data in ``shared/benchmarks/car_sequencing``, see its SOURCES.md):

* ``csplib70``  the 70 satisfiable 200-car CSPLib instances (solved = zero violations);
* ``classic9``  the nine classic 100-car CSPLib instances (best known bounds in result1.md);
* ``gagne``     the 30 instances of ProblemDataSet200to400;
* ``roadefA``, ``roadefX``  the ROADEF 2005 sets A and X (score 1,000,000 / 1,000 / 1).

Both solvers get the same time limit per instance and run one after the other, never at the
same time. Every solution is checked by the independent evaluator; violations are reported as
the excess over p summed over all windows and as the number of violated windows. The table goes
to ``benchmarks/results/car_sequencing.md`` and the last line printed is::

    RESULT car_sequencing csplib70_solved=<n>/70 classic9_excess=<sum> beats_cpsat=<wins>/<instances>

The full run takes about an hour on two cores; ``--sets``, ``--limit`` and the time limits
select a smaller one (the report states what was run).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from jisflow.optimization import _kernel
from jisflow.optimization.cpsat import solve_cpsat
from jisflow.optimization.csplib import list_csplib
from jisflow.optimization.instance import Instance
from jisflow.optimization.objective import Evaluation
from jisflow.optimization.roadef import read_roadef
from jisflow.optimization.search import solve, warm_up

SETS = ("csplib70", "classic9", "gagne", "roadefA", "roadefX")
CLASSIC_BEST = {"4/72": 0, "6/76": 6, "10/93": 3, "16/81": 0, "19/71": 2, "21/90": 2, "36/92": 2, "41/66": 0, "26/82": 0}
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    set: str
    instance: Instance
    ours: Evaluation | None
    ours_time: float
    cpsat: Evaluation | None
    cpsat_status: str
    cpsat_time: float
    best_known: str

    @property
    def roadef(self) -> bool:
        return self.set.startswith("roadef")

    def score(self, evaluation: Evaluation | None) -> float:
        """What is compared: the ROADEF score, or the excess for CSPLib (infeasible: infinite)."""
        if evaluation is None or not evaluation.feasible:
            return float("inf")
        return evaluation.total if self.roadef else evaluation.high_ratio

    @property
    def beats_or_ties(self) -> bool:
        return self.score(self.ours) <= self.score(self.cpsat)


def default_data() -> Path:
    env = os.environ.get("JISFLOW_BENCH_DATA")
    if env:
        return Path(env)
    for base in (ROOT.parent / "shared", ROOT / "shared", ROOT.parent.parent / "shared"):
        if (base / "benchmarks" / "car_sequencing").is_dir():
            return base / "benchmarks" / "car_sequencing"
    return ROOT.parent / "shared" / "benchmarks" / "car_sequencing"


def instances(data: Path, name: str) -> list[tuple[Instance, str]]:
    if name in ("csplib70", "classic9"):
        every = list_csplib(data / "csplib" / "data.txt")
        if name == "csplib70":
            return [(i, "0") for i in every if "/" not in i.name]
        return [(i, str(CLASSIC_BEST.get(i.name, "?"))) for i in every if "/" in i.name]
    if name == "gagne":
        files = sorted((data / "csplib" / "ProblemDataSet200to400").glob("pb_*.txt"))
        return [(list_csplib(f)[0], "-") for f in files]
    folder = data / "roadef2005" / f"Instances_set_{name[-1]}"
    return [(read_roadef(d), "-") for d in sorted(folder.iterdir()) if d.is_dir()]


def describe(row: Row, evaluation: Evaluation | None, status: str = "") -> str:
    if evaluation is None:
        return status or "no solution"
    if not evaluation.feasible:
        return f"paint limit broken ({evaluation.paint_excess})"
    if row.roadef:
        return f"{evaluation.total:,} ({evaluation.high_ratio}/{evaluation.colour_changes}/{evaluation.low_ratio})"
    return f"{evaluation.high_ratio} / {sum(evaluation.violated_windows)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, among {', '.join(SETS)}")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance and solver")
    parser.add_argument("--classic-time-limit", type=float, default=60.0, help="seconds for the classic9 set")
    parser.add_argument("--limit", type=int, default=0, help="run only the first N instances of each set")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers")
    parser.add_argument("--no-cpsat", action="store_true", help="run jisflow only")
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "car_sequencing.md")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SETS]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}")
    warm_up()
    rows: list[Row] = []
    for set_name in chosen:
        todo = instances(args.data, set_name)
        if args.limit:
            todo = todo[: args.limit]
        limit = args.classic_time_limit if set_name == "classic9" else args.time_limit
        for instance, best in todo:
            ours = solve(instance, time_limit=limit, seed=args.seed)
            row = Row(set_name, instance, ours.evaluation, ours.elapsed, None, "skipped", 0.0, best)
            if not args.no_cpsat:
                ref = solve_cpsat(instance, time_limit=limit, seed=args.seed, workers=args.workers, hard=set_name == "csplib70")
                row.cpsat, row.cpsat_status, row.cpsat_time = ref.evaluation, ref.status, ref.elapsed
            rows.append(row)
            print(
                f"{set_name:9} {instance.name:34} jisflow {describe(row, row.ours):28} {row.ours_time:6.2f}s"
                f"   cp-sat {describe(row, row.cpsat, row.cpsat_status):28} {row.cpsat_time:6.2f}s",
                file=sys.stderr,
                flush=True,
            )
    write_report(args, chosen, rows)
    csplib = [r for r in rows if r.set == "csplib70"]
    solved = sum(1 for r in csplib if r.ours is not None and r.ours.high_ratio == 0)
    classic = sum(r.ours.high_ratio for r in rows if r.set == "classic9" and r.ours is not None)
    compared = [r for r in rows if not args.no_cpsat]
    wins = sum(1 for r in compared if r.beats_or_ties)
    print(f"RESULT car_sequencing csplib70_solved={solved}/{len(csplib)} classic9_excess={classic} beats_cpsat={wins}/{len(compared)}")
    return 0


def write_report(args: argparse.Namespace, chosen: list[str], rows: list[Row]) -> None:
    lines = [
        "# Car sequencing: jisflow local search vs plain CP-SAT",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} ({os.cpu_count()} CPUs), Python {platform.python_version()}, "
        f"numba kernels: {'yes' if _kernel.HAVE_NUMBA else 'no (pure Python)'}.",
        f"Sets: {', '.join(chosen)}" + (f" (first {args.limit} instances of each)" if args.limit else "") + ".",
        f"Time limit per instance and solver: {args.time_limit:g} s"
        + (f", classic9 {args.classic_time_limit:g} s" if "classic9" in chosen else "")
        + f"; seed {args.seed}; CP-SAT {args.workers} workers"
        + (" (CP-SAT not run)" if args.no_cpsat else "")
        + "; the two solvers ran one after the other.",
        "",
        "CSPLib cells: excess over p summed over windows / number of violated windows "
        "(csplib70 CP-SAT: hard windows, feasible = 0). ROADEF cells: score 1,000,000 / 1,000 / 1 "
        "(high priority excess / colour changes / low priority excess). All solutions were verified "
        "by the independent evaluator. Time: seconds until the solver stopped (jisflow stops at zero).",
        "",
        "| set | instance | cars | jisflow | s | CP-SAT | s | best known | jisflow <= CP-SAT |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.set} | {r.instance.name} | {r.instance.n} | {describe(r, r.ours)} | {r.ours_time:.2f} | "
            f"{describe(r, r.cpsat, r.cpsat_status)} | {r.cpsat_time:.2f} | {r.best_known} | "
            f"{'yes' if r.beats_or_ties else 'NO'} |"
        )
    csplib = [r for r in rows if r.set == "csplib70"]
    lines += ["", "## Summary", ""]
    if csplib:
        ours = sum(1 for r in csplib if r.ours and r.ours.high_ratio == 0)
        theirs = sum(1 for r in csplib if r.cpsat and r.cpsat.high_ratio == 0)
        lines.append(f"- csplib70 solved: jisflow {ours}/{len(csplib)}, CP-SAT {theirs}/{len(csplib)}")
    classic = [r for r in rows if r.set == "classic9"]
    if classic:
        lines.append(
            f"- classic9 excess sum: jisflow {sum(r.ours.high_ratio for r in classic if r.ours)}, "
            f"best known {sum(CLASSIC_BEST.get(r.instance.name, 0) for r in classic)}"
        )
    if not args.no_cpsat:
        lines.append(f"- jisflow beats or ties CP-SAT on {sum(r.beats_or_ties for r in rows)}/{len(rows)} instances")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())

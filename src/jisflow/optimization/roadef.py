"""Reader for the ROADEF 2005 (Renault) car sequencing instances.

An instance is a folder of four ';'-separated files:

* ``optimization_objectives.txt``: ``rank;objective name;`` -- the lexicographic order of
  ``high_priority_level_and_easy_to_satisfy_ratio_constraints`` (or ``..._difficult_...``),
  ``paint_color_batches`` and ``low_priority_level_ratio_constraints``. The score is
  1,000,000 x first + 1,000 x second + third.
* ``paint_batch_limit.txt``: the most cars of one colour in a row (a hard constraint).
* ``ratios.txt``: ``Ratio;Prio;Ident;`` -- ``N/P`` (at most N cars in any P), 1 high / 0 low.
* ``vehicles.txt``: ``Date;SeqRank;Ident;Paint Color;<one 0/1 column per ratio>``. The rows of
  the earlier date are the end of day D-1 (fixed); those of the later date are day D.

Windows overlapping day D-1 and the shorter windows at the end of day D are counted
(``end_windows``), and a colour change is counted between the last car of D-1 and the first of D.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jisflow.domain.errors import ProblemCollector, ValidationError
from jisflow.optimization.instance import (
    ROADEF_WEIGHTS,
    CarClass,
    Component,
    Instance,
    Priority,
    RatioConstraint,
)

OBJECTIVE_NAMES = {
    "high_priority_level_and_easy_to_satisfy_ratio_constraints": Component.HIGH_RATIO,
    "high_priority_level_and_difficult_to_satisfy_ratio_constraints": Component.HIGH_RATIO,
    "paint_color_batches": Component.COLOUR_CHANGES,
    "low_priority_level_ratio_constraints": Component.LOW_RATIO,
}
FILES = ("optimization_objectives.txt", "paint_batch_limit.txt", "ratios.txt", "vehicles.txt")


@dataclass(frozen=True)
class _Row:
    number: int
    cells: list[str]


def _rows(path: Path, problems: ProblemCollector) -> list[_Row] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.add(str(path), f"cannot be read: {exc.strerror or exc}")
        return None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(";")]
        if cells and cells[-1] == "":
            cells.pop()
        rows.append(_Row(number, cells))
    if not rows:
        problems.add(str(path), "is empty")
        return None
    return rows


def _int(text: str, where: str, what: str, problems: ProblemCollector) -> int | None:
    try:
        return int(text)
    except ValueError:
        problems.add(where, f"{what} must be an integer, found {text!r}")
        return None


def read_roadef(folder: str | Path) -> Instance:
    """Read a ROADEF 2005 instance folder.

    Raises :class:`ValidationError` listing every problem found, each naming the file and line.
    """
    folder = Path(folder)
    problems = ProblemCollector()
    if not folder.is_dir():
        raise ValidationError(f"{folder} is not a ROADEF instance folder (expected {', '.join(FILES)})")
    objective = _objectives(folder / FILES[0], problems)
    limit = _paint_limit(folder / FILES[1], problems)
    constraints = _ratios(folder / FILES[2], problems)
    vehicles = _vehicles(folder / FILES[3], constraints, problems)
    problems.raise_if_any(f"{folder} is not a valid ROADEF 2005 instance")
    assert objective is not None and constraints is not None and vehicles is not None
    tail_rows, day_rows = vehicles
    classes: list[CarClass] = []
    index: dict[CarClass, int] = {}
    cars: list[int] = []
    for _, car in day_rows:
        if car not in index:
            index[car] = len(classes)
            classes.append(car)
        cars.append(index[car])
    return Instance(
        name=folder.name,
        constraints=tuple(constraints),
        classes=tuple(classes),
        cars=tuple(cars),
        car_ids=tuple(ident for ident, _ in day_rows),
        objective=objective,
        tail=tuple(car for _, car in tail_rows),
        paint_batch_limit=limit,
        end_windows=True,
    )


def _objectives(path: Path, problems: ProblemCollector) -> tuple[tuple[Component, int], ...] | None:
    rows = _rows(path, problems)
    if rows is None:
        return None
    ranked: list[tuple[int, Component]] = []
    for row in rows[1:]:
        where = f"{path}:{row.number}"
        if len(row.cells) < 2:
            problems.add(where, "expected 'rank;objective name;'")
            continue
        rank = _int(row.cells[0], where, "rank", problems)
        component = OBJECTIVE_NAMES.get(row.cells[1])
        if component is None:
            problems.add(where, f"unknown objective {row.cells[1]!r} (known: {', '.join(OBJECTIVE_NAMES)})")
        elif rank is not None:
            ranked.append((rank, component))
    ranked.sort()
    if [r for r, _ in ranked] != list(range(1, len(ranked) + 1)) or not 1 <= len(ranked) <= 3:
        problems.add(str(path), "ranks must be 1, 2[, 3] and name one to three objectives")
        return None
    if len({c for _, c in ranked}) != len(ranked):
        problems.add(str(path), "an objective is listed twice")
        return None
    return tuple((component, ROADEF_WEIGHTS[rank - 1]) for rank, component in ranked)


def _paint_limit(path: Path, problems: ProblemCollector) -> int | None:
    rows = _rows(path, problems)
    if rows is None:
        return None
    if len(rows) < 2 or not rows[1].cells:
        problems.add(str(path), "expected a header 'limitation;' and one line with the limit")
        return None
    where = f"{path}:{rows[1].number}"
    limit = _int(rows[1].cells[0], where, "the paint batch limit", problems)
    if limit is not None and limit < 1:
        problems.add(where, "the paint batch limit must be at least 1")
        return None
    return limit


def _ratios(path: Path, problems: ProblemCollector) -> list[RatioConstraint] | None:
    rows = _rows(path, problems)
    if rows is None:
        return None
    constraints = []
    for row in rows[1:]:
        where = f"{path}:{row.number}"
        if len(row.cells) < 3:
            problems.add(where, "expected 'N/P;Prio;Ident;'")
            continue
        ratio, prio, ident = row.cells[:3]
        n_text, _, p_text = ratio.partition("/")
        n = _int(n_text, where, "N of the ratio N/P", problems)
        p = _int(p_text, where, "P of the ratio N/P", problems)
        if prio not in ("0", "1"):
            problems.add(where, f"priority must be 1 (high) or 0 (low), found {prio!r}")
            continue
        if n is None or p is None:
            continue
        if not 0 <= n <= p or p < 1:
            problems.add(where, f"ratio {ratio}: need 0 <= N <= P and P >= 1")
            continue
        constraints.append(RatioConstraint(ident, p=n, q=p, priority=Priority.HIGH if prio == "1" else Priority.LOW))
    return constraints


def _vehicles(
    path: Path, constraints: list[RatioConstraint] | None, problems: ProblemCollector
) -> tuple[list[tuple[str, CarClass]], list[tuple[str, CarClass]]] | None:
    rows = _rows(path, problems)
    if rows is None or constraints is None:
        return None
    header = rows[0].cells
    fixed = ["Date", "SeqRank", "Ident", "Paint Color"]
    if header[:4] != fixed:
        problems.add(f"{path}:{rows[0].number}", f"header must start with {';'.join(fixed)}")
        return None
    columns = {name: k for k, name in enumerate(header[4:], start=4)}
    missing = [c.name for c in constraints if c.name not in columns]
    if missing:
        problems.add(f"{path}:{rows[0].number}", f"no column for ratio constraint(s) {', '.join(missing)}")
        return None
    parsed: list[tuple[tuple[int, ...], int, str, CarClass]] = []
    seen: set[str] = set()
    for row in rows[1:]:
        where = f"{path}:{row.number}"
        if len(row.cells) != len(header):
            problems.add(where, f"expected {len(header)} fields, found {len(row.cells)}")
            continue
        date_parts = row.cells[0].split()
        if not date_parts or not all(part.isdigit() for part in date_parts):
            problems.add(where, f"date must be numbers separated by spaces, found {row.cells[0]!r}")
            continue
        rank = _int(row.cells[1], where, "SeqRank", problems)
        ident = row.cells[2]
        if ident in seen:
            problems.add(where, f"vehicle {ident} is listed twice")
        seen.add(ident)
        flags = []
        for c in constraints:
            value = row.cells[columns[c.name]]
            if value not in ("0", "1"):
                problems.add(where, f"{c.name} must be 0 or 1, found {value!r}")
            flags.append(1 if value == "1" else 0)
        colour = row.cells[3]
        if not colour:
            problems.add(where, "paint colour is empty")
        if rank is None:
            continue
        parsed.append((tuple(int(p) for p in date_parts), rank, ident, CarClass(tuple(flags), colour)))
    dates = sorted({d for d, *_ in parsed})
    if len(dates) > 2:
        problems.add(str(path), f"expected vehicles of two days (D-1 and D), found {len(dates)} dates")
        return None
    if not parsed:
        problems.add(str(path), "lists no vehicle")
        return None
    day = dates[-1]
    tail = sorted((r, i, c) for d, r, i, c in parsed if d != day)
    today = sorted((r, i, c) for d, r, i, c in parsed if d == day)
    return [(i, c) for _, i, c in tail], [(i, c) for _, i, c in today]

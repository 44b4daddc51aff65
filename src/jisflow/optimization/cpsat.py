"""The plain OR-Tools CP-SAT model of car sequencing, the benchmark's reference.

Boolean ``x[slot, class]``, exactly one class per slot, each class built as often as it is
ordered, an option indicator per slot and every counted window of every ratio constraint (the
same windows as the evaluator: the previous day's tail included, the short end windows when
the instance counts them). With ``hard`` the windows must hold (the satisfiability model);
otherwise the weighted excess ``sum max(0, count - p)`` is minimised. Colour changes and the paint
batch limit (a run-length counter per slot, so the model stays linear in the limit) are modelled
when the instance has colours. No redundant constraints, no search hints: this is the model a
newcomer writes, and what jisflow's local search is measured against.

OR-Tools is an optional dependency (``jisflow[plan]``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from jisflow.domain.errors import ValidationError
from jisflow.optimization.instance import Component, Instance, Priority
from jisflow.optimization.objective import Evaluation, evaluate, window_starts


@dataclass(frozen=True)
class CpSatResult:
    """What CP-SAT found: a sequence (or none), its evaluation, the status and the bound."""

    sequence: tuple[int, ...] | None
    evaluation: Evaluation | None
    status: str
    bound: int | None
    elapsed: float


def solve_cpsat(instance: Instance, *, time_limit: float = 10.0, seed: int = 0, workers: int = 2, hard: bool = False) -> CpSatResult:
    """Solve ``instance`` with the plain CP-SAT model within ``time_limit`` seconds."""
    try:
        from ortools.sat.python import cp_model
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ValidationError("OR-Tools is not installed; install jisflow[plan] to use the CP-SAT model") from exc
    started = time.perf_counter()
    model = cp_model.CpModel()
    n, tail = instance.n, instance.tail
    T = len(tail)
    counts = instance.class_counts()
    used = [c for c, count in enumerate(counts) if count]
    x = {(s, c): model.new_bool_var(f"x{s}_{c}") for s in range(n) for c in used}
    for s in range(n):
        model.add_exactly_one(x[s, c] for c in used)
    for c in used:
        model.add(sum(x[s, c] for s in range(n)) == counts[c])
    objective = []
    for k, rule in enumerate(instance.constraints):
        with_option = [c for c in used if instance.classes[c].options[k]]
        weight = instance.weight(Component.HIGH_RATIO if rule.priority == Priority.HIGH else Component.LOW_RATIO)
        if not with_option:
            continue
        has = []
        for s in range(n):
            y = model.new_bool_var(f"y{k}_{s}")
            model.add(y == sum(x[s, c] for c in with_option))
            has.append(y)
        for start in window_starts(T, T + n, rule.q, instance.end_windows):
            fixed = sum(tail[t].options[k] for t in range(start, min(start + rule.q, T)))
            terms = has[max(start, T) - T : min(start + rule.q, T + n) - T]
            if hard:
                model.add(sum(terms) + fixed <= rule.p)
            elif weight:
                over = model.new_int_var(0, rule.q, f"e{k}_{start}")
                model.add(over >= sum(terms) + fixed - rule.p)
                objective.append(weight * over)
    if instance.has_colours:
        _colours(model, instance, x, used, objective)
    if objective:
        model.minimize(sum(objective))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit, 0.001)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    elapsed = time.perf_counter() - started
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpSatResult(None, None, name, None, elapsed)
    sequence = tuple(next(c for c in used if solver.boolean_value(x[s, c])) for s in range(n))
    bound = int(round(solver.best_objective_bound)) if objective else 0
    return CpSatResult(sequence, evaluate(instance, sequence), name, bound, elapsed)


def _colours(model, instance: Instance, x, used: list[int], objective: list) -> None:
    """Colour change indicators and, with a paint batch limit, a run-length counter per slot."""
    n, tail = instance.n, instance.tail
    colours = sorted({instance.classes[c].colour for c in used if instance.classes[c].colour is not None})
    paint = {
        (s, colour): sum(x[s, c] for c in used if instance.classes[c].colour == colour) for s in range(n) for colour in colours
    }
    weight = instance.weight(Component.COLOUR_CHANGES)
    limit = instance.paint_batch_limit
    last = tail[-1].colour if tail else None
    tail_run = 0
    for car in reversed(tail):
        if car.colour != last:
            break
        tail_run += 1
    run_before = tail_run
    for s in range(n):
        change = model.new_bool_var(f"c{s}")
        if s == 0 and not tail:
            model.add(change == 0)
        else:
            for colour in colours:
                before = paint[s - 1, colour] if s else int(colour == last)
                model.add(change >= paint[s, colour] - before)
                model.add(change <= 2 - paint[s, colour] - before)
        if weight:
            objective.append(weight * change)
        if limit is not None:
            run = model.new_int_var(1, limit, f"r{s}")
            model.add(run >= run_before + 1 - (limit + 1) * change)
            run_before = run

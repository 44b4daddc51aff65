"""Re-planning a line's pearl chain: optimise the unfrozen tail with the plant's sequencing
rules, then apply it as one resequence (only the vehicles that change place are renumbered,
and their issued call-offs amended).

The solver runs outside any transaction (it takes seconds); the new order is applied in a
second unit of work that refuses it when the chain changed in the meantime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from jisflow.domain.errors import ValidationError
from jisflow.domain.sequence import VehicleStatus
from jisflow.optimization.instance import Priority
from jisflow.optimization.replan import RatioRule as SolverRule
from jisflow.optimization.replan import replan
from jisflow.services.clock import Clock
from jisflow.services.commands import Command
from jisflow.services.handlers import Outcome, _settle
from jisflow.services.unit_of_work import AbstractUnitOfWork


@dataclass(frozen=True)
class ReplanSequence(Command):
    line: str
    time_limit: float = 10.0
    seed: int = 0
    apply: bool = False
    actor: str = "planner"


@dataclass
class PlanReport:
    line: str
    frozen: int
    planned: int
    moved: list[str] = field(default_factory=list)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    applied: bool = False


def _evaluation_dict(evaluation: Any) -> dict[str, Any]:
    names = ("high_ratio", "low_ratio", "colour_changes", "paint_excess", "smoothing", "total")
    return {name: getattr(evaluation, name) for name in names}


def replan_sequence(cmd: ReplanSequence, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    if cmd.time_limit <= 0:
        raise ValidationError(f"time limit must be positive, not {cmd.time_limit}")
    now = clock.now()
    with uow:
        plant = uow.plants.of_line(cmd.line)
        line = plant.line(cmd.line)
        chain = uow.chains.get(line)
    rules = line.sequencing
    if rules is None:
        raise ValidationError(f"line {cmd.line} has no sequencing rules in its plant definition (a `sequencing:` section)")
    planned = chain.planned()
    frozen = chain.frozen_count(now)
    history_size = max((r.q for r in rules.ratio_rules), default=1)
    done = [e for e in chain.entries() if e.status is VehicleStatus.BROADCAST][-history_size:]
    vehicles = [(e.order_id, {**e.vehicle.options, "model": e.vehicle.model}) for e in planned]
    solver_rules = [SolverRule(r.key, r.values, r.p, r.q, Priority.HIGH if r.high_priority else Priority.LOW) for r in rules.ratio_rules]
    kwargs = dict(
        colour_key=rules.colour_key, paint_batch_limit=rules.paint_batch_limit,
        history=[{**e.vehicle.options, "model": e.vehicle.model} for e in done],
        smoothing_keys=list(rules.smoothing_keys),
    )
    baseline = replan(vehicles, len(vehicles), solver_rules, time_limit=0.01, seed=cmd.seed, **kwargs)
    result = replan(vehicles, frozen, solver_rules, time_limit=cmd.time_limit, seed=cmd.seed, **kwargs)
    report = PlanReport(cmd.line, frozen, len(planned), list(result.moved), _evaluation_dict(baseline.evaluation), _evaluation_dict(result.evaluation))
    outcome = Outcome(details={"plan": report})
    if cmd.apply and result.moved:
        with uow:
            chain = uow.chains.get(line)
            change = chain.resequence(list(result.order[frozen:]), now=clock.now(), actor=cmd.actor, reason="re-planned tail")
            outcome.change = change
            if change is not None:
                _settle(uow, plant, chain, clock.now(), "re-planned tail", outcome=outcome, ahead=timedelta(0))
            uow.commit()
        report.applied = True
    return outcome


COMMAND_HANDLERS = {ReplanSequence: replan_sequence}

"""Re-planning the plant's pearl chain with as few changes as possible.

Once the chain is published, every vehicle that moves costs the JIS suppliers a resequence.
:func:`replan` therefore keeps the frozen head exactly as it is and, behind it, minimises
lexicographically

1. the plant's objective: excess over the ratio constraints (high priority), paint colour
   changes, excess over low priority constraints, and optionally supplier smoothing;
2. then the number of vehicles whose position changes against the current chain.

So a chain that is already optimal comes back unchanged, and an improvement moves only the
vehicles it needs.

The function is pure: vehicle ids with their options in, an order out. A vehicle's options are
the plant's option codes (``{"sunroof": "yes", "colour": "RED", ...}``). A :class:`RatioRule`
says that at most ``p`` of any ``q`` consecutive vehicles may carry one of ``values`` for option
``key``; ``colour_key`` names the option that holds the paint colour. ``history`` lists the
options of the vehicles built just before the chain (oldest first) so the first windows and the
first colour change are judged in context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jisflow.domain.errors import ProblemCollector
from jisflow.optimization.instance import (
    CarClass,
    Component,
    Instance,
    Priority,
    RatioConstraint,
    Smoothing,
)
from jisflow.optimization.objective import Evaluation
from jisflow.optimization.search import solve

PLANT_OBJECTIVE = ((Component.HIGH_RATIO, 1_000_000), (Component.COLOUR_CHANGES, 1_000), (Component.LOW_RATIO, 1))
"""High priority ratio excess, then colour changes, then low priority ratio excess."""


@dataclass(frozen=True)
class RatioRule:
    """At most ``p`` of any ``q`` consecutive vehicles whose option ``key`` is one of ``values``."""

    key: str
    values: frozenset[str]
    p: int
    q: int
    priority: Priority = Priority.HIGH

    @property
    def name(self) -> str:
        return f"{self.key} in {{{', '.join(sorted(self.values))}}} {self.p}/{self.q}"

    def applies(self, options: Mapping[str, str]) -> bool:
        return options.get(self.key) in self.values


@dataclass(frozen=True)
class ReplanResult:
    """The new order, the vehicles that moved, and the evaluation of the new order."""

    order: tuple[str, ...]
    moved: tuple[str, ...]
    evaluation: Evaluation
    elapsed: float


def replan(
    vehicles: Sequence[tuple[str, Mapping[str, str]]],
    frozen_count: int,
    constraints: Sequence[RatioRule],
    *,
    colour_key: str | None = None,
    paint_batch_limit: int | None = None,
    history: Sequence[Mapping[str, str]] = (),
    smoothing_keys: Sequence[str] = (),
    smoothing_weight: int = 1,
    objective: tuple[tuple[Component, int], ...] = PLANT_OBJECTIVE,
    time_limit: float = 5.0,
    seed: int = 0,
) -> ReplanResult:
    """Re-sequence ``vehicles`` (the current chain, in order) behind the first ``frozen_count``.

    ``smoothing_keys`` names options whose values are JIS part variants to consume at a level
    rate (Monden's goal chasing); their deviation enters the objective with ``smoothing_weight``
    in the units of ``objective`` (ROADEF-like weights 1,000,000 / 1,000 / 1 by default).
    The paint batch limit is hard. Raises :class:`~jisflow.domain.errors.ValidationError`
    for inconsistent input, listing every problem.
    """
    problems = ProblemCollector()
    ids = [vehicle_id for vehicle_id, _ in vehicles]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.add("vehicles", f"ids given twice: {', '.join(duplicates[:10])}")
    if not 0 <= frozen_count <= len(vehicles):
        problems.add("frozen_count", f"must lie in 0..{len(vehicles)}, got {frozen_count}")
    for k, rule in enumerate(constraints):
        if not 0 <= rule.p <= rule.q or rule.q < 1:
            problems.add(f"constraints[{k}]", f"need 0 <= p <= q and q >= 1, got {rule.p}/{rule.q}")
    if paint_batch_limit is not None and (paint_batch_limit < 1 or colour_key is None):
        problems.add("paint_batch_limit", "needs a colour_key and must be at least 1")
    if smoothing_weight < 0:
        problems.add("smoothing_weight", "must not be negative")
    problems.raise_if_any("cannot re-plan the chain")

    variants: list[str] = []
    variant_index: dict[tuple[str, str], int] = {}

    def car(options: Mapping[str, str], with_variants: bool) -> CarClass:
        flags = tuple(1 if rule.applies(options) else 0 for rule in constraints)
        colour = options.get(colour_key) if colour_key is not None else None
        picked: list[int] = []
        if with_variants:
            for key in smoothing_keys:
                value = options.get(key)
                if value is None:
                    picked.append(-1)
                    continue
                if (key, value) not in variant_index:
                    variant_index[key, value] = len(variants)
                    variants.append(f"{key}={value}")
                picked.append(variant_index[key, value])
        return CarClass(flags, colour, tuple(picked))

    classes: list[CarClass] = []
    index: dict[CarClass, int] = {}
    cars: list[int] = []
    for _, options in vehicles:
        cls = car(options, True)
        cars.append(index.setdefault(cls, len(classes)))
        if cars[-1] == len(classes):
            classes.append(cls)
    smoothing = Smoothing(tuple(smoothing_keys), tuple(variants)) if smoothing_keys else None
    weights = objective + (((Component.SMOOTHING, smoothing_weight),) if smoothing_keys else ())
    instance = Instance(
        name="pearl chain",
        constraints=tuple(RatioConstraint(r.name, r.p, r.q, r.priority) for r in constraints),
        classes=tuple(classes),
        cars=tuple(cars),
        car_ids=tuple(ids),
        objective=weights,
        tail=tuple(car(options, False) for options in history),
        paint_batch_limit=paint_batch_limit,
        end_windows=True,
        smoothing=smoothing,
    )
    solution = solve(instance, time_limit=time_limit, seed=seed, frozen=frozen_count, minimise_moves=True)
    order = instance.ids_for(solution.sequence)
    moved = tuple(new for new, old in zip(order, ids, strict=True) if new != old)
    return ReplanResult(tuple(order), moved, solution.evaluation, solution.elapsed)

"""A neutral description of one sequencing problem: the cars of a day, the rules, the objective.

Both benchmark formats (CSPLib prob001 and the ROADEF 2005 challenge) and the plant's own
re-planning are translated into an :class:`Instance`; the evaluator and the solvers only know
this shape.

* A **ratio constraint** ``p/q`` on an option says that at most ``p`` of any ``q`` consecutive
  cars may carry the option (the station that fits it has that capacity). Its violations are
  counted as in ROADEF 2005: for every window the number of cars over ``p``.
* Cars are grouped into **classes**: cars with the same options and the same paint colour are
  interchangeable for every rule, so a sequence is a list of class indices.
* The **tail** is the end of the previous day's sequence, already built and fixed: windows that
  overlap it and the paint colour of its last car count for the first cars of the day.
* The **objective** is lexicographic: its components in order, each with an integer weight
  large enough that the earlier component always dominates (ROADEF: 1,000,000 / 1,000 / 1).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field


class Priority(str, enum.Enum):
    """How much a ratio constraint matters: high priority rules rank above low priority ones."""

    HIGH = "high"
    LOW = "low"


class Component(str, enum.Enum):
    """A term of the objective."""

    HIGH_RATIO = "high_ratio"  # excess over p, high priority ratio constraints
    LOW_RATIO = "low_ratio"  # excess over p, low priority ratio constraints
    COLOUR_CHANGES = "colour_changes"  # paint purges: neighbours of different colours
    SMOOTHING = "smoothing"  # supplier smoothing: deviation from level part consumption


ROADEF_WEIGHTS = (1_000_000, 1_000, 1)
"""Weights of the first, second and third objective of a ROADEF 2005 instance."""


@dataclass(frozen=True)
class RatioConstraint:
    """At most ``p`` cars with the option in any ``q`` consecutive cars."""

    name: str
    p: int
    q: int
    priority: Priority = Priority.HIGH


@dataclass(frozen=True)
class CarClass:
    """Cars that are interchangeable: one flag per ratio constraint and a paint colour.

    ``variants`` holds, for supplier smoothing, the part variant of each smoothed family
    (an index into :attr:`Smoothing.variants`, or -1 when the car needs no part of that family).
    """

    options: tuple[int, ...]
    colour: str | None = None
    variants: tuple[int, ...] = ()


@dataclass(frozen=True)
class Smoothing:
    """Supplier smoothing: level the consumption of the part variants of some families.

    ``variants`` names every variant (for reports); a class points to one variant per family.
    The term is the goal-chasing deviation of :func:`jisflow.optimization.smoothing.deviation`.
    """

    families: tuple[str, ...]
    variants: tuple[str, ...]


@dataclass(frozen=True)
class Instance:
    """One day to sequence.

    ``cars`` gives the class of each car in the reference order (the order the cars were given
    in, or the current chain when re-planning); ``car_ids`` names them in the same order.
    ``end_windows`` counts the shorter windows at the end of the day too (the ROADEF rule);
    CSPLib counts only the full windows.
    """

    name: str
    constraints: tuple[RatioConstraint, ...]
    classes: tuple[CarClass, ...]
    cars: tuple[int, ...]
    car_ids: tuple[str, ...]
    objective: tuple[tuple[Component, int], ...]
    tail: tuple[CarClass, ...] = ()
    paint_batch_limit: int | None = None
    end_windows: bool = False
    smoothing: Smoothing | None = None
    class_names: tuple[str, ...] = field(default=())

    @property
    def n(self) -> int:
        """Number of cars of the day."""
        return len(self.cars)

    @property
    def has_colours(self) -> bool:
        return any(c.colour is not None for c in self.classes)

    def class_counts(self) -> list[int]:
        """How many cars of the day each class has."""
        counts = [0] * len(self.classes)
        for c in self.cars:
            counts[c] += 1
        return counts

    def weight(self, component: Component) -> int:
        """The weight of a component in the objective (0 when it is not part of it)."""
        for comp, w in self.objective:
            if comp == component:
                return w
        return 0

    def ids_for(self, sequence: Sequence[int], reference: Sequence[int] | None = None) -> list[str]:
        """Car identifiers for a class sequence.

        A car keeps its position when the sequence has its class there in ``reference``
        (default: the instance's own order); the others of each class fill the remaining
        positions of that class in their reference order. This keeps the number of moved cars
        equal to the number of positions whose class changed.
        """
        ref = list(self.cars if reference is None else reference)
        ids: list[str | None] = [None] * len(sequence)
        waiting: dict[int, list[str]] = {}
        for pos, (old, new) in enumerate(zip(ref, sequence, strict=True)):
            if old == new:
                ids[pos] = self.car_ids[pos]
            else:
                waiting.setdefault(old, []).append(self.car_ids[pos])
        cursor = {c: 0 for c in waiting}
        for pos, cls in enumerate(sequence):
            if ids[pos] is None:
                ids[pos] = waiting[cls][cursor[cls]]
                cursor[cls] += 1
        return [i for i in ids if i is not None]

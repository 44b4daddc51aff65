"""The independent, deliberately plain evaluator of a sequence.

It recounts everything from scratch and is the reference the fast incremental search is
checked against; every solution the solvers return goes through it.

Rules (ROADEF 2005, also used for the plant):

* The cars of the day follow the previous day's tail. For a ratio constraint p/q a window is
  q consecutive cars of tail + day that holds at least one car of the day; with
  ``end_windows`` the windows that start among the last q-1 cars of the day and are cut
  short by the end of the day count as well (the next day will start after them). A window
  with c cars carrying the option contributes ``max(0, c - p)`` to the *excess* and 1 to the
  *violated windows* when c > p.
* A colour change is two neighbours of different colours, counted from the last car of the
  tail to the last car of the day.
* The paint batch limit is hard: a run of one colour (continuing a run of the tail) may not be
  longer than the limit. ``paint_excess`` counts the cars beyond the limit; a solution is
  feasible when it is zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from jisflow.domain.errors import ValidationError
from jisflow.optimization.instance import CarClass, Component, Instance, Priority
from jisflow.optimization.smoothing import deviation


@dataclass(frozen=True)
class Evaluation:
    """Every measure of one sequence; ``total`` is the weighted objective of the instance."""

    excess: tuple[int, ...]  # per ratio constraint: cars over p, summed over windows
    violated_windows: tuple[int, ...]  # per ratio constraint: windows with more than p
    high_ratio: int
    low_ratio: int
    colour_changes: int
    paint_excess: int
    smoothing: int
    total: int

    @property
    def feasible(self) -> bool:
        """The paint batch limit holds."""
        return self.paint_excess == 0

    def components(self) -> dict[str, int]:
        return {
            Component.HIGH_RATIO.value: self.high_ratio,
            Component.LOW_RATIO.value: self.low_ratio,
            Component.COLOUR_CHANGES.value: self.colour_changes,
            Component.SMOOTHING.value: self.smoothing,
            "paint_excess": self.paint_excess,
            "violated_windows": sum(self.violated_windows),
        }


def check_sequence(instance: Instance, sequence: Sequence[int]) -> None:
    """Raise :class:`ValidationError` unless ``sequence`` builds exactly the cars of the day."""
    if len(sequence) != instance.n:
        raise ValidationError(f"the sequence has {len(sequence)} cars, {instance.name} has {instance.n}")
    if any(not 0 <= c < len(instance.classes) for c in sequence):
        raise ValidationError(f"the sequence names a class outside 0..{len(instance.classes) - 1}")
    have, want = Counter(sequence), Counter(instance.cars)
    if have != want:
        wrong = sorted(c for c in set(have) | set(want) if have[c] != want[c])
        raise ValidationError(f"the sequence does not build the cars of {instance.name}: classes {wrong[:10]} have wrong counts")


def window_starts(n_tail: int, n_total: int, q: int, end_windows: bool) -> range:
    """Start positions (in tail + day) of the windows that count for a constraint of size q."""
    first = max(0, n_tail - q + 1)
    last = n_total - 1 if end_windows else max(first, n_total - q)
    return range(first, last + 1)


def evaluate(instance: Instance, sequence: Sequence[int]) -> Evaluation:
    """Evaluate a class sequence of the day (see the module docstring for the rules)."""
    check_sequence(instance, sequence)
    cars: list[CarClass] = list(instance.tail) + [instance.classes[c] for c in sequence]
    n_tail, n_total = len(instance.tail), len(cars)
    excess, violated = [], []
    for k, rule in enumerate(instance.constraints):
        flags = [car.options[k] for car in cars]
        over, bad = 0, 0
        for s in window_starts(n_tail, n_total, rule.q, instance.end_windows):
            count = sum(flags[s : s + rule.q])
            over += max(0, count - rule.p)
            bad += count > rule.p
        excess.append(over)
        violated.append(bad)
    high = sum(e for e, r in zip(excess, instance.constraints, strict=True) if r.priority == Priority.HIGH)
    low = sum(e for e, r in zip(excess, instance.constraints, strict=True) if r.priority == Priority.LOW)
    changes = sum(1 for i in range(max(1, n_tail), n_total) if cars[i].colour != cars[i - 1].colour)
    paint_excess = 0
    if instance.paint_batch_limit is not None:
        run = 0
        for i, car in enumerate(cars):
            run = run + 1 if i > 0 and car.colour == cars[i - 1].colour else 1
            if run > instance.paint_batch_limit and i >= n_tail:
                paint_excess += 1
    smooth = 0
    if instance.smoothing is not None:
        smooth = deviation([instance.classes[c].variants for c in sequence], len(instance.smoothing.variants))
    total = (
        instance.weight(Component.HIGH_RATIO) * high
        + instance.weight(Component.LOW_RATIO) * low
        + instance.weight(Component.COLOUR_CHANGES) * changes
        + instance.weight(Component.SMOOTHING) * smooth
    )
    return Evaluation(tuple(excess), tuple(violated), high, low, changes, paint_excess, smooth, total)

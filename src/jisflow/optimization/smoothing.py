"""Supplier smoothing: level the consumption of each JIS part variant over the day.

A supplier that delivers in sequence copes best when its variants are consumed at a steady
rate: if a variant is needed by ``d`` of the ``n`` cars, after ``k`` cars about ``k*d/n`` of them
should have been built. Monden's *goal chasing* (Toyota) builds the sequence car by car, each
time taking the car that keeps the cumulative consumption closest to that goal line.

:func:`deviation` measures a sequence in integers: for every prefix length ``k`` and every
variant, ``|n * X(k) - k * d|`` where ``X(k)`` is how many of the first ``k`` cars use the
variant (the goal-chasing distance scaled by ``n``). It is zero only for a perfectly level
sequence. The solver adds it, weighted, as the ``smoothing`` term of the objective.

Each car is described by a tuple with one variant index per smoothed part family
(-1 when the car takes no part of that family).
"""

from __future__ import annotations

from collections.abc import Sequence


def _demand(cars: Sequence[Sequence[int]], n_variants: int) -> list[int]:
    demand = [0] * n_variants
    for variants in cars:
        for v in variants:
            if v >= 0:
                demand[v] += 1
    return demand


def deviation(cars: Sequence[Sequence[int]], n_variants: int) -> int:
    """Sum over prefixes and variants of ``|n * X(k) - k * d|`` (0 for a level sequence)."""
    n = len(cars)
    demand = _demand(cars, n_variants)
    built = [0] * n_variants
    total = 0
    for k, variants in enumerate(cars, start=1):
        for v in variants:
            if v >= 0:
                built[v] += 1
        total += sum(abs(n * built[v] - k * demand[v]) for v in range(n_variants))
    return total


def goal_chasing(class_variants: Sequence[Sequence[int]], counts: Sequence[int], n_variants: int) -> list[int]:
    """Monden's goal chasing: a class sequence that follows the goal line of every variant.

    ``class_variants[c]`` gives the variants of a car of class ``c`` and ``counts[c]`` how many
    such cars to build. At each step the class with cars left that minimises the squared
    distance to the goal point is taken (ties: the lower class index).
    """
    n = sum(counts)
    demand = [0] * n_variants
    for variants, count in zip(class_variants, counts, strict=True):
        for v in variants:
            if v >= 0:
                demand[v] += count
    left = list(counts)
    built = [0] * n_variants
    order: list[int] = []
    for k in range(1, n + 1):
        best, best_score = -1, 0
        for c, variants in enumerate(class_variants):
            if not left[c]:
                continue
            used = set(v for v in variants if v >= 0)
            score = sum((k * demand[v] - n * (built[v] + (v in used))) ** 2 for v in range(n_variants))
            if best < 0 or score < best_score:
                best, best_score = c, score
        order.append(best)
        left[best] -= 1
        for v in class_variants[best]:
            if v >= 0:
                built[v] += 1
    return order

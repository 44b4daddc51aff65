"""Anytime local search for car sequencing, in the spirit of the ROADEF 2005 winners.

A greedy constructor builds a first sequence car by car (cheapest class for the windows that
end at the position, ties to the class that loads the tight options most). A descent then
draws moves -- swap, insertion (a car taken out and put back elsewhere), reversal of a short
block, and colour-batch moves (a car put next to a car of its own colour) -- mostly around
violated windows, evaluates each incrementally (see :mod:`jisflow.optimization._kernel`) and
makes it unless it worsens the objective. Accepting equal moves lets the search drift across
plateaus, which is what solves the hard instances. The best sequence seen is returned when the
time is up, or as soon as the objective reaches zero.

The objective is the instance's weighted one, with the paint batch limit as a hard term that
outweighs everything else. Re-planning adds the number of cars that change position against a
reference order as the last lexicographic term and can keep a head of the sequence fixed.

The time limit covers the search itself; when numba is installed the kernels are compiled once
before the clock starts (and cached on disk for later runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from jisflow.domain.errors import ValidationError
from jisflow.optimization import _kernel as kernel
from jisflow.optimization.instance import Component, Instance, Priority
from jisflow.optimization.objective import Evaluation, check_sequence, evaluate

KICK = 2e-4
"""Probability of taking a step that worsens the objective by one unit of its cheapest term."""

Progress = Callable[[float, int], None]
"""Called now and then with the elapsed seconds and the best weighted objective so far."""


@dataclass(frozen=True)
class Solution:
    """The best sequence found, its evaluation and how the search went."""

    sequence: tuple[int, ...]
    evaluation: Evaluation
    moved: int  # cars whose position differs from the reference order
    elapsed: float  # seconds of search
    moves: int  # moves made
    compiled: bool  # whether the numba kernels were used


@dataclass
class _Problem:
    """The flat arrays the kernels work on."""

    g: np.ndarray
    opt: np.ndarray
    p: np.ndarray
    q: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    wk: np.ndarray
    cnt: np.ndarray
    n_total: int
    first: int
    col: np.ndarray
    w_col: int
    limit: int
    w_paint: int
    ref: np.ndarray
    w_moved: int
    var: np.ndarray
    dev: np.ndarray
    demand: np.ndarray
    n_day: int
    w_smooth: int
    dx: np.ndarray
    touched: np.ndarray
    n_tail: int


def _build(instance: Instance, reference: Sequence[int], frozen: int, minimise_moves: bool) -> _Problem:
    classes = list(instance.classes) + list(instance.tail)
    n_classes = len(instance.classes)
    K = len(instance.constraints)
    T, n = len(instance.tail), instance.n
    N = T + n
    opt = np.zeros((len(classes), K), dtype=np.int64)
    for c, car in enumerate(classes):
        if len(car.options) != K:
            raise ValidationError(f"a car class of {instance.name} has {len(car.options)} option flags, expected {K}")
        opt[c, :] = car.options
    colour_ids: dict[str | None, int] = {None: -1}
    col = np.array([colour_ids.setdefault(car.colour, len(colour_ids) - 1) for car in classes], dtype=np.int64)
    g = np.zeros(N, dtype=np.int64)
    g[:T] = np.arange(n_classes, n_classes + T)
    g[T:] = reference
    p = np.array([r.p for r in instance.constraints], dtype=np.int64)
    q = np.array([r.q for r in instance.constraints], dtype=np.int64)
    lo = np.array([max(0, T - r.q + 1) for r in instance.constraints], dtype=np.int64)
    hi = np.array(
        [N - 1 if instance.end_windows else max(max(0, T - r.q + 1), N - r.q) for r in instance.constraints],
        dtype=np.int64,
    )
    scale = n + 1 if minimise_moves else 1
    high, low = instance.weight(Component.HIGH_RATIO), instance.weight(Component.LOW_RATIO)
    wk = np.array([scale * (high if r.priority == Priority.HIGH else low) for r in instance.constraints], dtype=np.int64)
    w_col = scale * instance.weight(Component.COLOUR_CHANGES) if instance.has_colours else 0
    w_smooth = scale * instance.weight(Component.SMOOTHING) if instance.smoothing is not None else 0
    families = len(instance.smoothing.families) if instance.smoothing is not None else 0
    n_variants = len(instance.smoothing.variants) if instance.smoothing is not None else 0
    var = -np.ones((len(classes), max(families, 1)), dtype=np.int64)
    if instance.smoothing is not None:
        for c, car in enumerate(instance.classes):
            var[c, :families] = car.variants
    demand = np.zeros(max(n_variants, 1), dtype=np.int64)
    for c in instance.cars:
        for v in var[c]:
            if v >= 0:
                demand[v] += 1
    limit = instance.paint_batch_limit or 0
    windows = sum(max(0, h - lo_ + 1) * r.q for h, lo_, r in zip(hi, lo, instance.constraints, strict=True))
    bound = int(wk.max(initial=0)) * windows + w_col * N + w_smooth * N * N * max(families, 1) + scale * N
    w_paint = bound + 1 if limit else 0
    if w_paint * N >= 2**62:
        raise ValidationError(f"{instance.name} is too large for the objective weights")
    problem = _Problem(
        g=g, opt=opt, p=p, q=q, lo=lo, hi=hi, wk=wk, cnt=np.zeros((K, N + 1), dtype=np.int64), n_total=N,
        first=T + frozen, col=col, w_col=w_col, limit=limit, w_paint=w_paint,
        ref=np.concatenate([g[:T], np.asarray(reference, dtype=np.int64)]), w_moved=1 if minimise_moves else 0,
        var=var, dev=np.zeros((max(n_variants, 1), N), dtype=np.int64), demand=demand, n_day=n,
        w_smooth=w_smooth, dx=np.zeros(max(n_variants, 1), dtype=np.int64),
        touched=np.zeros(max(n_variants, 1) * 2 + 2, dtype=np.int64), n_tail=T,
    )
    return problem


def _refresh(pb: _Problem) -> int:
    """Recompute every count from ``pb.g`` and return the kernel's full objective."""
    N, T = pb.n_total, pb.n_tail
    if N > T:
        kernel.recount(pb.g, pb.opt, pb.p, pb.q, pb.lo, pb.hi, pb.cnt, N, T, N - 1)
    cost = 0
    for k in range(len(pb.p)):
        counts = pb.cnt[k, pb.lo[k] : pb.hi[k] + 1]
        cost += int(pb.wk[k]) * int(np.maximum(counts - pb.p[k], 0).sum())
    colours = pb.col[pb.g]
    if pb.w_col:
        start = max(T - 1, 0)
        cost += pb.w_col * int((colours[start:-1] != colours[start + 1 :]).sum())
    if pb.limit:
        run_start = 0
        for i in range(1, N + 1):
            if i == N or colours[i] != colours[i - 1]:
                cost += pb.w_paint * max(0, i - max(run_start + pb.limit, T))
                run_start = i
    if pb.w_moved:
        cost += int((pb.g[T:] != pb.ref[T:]).sum())
    if pb.w_smooth and N > T:
        kernel.rebuild_deviation(pb.g, pb.var, pb.dev, pb.demand, pb.n_day, T, T, N - 1)
        cost += pb.w_smooth * int(np.abs(pb.dev[:, T:]).sum())
    return cost


def _greedy(pb: _Problem, instance: Instance, head: Sequence[int], noise: float) -> np.ndarray:
    """A greedy sequence that keeps ``head`` and builds the remaining cars after it."""
    g = pb.g.copy()
    T = pb.n_tail
    g[T : T + len(head)] = head
    left = np.zeros(len(pb.opt), dtype=np.int64)
    for c in instance.cars:
        left[c] += 1
    for c in head:
        left[c] -= 1
    n = max(instance.n, 1)
    counts = np.bincount(np.asarray(instance.cars, dtype=np.int64), minlength=len(pb.opt))
    load = counts @ pb.opt
    tightness = np.array(
        [(load[k] / n) / max(pb.p[k] / pb.q[k], 1e-9) if pb.p[k] else 1e9 for k in range(len(pb.p))], dtype=np.float64
    )
    weight = (pb.opt.astype(np.float64) * tightness).sum(axis=1) if len(pb.p) else np.zeros(len(pb.opt))
    kernel.greedy(g, pb.opt, pb.p, pb.q, np.maximum(pb.wk, 1), pb.n_total, T + len(head), left, pb.col,
                  max(pb.w_col, 1) if pb.w_col else 0, pb.limit, max(pb.w_paint, 1), weight, noise)
    return g


_WARM = False


def warm_up() -> None:
    """Compile (or load from the on-disk cache) the numba kernels on a tiny problem."""
    global _WARM
    if _WARM or not kernel.HAVE_NUMBA:
        return
    from jisflow.optimization.instance import CarClass, RatioConstraint, Smoothing

    tiny = Instance(
        name="warm-up",
        constraints=(RatioConstraint("a", 1, 2, Priority.HIGH), RatioConstraint("b", 1, 3, Priority.LOW)),
        classes=(CarClass((1, 0), "red", (0,)), CarClass((0, 1), "blue", (1,)), CarClass((1, 1), "red", (1,))),
        cars=(0, 0, 1, 1, 2, 2, 0, 1),
        car_ids=tuple("abcdefgh"),
        objective=((Component.HIGH_RATIO, 1000), (Component.COLOUR_CHANGES, 10), (Component.SMOOTHING, 1)),
        tail=(CarClass((1, 1), "red", ()),),
        paint_batch_limit=2,
        end_windows=True,
        smoothing=Smoothing(("f",), ("x", "y")),
    )
    _WARM = True
    solve(tiny, time_limit=0.01, seed=0, reference=tiny.cars, frozen=1, minimise_moves=True)


def solve(
    instance: Instance,
    *,
    time_limit: float = 10.0,
    seed: int = 0,
    reference: Sequence[int] | None = None,
    frozen: int = 0,
    minimise_moves: bool = False,
    progress: Progress | None = None,
) -> Solution:
    """Search a good class sequence for ``instance`` within ``time_limit`` seconds.

    ``reference`` is the current order (default: the instance's order). The first ``frozen``
    cars of it stay where they are. With ``minimise_moves`` the number of cars whose position
    changes against the reference is minimised after the instance's own objective.
    """
    if time_limit < 0:
        raise ValidationError("the time limit must not be negative")
    ref = list(instance.cars if reference is None else reference)
    check_sequence(instance, ref)
    if not 0 <= frozen <= instance.n:
        raise ValidationError(f"frozen must lie in 0..{instance.n}, got {frozen}")
    warm_up()
    pb = _build(instance, ref, frozen, minimise_moves)
    kernel.seed_rng(seed)
    started = time.perf_counter()
    candidates = [pb.g.copy(), _greedy(pb, instance, ref[:frozen], 0.0), _greedy(pb, instance, ref[:frozen], 0.5)]
    best_cost = None
    for g in candidates:
        pb.g[:] = g
        cost = _refresh(pb)
        if best_cost is None or cost < best_cost:
            best_cost, best_g = cost, g
    pb.g[:] = best_g
    cost = _refresh(pb)
    cost_box = np.array([cost], dtype=np.int64)
    best_box = np.array([cost], dtype=np.int64)
    best_seq = pb.g.copy()
    K = len(pb.p)
    max_q = int(pb.q.max(initial=1)) if K else 1
    max_reverse = max(8, 2 * max_q)
    near = max(4, 2 * max_q)
    weights = [int(w) for w in pb.wk if w] + ([pb.w_col] if pb.w_col else [])
    kick_size = min(weights, default=0)
    chunk, moves, rounds = 2_000, 0, 0
    searchable = pb.n_total - pb.first >= 2
    while searchable and best_box[0] != 0 and (rounds == 0 or time.perf_counter() - started < time_limit):
        rounds += 1
        tick = time.perf_counter()
        kweight = np.array(
            [float(pb.wk[k]) * float(np.maximum(pb.cnt[k, pb.lo[k] : pb.hi[k] + 1] - pb.p[k], 0).sum()) for k in range(K)]
        )
        moves += kernel.search(
            pb.g, pb.opt, pb.p, pb.q, pb.lo, pb.hi, pb.wk, pb.cnt, pb.n_total, pb.first, pb.col, pb.w_col,
            pb.limit, pb.w_paint, pb.ref, pb.w_moved, pb.var, pb.dev, pb.demand, pb.n_day, pb.n_tail, pb.w_smooth,
            cost_box, best_seq, best_box, chunk, max_reverse, near, pb.dx, pb.touched, KICK, kick_size, kweight,
        )
        spent = time.perf_counter() - tick
        remaining = time_limit - (time.perf_counter() - started)
        target = min(0.1, max(remaining, 0.001))
        chunk = max(100, min(int(chunk * target / max(spent, 1e-6)), 4 * chunk, 1_000_000))
        if progress is not None:
            progress(time.perf_counter() - started, int(best_box[0]))
    elapsed = time.perf_counter() - started
    sequence = tuple(int(c) for c in best_seq[pb.n_tail :])
    evaluation = evaluate(instance, sequence)
    moved = sum(1 for a, b in zip(sequence, ref, strict=True) if a != b)
    if progress is not None:
        progress(elapsed, int(best_box[0]))
    return Solution(sequence, evaluation, moved, elapsed, moves, kernel.HAVE_NUMBA)

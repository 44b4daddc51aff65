"""Shortage projection benchmark: jisflow's projector against a NumPy reference, side by side.

The horizon is 3 days x 1,300 vehicles a day x 50 part families: about 195,000 demand lines
over 2,000 items (40 variants per family), with stock on hand and one purchase order per item.
In one run it times

* the full projection (``Projector``: group the demand, held in rank order as the
  reservation store hands it out, by item, and project every item);
* an incremental update after one broadcast (the vehicle's need times move by 30 s; only the
  items it needs are projected again);
* the reference: the same first-shortage answers with NumPy, a sort and a cumulative sum per
  item, on the same data as columns;

checks that the projector and the reference agree on every item's first shortage (time and
sequence number), before and after the broadcast, and prints one line::

    RESULT projection full_vs_numpy=<ratio> incremental_vs_full=<ratio> agree=<true|false>

Each timing is the best CPU time (``time.process_time``: what other work on a busy machine
takes does not count) of ``--repeat`` runs, the full projection and the reference run in turn,
with the garbage collector paused during a run (as ``timeit`` does). Data are seeded
(``--seed``).
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from jisflow.domain.projection import RANK, Demand, Projector, Supply

START = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def make_data(seed: int, days: int, per_day: int, families: int, variants: int):
    rng = random.Random(seed)
    takt = 86_400 // per_day
    offsets = [rng.randrange(0, 400) * takt for _ in range(families)]
    weights = [[rng.randint(1, 20) for _ in range(variants)] for _ in range(families)]
    demands: list[Demand] = []
    for n in range(days * per_day):
        broadcast = START + timedelta(seconds=n * takt)
        for f in range(families):
            part = rng.choices(range(variants), weights[f])[0]
            demands.append(Demand(f"F{f:02d}-P{part:02d}", broadcast + timedelta(seconds=offsets[f]), n + 1, "L1", f"V{n + 1:06d}", 1 + (part % 7 == 0), takt))
    totals: dict[str, int] = {}
    for d in demands:
        totals[d.item] = totals.get(d.item, 0) + d.quantity
    # stock for a third of the horizon up to all of it, and one order of up to half of it
    on_hand = {item: rng.randint(total // 3, total) for item, total in sorted(totals.items())}
    supplies = [
        Supply(item, START + timedelta(hours=rng.uniform(1, 24 * days)), rng.randint(0, total // 2), f"PO-{item}")
        for item, total in sorted(totals.items())
    ]
    return demands, on_hand, supplies


def columns(demands: list[Demand], supplies: list[Supply], items: list[str]):
    """The data as NumPy columns: supplies (kind 0) before demands (kind 1) at equal times."""
    index = {item: i for i, item in enumerate(items)}
    rows = [(index[s.item], int((s.at - EPOCH).total_seconds()), 0, 0, s.quantity) for s in supplies]
    rows += [(index[d.item], int((d.need_time - EPOCH).total_seconds()), 1, d.seq_no, -d.quantity) for d in demands]
    data = np.array(rows, dtype=np.int64)
    return {name: data[:, k].copy() for k, name in enumerate(("item", "time", "kind", "seq", "qty"))}


def numpy_first_shortages(cols, on_hand: np.ndarray, n_items: int) -> list[tuple[int, int] | None]:
    """Per item: sort its events by (time, kind, seq), cumulative sum on top of the stock on
    hand, the first event that leaves it below zero."""
    order = np.argsort(cols["item"], kind="stable")
    bounds = np.searchsorted(cols["item"][order], np.arange(n_items + 1))
    times, kinds, seqs, qtys = cols["time"], cols["kind"], cols["seq"], cols["qty"]
    result: list[tuple[int, int] | None] = []
    for i in range(n_items):
        idx = order[bounds[i] : bounds[i + 1]]
        idx = idx[np.lexsort((seqs[idx], kinds[idx], times[idx]))]
        negative = np.flatnonzero(on_hand[i] + np.cumsum(qtys[idx]) < 0)
        if negative.size:
            j = idx[negative[0]]
            result.append((int(times[j]), int(seqs[j])))
        else:
            result.append(None)
    return result


def answers(projector: Projector, items: list[str]) -> list[tuple[int, int] | None]:
    found = []
    for item in items:
        p = projector.projections[item]
        found.append(None if p.first_shortage_at is None else (int((p.first_shortage_at - EPOCH).total_seconds()), p.first_shortage_seq_no))
    return found


def timed(run: Callable[[], object]) -> tuple[float, object]:
    """CPU seconds of one run (time the process spent computing, so other work on a busy
    machine does not count), with the garbage collector paused (as ``timeit`` does)."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.process_time()
        result = run()
        return time.process_time() - t0, result
    finally:
        gc.enable()


def best_of(repeat: int, run: Callable[[], object]) -> tuple[float, object]:
    """The best CPU time of ``repeat`` runs."""
    best, result = float("inf"), None
    for _ in range(repeat):
        seconds, result = timed(run)
        best = min(best, seconds)
    return best, result


def side_by_side(repeat: int, first: Callable[[], object], second: Callable[[], object]) -> tuple[float, object, float, object]:
    """The best CPU times of two computations run in turn, ``repeat`` times each, so both
    meet the same conditions (caches, clock speed)."""
    best_a = best_b = float("inf")
    result_a = result_b = None
    for _ in range(repeat):
        seconds, result_a = timed(first)
        best_a = min(best_a, seconds)
        seconds, result_b = timed(second)
        best_b = min(best_b, seconds)
    return best_a, result_a, best_b, result_b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--per-day", type=int, default=1300)
    parser.add_argument("--families", type=int, default=50)
    parser.add_argument("--variants", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    demands, on_hand, supplies = make_data(args.seed, args.days, args.per_day, args.families, args.variants)
    # read back in the order the reservation store hands demand out (rank order), each line a
    # new object as a query result would be
    demands = [Demand(d.item, d.need_time, d.seq_no, d.line, d.order_id, d.quantity, d.takt_seconds) for d in sorted(demands, key=RANK)]
    items = sorted(on_hand)
    cols = columns(demands, supplies, items)
    stock = np.array([on_hand[i] for i in items], dtype=np.int64)
    print(f"{len(demands)} demand lines, {len(items)} items, {len(supplies)} purchase orders")

    def full() -> Projector:
        projector = Projector(START, on_hand, supplies, demands)
        projector.project_all()
        return projector

    full_s, projector, numpy_s, reference = side_by_side(args.repeat, full, lambda: numpy_first_shortages(cols, stock, len(items)))
    agree = answers(projector, items) == reference

    # one broadcast: the first vehicle passes the broadcast point 30 s later than planned
    vehicle = [d for d in demands if d.order_id == demands[0].order_id]
    late = [Demand(d.item, d.need_time + timedelta(seconds=30), d.seq_no, d.line, d.order_id, d.quantity, d.takt_seconds) for d in vehicle]
    timings = []
    for k in range(args.repeat):
        before, after = (vehicle, late) if k % 2 == 0 else (late, vehicle)
        timings.append(best_of(1, lambda before=before, after=after: projector.apply(before, after))[0])
    if args.repeat % 2 == 0:  # leave the vehicle late
        projector.apply(vehicle, late)
    incremental_s = min(timings)
    updated = [d for d in demands if d.order_id != vehicle[0].order_id] + late
    agree = agree and answers(projector, items) == numpy_first_shortages(columns(updated, supplies, items), stock, len(items))

    shortages = sum(r is not None for r in reference)
    print(f"full projection {full_s * 1000:.1f} ms, NumPy reference {numpy_s * 1000:.1f} ms, incremental update {incremental_s * 1000:.2f} ms; {shortages} items run short")
    print(f"RESULT projection full_vs_numpy={full_s / numpy_s:.2f} incremental_vs_full={incremental_s / full_s:.4f} agree={'true' if agree else 'false'}")


if __name__ == "__main__":
    main()

"""Replications of the digital twin, in parallel on Dask, and their statistics.

A replication is one run of a scenario with one seed; replication ``i`` of every variant uses
seed ``seed + i``, so variants of one scenario run on common random numbers (each random
stream is named by the seed and its use). ``replicate`` submits every (variant, seed) run to a
Dask cluster: a ``LocalCluster`` of worker processes by default, or the scheduler at a given
address. Summaries give each KPI's mean with a 95 % confidence interval (Student's t), the
probability of at least one line stop (with a Wilson interval), and, for comparisons, each
KPI's mean difference to the baseline with a paired-t 95 % interval.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jisflow.domain.errors import JisflowError, ValidationError
from jisflow.simulation.scenario import Scenario

# The KPIs summarised over replications, with the direction that is better.
KPIS: dict[str, str] = {
    "line_stop_minutes": "lower",
    "on_time_in_sequence": "higher",
    "sequence_accuracy": "higher",
    "emergency_deliveries": "lower",
    "avg_stock": "lower",
    "peak_stock": "lower",
    "avg_line_side_stock": "lower",
    "avg_warehouse_stock": "lower",
    "rack_places": "lower",
    "bin_places": "lower",
    "warehouse_places": "lower",
    "handling_touches": "lower",
    "purchase_orders": "lower",
    "trucks": "lower",
    "truck_utilisation": "higher",
    "vehicles_built": "higher",
    "line_availability": "higher",
    "jit_on_time": "higher",
    "shortage_alerts": "lower",
}

# Two-sided 95 % quantiles of Student's t by degrees of freedom.
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
         11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086,
         21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042,
         40: 2.021, 60: 2.000, 120: 1.980}


def t975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (table, interpolated
    in 1/df between the listed values; 1.960 beyond 120)."""
    if df < 1:
        raise ValueError("a t quantile needs at least one degree of freedom")
    if df in _T975:
        return _T975[df]
    if df > 120:
        return 1.960 + (1.980 - 1.960) * 120 / df
    lo = max(k for k in _T975 if k < df)
    hi = min(k for k in _T975 if k > df)
    w = (1 / df - 1 / hi) / (1 / lo - 1 / hi)
    return _T975[hi] + w * (_T975[lo] - _T975[hi])


def mean_ci(values: Sequence[float]) -> dict[str, float | None]:
    """Mean and 95 % confidence interval (t); no interval from a single value."""
    n = len(values)
    if n == 0:
        raise ValueError("no values to summarise")
    mean = sum(values) / n
    if n == 1:
        return {"mean": round(mean, 4), "ci_low": None, "ci_high": None, "half_width": None}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t975(n - 1) * sd / math.sqrt(n)
    return {"mean": round(mean, 4), "ci_low": round(mean - half, 4), "ci_high": round(mean + half, 4), "half_width": round(half, 4)}


def wilson(successes: int, n: int) -> dict[str, float]:
    """A proportion with its 95 % Wilson score interval."""
    z = 1.959964
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {"p": round(p, 4), "ci_low": round(max(0.0, centre - half), 4), "ci_high": round(min(1.0, centre + half), 4)}


def run_replication(scenario: Scenario, seed: int) -> dict[str, Any]:
    """One run (this is what a Dask worker executes): the summarised KPIs and the stop causes."""
    from jisflow.simulation.twin import simulate

    kpis = simulate(scenario.with_seed(seed)).kpis()
    out: dict[str, Any] = {k: kpis[k] for k in KPIS}
    out["seed"] = seed
    out["line_stops"] = kpis["line_stops"]
    return out


def replicate(
    variants: Mapping[str, Scenario],
    replications: int,
    *,
    scheduler: str | None = None,
    processes: bool = True,
    workers: int | None = None,
    on_done: Callable[[str, int], None] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Run ``replications`` seeds of every variant on a Dask cluster; results per variant in
    seed order. ``on_done(variant, seed)`` is called as each run finishes (for a progress bar)."""
    if replications < 1:
        raise ValidationError(f"replications must be at least 1, not {replications}")
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise JisflowError("replications run on Dask: install the sim extra (pip install 'jisflow[sim]')") from None

    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise JisflowError(f"no Dask scheduler answers at {scheduler}: {exc}") from None
    else:
        n = workers or max(1, min(os.cpu_count() or 1, replications * len(variants)))
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=":0")
        client = Client(cluster)
    try:
        futures = {}
        for label, scenario in variants.items():
            for i in range(replications):
                seed = scenario.seed + i
                future = client.submit(run_replication, scenario, seed, key=f"twin-{label}-{seed}-{id(scenario)}", pure=False)
                futures[future] = (label, i)
        results: dict[str, list[dict[str, Any] | None]] = {label: [None] * replications for label in variants}
        for future in as_completed(futures):
            label, i = futures[future]
            results[label][i] = future.result()
            if on_done is not None:
                on_done(label, results[label][i]["seed"])  # type: ignore[index]
        return {label: [r for r in runs if r is not None] for label, runs in results.items()}
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def summarise(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Means with 95 % intervals of every KPI, the probability of at least one line stop and
    the stop minutes by cause (mean over the runs)."""
    n = len(runs)
    causes: dict[str, float] = {}
    for r in runs:
        for s in r["line_stops"]:
            label = s["cause"] if s["supplier"] is None else f"{s['cause']}: {s['supplier']} / {s['family']}"
            causes[label] = causes.get(label, 0.0) + s["minutes"] / n
    return {
        "replications": n,
        "seeds": [r["seed"] for r in runs],
        "kpis": {k: mean_ci([float(r[k]) for r in runs]) for k in KPIS},
        "p_line_stop": wilson(sum(1 for r in runs if r["line_stop_minutes"] > 0), n),
        "line_stop_minutes_by_cause": {k: round(v, 2) for k, v in sorted(causes.items(), key=lambda kv: -kv[1])},
    }


def compare(results: Mapping[str, Sequence[Mapping[str, Any]]], baseline: str) -> dict[str, Any]:
    """Every variant against the baseline, replication by replication (same seeds): the mean
    difference of each KPI with its paired-t 95 % interval, and whether it is significant."""
    base = {r["seed"]: r for r in results[baseline]}
    out: dict[str, Any] = {"baseline": baseline, "summaries": {k: summarise(v) for k, v in results.items()}, "differences": {}}
    for label, runs in results.items():
        if label == baseline:
            continue
        paired = [(r, base[r["seed"]]) for r in runs if r["seed"] in base]
        diffs = {}
        for k, better in KPIS.items():
            d = mean_ci([float(a[k]) - float(b[k]) for a, b in paired])
            significant = d["ci_low"] is not None and (d["ci_low"] > 0 or d["ci_high"] < 0)  # type: ignore[operator]
            diffs[k] = {**d, "significant": significant, "better": better}
        out["differences"][label] = diffs
    return out


__all__ = ["KPIS", "compare", "mean_ci", "replicate", "run_replication", "summarise", "t975", "wilson"]

"""Replications on Dask, their statistics, and ``jisflow simulate compare``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jisflow.domain.errors import ValidationError
from jisflow.entrypoints.cli.main import app
from jisflow.simulation.montecarlo import compare, mean_ci, replicate, summarise, t975, wilson
from jisflow.simulation.scenario import load_scenario, parse_scenario

DATA = Path(__file__).parent / "data"


def test_the_t_quantiles_match_the_table_and_fall_towards_the_normal_one():
    assert t975(1) == 12.706 and t975(4) == 2.776 and t975(30) == 2.042
    assert 2.021 > t975(50) > 2.000
    assert 1.96 < t975(1000) < 1.963


def test_a_mean_and_its_interval_worked_out_by_hand():
    # 2, 4, 6: mean 4, sample sd 2, half width t(2) * 2 / sqrt(3)
    d = mean_ci([2, 4, 6])
    half = 4.303 * 2 / math.sqrt(3)
    assert d["mean"] == 4 and d["half_width"] == round(half, 4)
    assert (d["ci_low"], d["ci_high"]) == (round(4 - half, 4), round(4 + half, 4))
    assert mean_ci([5])["ci_low"] is None


def test_the_wilson_interval_of_no_success_starts_at_zero():
    w = wilson(0, 10)
    assert w["p"] == 0 and w["ci_low"] == 0 and 0.27 < w["ci_high"] < 0.28


def run(seed: int, stop: float, stock: float) -> dict:
    from jisflow.simulation.montecarlo import KPIS

    row = {k: 0.0 for k in KPIS}
    row.update(seed=seed, line_stop_minutes=stop, avg_stock=stock, line_stops=[])
    return row


def test_a_comparison_pairs_the_replications_by_seed():
    results = {
        "A": [run(1, 10, 100), run(2, 0, 120), run(3, 20, 90)],
        "B": [run(3, 25, 40), run(1, 12, 50), run(2, 3, 65)],  # any order: paired by seed
    }
    outcome = compare(results, "A")
    stock = outcome["differences"]["B"]["avg_stock"]
    stops = outcome["differences"]["B"]["line_stop_minutes"]

    # differences by seed: stock -50, -55, -50; stops +2, +3, +5
    assert stock["mean"] == round(-155 / 3, 4) and stock["significant"] and stock["ci_high"] < 0
    # +2, +3, +5 minutes: a mean of 3.33 whose interval (t(2) = 4.303) still spans zero
    assert stops["mean"] == round(10 / 3, 4) and not stops["significant"] and stops["ci_low"] < 0 < stops["ci_high"]
    assert outcome["summaries"]["A"]["p_line_stop"]["p"] == round(2 / 3, 4)


def slow_truck_hours(hours: float = 0.5) -> dict:
    return {
        "plant": str(DATA / "one_station_plant.yaml"), "seed": 3, "start": "2026-03-02", "duration": {"hours": hours},
        "defaults": {"truck_interval_minutes": 20, "truck_capacity": 100, "build_minutes": 0,
                     "transit_minutes": {"min": 5, "mode": 10, "max": 25}},
        "line_stoppages": {"per_hour": 4, "mean_minutes": 2},
    }


def test_replications_run_on_a_dask_cluster_with_the_same_seeds_for_every_variant():
    base = parse_scenario(slow_truck_hours())
    variants = {"baseline": base, "faster": base.with_variant("defaults.truck_interval_minutes", 5)}
    done = []
    results = replicate(variants, 3, processes=False, workers=2, on_done=lambda label, seed: done.append((label, seed)))

    assert sorted(done) == sorted((label, s) for label in variants for s in (3, 4, 5))
    assert [r["seed"] for r in results["baseline"]] == [r["seed"] for r in results["faster"]] == [3, 4, 5]
    # the same seed on the same scenario gives the same run, on a worker as here
    from jisflow.simulation.montecarlo import run_replication

    assert results["baseline"][1] == run_replication(base, 4)
    summary = summarise(results["baseline"])
    assert summary["replications"] == 3
    assert summary["kpis"]["line_stop_minutes"]["ci_low"] <= summary["kpis"]["line_stop_minutes"]["mean"]
    assert 0 <= summary["p_line_stop"]["p"] <= 1
    assert any(k.startswith("line stoppage") for k in summary["line_stop_minutes_by_cause"])


def test_a_variant_with_a_bad_field_is_refused_with_its_path():
    base = load_scenario(DATA / "slow_truck.yaml")
    with pytest.raises(ValidationError) as caught:
        base.with_variant("defaults.truck_interval_minutes", -5)
    assert any("defaults.truck_interval_minutes" in p.where for p in caught.value.problems)


def test_simulate_compare_reports_mode_differences_with_intervals_on_an_existing_scheduler():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        result = CliRunner().invoke(app, ["simulate", "compare", str(DATA / "slow_truck.yaml"), "--modes", "JIS,STOCK",
                                          "--replications", "2", "--scheduler", cluster.scheduler_address, "--json"])

    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["baseline"] == "JIS" and outcome["seeds"] == [1, 2]
    stock = outcome["differences"]["STOCK"]
    # the slow seat truck stops a JIS line; a warehouse buffer does not stop it but holds stock
    assert stock["line_stop_minutes"]["mean"] < 0
    assert stock["avg_stock"]["mean"] > 0 and stock["avg_stock"]["significant"]


def test_simulate_with_replications_reports_means_and_the_probability_of_a_line_stop():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        result = CliRunner().invoke(app, ["simulate", str(DATA / "slow_truck.yaml"), "--replications", "2", "--scheduler", cluster.scheduler_address, "--json"])

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["replications"] == 2 and summary["seeds"] == [1, 2]
    assert summary["p_line_stop"]["p"] == 1.0
    assert summary["kpis"]["line_stop_minutes"]["mean"] == 39.0


def test_compare_needs_modes_or_variants():
    result = CliRunner().invoke(app, ["simulate", "compare", str(DATA / "slow_truck.yaml"), "--replications", "2"])
    assert result.exit_code != 0
    assert "--variant" in result.output

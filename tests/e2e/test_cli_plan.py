import json
from pathlib import Path

from typer.testing import CliRunner

from jisflow.entrypoints.cli import plan
from jisflow.optimization.csplib import read_csplib
from jisflow.optimization.objective import evaluate
from jisflow.optimization.roadef import read_roadef

DATA = Path(__file__).resolve().parents[1] / "data" / "car_sequencing"
runner = CliRunner()


def test_sequence_writes_a_csplib_solution_anyone_can_check(tmp_path):
    out = tmp_path / "out.json"
    args = ["sequence", str(DATA / "two.txt"), "--format", "csplib", "--instance", "60-01"]
    result = runner.invoke(plan.app, args + ["--time-limit", "20", "--seed", "3", "--output", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    instance = read_csplib(DATA / "two.txt", instance="60-01")
    index = {int(name): c for c, name in enumerate(instance.class_names)}
    evaluation = evaluate(instance, [index[c] for c in report["sequence"]])
    assert report["objective"]["weighted_total"] == evaluation.total
    assert report["objective"]["components"]["high_ratio"] == evaluation.high_ratio
    assert {"instance", "seed", "time_limit", "elapsed"} <= set(report)
    assert "60-01" in result.output
    assert evaluation.high_ratio == 0


def test_sequence_writes_roadef_idents_in_order(tmp_path):
    out = tmp_path / "out.json"
    folder = DATA / "roadef_X_028_CH2"
    result = runner.invoke(plan.app, ["sequence", str(folder), "--format", "roadef", "--time-limit", "0.5", "--output", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    instance = read_roadef(folder)
    assert sorted(report["sequence"]) == sorted(instance.car_ids)
    by_id = dict(zip(instance.car_ids, instance.cars, strict=True))
    evaluation = evaluate(instance, [by_id[i] for i in report["sequence"]])
    assert report["objective"]["weighted_total"] == evaluation.total
    assert report["objective"]["feasible"] is evaluation.feasible is True


def test_a_bad_file_gives_a_clear_error_and_exit_code_2(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("3 1 1\n1\n2\n0 3 1 5\n")
    result = runner.invoke(plan.app, ["sequence", str(bad), "--format", "csplib"])
    assert result.exit_code == 2
    assert "bad.txt:4" in result.output

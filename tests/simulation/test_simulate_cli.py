"""``jisflow simulate`` on a scenario file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from jisflow.entrypoints.cli.main import app

DATA = Path(__file__).parent / "data"


def test_simulate_prints_the_kpis_as_json_and_writes_the_report(tmp_path):
    report = tmp_path / "run.html"
    result = CliRunner().invoke(app, ["simulate", str(DATA / "slow_truck.yaml"), "--json", "--report", str(report)])

    assert result.exit_code == 0, result.output
    kpis = json.loads(result.stdout)
    assert kpis["line_stop_minutes"] == 39.0
    assert kpis["line_stops"][0]["supplier"] == "SEATCO"
    assert report.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_simulate_names_the_bad_field_of_a_scenario(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("plant: demo\nduration: {shifts: -1}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["simulate", str(bad)])

    assert result.exit_code != 0
    assert "duration.shifts" in result.output


def test_simulate_breaks_the_kpis_down_by_supply_mode_and_keeps_the_jis_keys(tmp_path):
    result = CliRunner().invoke(app, ["simulate", str(DATA / "slow_truck.yaml"), "--json"])

    assert result.exit_code == 0, result.output
    kpis = json.loads(result.stdout)
    jis = kpis["by_mode"]["JIS"]
    assert jis["line_stop_minutes"] == kpis["line_stop_minutes"] == 39.0
    assert jis["on_time_in_sequence"] == kpis["on_time_in_sequence"]
    # vehicles 0..11 reached the seat station; 0, 1 and 11 kept it waiting (the hand-worked case in test_twin)
    assert (jis["parts_needed"], jis["parts_available"], jis["line_stops"]) == (12, 9, 3)
    assert kpis["line_availability"] == jis["availability"]

    table = CliRunner().invoke(app, ["simulate", str(DATA / "slow_truck.yaml")], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "supply by mode" in table.output and "9 of 12" in table.output

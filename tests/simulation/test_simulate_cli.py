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

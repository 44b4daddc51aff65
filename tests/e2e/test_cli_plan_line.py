"""`jisflow plan sequence --line`: re-planning the stored pearl chain from the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from jisflow.adapters.plant_file import demo_plant_path
from jisflow.entrypoints.cli.main import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_planning_a_line_reports_then_applies_a_better_order_keeping_the_frozen_head(tmp_path):
    db = f"sqlite:///{tmp_path / 'plan.db'}"
    csv = tmp_path / "day.csv"
    assert run("db", "upgrade", "--db", db).exit_code == 0
    assert run("plant", "load", str(demo_plant_path()), "--db", db).exit_code == 0
    assert run("sequence", "generate", str(csv), "--count", "120", "--seed", "4").exit_code == 0
    assert run("sequence", "import", str(csv), "--line", "TF1", "--db", db).exit_code == 0
    out = tmp_path / "plan.json"
    shown = run("plan", "sequence", "--line", "TF1", "--time-limit", "1.5", "--output", str(out), "--db", db)
    assert shown.exit_code == 0 and "not applied" in shown.output
    report = json.loads(out.read_text())
    assert report["after"]["total"] < report["before"]["total"] and report["applied"] is False
    applied = run("plan", "sequence", "--line", "TF1", "--time-limit", "1.5", "--apply", "--output", str(out), "--db", db)
    assert applied.exit_code == 0 and "applied" in applied.output
    report = json.loads(out.read_text())
    assert report["applied"] is True and report["frozen"] == 30
    head = run("sequence", "show", "--line", "TF1", "--limit", "3", "--db", db).output
    assert "ORD000001" in head and "ORD000003" in head


def test_planning_needs_either_a_file_or_a_line(tmp_path):
    result = runner.invoke(app, ["plan", "sequence"])
    assert result.exit_code != 0
    assert "--line" in result.output

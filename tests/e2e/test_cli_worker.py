"""`jisflow worker --nats`: lines it cannot own are refused with what and where, before it
connects to anything."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from jisflow.entrypoints.cli.main import app

SMALL_PLANT = Path(__file__).resolve().parents[1] / "data" / "plants" / "small_plant.yaml"
NOWHERE = "nats://127.0.0.1:9"  # nothing listens: a worker that got past the checks would fail to connect


def _db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade", "--db", url]).exit_code == 0
    assert runner.invoke(app, ["plant", "load", str(SMALL_PLANT), "--db", url]).exit_code == 0
    return url


def test_a_line_no_loaded_plant_has_is_refused_and_the_known_lines_are_named(tmp_path: Path):
    result = CliRunner().invoke(app, ["worker", "--nats", NOWHERE, "--lines", "L1,NOPE", "--db", _db(tmp_path)])
    assert result.exit_code == 1
    assert "--lines: no line 'NOPE' in any loaded plant (known: L1)" in " ".join(result.output.split())


def test_a_worker_index_beyond_the_number_of_workers_is_refused(tmp_path: Path):
    result = CliRunner().invoke(app, ["worker", "--nats", NOWHERE, "--workers", "2", "--worker-index", "2", "--db", _db(tmp_path)])
    assert result.exit_code == 1
    assert "--worker-index 2 is not one of 2 worker(s): give 0 to 1" in " ".join(result.output.split())


def test_choosing_lines_without_nats_is_refused(tmp_path: Path):
    result = CliRunner().invoke(app, ["worker", "--lines", "L1", "--db", _db(tmp_path)])
    assert result.exit_code == 1
    assert "give --nats too" in " ".join(result.output.split())

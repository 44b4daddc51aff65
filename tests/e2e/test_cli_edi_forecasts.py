"""``jisflow edi import`` of forecasts (DELFOR, X12 830, VDA 4905) and ``jisflow purchasing
forecasts`` listing what was stored."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from test_cli_edi import DATA, database, run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "edi"))
from test_edi_forecasts import forecast, written  # noqa: E402


def stored(url: str, *options: str) -> list[dict]:
    return json.loads(run("purchasing", "forecasts", "--json", *options, "--db", url).stdout)


def test_an_imported_delfor_is_listed_per_period_and_a_replay_is_not_applied_twice(tmp_path: Path):
    url = database(tmp_path, "supplier.db")
    f = forecast("DELFOR")
    file = tmp_path / "delfor.edi"
    file.write_text(written(f), encoding="utf-8")
    first = run("edi", "import", str(file), "--db", url)
    assert first.stdout.startswith("UNA") and "CONTRL" in first.stdout
    replay = run("edi", "import", str(file), "--db", url)
    assert "applied before" in replay.stderr
    lines = stored(url)
    assert [(ln["item"], ln["due"], ln["quantity"], ln["commitment"]) for ln in lines] == [
        (p.part_number, q.due.isoformat(), q.quantity, q.commitment.value) for p in f.parts for q in p.periods]
    assert {(ln["partner"], ln["supplier"], ln["message"], ln["reference"]) for ln in lines} == {("PLANT", "SITZ", "DELFOR", "FC-9")}
    assert stored(url, "--supplier", "OTHER") == []


def test_an_x12_830_is_acknowledged_with_a_997_and_supersedes_the_delfor_of_the_same_horizon(tmp_path: Path):
    url = database(tmp_path, "supplier.db")
    for message in ("DELFOR", "830"):
        file = tmp_path / f"{message}.edi"
        file.write_text(written(forecast(message)), encoding="utf-8")
        result = run("edi", "import", str(file), "--db", url)
    assert result.stdout.startswith("ISA") and "*997*" in result.stdout.replace("~", "*")
    assert {ln["message"] for ln in stored(url)} == {"830"}


def test_a_vda_4905_sample_without_parties_is_refused_unless_they_are_given(tmp_path: Path):
    url = database(tmp_path, "supplier.db")
    sample = str(DATA / "edi" / "4905.edi")
    refused = run("edi", "import", sample, "--db", url, exit_code=1)
    assert "names no sender" in refused.stderr and stored(url) == []
    run("edi", "import", sample, "--customer", "OEM", "--supplier", "SITZ", "--db", url)
    lines = stored(url, "--supplier", "SITZ")
    assert lines and {(ln["partner"], ln["message"]) for ln in lines} == {("OEM", "VDA4905")}

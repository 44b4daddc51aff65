"""End-to-end: the floor commands of the ``jisflow`` command line on a SQLite file, from the
pick list to the KPIs, with the small plant's default floor master data."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from jisflow.entrypoints.cli.main import app

SMALL_PLANT = Path(__file__).resolve().parents[1] / "data" / "plants" / "small_plant.yaml"
runner = CliRunner()



def test_the_floor_round_trip_on_the_command_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'jisflow.db'}"

    def cli(*args: str, exit_code: int = 0) -> str:
        result = runner.invoke(app, [*args, "--db", db])
        assert result.exit_code == exit_code, result.output
        return " ".join(result.output.split())

    cli("db", "upgrade")
    cli("plant", "load", str(SMALL_PLANT))
    rows = ["order_id,vin,model,trim,roof"] + [f"V{n:04d},,TOURER,LUX,CLOSED" for n in range(1, 4)]
    (tmp_path / "seq.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    cli("sequence", "import", str(tmp_path / "seq.csv"), "--line", "L1")
    cli("broadcast", "--line", "L1", "--next", "3", "--at", "2026-12-07T07:00:00+01:00")
    calls = [json.loads(t) for t in runner.invoke(app, ["calloffs", "list", "--line", "L1", "--json", "--db", db]).stdout.splitlines() if t.strip()]
    cli("calloffs", "transition", calls[0]["number"], "ACKNOWLEDGED")

    items = json.loads(runner.invoke(app, ["pick", "list", "--line", "L1", "--json", "--at", "2026-12-07T07:01:00+01:00", "--db", db]).stdout)
    assert [i["seq_no"] for i in items] == [1, 2, 3]
    cli("pick", "confirm", *[f"{i['order_id']}/SEAT" for i in items], "--line", "L1")
    rack = items[0]["rack_id"]
    refused = cli("pick", "scan", "--line", "L1", "--rack", rack, "--slot", "2", "--part", "SEAT-L", "--serial", "S-1", exit_code=1)
    assert "scan_refused" in refused and "the next slot is 1" in refused
    for i in items:
        cli("pick", "scan", "--line", "L1", "--rack", rack, "--slot", str(i["slot"]), "--part", i["part_number"], "--serial", f"S-{i['order_id']}")
    assert "partial: " + rack in cli("rack", "close", rack, "--line", "L1", "--at", "2026-12-07T07:03:00+01:00")
    label = tmp_path / "label.pdf"
    cli("rack", "label", rack, "--out", str(label))
    assert label.read_bytes().startswith(b"%PDF")

    planned = cli("ship", "plan", "--line", "L1", "--until", "2026-12-07T08:00:00+01:00")
    shipment = planned.split()[0]
    assert shipment.startswith("SH-") and f"load {rack}" in planned
    cli("ship", "despatch", shipment, "--at", "2026-12-07T07:04:00+01:00")
    assert "3/3 part(s) received in position" in cli("receive", "shipment", shipment, "--at", "2026-12-07T07:09:00+01:00")
    assert "ok" in cli("lineside", "check", "--line", "L1", "--station", "S10", "--order", "V0001", "--part", "SEAT-L", "--serial", "S-V0001")
    cli("lineside", "consume", "V0001", "--line", "L1", "--station", "S10")
    trail = cli("lineside", "trace", "S-V0001")
    assert all(step in trail for step in ("packed", "despatched", "received", "lineside_ok", "consumed")) and "│ consumed │ V0001" in trail
    kpis = json.loads(runner.invoke(app, ["kpi", "--line", "L1", "--json", "--db", db]).stdout)
    assert kpis["sequence_accuracy"] == 1.0 and kpis["parts_consumed"] == 1 and kpis["wrong_parts_fitted"] == 0

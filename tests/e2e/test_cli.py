"""End-to-end tests of the ``jisflow`` command line, each on a SQLite file of its own.

Broadcasts pass ``--at`` so call-off times do not depend on the day the tests run. Sequence
changes use the system clock: changes outside the frozen zone pick vehicles far down the chain
(the small plant's 45-minute zone holds at most 31 vehicles at a 90 s takt, and none at all
outside the shifts), and changes inside it run on a copy of the small plant whose frozen zone
is the next five vehicles, whatever the time.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

from jisflow.adapters.db import tables
from jisflow.adapters.db.migrate import current
from jisflow.entrypoints.cli.main import app

PLANTS = Path(__file__).resolve().parents[1] / "data" / "plants"
SMALL_PLANT = PLANTS / "small_plant.yaml"
MONDAY_7 = "2026-12-07T07:00:00+01:00"
MONDAY_7_03 = "2026-12-07T07:03:00+01:00"
MONDAY_7_05 = "2026-12-07T07:05:00+01:00"

runner = CliRunner()



class Cli:
    """Runs ``jisflow`` commands against one database."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, *args: str, exit_code: int = 0) -> Result:
        result = runner.invoke(app, [*args, "--db", self.url])
        assert result.exit_code == exit_code, f"jisflow {' '.join(args)} -> {result.exit_code}\n{result.output}"
        return result

    def planned(self) -> dict[str, dict[str, str]]:
        """The planned vehicles as ``sequence show`` prints them: order id -> seq, model, zone."""
        output = self("sequence", "show", "--line", "L1", "--limit", "500").stdout
        rows: dict[str, dict[str, str]] = {}
        for text in output.splitlines():
            cells = [cell.strip() for cell in text.strip().strip("│").split("│")]
            if len(cells) == 7 and cells[4].startswith("planned"):
                rows[cells[2]] = {"seq": cells[0], "model": cells[3], "zone": cells[6]}
        return rows

    def calloff_lines(self) -> list[dict]:
        output = self("calloffs", "list", "--line", "L1", "--json", "--limit", "1000").stdout
        return [json.loads(text) for text in output.splitlines() if text.strip()]

    def alert_rows(self, *options: str) -> list[list[str]]:
        output = self("alerts", "list", *options).stdout
        rows = [[cell.strip() for cell in text.strip().strip("│").split("│")] for text in output.splitlines()]
        return [cells for cells in rows if len(cells) == 7 and cells[0].isdigit()]


def plain(result: Result) -> str:
    """The output with line wrapping undone."""
    return " ".join(result.output.split())


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(f"sqlite:///{tmp_path / 'jisflow.db'}")
    cli("db", "upgrade")
    return cli


def generate(tmp_path: Path, count: int, seed: int = 3, name: str = "sequence.csv") -> Path:
    out = tmp_path / name
    result = runner.invoke(app, ["sequence", "generate", str(out), "--plant-file", str(SMALL_PLANT), "--count", str(count), "--seed", str(seed)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def chain(cli: Cli, tmp_path: Path) -> Cli:
    """The small plant loaded and 80 vehicles imported into line L1."""
    cli("plant", "load", str(SMALL_PLANT))
    cli("sequence", "import", str(generate(tmp_path, 80)), "--line", "L1")
    return cli


@pytest.fixture
def count_zone_chain(cli: Cli, tmp_path: Path) -> Cli:
    """The small plant with a frozen zone of the next five vehicles, and 80 vehicles on L1."""
    text = SMALL_PLANT.read_text(encoding="utf-8")
    assert "frozen_zone: {kind: time, size: 45}" in text
    plant = tmp_path / "small_plant_count_zone.yaml"
    plant.write_text(text.replace("frozen_zone: {kind: time, size: 45}", "frozen_zone: {kind: count, size: 5}"), encoding="utf-8")
    cli("plant", "load", str(plant))
    cli("sequence", "import", str(generate(tmp_path, 80)), "--line", "L1")
    return cli


def rewrite_row(source: Path, target: Path, row: int, **cells: str) -> Path:
    """Copy a sequence CSV, changing cells of one row (row 1 is the header)."""
    with source.open(newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    records[row - 2].update(cells)
    with target.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return target


# --------------------------------------------------------------------------- db and plant
def test_db_upgrade_creates_the_schema_and_names_the_revision(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'fresh.db'}")
    result = cli("db", "upgrade")
    revision = current(cli.url)
    assert revision
    assert f"at revision {revision}" in plain(result)
    engine = sa.create_engine(cli.url)
    try:
        assert {t.name for t in tables.metadata.sorted_tables} <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_plant_load_prints_the_counts_of_what_it_stored(cli: Cli) -> None:
    result = cli("plant", "load", str(SMALL_PLANT))
    assert "plant SMALL (Small Test Plant) loaded: 1 line(s), 3 stations, 5 part families, 3 suppliers" in plain(result)
    shown = plain(cli("plant", "show", "SMALL"))
    assert "line L1: takt 90 s, frozen zone 45 time" in shown
    for family in ("SEAT", "ROOF", "BUMPER", "BOLT", "DOCS"):
        assert family in shown


def test_a_broken_plant_file_exits_1_naming_the_file_and_the_field_paths_without_a_traceback(cli: Cli) -> None:
    broken = PLANTS / "broken_fields.yaml"
    result = cli("plant", "load", str(broken), exit_code=1)
    text = plain(result)
    assert str(broken) in text
    assert "lines[0].takt_seconds" in text
    assert "families[0].route.mode" in text
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert "BROKEN" in plain(cli("plant", "show", "BROKEN", exit_code=1))
    assert plain(cli("plant", "show")) == ""


# --------------------------------------------------------------------------- sequence import and generate
def test_sequence_import_appends_the_vehicles_to_the_pearl_chain(cli: Cli, tmp_path: Path) -> None:
    cli("plant", "load", str(SMALL_PLANT))
    result = cli("sequence", "import", str(generate(tmp_path, 80)), "--line", "L1")
    assert "imported 80 vehicle(s) into line L1: seq 1..80" in plain(result)
    planned = cli.planned()
    assert len(planned) == 80
    assert planned["ORD000001"]["seq"] == "1"
    assert planned["ORD000080"]["seq"] == "80"


def test_a_csv_with_one_bad_vin_is_rejected_whole_naming_the_row_and_the_column(cli: Cli, tmp_path: Path) -> None:
    cli("plant", "load", str(SMALL_PLANT))
    good = generate(tmp_path, 10)
    with good.open(newline="", encoding="utf-8") as fh:
        vin = list(csv.DictReader(fh))[2]["vin"]
    wrong_check_digit = vin[:8] + ("1" if vin[8] != "1" else "2") + vin[9:]
    bad = rewrite_row(good, tmp_path / "bad_vin.csv", 4, vin=wrong_check_digit)
    result = cli("sequence", "import", str(bad), "--line", "L1", exit_code=1)
    text = plain(result)
    assert "bad_vin.csv, row 4, column vin" in text and "check digit" in text
    assert "nothing applied" in text
    assert "Traceback" not in result.output
    assert "0 planned" in plain(cli("sequence", "show", "--line", "L1"))
    assert "seq 1..10" in plain(cli("sequence", "import", str(good), "--line", "L1"))


def test_a_csv_with_a_model_no_rule_matches_is_rejected_whole_naming_the_row_and_the_value(cli: Cli, tmp_path: Path) -> None:
    cli("plant", "load", str(SMALL_PLANT))
    good = generate(tmp_path, 10)
    bad = rewrite_row(good, tmp_path / "bad_model.csv", 4, model="VAN", vin="")
    result = cli("sequence", "import", str(bad), "--line", "L1", exit_code=1)
    text = plain(result)
    assert "bad_model.csv, row 4" in text
    assert "BUMPER" in text and "model=VAN" in text
    assert "nothing applied" in text
    assert cli.planned() == {}
    assert "seq 1..10" in plain(cli("sequence", "import", str(good), "--line", "L1"))


def test_sequence_generate_writes_a_csv_that_imports(cli: Cli, tmp_path: Path) -> None:
    out = generate(tmp_path, 20)
    with out.open(newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    assert len(records) == 20
    assert {"order_id", "vin", "model", "trim", "roof"} <= set(records[0])
    assert not any(r["model"] == "CITY" and r["roof"] == "GLASS" for r in records)
    cli("plant", "load", str(SMALL_PLANT))
    assert "imported 20 vehicle(s) into line L1: seq 1..20" in plain(cli("sequence", "import", str(out), "--line", "L1"))


def test_sequence_generate_gives_the_same_file_for_the_same_seed(tmp_path: Path) -> None:
    first = generate(tmp_path, 20, seed=3, name="first.csv")
    second = generate(tmp_path, 20, seed=3, name="second.csv")
    other = generate(tmp_path, 20, seed=4, name="other.csv")
    assert first.read_bytes() == second.read_bytes()
    assert other.read_bytes() != first.read_bytes()


# --------------------------------------------------------------------------- broadcast
def test_broadcasting_a_vehicle_issues_call_offs_that_the_relay_sends(chain: Cli) -> None:
    result = chain("broadcast", "--line", "L1", "--order", "ORD000001", "--at", MONDAY_7)
    assert "'seq_no': 1" in plain(result)
    lines = chain.calloff_lines()
    assert lines
    assert {ln["order_id"] for ln in lines} == {"ORD000001"}
    assert {ln["state"] for ln in lines} == {"SENT"}
    assert {"SEAT"} <= {ln["family"] for ln in lines}


def test_broadcast_next_takes_the_head_of_the_chain(chain: Cli) -> None:
    chain("broadcast", "--line", "L1", "--order", "ORD000001", "--at", MONDAY_7)
    result = chain("broadcast", "--line", "L1", "--next", "2", "--at", MONDAY_7_03)
    assert "ORD000002" in plain(result) and "ORD000003" in plain(result)
    assert {ln["order_id"] for ln in chain.calloff_lines() if ln["family"] == "SEAT"} == {"ORD000001", "ORD000002", "ORD000003"}
    planned = chain.planned()
    assert "ORD000002" not in planned and "ORD000003" not in planned
    assert planned["ORD000004"]["seq"] == "4"


def test_a_replayed_message_id_is_not_applied_twice(chain: Cli) -> None:
    chain("broadcast", "--line", "L1", "--order", "ORD000001", "--at", MONDAY_7, "--message-id", "feed-0001")
    before = chain.calloff_lines()
    replay = chain("broadcast", "--line", "L1", "--order", "ORD000001", "--at", MONDAY_7, "--message-id", "feed-0001")
    assert "message already applied; nothing done" in plain(replay)
    assert chain.calloff_lines() == before
    assert chain.alert_rows() == []


def test_broadcasting_an_unknown_vehicle_raises_an_unknown_vehicle_alert(chain: Cli) -> None:
    result = chain("broadcast", "--line", "L1", "--order", "ORD999999", "--at", MONDAY_7)
    text = plain(result)
    assert "broadcast refused" in text
    assert "alert unknown_vehicle" in text and "ORD999999" in text
    rows = chain.alert_rows("--kind", "unknown_vehicle")
    assert len(rows) == 1 and "ORD999999" in rows[0][5]
    assert chain.calloff_lines() == []


# --------------------------------------------------------------------------- sequence changes
def test_move_outside_the_frozen_zone_resequences_the_vehicle(chain: Cli) -> None:
    result = chain("sequence", "change", "move", "--line", "L1", "--order", "ORD000070", "--before", "ORD000065")
    assert "move of ORD000070 on line L1: seq 70 -> 65" in plain(result)
    planned = chain.planned()
    assert planned["ORD000070"]["seq"] == "65"
    assert planned["ORD000065"]["seq"] == "66"


def test_swap_outside_the_frozen_zone_exchanges_two_vehicles(chain: Cli) -> None:
    chain("sequence", "change", "swap", "--line", "L1", "ORD000061", "ORD000075")
    planned = chain.planned()
    assert (planned["ORD000061"]["seq"], planned["ORD000075"]["seq"]) == ("75", "61")


def test_cancel_outside_the_frozen_zone_takes_the_vehicle_out(chain: Cli) -> None:
    result = chain("sequence", "change", "cancel", "--line", "L1", "--order", "ORD000062")
    assert "cancel of ORD000062 on line L1: seq 62," in plain(result)
    planned = chain.planned()
    assert "ORD000062" not in planned
    assert len(planned) == 79


def test_insert_outside_the_frozen_zone_adds_a_vehicle_after_another(chain: Cli) -> None:
    result = chain("sequence", "change", "insert", "--line", "L1", "--order", "NEW0001", "--model", "TOURER",
                   "-o", "trim=LUX", "-o", "roof=GLASS", "--after", "ORD000063")
    assert "insert of NEW0001 on line L1: seq 64," in plain(result)
    planned = chain.planned()
    assert planned["NEW0001"] == {"seq": "64", "model": "TOURER", "zone": ""}
    assert planned["ORD000064"]["seq"] == "65"
    assert len(planned) == 81


def test_spec_change_outside_the_frozen_zone_changes_the_model(chain: Cli) -> None:
    before = chain.planned()["ORD000064"]["model"]
    new_model = "TOURER" if before == "CITY" else "CITY"
    chain("sequence", "change", "spec", "--line", "L1", "--order", "ORD000064", "--model", new_model, "-o", "roof=CLOSED")
    assert chain.planned()["ORD000064"]["model"] == new_model


FROZEN_CHANGES = {
    "move": ("move", "--order", "ORD000002", "--after", "ORD000070"),
    "swap": ("swap", "ORD000002", "ORD000070"),
    "cancel": ("cancel", "--order", "ORD000002"),
    "insert": ("insert", "--order", "NEW0001", "--model", "CITY", "-o", "trim=BASE", "-o", "roof=CLOSED", "--before", "ORD000002"),
    "spec": ("spec", "--order", "ORD000002", "-o", "trim=LUX"),
}


@pytest.mark.parametrize("change", FROZEN_CHANGES.values(), ids=FROZEN_CHANGES.keys())
def test_a_change_inside_the_frozen_zone_is_refused_without_override(count_zone_chain: Cli, change: tuple[str, ...]) -> None:
    before = count_zone_chain.planned()
    assert before["ORD000002"]["zone"] == "frozen"
    result = count_zone_chain("sequence", "change", *change, "--line", "L1", exit_code=1)
    assert "frozen zone" in plain(result)
    assert "Traceback" not in result.output
    assert count_zone_chain.planned() == before
    assert count_zone_chain.alert_rows("--kind", "frozen_zone_override") == []


@pytest.mark.parametrize("change", FROZEN_CHANGES.values(), ids=FROZEN_CHANGES.keys())
def test_a_change_inside_the_frozen_zone_with_override_is_applied_and_alerted(count_zone_chain: Cli, change: tuple[str, ...]) -> None:
    result = count_zone_chain("sequence", "change", *change, "--line", "L1", "--override", "--by", "planner", "--reason", "line stop")
    assert "(frozen zone overridden)" in plain(result)
    rows = count_zone_chain.alert_rows("--kind", "frozen_zone_override")
    assert len(rows) == 1
    assert "forced by planner" in rows[0][5]


# --------------------------------------------------------------------------- call-offs and alerts
def test_calloffs_transition_acknowledges_a_sent_call_off(chain: Cli) -> None:
    chain("broadcast", "--line", "L1", "--order", "ORD000001", "--at", MONDAY_7)
    number = chain.calloff_lines()[0]["number"]
    result = chain("calloffs", "transition", number, "ACKNOWLEDGED", "--by", "supplier")
    assert f"of {number} now ACKNOWLEDGED" in plain(result)
    assert {ln["state"] for ln in chain.calloff_lines() if ln["number"] == number} == {"ACKNOWLEDGED"}


def test_an_illegal_calloff_transition_exits_1_naming_both_states(chain: Cli) -> None:
    chain("broadcast", "--line", "L1", "--order", "ORD000001", "--at", MONDAY_7)
    number = chain.calloff_lines()[0]["number"]
    result = chain("calloffs", "transition", number, "SHIPPED", exit_code=1)
    text = plain(result)
    assert number in text and "SENT" in text and "SHIPPED" in text
    assert "Traceback" not in result.output
    assert {ln["state"] for ln in chain.calloff_lines() if ln["number"] == number} == {"SENT"}


def test_alerts_ack_records_who_acknowledged_the_alert(chain: Cli) -> None:
    chain("broadcast", "--line", "L1", "--order", "ORD999999", "--at", MONDAY_7_05)
    [row] = chain.alert_rows("--open")
    alert_id = row[0]
    assert "acknowledged by anna" in plain(chain("alerts", "ack", alert_id, "--by", "anna"))
    assert chain.alert_rows("--open") == []
    [row] = chain.alert_rows()
    assert row[0] == alert_id and row[6] == "anna"
    assert "no alert 99999" in plain(chain("alerts", "ack", "99999", "--by", "anna", exit_code=1))


# --------------------------------------------------------------------------- demo
@pytest.mark.slow
def test_demo_json_runs_a_shift_and_prints_its_summary(tmp_path: Path) -> None:
    db_file = tmp_path / "demo.db"
    result = runner.invoke(app, ["demo", "--json", "--db-file", str(db_file)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {"vehicles_broadcast", "calloff_lines", "alerts"} <= set(summary)
    assert summary["vehicles_broadcast"] > 300
    assert summary["calloff_lines"]["total"] > 0
    assert db_file.is_file()

"""End-to-end tests of ``jisflow edi``: parse the public samples, export a DELJIT from one
database and import it into another, replays and rejected interchanges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import run


DATA = Path(__file__).resolve().parents[1] / "data"
SMALL_PLANT = DATA / "plants" / "small_plant.yaml"
MONDAY_7 = "2026-12-07T07:00:00+01:00"


def database(tmp_path: Path, name: str) -> str:
    url = f"sqlite:///{tmp_path / name}"
    run("db", "upgrade", "--db", url)
    return url


def calloff_lines(url: str) -> list[dict]:
    out = run("calloffs", "list", "--json", "--limit", "1000", "--db", url).stdout
    return [json.loads(text) for text in out.splitlines() if text.strip()]


@pytest.fixture
def plant(tmp_path: Path) -> str:
    """A plant database with the small plant, a sequence and the first vehicle broadcast."""
    url = database(tmp_path, "plant.db")
    run("plant", "load", str(SMALL_PLANT), "--db", url)
    csv = tmp_path / "seq.csv"
    run("sequence", "generate", str(csv), "--plant-file", str(SMALL_PLANT), "--count", "20", "--seed", "3")
    run("sequence", "import", str(csv), "--line", "L1", "--db", url)
    run("broadcast", "--line", "L1", "--order", "ORD000001", "--at", MONDAY_7, "--db", url)
    return url


@pytest.mark.parametrize("name", ["DESADV.edifact", "4905.edi", "4913.edi"])
def test_every_public_sample_parses_to_json(name: str) -> None:
    doc = json.loads(run("edi", "parse", str(DATA / "edi" / name), "--json").stdout)
    assert doc["syntax"] in ("EDIFACT", "VDA4905", "VDA4913")


KEYS = ("number", "supplier", "unloading_point", "line", "order_id", "family", "seq_no", "rolling_no", "vin",
        "part_number", "quantity", "station", "need_time")


def test_a_deljit_exported_from_the_plant_reproduces_its_call_off_lines_at_the_supplier(plant: str, tmp_path: Path) -> None:
    lines = calloff_lines(plant)
    number = lines[0]["number"]
    deljit = tmp_path / "calloff.edi"
    run("edi", "export", "deljit", "--number", number, "--sender", "PLANT", "--output", str(deljit), "--db", plant)
    parsed = json.loads(run("edi", "parse", str(deljit), "--json").stdout)
    parsed_lines = parsed["messages"][0]["lines"]
    assert {"sequence_number", "part_number", "quantity", "required_at", "unloading_point", "vin"} <= parsed_lines[0].keys()

    supplier = database(tmp_path, "supplier.db")
    result = run("edi", "import", str(deljit), "--db", supplier)
    assert "UCI+" in result.stdout and "+7'" in result.stdout
    want = sorted(tuple(ln[k] for k in KEYS) for ln in lines if ln["number"] == number)
    got = calloff_lines(supplier)
    assert sorted(tuple(ln[k] for k in KEYS) for ln in got) == want
    assert {ln["state"] for ln in got} == {"SENT"}

    replay = run("edi", "import", str(deljit), "--db", supplier)
    assert "not applied again" in replay.output
    assert len(calloff_lines(supplier)) == len(got)


def test_a_truncated_interchange_is_rejected_whole_with_a_negative_acknowledgement(plant: str, tmp_path: Path) -> None:
    number = calloff_lines(plant)[0]["number"]
    deljit = tmp_path / "calloff.edi"
    run("edi", "export", "deljit", "--number", number, "--sender", "PLANT", "--output", str(deljit), "--db", plant)
    text = deljit.read_text()
    cut = tmp_path / "cut.edi"
    cut.write_text(text[: text.rindex("UNT")])
    supplier = database(tmp_path, "supplier.db")
    result = run("edi", "import", str(cut), "--db", supplier, exit_code=1)
    assert "UCI+" in result.stdout and "+4+12'" in result.stdout
    assert "has no UNT" in result.output
    assert calloff_lines(supplier) == []


def test_the_watched_inbox_imports_files_and_leaves_acknowledgements(plant: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    number = calloff_lines(plant)[0]["number"]
    run("edi", "export", "deljit", "--number", number, "--sender", "PLANT", "--output", str(inbox / "a.edi"), "--db", plant)
    (inbox / "b.edi").write_text("UNB+UNOC:3+X+Y+261207:0700+9'UNH+1+DELJIT:D:04A:UN'")
    supplier = database(tmp_path, "supplier.db")
    run("edi", "watch", str(inbox), "--once", "--db", supplier)
    assert sorted(p.name for p in (inbox / "done").iterdir()) == ["a.edi"]
    assert sorted(p.name for p in (inbox / "rejected").iterdir()) == ["b.edi"]
    assert "+4+12'" in (inbox / "acks" / "b.contrl").read_text()
    assert {ln["number"] for ln in calloff_lines(supplier)} == {number}


def test_a_desadv_export_names_each_slot_of_the_rack(plant: str, tmp_path: Path) -> None:
    number = calloff_lines(plant)[0]["number"]
    out = tmp_path / "desadv.edi"
    run("edi", "export", "desadv", "--number", number, "--despatch", "DN1", "--rack", "R-1", "--receiver", "PLANT",
        "--output", str(out), "--db", plant)
    items = json.loads(run("edi", "parse", str(out), "--json").stdout)["messages"][0]["items"]
    assert [i["rack_slot"] for i in items] == list(range(1, len(items) + 1))
    assert {i["package_id"] for i in items} == {"R-1"}

"""End-to-end tests of ``jisflow edi`` with X12: the public 850 sample, an 866 production
sequence imported into a line's pearl chain (with its 997), replays, rejections, and an 856
ship notice exported for a call-off."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType

import pytest
from cli_support import run

from jisflow.adapters.edi.profiles import load_profile
from jisflow.adapters.edi.x12 import OutboundGroup, serialize_interchange
from jisflow.adapters.edi.x12_866 import ProductionSequence, SequencedVehicle, sequence_866

DATA = Path(__file__).resolve().parents[1] / "data"
SMALL_PLANT = DATA / "plants" / "small_plant.yaml"
MONDAY_7 = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)


@pytest.fixture
def plant(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'plant.db'}"
    run("db", "upgrade", "--db", url)
    run("plant", "load", str(SMALL_PLANT), "--db", url)
    return url


def write_866(path: Path, orders: list[tuple[str, str, str]], control: str, line: str = "L1") -> Path:
    """An 866 for ``line`` with one vehicle per (order id, model, trim), numbered from 1."""
    vehicles = tuple(
        SequencedVehicle("", n, order, None, model, MappingProxyType({"trim": trim, "roof": "CLOSED"}), MONDAY_7 + timedelta(minutes=n))
        for n, (order, model, trim) in enumerate(orders, start=1))
    transaction = sequence_866(ProductionSequence("0001", "SEQ-1", "20261207", line, vehicles), load_profile("default"))
    path.write_text(serialize_interchange("OEM", "SUPPLIER", control, MONDAY_7, [OutboundGroup("SS", "1", (transaction,))]))
    return path


def test_the_public_850_sample_parses_to_json_with_its_order_and_quantities() -> None:
    doc = json.loads(run("edi", "parse", str(DATA / "edi" / "850.x12"), "--json").stdout)
    assert (doc["syntax"], doc["sender"], doc["control_reference"]) == ("X12", "DERICL", "000007080")
    order = doc["messages"][0]
    assert (order["type"], order["number"], order["lines"]) == ("850", "0019-1234567-1234", [])
    assert (order["declared_line_count"], order["declared_quantity_total"]) == (1, 200)


def test_an_866_extends_the_pearl_chain_once_and_is_acknowledged_by_a_997(plant: str, tmp_path: Path) -> None:
    orders = [("X12ORD01", "CITY", "BASE"), ("X12ORD02", "TOURER", "LUX"), ("X12ORD03", "CITY", "LUX")]
    file = write_866(tmp_path / "seq.x12", orders, "000000101")
    parsed = json.loads(run("edi", "parse", str(file), "--json").stdout)
    assert [v["order_id"] for v in parsed["messages"][0]["vehicles"]] == [o for o, _, _ in orders]
    first = parsed["messages"][0]["vehicles"][0]
    assert (first["sequence_number"], first["required_at"], first["options"]) == (1, "2026-12-07T07:01:00+01:00", {"trim": "BASE", "roof": "CLOSED"})

    result = run("edi", "import", str(file), "--db", plant)
    assert "ST*997*" in result.stdout and "AK5*A~" in result.stdout and "AK9*A*1*1*1~" in result.stdout
    assert "3 vehicle(s) into line L1" in result.output
    chain = run("sequence", "show", "--line", "L1", "--db", plant).stdout
    assert all(chain.count(order) == 1 for order, _, _ in orders)

    replay = run("edi", "import", str(file), "--db", plant)
    assert "not applied again" in replay.output and "AK9*A" in replay.stdout
    assert run("sequence", "show", "--line", "L1", "--db", plant).stdout == chain


def test_a_rejected_866_changes_nothing_and_gets_a_negative_997(plant: str, tmp_path: Path) -> None:
    good = write_866(tmp_path / "a.x12", [("X12ORD09", "CITY", "BASE")], "000000201")
    bad = write_866(tmp_path / "b.x12", [("X12ORD10", "CITY", "BASE"), ("X12ORD11", "", "LUX")], "000000202")
    bad.write_text(bad.read_text().replace("*MO*~", "~"))
    run("edi", "import", str(good), "--db", plant)
    chain = run("sequence", "show", "--line", "L1", "--db", plant).stdout
    result = run("edi", "import", str(bad), "--db", plant, exit_code=1)
    assert "AK5*R*5~" in result.stdout and "AK9*R*1*1*0~" in result.stdout and "AK3*LIN*" in result.stdout
    assert "no model" in result.output
    assert run("sequence", "show", "--line", "L1", "--db", plant).stdout == chain

    truncated = tmp_path / "c.x12"
    text = write_866(tmp_path / "c.x12", [("X12ORD12", "CITY", "BASE")], "000000203").read_text()
    truncated.write_text(text[: text.index("SE*")])
    result = run("edi", "import", str(truncated), "--db", plant, exit_code=1)
    assert "AK9*R" in result.stdout and "truncated" in result.output
    assert run("sequence", "show", "--line", "L1", "--db", plant).stdout == chain


def test_an_856_export_names_part_quantity_sequence_and_rack_of_each_item(plant: str, tmp_path: Path) -> None:
    csv = tmp_path / "seq.csv"
    run("sequence", "generate", str(csv), "--plant-file", str(SMALL_PLANT), "--count", "20", "--seed", "3")
    run("sequence", "import", str(csv), "--line", "L1", "--db", plant)
    run("broadcast", "--line", "L1", "--order", "ORD000001", "--at", "2026-12-07T07:00:00+01:00", "--db", plant)
    out = run("calloffs", "list", "--json", "--limit", "1000", "--db", plant).stdout
    lines = [json.loads(text) for text in out.splitlines() if text.strip()]
    number = lines[0]["number"]
    asn = tmp_path / "asn.x12"
    run("edi", "export", "asn856", "--number", number, "--shipment", "SH-1", "--rack", "R-1", "--receiver", "PLANT",
        "--output", str(asn), "--db", plant)
    doc = json.loads(run("edi", "parse", str(asn), "--json").stdout)
    items = doc["messages"][0]["items"]
    want = sorted((ln["part_number"], ln["quantity"], ln["seq_no"]) for ln in lines if ln["number"] == number and ln["state"] != "CANCELLED")
    assert sorted((i["part_number"], i["quantity"], i["sequence_number"]) for i in items) == want
    assert {i["package_id"] for i in items} == {"R-1"}
    assert [i["rack_slot"] for i in items] == list(range(1, len(items) + 1))

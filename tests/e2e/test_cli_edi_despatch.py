"""``jisflow edi export vda4913`` for a call-off and ``jisflow edi export despatch`` for a
shipment that left, each read back by ``jisflow edi parse``."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli_edi import SMALL_PLANT, calloff_lines, plant, run  # noqa: F401 - fixtures

PROFILE_CODE = "default"  # the code of the profile file written below (a copy of the default one)


def test_a_vda_4913_export_gives_each_part_with_its_total_quantity_in_the_rack(plant: str, tmp_path: Path) -> None:  # noqa: F811
    number = calloff_lines(plant)[0]["number"]
    live = [ln for ln in calloff_lines(plant) if ln["number"] == number and ln["state"] != "CANCELLED"]
    out = tmp_path / "note.vda"
    run("edi", "export", "vda4913", "--number", number, "--despatch", "DN000001", "--rack", "R-1", "--receiver", "PLANT",
        "--output", str(out), "--db", plant)
    doc = json.loads(run("edi", "parse", str(out), "--json").stdout)
    totals: dict[str, int] = {}
    for ln in live:
        totals[ln["part_number"]] = totals.get(ln["part_number"], 0) + ln["quantity"]
    assert doc["syntax"] == "VDA4913" and doc["customer"] == "PLANT"
    assert {i["part_number"]: i["quantity"] for i in doc["items"]} == totals
    assert {(i["delivery_note"], i["package_id"]) for i in doc["items"]} == {("DN000001", "R-1")}


def test_a_field_too_long_for_vda_4913_is_refused_by_name(plant: str, tmp_path: Path) -> None:  # noqa: F811
    number = calloff_lines(plant)[0]["number"]
    refused = run("edi", "export", "vda4913", "--number", number, "--despatch", "DELIVERY-NOTE-1", "--rack", "R-1", "--receiver", "PLANT",
                  "--db", plant, exit_code=1)
    assert "delivery note 'DELIVERY-NOTE-1' is longer than its 8 characters" in refused.output


def test_the_despatch_advice_of_a_shipment_that_left_is_written_again_in_the_profiles_format(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'floor.db'}"

    def cli(*args: str, exit_code: int = 0) -> str:
        return run(*args, "--db", db, exit_code=exit_code).stdout

    cli("db", "upgrade")
    cli("plant", "load", str(SMALL_PLANT))
    rows = ["order_id,vin,model,trim,roof"] + [f"V{n:04d},,TOURER,LUX,CLOSED" for n in range(1, 3)]
    (tmp_path / "seq.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    cli("sequence", "import", str(tmp_path / "seq.csv"), "--line", "L1")
    cli("broadcast", "--line", "L1", "--next", "2", "--at", "2026-12-07T07:00:00+01:00")
    for number in sorted({c["number"] for c in map(json.loads, cli("calloffs", "list", "--line", "L1", "--json").splitlines()) if c["family"] == "SEAT"}):
        cli("calloffs", "transition", number, "ACKNOWLEDGED")
    items = json.loads(cli("pick", "list", "--line", "L1", "--json", "--at", "2026-12-07T07:01:00+01:00"))
    cli("pick", "confirm", *[f"{i['order_id']}/SEAT" for i in items], "--line", "L1")
    for i in items:
        cli("pick", "scan", "--line", "L1", "--rack", i["rack_id"], "--slot", str(i["slot"]), "--part", i["part_number"], "--serial", f"S-{i['order_id']}")
    cli("rack", "close", items[0]["rack_id"], "--line", "L1", "--at", "2026-12-07T07:03:00+01:00")
    shipment = cli("ship", "plan", "--line", "L1", "--until", "2026-12-07T08:00:00+01:00").split()[0]
    early = run("edi", "export", "despatch", "--shipment", shipment, "--receiver", "PLANT", "--db", db, exit_code=1)
    assert "has not left" in early.output
    cli("ship", "despatch", shipment, "--at", "2026-12-07T07:04:00+01:00")  # its advice waits in the outbox
    profile = tmp_path / "us-plant.yaml"
    profile.write_text((SMALL_PLANT.parents[3] / "src" / "jisflow" / "data" / "partners" / "default.yaml").read_text()
                       + "despatch: {format: x12_856, receiver: PLANTUS}\n", encoding="utf-8")
    outbox = tmp_path / "outbox"
    cli("worker", "--once", "--edi-outbox", str(outbox), "--edi-profile", str(profile))
    (relayed,) = (outbox / PROFILE_CODE).iterdir()
    assert relayed.name == f"{shipment}.x12"
    out = tmp_path / "asn.x12"
    cli("edi", "export", "despatch", "--shipment", shipment, "--profile", str(profile), "--output", str(out))
    doc = json.loads(run("edi", "parse", str(out), "--json", "--profile", str(profile)).stdout)
    assert (doc["syntax"], doc["receiver"], doc["messages"][0]["shipment_id"]) == ("X12", "PLANTUS", shipment)
    assert [(i["order_id"], i["sequence_number"], i["package_id"]) for i in doc["messages"][0]["items"]] == [
        (i["order_id"], i["seq_no"], i["rack_id"]) for i in items]
    assert relayed.read_text(encoding="utf-8").split("~", 1)[1] == out.read_text(encoding="utf-8").split("~", 1)[1]

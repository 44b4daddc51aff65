"""The public sample files parse and give the quantities and part numbers they hold."""

from __future__ import annotations

from pathlib import Path

from jisflow.adapters.edi.documents import parse_document, to_json
from jisflow.adapters.edi.profiles import load_profile

DATA = Path(__file__).resolve().parents[2] / "data" / "edi"
PROFILE = load_profile("default")


def parsed(name: str) -> dict:
    return to_json(parse_document((DATA / name).read_text(encoding="utf-8"), PROFILE))


def test_the_desadv_sample_gives_its_line_items_with_packages() -> None:
    doc = parsed("DESADV.edifact")
    assert (doc["control_reference"], [m["type"] for m in doc["messages"]]) == ("000000128", ["DESADV", "DESADV"])
    items = doc["messages"][0]["items"]
    assert [(i["part_number"], i["quantity"]) for i in items] == [
        ("197.536-21", 600), ("197.536-22", 300), ("197.536-20", 500), ("197.536-20", 100), ("197.536-21", 400), ("197.536-23", 100),
    ]
    assert items[0]["package_id"] == "S1975362171229-15"
    assert {i["calloff_number"] for i in items} == {"5500011089"}
    assert doc["messages"][0]["supplier"] == "0048202147"


def test_the_vda_4905_sample_gives_its_schedule() -> None:
    doc = parsed("4905.edi")
    (schedule,) = doc["schedules"]
    assert (schedule["part_number"], schedule["calloff_number"], schedule["unloading_point"]) == ("1514280009100", "187", "A 13")
    assert schedule["cumulative_quantity"] == 19427
    assert schedule["entries"] == [{"due": "2012-11-15", "quantity": 0}]


def test_the_vda_4913_sample_gives_its_delivery_item() -> None:
    doc = parsed("4913.edi")
    (item,) = doc["items"]
    assert (item["part_number"], item["supplier_part_number"], item["quantity"], item["unit"]) == ("A1567350110", "48200TDR3SGTN", 12, "ST")
    assert item["delivery_note"] == "00021910"

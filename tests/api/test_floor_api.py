"""The floor over HTTP: line master data, sequenced demand, inventory, racks and shipments, with
each partner held to its own objects."""

from __future__ import annotations

import pytest
from api_support import Api, with_floor


@pytest.fixture
def floor(api: Api) -> Api:
    return with_floor(api)


def test_the_calendar_of_a_line_shows_its_shifts_and_breaks(api: Api):
    calendar = api.get("planner", "/lines/L1/calendar").json()
    day = next(s for s in calendar["shifts"] if s["name"] == "day")
    assert calendar["timezone"] == "Europe/Berlin"
    assert (day["start"], day["end"], day["weekdays"]) == ("07:00:00", "15:30:00", [0, 1, 2, 3, 4])
    assert day["breaks"] == [{"name": "lunch", "start": "12:00:00", "end": "12:30:00"}]


def test_stations_give_their_offset_in_takts_and_seconds(api: Api):
    stations = api.get("carrier", "/lines/L1/stations").json()["items"]
    line = api.get("planner", "/lines/L1").json()
    assert [s["code"] for s in stations] == [s["code"] for s in line["stations"]]
    assert all(s["offset_seconds"] == s["offset_takts"] * line["takt_seconds"] for s in stations)


def test_sequenced_demand_pages_walk_the_exploded_chain_once_in_sequence_order(api: Api):
    whole = api.get("planner", "/lines/L1/demand", params={"limit": 500}).json()["items"]
    walked, cursor = [], None
    while True:
        page = api.get("planner", "/lines/L1/demand", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        walked += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    chain = api.get("planner", "/lines/L1/chain").json()["items"]
    assert walked == whole
    assert [(d["seq_no"], d["family"]) for d in whole] == sorted((d["seq_no"], d["family"]) for d in whole)
    assert {d["order_id"] for d in whole} == {v["order_id"] for v in chain}
    assert {d["broadcast"] for d in whole if d["order_id"] in ("V0001", "V0002")} == {True}


def test_a_supplier_sees_only_its_own_racks_and_a_carrier_only_its_own_trucks(floor: Api):
    racks = floor.get("planner", "/racks").json()["items"]
    own_racks = floor.get("seats", "/racks").json()["items"]
    assert {r["supplier"] for r in racks} == {"SEATS", "ROOFS"}
    assert own_racks and {r["supplier"] for r in own_racks} == {"SEATS"}
    everything = floor.get("planner", "/shipments").json()["items"]
    trucks = floor.get("carrier", "/shipments").json()["items"]
    assert len(everything) == 2
    assert [s["id"] for s in trucks] == [floor.shipments["SEATS"]]
    assert trucks[0]["carrier"] == "SEATS-TRUCKS"


def test_the_asn_of_a_despatched_shipment_lists_its_racks_and_slots(floor: Api):
    shipment = floor.get("seats", f"/shipments/{floor.shipments['SEATS']}").json()
    asn = floor.get("carrier", f"/shipments/{floor.shipments['SEATS']}/asn").json()
    assert shipment["state"] == "DEPARTED"
    assert [r["rack_id"] for r in asn["racks"]] == shipment["racks"]
    assert all(slot["serial"] for r in asn["racks"] for slot in r["slots"])


def test_a_supplier_gets_a_pick_list_of_its_own_call_off_lines_only(api: Api):
    api.post("admin", f"/calloffs/{api.own_calloff}/transitions", {"to": "ACKNOWLEDGED"})
    api.post("admin", f"/calloffs/{api.foreign_calloff}/transitions", {"to": "ACKNOWLEDGED"})
    items = api.post("seats", "/lines/L1/pick-lists", {}).json()["details"]["items"]
    refused = api.post("seats", "/lines/L1/pick-lists", {"supplier": "ROOFS"})
    assert items and {i["family"] for i in items} == {"SEAT"}
    assert refused.status_code == 403


def test_a_receipt_sent_twice_with_one_idempotency_key_is_booked_once(floor: Api):
    before = floor.get("warehouse", "/inventory/stock", params={"item": "SEAT-L"}).json()["items"]
    receipt = {"item": "SEAT-L", "location": "BIN-2", "quantity": 4}
    first = floor.post("warehouse", "/inventory/receipts", receipt, headers={"Idempotency-Key": "r-1"})
    again = floor.post("warehouse", "/inventory/receipts", receipt, headers={"Idempotency-Key": "r-1"})
    after = floor.get("warehouse", "/inventory/stock", params={"item": "SEAT-L"}).json()["items"]
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert before == [{"item": "SEAT-L", "location": "BIN-1", "lot": "", "on_hand": 10}]
    assert after == before + [{"item": "SEAT-L", "location": "BIN-2", "lot": "", "on_hand": 4}]
    assert first.json()["details"]["projections"][0]["item"] == "SEAT-L"


def test_a_receipt_of_an_unknown_item_is_not_found_and_books_nothing(floor: Api):
    response = floor.post("warehouse", "/inventory/receipts", {"item": "NOPE", "location": "BIN-1", "quantity": 1})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "NOPE" in response.json()["detail"]


def test_a_stock_count_books_the_difference_and_the_projection_follows(floor: Api):
    floor.post("warehouse", "/inventory/counts", {"item": "SEAT-L", "location": "BIN-1", "counted": 7})
    [item] = floor.get("planner", "/inventory/items").json()["items"]
    [projection] = floor.get("planner", "/inventory/projection", params={"item": "SEAT-L"}).json()["items"]
    assert item["on_hand"] == 7
    assert projection["on_hand"] == 7


@pytest.mark.parametrize("path", ["/racks", "/shipments"])
def test_racks_and_shipments_page_one_at_a_time_without_gaps_or_repeats(floor: Api, path: str):
    whole = floor.get("planner", path).json()["items"]
    walked, cursor = [], None
    while True:
        page = floor.get("planner", path, params={"limit": 1, **({"cursor": cursor} if cursor else {})}).json()
        walked += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(whole) >= 2
    assert walked == whole

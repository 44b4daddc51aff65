"""The changes no domain event announces are audited in their own transaction, with who made
them and their state before and after: every change of a rack (planned by a pick list, a part
scanned in, closed, emptied, loaded, despatched, received, a part taken out for an emergency
delivery, an express rack made), the shipments a load plan makes, and the reservations a sync
brings in step (one entry an item and sync). On the in-memory unit of work, SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from floor_support import small_plant_app
from test_execution import MONDAY_0700, SETUP, TAKT, acknowledge_all, broadcast_seats, pick_and_scan

from jisflow.domain.errors import ValidationError
from jisflow.domain.inventory import Item, Location, LocationKind
from jisflow.domain.racks import RackState
from jisflow.domain.sequence import Vehicle
from jisflow.services import commands as c
from jisflow.services import execution as x
from jisflow.services import inventory as inv
from jisflow.services.audit import SYSTEM


@pytest.fixture
def jf(uow_factory):
    return small_plant_app(uow_factory(), setup=SETUP)


def entries(jf, action: str) -> list:
    with jf.uow:
        return [e for e in jf.uow.audit.read(limit=10_000).entries if e.action == action]


def racks(jf) -> dict:
    with jf.uow:
        return {r.id: r for r in jf.uow.execution.racks("L1")}


def slots(state: dict) -> list[tuple[str, str]]:
    return [(s["order_id"], s["family"]) for s in state["slots"]]


def test_a_pick_list_audits_every_rack_it_plans_with_its_slots_and_the_planner(jf):
    broadcast_seats(jf, 6)
    jf.uow.actor = "anna"  # as the API does for its authenticated user
    items = jf.bus.handle(x.CreatePickList("L1", "SEATS")).details["items"]
    planned = entries(jf, "rack.planned")
    assert {e.subject for e in planned} == {f"rack/{rack_id}" for rack_id in racks(jf)}
    assert all(e.actor == "anna" and e.before is None and e.after["state"] == "OPEN" for e in planned)
    assert sorted(key for e in planned for key in slots(e.after)) == sorted((i["order_id"], i["family"]) for i in items)


def test_a_pick_list_that_fills_an_open_rack_further_records_its_slots_before_and_after(jf):
    broadcast_seats(jf, 2)
    jf.bus.handle(x.CreatePickList("L1", "SEATS"))
    (rack_id,) = racks(jf)
    for n in (3, 4):
        jf.bus.handle(c.ImportSequence("L1", (c.SequenceRow("row", Vehicle(f"V{n:04d}", "TOURER", {"trim": "LUX", "roof": "CLOSED"})),)))
        jf.bus.handle(c.BroadcastVehicle("L1", f"V{n:04d}", MONDAY_0700 + n * TAKT))
    acknowledge_all(jf)
    jf.bus.handle(x.CreatePickList("L1", "SEATS"))
    first, second = entries(jf, "rack.planned")
    assert first.subject == second.subject == f"rack/{rack_id}"
    assert slots(second.before) == slots(first.after) == [("V0001", "SEAT"), ("V0002", "SEAT")]
    assert slots(second.after) == [(f"V{n:04d}", "SEAT") for n in (1, 2, 3, 4)]


def test_a_closed_rack_emptied_by_an_emergency_delivery_is_audited_as_emptied_when_loads_are_planned(jf):
    broadcast_seats(jf, 1)
    (item,) = jf.bus.handle(x.CreatePickList("L1", "SEATS")).details["items"]
    pick_and_scan(jf, [item])
    jf.bus.handle(x.CloseRacks("L1", (item["rack_id"],)))
    jf.bus.handle(x.OrderEmergencyDelivery("L1", item["order_id"], "SEAT", "rack damaged"))
    jf.bus.handle(x.PlanLoads("L1", until=MONDAY_0700 + timedelta(days=1)))
    (emptied,) = entries(jf, "rack.emptied")
    assert (emptied.subject, emptied.actor) == (f"rack/{item['rack_id']}", SYSTEM)
    assert (emptied.before["state"], slots(emptied.before)) == ("CLOSED", [])
    assert emptied.after["state"] == "EMPTIED" == racks(jf)[item["rack_id"]].state.value


def test_closing_a_rack_with_nothing_scanned_in_is_audited_as_emptied(jf):
    broadcast_seats(jf, 1)
    (item,) = jf.bus.handle(x.CreatePickList("L1", "SEATS")).details["items"]
    jf.bus.handle(x.CloseRacks("L1", (item["rack_id"],)))
    (emptied,) = entries(jf, "rack.emptied")
    assert (emptied.before["state"], emptied.after["state"]) == ("OPEN", "EMPTIED")
    assert racks(jf)[item["rack_id"]].state is RackState.EMPTIED


def test_a_load_plan_audits_the_shipment_it_plans_and_every_rack_it_loads(jf):
    broadcast_seats(jf, 8)
    pick_and_scan(jf, jf.bus.handle(x.CreatePickList("L1", "SEATS")).details["items"])
    (shipment,) = jf.bus.handle(x.PlanLoads("L1", until=MONDAY_0700 + timedelta(hours=1))).details["shipments"]
    (planned,) = entries(jf, "shipment.planned")
    assert (planned.subject, planned.before) == (f"shipment/{shipment['id']}", None)
    assert (planned.after["state"], planned.after["racks"], planned.after["departure"]) == ("PLANNED", shipment["loading_order"], shipment["departure"])
    loaded = entries(jf, "rack.loaded")
    assert sorted(e.subject for e in loaded) == sorted(f"rack/{rack_id}" for rack_id in shipment["loading_order"])
    assert {(e.before["state"], e.before["shipment"], e.after["state"], e.after["shipment"]) for e in loaded} == {("CLOSED", None, "LOADED", shipment["id"])}


def test_a_rack_is_audited_at_every_step_of_its_life_from_its_first_scan_to_its_receipt(jf):
    broadcast_seats(jf, 8)
    items = jf.bus.handle(x.CreatePickList("L1", "SEATS")).details["items"]
    pick_and_scan(jf, items)
    rack_ids = sorted({i["rack_id"] for i in items})
    (shipment,) = jf.bus.handle(x.PlanLoads("L1", until=MONDAY_0700 + timedelta(hours=1))).details["shipments"]
    jf.bus.handle(x.DespatchShipment(shipment["id"]))
    jf.bus.handle(x.ReceiveShipment(shipment["id"]))
    with jf.uow:
        log = [e for e in jf.uow.audit.read(limit=10_000).entries if e.subject.startswith("rack/")]
    for rack_id in rack_ids:
        mine = [e for e in log if e.subject == f"rack/{rack_id}"]
        steps = [(e.action, e.before and e.before["state"], e.after["state"]) for e in mine]
        assert steps == [("rack.planned", None, "OPEN"), ("rack.filled", "OPEN", "CLOSED"), ("rack.loaded", "CLOSED", "LOADED"),
                         ("rack.despatched", "LOADED", "SHIPPED"), ("rack.received", "SHIPPED", "RECEIVED")]
        assert all(earlier.after == later.before for earlier, later in zip(mine, mine[1:])), "each entry starts where the one before ended"
        filled = mine[1]
        assert [s["serial"] for s in filled.before["slots"]] == [None] * len(filled.before["slots"])
        assert all(s["serial"].startswith("SN-") for s in filled.after["slots"])


def test_an_emergency_delivery_audits_the_part_leaving_its_rack_and_the_express_rack_it_travels_in(jf):
    broadcast_seats(jf, 1)
    (item,) = jf.bus.handle(x.CreatePickList("L1", "SEATS")).details["items"]
    pick_and_scan(jf, [item])
    express = jf.bus.handle(x.OrderEmergencyDelivery("L1", item["order_id"], "SEAT", "rack damaged")).details["rack_id"]
    expedited = {e.subject: e for e in entries(jf, "rack.expedited")}
    left = expedited[f"rack/{item['rack_id']}"]
    assert (slots(left.before), slots(left.after)) == ([(item["order_id"], "SEAT")], [])
    made = expedited[f"rack/{express}"]
    assert made.before is None
    assert (made.after["state"], slots(made.after)) == ("SHIPPED", [(item["order_id"], "SEAT")])


def test_a_load_plan_refused_for_a_missing_lane_writes_no_audit_entry(jf):
    broadcast_seats(jf, 4)
    pick_and_scan(jf, jf.bus.handle(x.CreatePickList("L1", "SEATS")).details["items"])
    jf.bus.handle(x.ConfigureExecution("SMALL", type(SETUP)(SETUP.rack_types, {}, SETUP.pick_locations)))
    with jf.uow:
        written = len(jf.uow.audit.read(limit=10_000).entries)
    with pytest.raises(ValidationError, match="cannot be planned"):
        jf.bus.handle(x.PlanLoads("L1", until=MONDAY_0700 + timedelta(days=1)))
    with jf.uow:
        assert len(jf.uow.audit.read(limit=10_000).entries) == written
    assert {r.state for r in racks(jf).values()} == {RackState.CLOSED}


def test_a_reservation_sync_writes_one_entry_per_item_with_the_reserved_units_before_and_after(jf):
    jf.bus.handle(inv.RegisterItems((Item("SEAT-L", "Leather seats"), Item("SEAT-C", "Cloth seats"))))
    jf.bus.handle(inv.AddLocations((Location("S10-L", LocationKind.SUPERMARKET, "Line side of S10"),)))
    jf.bus.handle(inv.ReceiveStock("SEAT-L", "S10-L", 3))
    rows = tuple(c.SequenceRow(f"row {n}", Vehicle(f"V{n:04d}", "TOURER", {"trim": "LUX" if n <= 5 else "BASE", "roof": "CLOSED"})) for n in range(1, 8))
    jf.bus.handle(c.ImportSequence("L1", rows))
    synced = {e.subject: e for e in entries(jf, "reservations.synced")}
    assert set(synced) == {"reservations/SEAT-L", "reservations/SEAT-C"}, "one entry an item, not one a reservation"
    leather = synced["reservations/SEAT-L"]
    assert leather.actor == SYSTEM
    assert leather.before == {"reserved": 0, "demand": 0, "lines": 0}
    assert leather.after == {"reserved": 3, "demand": 5, "lines": 5, "rows": 5}
    assert synced["reservations/SEAT-C"].after == {"reserved": 0, "demand": 2, "lines": 2, "rows": 2}

    jf.uow.actor = "anna"
    jf.bus.handle(c.CancelVehicle("L1", order_id="V0001", override=True, actor="anna"))
    by_anna = {e.subject: e for e in entries(jf, "reservations.synced") if e.actor == "anna"}
    cancelled, reranked = by_anna["reservations/SEAT-L"], by_anna["reservations/SEAT-C"]
    assert (cancelled.before, {k: cancelled.after[k] for k in ("reserved", "demand", "lines")}) == (
        {"reserved": 3, "demand": 5, "lines": 5}, {"reserved": 3, "demand": 4, "lines": 4})
    assert reranked.after == {**reranked.before, "rows": 2}, "the cloth seats' lines moved up one place: same units, rows re-ranked"
    with jf.uow:
        assert jf.uow.inventory.balances()["SEAT-L"].reserved == cancelled.after["reserved"]


def test_a_sync_with_nothing_to_change_writes_no_audit_entry(jf):
    jf.bus.handle(inv.RegisterItems((Item("SEAT-L", "Leather seats"),)))
    jf.bus.handle(c.ImportSequence("L1", (c.SequenceRow("row 2", Vehicle("V0001", "TOURER", {"trim": "LUX", "roof": "CLOSED"})),)))
    written = len(entries(jf, "reservations.synced"))
    jf.bus.handle(inv.SyncReservations("L1"))
    assert written == 1 and len(entries(jf, "reservations.synced")) == written

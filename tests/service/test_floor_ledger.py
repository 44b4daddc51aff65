"""The floor books registered items in the inventory ledger: a goods receipt at the dock puts
the parts into their line-side location, the backflush at the station takes them out and
consumes the vehicle's reservation, in the same transaction as the floor records. On the
in-memory unit of work, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from floor_support import MONDAY_0700, despatch_seats, small_plant_app

from jisflow.domain.calloff import CallOffState
from jisflow.domain.execution import ExecutionSetup, LineSideScan, RecordKind
from jisflow.domain.inventory import InsufficientStock, Item, Location, LocationKind, ReasonCode
from jisflow.domain.racks import RackType
from jisflow.domain.transport import Lane
from jisflow.services import execution as x
from jisflow.services import inventory as inv
from jisflow.services.unit_of_work import CallOffLineFilter

TAKT = timedelta(seconds=90)
VEHICLES = 4
SETUP = ExecutionSetup(
    {"RACK-S": RackType("RACK-S", 4, families=frozenset({"SEAT"})), "RACK-R": RackType("RACK-R", 2, 2, frozenset({"ROOF"}))},
    {"SEATS>DOCK-1": Lane("SEATS>DOCK-1", "SEATS", "DOCK-1", timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=1), "local haulier", 2)},
    {"SEAT-L": "A-01-03"},
)


@pytest.fixture
def jf(uow_factory):
    return small_plant_app(uow_factory(), setup=SETUP, locations=[
        Location("S10-L", LocationKind.SUPERMARKET, "Line side of S10"),
        Location("WH", LocationKind.WAREHOUSE, "Warehouse"),
    ])


def deliver_seats(jf) -> None:
    """Broadcast, pick, rack, despatch and receive the leather seats of the first vehicles."""
    shipment = despatch_seats(jf, MONDAY_0700, TAKT, VEHICLES)
    jf.clock_.set(MONDAY_0700 + (VEHICLES + 1) * TAKT)
    jf.bus.handle(x.ReceiveShipment(shipment))


def consume(jf, order_ids: list[str]):
    jf.bus.handle(x.CheckLineSide("L1", "S10", tuple(LineSideScan(o, "SEAT-L", f"SN-{o}") for o in order_ids)))
    return jf.bus.handle(x.ConsumeVehicles("L1", tuple(order_ids), "S10"))


def ledger(jf, item: str = "SEAT-L"):
    with jf.uow:
        return jf.uow.inventory.movements(item), jf.uow.inventory.balances([item])[item], jf.uow.inventory.reservations(item=item, live_only=False)


def test_received_seats_enter_the_line_side_stock_and_fill_the_reservations(jf):
    jf.bus.handle(inv.RegisterItems((Item("SEAT-L", "Leather seat set"),)))
    deliver_seats(jf)
    moves, balance, reservations = ledger(jf)
    assert [(m.location, m.quantity, m.reason) for m in moves] == [("S10-L", 1, ReasonCode.RECEIPT)] * VEHICLES
    assert balance.on_hand == VEHICLES == balance.reserved
    assert all(r.filled == r.quantity for r in reservations)


def test_a_consumed_seat_leaves_the_ledger_as_a_backflush_of_its_vehicle(jf):
    jf.bus.handle(inv.RegisterItems((Item("SEAT-L", "Leather seat set"),)))
    deliver_seats(jf)
    consume(jf, ["V0001", "V0002"])
    moves, balance, reservations = ledger(jf)
    backflushes = [m for m in moves if m.reason is ReasonCode.BACKFLUSH]
    assert [(m.location, m.quantity, m.reference) for m in backflushes] == [("S10-L", -1, "L1/V0001"), ("S10-L", -1, "L1/V0002")]
    assert balance.on_hand == sum(m.quantity for m in moves) == VEHICLES - 2
    assert {r.order_id for r in reservations if r.consumed_at is not None} == {"V0001", "V0002"}
    with jf.uow:
        consumed = jf.uow.execution.records(line="L1", kinds=(RecordKind.CONSUMED,))
    assert sorted(r.order_id for r in consumed) == sorted(m.reference.split("/")[1] for m in backflushes)


def test_a_part_registered_after_its_receipt_is_backflushed_from_stock_without_a_reservation(jf):
    deliver_seats(jf)
    jf.bus.handle(inv.RegisterItems((Item("SEAT-L", "Leather seat set"),)))
    jf.bus.handle(inv.ReceiveStock("SEAT-L", "WH", 3))
    consume(jf, ["V0001"])
    moves, balance, _ = ledger(jf)
    assert [(m.location, m.quantity, m.reason) for m in moves][-1] == ("WH", -1, ReasonCode.BACKFLUSH)
    assert balance.on_hand == 2


def test_a_backflush_the_ledger_cannot_cover_refuses_the_consumption_and_names_each_vehicle(jf):
    deliver_seats(jf)
    jf.bus.handle(inv.RegisterItems((Item("SEAT-L", "Leather seat set"),)))
    jf.bus.handle(inv.ReceiveStock("SEAT-L", "WH", 1))
    with pytest.raises(InsufficientStock) as refused:
        consume(jf, ["V0001", "V0002", "V0003"])
    assert [p.where for p in refused.value.problems] == ["V0002/SEAT", "V0003/SEAT"]
    with jf.uow:
        states = {ln.order_id: ln.state for ln in jf.uow.calloffs.lines(CallOffLineFilter(line="L1"))}
    assert states["V0001"] is CallOffState.DELIVERED, "nothing is consumed when the ledger refuses"
    assert ledger(jf)[1].on_hand == 1


def stock_fed_line(jf, bolts: int) -> None:
    """Bolts (KANBAN, 12 a vehicle at S10) and a leather seat (JIS, S10) registered; four
    vehicles broadcast a takt apart from 07:00."""
    jf.bus.handle(inv.AddLocations((Location("S10-KLT", LocationKind.SUPERMARKET, "Kanban rack at S10"),)))
    jf.bus.handle(inv.RegisterItems((Item("BOLT-6", "Bolt M6"), Item("SEAT-L", "Leather seat set"))))
    jf.bus.handle(inv.ReceiveStock("BOLT-6", "S10-KLT", bolts))
    deliver_seats(jf)


def test_stock_fed_parts_are_backflushed_when_their_vehicles_reach_the_station(jf):
    stock_fed_line(jf, bolts=100)
    s10_of_second_vehicle = MONDAY_0700 + TAKT + 10 * TAKT
    out = jf.bus.handle(inv.BackflushDue("L1", until=s10_of_second_vehicle))
    assert out.details["consumed"] == 2 and out.details["uncovered"] == []
    moves, balance, reservations = ledger(jf, "BOLT-6")
    assert [(m.quantity, m.reason, m.reference) for m in moves if m.reason is ReasonCode.BACKFLUSH] == [
        (-12, ReasonCode.BACKFLUSH, "L1/V0001"), (-12, ReasonCode.BACKFLUSH, "L1/V0002"),
    ]
    assert balance.on_hand == 100 - 24
    assert ledger(jf, "SEAT-L")[1].on_hand == VEHICLES, "JIS parts wait for the floor to consume them"


def test_a_stock_fed_part_without_stock_stays_open_as_a_projected_shortage(jf):
    stock_fed_line(jf, bolts=30)
    out = jf.bus.handle(inv.BackflushDue("L1", until=MONDAY_0700 + 20 * TAKT))
    assert out.details["consumed"] == 2
    assert out.details["uncovered"] == [("BOLT-6", "V0003"), ("BOLT-6", "V0004")]
    projection = out.details["projections"]["BOLT-6"]
    assert (projection.on_hand, projection.first_shortage_order_id) == (6, "V0003")

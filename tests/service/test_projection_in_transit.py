"""A despatched shipment feeds the shortage projection of the registered items it carries as
an expected receipt at its ETA, until it is received. On the in-memory unit of work, SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import floor_support as floor
import pytest
from floor_support import MONDAY_0700, small_plant_app

from jisflow.domain.execution import ExecutionSetup
from jisflow.domain.inventory import Item, Location, LocationKind
from jisflow.domain.racks import RackType
from jisflow.domain.transport import Lane
from jisflow.services import execution as x
from jisflow.services import inventory as inv

TAKT = timedelta(seconds=90)
VEHICLES = 4
TRANSIT = timedelta(minutes=1)
SETUP = ExecutionSetup(
    {"RACK-S": RackType("RACK-S", 4, families=frozenset({"SEAT"}))},
    {"SEATS>DOCK-1": Lane("SEATS>DOCK-1", "SEATS", "DOCK-1", TRANSIT, timedelta(minutes=2), timedelta(minutes=1), "local haulier", 2)},
    {"SEAT-L": "A-01-03"},
)


@pytest.fixture
def jf(uow_factory):
    return small_plant_app(
        uow_factory(), setup=SETUP, locations=[Location("S10-L", LocationKind.SUPERMARKET, "Line side of S10")], items=[Item("SEAT-L", "Leather seat set")],
    )


def despatch_seats(jf) -> str:
    """Broadcast, pick, rack and despatch the leather seats of the first vehicles; the truck's id."""
    return floor.despatch_seats(jf, MONDAY_0700, TAKT, VEHICLES)


def projection(jf):
    with jf.uow:
        return inv.projections(jf.uow, jf.clock_.now(), ["SEAT-L"])["SEAT-L"]


def need_times(jf) -> dict[str, datetime]:
    with jf.uow:
        return {r.order_id: r.need_time for r in jf.uow.inventory.reservations(item="SEAT-L")}


def test_seats_on_the_road_are_expected_at_the_trucks_eta_and_cover_their_vehicles(jf):
    despatch_seats(jf)
    eta = jf.clock_.now() + TRANSIT
    assert eta < min(need_times(jf).values()), "the truck arrives before the first seat is needed"
    seats = projection(jf)
    assert (seats.on_hand, seats.expected, seats.demand) == (0, VEHICLES, VEHICLES)
    assert seats.first_shortage_at is None and seats.end_balance == 0


def test_a_truck_announced_later_than_the_first_need_leaves_that_vehicle_short(jf):
    shipment_id = despatch_seats(jf)
    needs = need_times(jf)
    late = sorted(needs.values())[1]  # after V0001's need, at V0002's: a receipt serves a need at its own instant
    outcome = jf.bus.handle(x.UpdateEta(shipment_id, late))
    seats = outcome.details["projections"]["SEAT-L"]
    assert (seats.first_shortage_order_id, seats.first_shortage_at) == ("V0001", needs["V0001"])
    assert seats.short_quantity == 1 and seats.expected == VEHICLES


def test_a_received_truck_is_stock_on_hand_and_no_longer_expected(jf):
    shipment_id = despatch_seats(jf)
    jf.clock_.set(jf.clock_.now() + TRANSIT)
    jf.bus.handle(x.ReceiveShipment(shipment_id))
    seats = projection(jf)
    assert (seats.on_hand, seats.expected, seats.first_shortage_at) == (VEHICLES, 0, None)

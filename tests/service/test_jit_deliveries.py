"""A JIT summarized call is an expected receipt of its part until it is delivered: the
projection counts what the call still brings at its window's start, and a receipt that names
the call counts against it. On the in-memory unit of work, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from floor_support import MONDAY_0700, small_plant_app

from jisflow.domain.errors import NotFound
from jisflow.domain.inventory import Item, Location, LocationKind
from jisflow.domain.sequence import Vehicle
from jisflow.services import commands as c
from jisflow.services import inventory as inv

TAKT = timedelta(seconds=90)


@pytest.fixture
def jf(uow_factory):
    """The small plant with its tourer bumper (BMP-T, JIT in windows of an hour) a ledger item
    at the line side, and six tourers broadcast: one call of six bumpers."""
    app = small_plant_app(uow_factory(), items=[Item("BMP-T", "Tourer bumper")], locations=[Location("S20-L", LocationKind.SUPERMARKET, "Line side of S20")])
    rows = tuple(c.SequenceRow(f"row {i + 2}", Vehicle(f"V{i + 1:04d}", "TOURER", {"trim": "LUX", "roof": "CLOSED"})) for i in range(6))
    app.bus.handle(c.ImportSequence("L1", rows))
    for i in range(6):
        app.clock_.set(MONDAY_0700 + i * TAKT)
        app.bus.handle(c.BroadcastVehicle("L1", f"V{i + 1:04d}", MONDAY_0700 + i * TAKT))
    return app


def the_call(jf):
    with jf.uow:
        (call,) = jf.uow.jit_calls.list("L1")
    return call


def projection(jf):
    with jf.uow:
        return inv.projections(jf.uow, jf.clock.now(), ["BMP-T"])["BMP-T"]


def test_an_open_call_is_an_expected_receipt_of_its_part_at_its_window_start(jf):
    call = the_call(jf)
    assert (call.quantity, call.delivered, call.open_quantity) == (6, 0, 6)
    with jf.uow:
        (open_call,) = jf.uow.jit_calls.open_for(["BMP-T"])
        assert jf.uow.jit_calls.open_for(["BMP-C"]) == []
    assert open_call.key == call.key
    seen = projection(jf)
    assert (seen.on_hand, seen.expected, seen.demand) == (0, 6, 6)
    assert seen.first_shortage_at is None, "the six bumpers the call brings cover the six vehicles"


def test_a_receipt_that_names_the_call_counts_against_it_and_the_rest_stays_expected(jf):
    call = the_call(jf)
    ref = inv.JitCallRef("L1", call.family, call.window_start)
    jf.bus.handle(inv.ReceiveStock("BMP-T", "S20-L", 4, jit_call=ref))
    assert (the_call(jf).delivered, the_call(jf).open_quantity) == (4, 2)
    jf.bus.handle(inv.ReceiveStock("BMP-T", "S20-L", 3, jit_call=ref))  # a container more than called
    assert (the_call(jf).delivered, the_call(jf).open_quantity) == (7, 0)
    with jf.uow:
        assert jf.uow.jit_calls.open_for(["BMP-T"]) == []
        assert jf.uow.inventory.balances(["BMP-T"])["BMP-T"].on_hand == 7
        (receipt, _) = [m for m in jf.uow.inventory.movements("BMP-T")][:2]
    assert receipt.reference.startswith("JIT call L1/BUMPER")
    seen = projection(jf)
    assert (seen.on_hand, seen.expected, seen.first_shortage_at) == (7, 0, None)


def test_the_call_keeps_what_was_delivered_when_later_vehicles_join_it(jf):
    call = the_call(jf)
    jf.bus.handle(inv.ReceiveStock("BMP-T", "S20-L", 6, jit_call=inv.JitCallRef("L1", call.family, call.window_start)))
    jf.bus.handle(c.ImportSequence("L1", (c.SequenceRow("row 8", Vehicle("V0007", "TOURER", {"trim": "LUX", "roof": "CLOSED"})),)))
    jf.clock_.set(MONDAY_0700 + 6 * TAKT)
    jf.bus.handle(c.BroadcastVehicle("L1", "V0007", MONDAY_0700 + 6 * TAKT))
    grown = the_call(jf)
    assert (grown.quantity, grown.delivered, grown.open_quantity) == (7, 6, 1)


def test_a_receipt_naming_a_call_there_is_not_is_refused_and_changes_nothing(jf):
    call = the_call(jf)
    with pytest.raises(NotFound, match="no summarized call of BMP-T"):
        jf.bus.handle(inv.ReceiveStock("BMP-T", "S20-L", 6, jit_call=inv.JitCallRef("L1", call.family, call.window_start + timedelta(hours=5))))
    with jf.uow:
        assert jf.uow.inventory.balances(["BMP-T"])["BMP-T"].on_hand == 0
    assert the_call(jf).delivered == 0

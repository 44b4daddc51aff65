"""The stock aggregate of one item: movements, commitment levels, reservations in need order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jisflow.domain.errors import ValidationError
from jisflow.domain.inventory import (
    Balance,
    InsufficientStock,
    Item,
    ItemStock,
    Location,
    LocationKind,
    Movement,
    ReasonCode,
    Reservation,
    allocate,
    check_locations,
    count_correction,
)

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
KINDS = {"WH-A1": LocationKind.BIN, "SHELF": LocationKind.SUPERMARKET, "ROAD": LocationKind.IN_TRANSIT}


def stock(**places: int) -> ItemStock:
    on_hand = sum(q for loc, q in places.items() if KINDS[loc.replace("_", "-")] is not LocationKind.IN_TRANSIT)
    in_transit = sum(q for loc, q in places.items() if KINDS[loc.replace("_", "-")] is LocationKind.IN_TRANSIT)
    return ItemStock(Item("X"), Balance("X", on_hand, in_transit), {(loc.replace("_", "-"), ""): q for loc, q in places.items()}, KINDS)


def move(location: str, quantity: int, reason: ReasonCode = ReasonCode.RECEIPT, lot: str = "") -> Movement:
    return Movement("X", location, lot, quantity, reason, "tester", T0)


def need(order: str, seq_no: int, minutes: int, quantity: int = 1) -> Reservation:
    return Reservation("X", "L1", order, "F", seq_no, T0 + timedelta(minutes=minutes), quantity)


def test_stock_is_poured_over_reservations_in_need_then_sequence_order():
    later, first, tie = need("V9", 9, 30, 2), need("V5", 5, 10, 2), need("V4", 4, 30, 2)
    assert allocate(5, [later, first, tie]) == {("L1", "V5", "F"): 2, ("L1", "V4", "F"): 2, ("L1", "V9", "F"): 1}


def test_a_receipt_fills_the_earliest_open_need_and_records_the_balance_change():
    agg = stock()
    agg.upsert(need("V2", 2, 20))
    agg.upsert(need("V1", 1, 10))
    agg.post([move("WH-A1", 1)])
    assert {r.order_id: r.filled for r in agg.reservations} == {"V1": 1, "V2": 0}
    assert (agg.balance_delta.on_hand, agg.balance_delta.reserved) == (1, 1)
    assert agg.stock_deltas == {("WH-A1", ""): 1}


def test_a_resequence_hands_the_stock_to_the_vehicle_now_first():
    agg = stock(WH_A1=1)
    agg.upsert(need("V1", 1, 10))
    agg.upsert(need("V2", 2, 5))
    assert {r.order_id: r.filled for r in agg.reservations} == {"V1": 0, "V2": 1}


def test_every_bad_movement_of_a_batch_is_named_and_nothing_changes():
    agg = stock(WH_A1=1)
    with pytest.raises(ValidationError) as err:
        agg.post([move("NOWHERE", 1), move("WH-A1", 0)])
    assert [p.what for p in err.value.problems] == ["location NOWHERE does not exist", "quantity is zero"]
    assert agg.balance.on_hand == 1 and agg.movements == []


def test_a_location_cannot_give_more_than_it_holds():
    agg = stock(WH_A1=1, SHELF=5)
    with pytest.raises(InsufficientStock, match="holds 1, cannot give 2"):
        agg.post([move("WH-A1", -2, ReasonCode.SCRAP)])


def test_free_issues_leave_promised_stock_alone_but_a_count_takes_it_back_from_the_latest_need():
    agg = stock(WH_A1=2)
    agg.upsert(need("V1", 1, 10))
    agg.upsert(need("V2", 2, 20))
    with pytest.raises(InsufficientStock, match="only 0 available"):
        agg.post([move("WH-A1", -1, ReasonCode.ISSUE_TO_LINE)])
    agg.post(count_correction(agg.stock, "X", "WH-A1", "", 1, "counter", T0))
    assert {r.order_id: r.filled for r in agg.reservations} == {"V1": 1, "V2": 0}
    assert agg.movements[-1].reason is ReasonCode.COUNT_CORRECTION and agg.movements[-1].quantity == -1


def test_a_count_that_agrees_with_the_book_moves_nothing():
    assert count_correction({("WH-A1", ""): 3}, "X", "WH-A1", "", 3, "counter", T0) == []


def test_stock_in_transit_is_neither_on_hand_nor_reservable():
    agg = stock()
    agg.upsert(need("V1", 1, 10))
    agg.post([move("ROAD", 4)])
    assert (agg.balance.on_hand, agg.balance.in_transit, agg.balance.reserved) == (0, 4, 0)


def test_a_serial_number_is_in_stock_once_at_most():
    agg = stock()
    agg.serial_lots = frozenset({"SN1"})
    with pytest.raises(ValidationError, match="serial number SN1"):
        agg.post([move("WH-A1", 2, lot="SN1")])


def test_a_backflush_takes_from_the_line_side_before_the_warehouse_and_consumes_the_reservation():
    agg = stock(WH_A1=5, SHELF=1)
    agg.upsert(need("V1", 1, 10, quantity=3))
    taken = agg.consume(("L1", "V1", "F"), "line", T0, "L1/V1")
    assert [(m.location, m.quantity, m.reason) for m in taken] == [("SHELF", -1, ReasonCode.BACKFLUSH), ("WH-A1", -2, ReasonCode.BACKFLUSH)]
    assert agg.reservations[0].consumed_at == T0
    assert (agg.balance.on_hand, agg.balance.reserved) == (3, 0)


def test_a_released_reservation_gives_its_units_to_the_next_need():
    agg = stock(WH_A1=1)
    agg.upsert(need("V1", 1, 10))
    agg.upsert(need("V2", 2, 20))
    agg.release(("L1", "V1", "F"))
    assert [(r.order_id, r.filled) for r in agg.reservations] == [("V2", 1)]
    assert ("L1", "V1", "F") in agg.removed


def test_new_locations_need_known_parents_and_new_codes():
    existing = {"WH": Location("WH", LocationKind.WAREHOUSE)}
    check_locations([Location("Z1", LocationKind.ZONE, parent="WH"), Location("B1", LocationKind.BIN, parent="Z1")], existing)
    with pytest.raises(ValidationError) as err:
        check_locations([Location("WH", LocationKind.WAREHOUSE), Location("B2", LocationKind.BIN, parent="Z9")], existing)
    assert [str(p) for p in err.value.problems] == ["location WH: already exists", "location B2: parent Z9 does not exist"]

"""Pure rules of the floor: racks filled in sequence, scans, resequencing after pick, load
plans, departure times, receipts against the ASN, the line-side check and the KPIs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from jisflow.domain.calloff import CallOffLine, CallOffState
from jisflow.domain.errors import ConflictError
from jisflow.domain import execution as ex
from jisflow.domain.kpi import compute
from jisflow.domain.racks import Rack, RackSlot, RackState
from jisflow.domain.transport import Lane, departure_time, latest_safe_arrival, load_plan
from tests.unit.factories import at, calendar

LANE = Lane("SEATCO>DOCK-A", "SEATCO", "DOCK-A", timedelta(minutes=40), timedelta(minutes=50), timedelta(minutes=15), truck_racks=2)


def slot(n: int, seq: int | None = None, part: str = "SEAT-LEATHER") -> RackSlot:
    return RackSlot(0, f"V{n:03d}", "SEATS", seq if seq is not None else n, part, "CO-1", at(8) + timedelta(minutes=n))


def rack(*numbers: int, capacity: int = 4, first_need_hour: int = 8, state: RackState = RackState.OPEN) -> Rack:
    r = Rack(f"RK-{numbers[0] if numbers else 0}", "RK-SEAT", capacity, "SEATCO", "L1", "DOCK-A", "SEATS", at(7), at(first_need_hour))
    for n in numbers:
        s = slot(n)
        s.need_time = at(first_need_hour) + timedelta(minutes=n)
        r.plan(s)
    r.state = state
    return r


def filled(r: Rack) -> Rack:
    state = r.state
    r.state = RackState.OPEN
    for s in list(r.slots):
        if r.state is RackState.OPEN:
            r.fill(s.position, f"SN-{s.order_id}", at(7, 30))
    r.state = state
    return r


def line(n: int, seq: int, part: str = "SEAT-LEATHER", state: CallOffState = CallOffState.AMENDED) -> CallOffLine:
    return CallOffLine("CO-1", "SEATCO", "DOCK-A", "L1", f"V{n:03d}", "SEATS", seq, seq, None, part, 1, "SEATS", at(8) + timedelta(minutes=seq), at(7), state)


def test_a_rack_is_filled_slot_by_slot_and_closes_when_full():
    r = rack(1, 2, capacity=2)
    with pytest.raises(ConflictError, match="slot 2 is not the next slot"):
        r.fill(2, "SN-2", at(7))
    r.fill(1, "SN-1", at(7))
    r.fill(2, "SN-2", at(7, 1))
    assert r.state is RackState.CLOSED and not r.partial and r.closed_at == at(7, 1)


def test_a_rack_keeps_a_rising_sequence_range():
    r = rack(5, 6)
    with pytest.raises(ConflictError, match="break its sequence range"):
        r.plan(slot(4))


def test_closing_at_cut_off_keeps_the_filled_slots_and_flags_the_rack_partial():
    r = rack(1, 2, 3)
    r.fill(1, "SN-1", at(7))
    released = r.close(at(7, 45))
    assert [s.order_id for s in released] == ["V002", "V003"]
    assert r.partial and [s.order_id for s in r.slots] == ["V001"]


def test_a_scan_of_the_wrong_part_into_the_wrong_slot_names_both_problems():
    problems = ex.verify_scan(ex.Scan("RK-1", 2, "SEAT-CLOTH", "SN-9"), rack(1, 2), "scan 1")
    whats = [p.what for p in problems]
    assert any("the next slot is 1" in w for w in whats) and any("needs SEAT-LEATHER, not SEAT-CLOTH" in w for w in whats)
    assert ex.verify_scan(ex.Scan("RK-1", 1, "SEAT-LEATHER", "SN-9"), rack(1, 2), "scan 1") == []


def test_a_vehicle_moved_inside_a_closed_rack_is_reslotted_and_its_neighbours_shift():
    r = filled(rack(1, 2, 3, 4, state=RackState.CLOSED))
    current = {("V001", "SEATS"): line(1, 3), ("V002", "SEATS"): line(2, 1), ("V003", "SEATS"): line(3, 2), ("V004", "SEATS"): line(4, 4)}
    done = ex.resequence_after_pick(r, current)
    assert {(i.action, i.order_id, i.from_slot, i.to_slot) for i in done} == {
        (ex.Action.RESLOT, "V001", 1, 3), (ex.Action.RESLOT, "V002", 2, 1), (ex.Action.RESLOT, "V003", 3, 2),
    }
    assert [s.order_id for s in r.slots] == ["V002", "V003", "V001", "V004"]


def test_a_shift_of_every_number_needs_no_physical_action():
    r = filled(rack(1, 2, 3, state=RackState.CLOSED))
    current = {(f"V00{n}", "SEATS"): line(n, n + 1) for n in (1, 2, 3)}
    assert ex.resequence_after_pick(r, current) == []
    assert [s.seq_no for s in r.slots] == [2, 3, 4]


def test_a_vehicle_moved_far_out_of_the_rack_goes_into_a_later_rack():
    r = filled(rack(1, 2, 3, state=RackState.CLOSED))
    current = {("V001", "SEATS"): line(1, 30), ("V002", "SEATS"): line(2, 2), ("V003", "SEATS"): line(3, 3)}
    (only,) = ex.resequence_after_pick(r, current)
    assert only.action is ex.Action.INSERT_LATER and "outside the rack's range" in only.text
    assert [s.order_id for s in r.slots] == ["V002", "V003"]


def test_a_spec_change_after_pick_pulls_the_old_part_and_a_cancel_returns_it_to_stock():
    r = filled(rack(1, 2, state=RackState.CLOSED))
    current = {("V001", "SEATS"): line(1, 1, part="SEAT-CLOTH"), ("V002", "SEATS"): line(2, 2, state=CallOffState.CANCELLED)}
    done = {i.order_id: i for i in ex.resequence_after_pick(r, current)}
    assert done["V001"].action is ex.Action.INSERT_LATER and "now needs SEAT-CLOTH" in done["V001"].text
    assert done["V002"].action is ex.Action.PULL and "serial SN-V002" in done["V002"].text
    assert r.slots == []


def test_the_load_plan_puts_the_rack_needed_first_on_the_truck_last():
    racks = [rack(9, first_need_hour=10), rack(1, first_need_hour=8), rack(5, first_need_hour=9)]
    trucks = load_plan(racks, truck_racks=2)
    assert [[r.id for r in t] for t in trucks] == [["RK-5", "RK-1"], ["RK-9"]]


def test_departure_leaves_transit_and_a_working_time_unloading_buffer():
    assert latest_safe_arrival(LANE, calendar(), at(9)) == at(8, 45)
    assert departure_time(LANE, calendar(), at(9)) == at(7, 55)


def test_the_unloading_buffer_skips_a_break_so_the_truck_leaves_earlier():
    # need 10:35, coffee break 10:00-10:30: 15 min of dock working time go back to 09:50
    assert latest_safe_arrival(LANE, calendar(), at(10, 35)) == at(9, 50)
    assert departure_time(LANE, calendar(), at(10, 35)) == at(9, 0)


def test_a_receipt_reports_a_missing_rack_a_wrong_part_and_an_extra_rack():
    asn = [
        {"rack_id": "RK-1", "slots": [{"position": 1, "seq_no": 1, "order_id": "V001", "part_number": "P1", "serial": "S1"},
                                      {"position": 2, "seq_no": 2, "order_id": "V002", "part_number": "P2", "serial": "S2"}]},
        {"rack_id": "RK-2", "slots": [{"position": 1, "seq_no": 3, "order_id": "V003", "part_number": "P1", "serial": "S3"}]},
    ]
    ok, found = ex.check_receipt(asn, {"RK-1": [ex.ReceivedSlot(1, "P1", "S1"), ex.ReceivedSlot(2, "P1", "S9")], "RK-7": []})
    assert [s["order_id"] for s in ok] == ["V001"]
    assert found == [
        "rack RK-7 arrived but was not advised",
        "rack RK-1 slot 2: found P1 S9, advised P2 S2 for seq 2",
        "rack RK-2 was advised but did not arrive (1 part(s))",
    ]


def test_the_line_side_check_wants_the_next_vehicle_with_its_own_part():
    due = [line(1, 1, state=CallOffState.DELIVERED), line(2, 2, state=CallOffState.DELIVERED)]
    assert ex.check_line_side(ex.LineSideScan("V001", "SEAT-LEATHER", "SN-1"), due, "V001", "st") == []
    whats = [p.what for p in ex.check_line_side(ex.LineSideScan("V002", "SEAT-CLOTH", "SN-1"), due, "V001", "st")]
    assert len(whats) == 3 and whats[0].startswith("out of sequence") and whats[1].startswith("wrong part") and whats[2].startswith("wrong vehicle")


def test_kpis_are_computed_from_the_records():
    def rec(kind, **data):
        return ex.ExecutionRecord(kind, at(9), "L1", data=data)

    k = compute([
        rec(ex.RecordKind.RECEIVED, in_position=True, on_time=True), rec(ex.RecordKind.RECEIVED, in_position=True, on_time=False),
        rec(ex.RecordKind.RECEIVED, in_position=False, on_time=True), rec(ex.RecordKind.RACK_CLOSED, filled=3, capacity=4),
        rec(ex.RecordKind.SHIPMENT_DESPATCHED, racks=1, capacity=2, emergency=False), rec(ex.RecordKind.SHIPMENT_DESPATCHED, racks=1, capacity=1, emergency=True),
        rec(ex.RecordKind.EMERGENCY), rec(ex.RecordKind.DESPATCHED, issued_at=at(8).isoformat()),
        rec(ex.RecordKind.CONSUMED, checked=True), rec(ex.RecordKind.CONSUMED, checked=False),
    ])
    assert (k.on_time_in_sequence, k.sequence_accuracy) == (Decimal("0.3333"), Decimal("0.6667"))
    assert (k.rack_fill_rate, k.truck_utilisation, k.emergency_deliveries) == (Decimal("0.75"), Decimal("0.5"), 1)
    assert k.mean_calloff_to_despatch == timedelta(hours=1) and k.wrong_parts_fitted == 1

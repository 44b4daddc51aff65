import copy
from collections.abc import Iterable
from datetime import datetime

from factories import at, chain, cockpit, line, plant, roof, seats, wheels
from jisflow.domain.alerts import AlertKind
from jisflow.domain.calloff import CallOffLine, CallOffState, CallWindow, StoredCalls, SummarizedCall
from jisflow.domain.events import CallOffIssued, CallOffLineChanged, SummarizedCallChanged
from jisflow.domain.issuing import IssueResult, reconcile
from jisflow.domain.plant import CallOffTrigger, FrozenZone, FrozenZoneKind, Plant
from jisflow.domain.sequence import PearlChain

S = CallOffState
OPEN_LINE = line(frozen=FrozenZone(FrozenZoneKind.COUNT, 0))
PLANT = plant(OPEN_LINE)


class Book:
    """What a caller keeps between two reconciles: the JIS lines and the summarized calls. Like a
    repository it hands out copies, so only what ``reconcile`` returns is ever stored."""

    def __init__(self, the_plant: Plant = PLANT) -> None:
        self.plant = the_plant
        self.lines: dict[tuple[str, str], CallOffLine] = {}
        self.calls: dict[tuple, SummarizedCall] = {}
        self.asked: list[set[CallWindow]] = []  # the windows of each read of the stored calls

    def reconcile(self, pearl_chain: PearlChain, order_ids: Iterable[str], now: datetime, reason: str = "test") -> IssueResult:
        ids = list(order_ids)
        existing = {k: copy.deepcopy(ln) for k, ln in self.lines.items() if k[0] in ids and ln.live}

        def stored_calls(windows: set[CallWindow]) -> StoredCalls:
            self.asked.append(windows)
            stored = StoredCalls()
            for call in self.calls.values():
                for order_id in sorted(set(ids) & call.contributions.keys()):
                    stored.counting.setdefault(order_id, []).append(copy.deepcopy(call))
                if call.key[1:] in windows:
                    stored.windows[call.key[1:]] = copy.deepcopy(call)
            return stored

        result = reconcile(self.plant, pearl_chain, ids, now, existing, stored_calls, reason)
        for calloff in result.new_calloffs:
            for ln in calloff.lines:
                self.lines[ln.order_id, ln.family] = copy.deepcopy(ln)
        for ln in result.changed_lines:
            self.lines[ln.order_id, ln.family] = copy.deepcopy(ln)
        for call in result.changed_calls:
            self.calls[call.key] = copy.deepcopy(call)
        return result

    def line(self, order_id: str, family: str) -> CallOffLine:
        return self.lines[order_id, family]

    def move_to(self, state: CallOffState, *keys: tuple[str, str]) -> None:
        """The supplier's side moves lines along: CREATED -> SENT -> ... -> ``state``."""
        path = [S.CREATED, S.SENT, S.ACKNOWLEDGED, S.PICKED, S.PACKED, S.SHIPPED]
        for key in keys or list(self.lines):
            ln = self.lines[key]
            for step in path[path.index(ln.state) + 1 : path.index(state) + 1]:
                ln.transition(step, at(6))
            ln.events.clear()

    def quantities(self, family: str = "WHEELS") -> dict[tuple[str, datetime], int]:
        """(part, window start) -> quantity of every summarized call still asking for something."""
        return {(c.part_number, c.window_start): c.quantity for c in self.calls.values() if c.family == family and c.quantity}


def broadcast(pearl_chain: PearlChain, *order_ids: str, start: datetime = at(7)) -> None:
    """Broadcast the vehicles one takt apart from ``start``."""
    for minute, order_id in enumerate(order_ids):
        pearl_chain.broadcast(order_id, start.replace(minute=start.minute + minute))


def alerts_of(result: IssueResult, kind: AlertKind) -> list:
    return [a for a in result.alerts if a.kind is kind]


# -- issuing JIS call-offs ---------------------------------------------------------------------


def test_broadcast_triggered_lines_appear_only_after_the_broadcast():
    book, pearl_chain = Book(), chain(4, the_line=OPEN_LINE)
    assert book.reconcile(pearl_chain, ["V01"], at(6, 59)).new_calloffs == []
    pearl_chain.broadcast("V01", at(7))
    result = book.reconcile(pearl_chain, ["V01"], at(7))
    assert sorted((co.supplier, co.unloading_point, [ln.family for ln in co.lines]) for co in result.new_calloffs) == [
        ("COCKCO", "DOCK-B", ["COCKPIT"]), ("SEATCO", "DOCK-A", ["SEATS"]),
    ]
    seat = book.line("V01", "SEATS")
    assert (seat.seq_no, seat.rolling_no, seat.part_number, seat.station, seat.state) == (1, 1, "SEAT-CLOTH", "SEATS", S.CREATED)
    assert (seat.need_time, seat.ship_by) == (at(7, 30), at(7, 10))  # need time minus 20 minutes of lead time
    assert result.alerts == []


def test_a_new_call_off_is_announced_with_every_line():
    book, pearl_chain = Book(), chain(4, the_line=OPEN_LINE)
    broadcast(pearl_chain, "V01", "V02")
    result = book.reconcile(pearl_chain, ["V01", "V02"], at(7, 1))
    [issued] = [e for e in result.events if isinstance(e, CallOffIssued) and e.supplier == "SEATCO"]
    assert [(ln["order_id"], ln["seq_no"], ln["part_number"], ln["need_time"]) for ln in issued.lines] == [
        ("V01", 1, "SEAT-CLOTH", "2024-03-04T07:30:00+00:00"), ("V02", 2, "SEAT-CLOTH", "2024-03-04T07:31:00+00:00"),
    ]


def test_lines_are_grouped_into_one_call_off_per_supplier_and_unloading_point():
    book, pearl_chain = Book(), chain(4, the_line=OPEN_LINE)
    for n in (2, 3):
        pearl_chain.change_spec(f"V0{n}", now=at(6), options={"roof": "sun"})
    broadcast(pearl_chain, "V01", "V02", "V03")
    result = book.reconcile(pearl_chain, ["V03", "V01", "V02"], at(7, 2))
    groups = {(co.supplier, co.unloading_point): [(ln.order_id, ln.family) for ln in co.lines] for co in result.new_calloffs}
    assert groups == {
        ("SEATCO", "DOCK-A"): [("V01", "SEATS"), ("V02", "SEATS"), ("V03", "SEATS")],
        ("SEATCO", "DOCK-B"): [("V02", "ROOF"), ("V03", "ROOF")],
        ("COCKCO", "DOCK-B"): [("V01", "COCKPIT"), ("V02", "COCKPIT"), ("V03", "COCKPIT")],
    }
    assert all(ln.number == co.number for co in result.new_calloffs for ln in co.lines)
    assert len({co.number for co in result.new_calloffs}) == 3


def test_a_vehicle_with_a_live_line_gets_no_second_one():
    book, pearl_chain = Book(), chain(4, the_line=OPEN_LINE)
    pearl_chain.broadcast("V01", at(7))
    book.reconcile(pearl_chain, ["V01"], at(7))
    again = book.reconcile(pearl_chain, ["V01"], at(7, 5))
    assert (again.new_calloffs, again.changed_lines, again.events) == ([], [], [])


def lead_time_plant() -> Plant:
    """Seats called off 45 minutes before they are needed, whether the vehicle was broadcast
    or not (seats are needed 30 takts after the broadcast)."""
    return plant(OPEN_LINE, (seats(lead_minutes=45, trigger=CallOffTrigger.LEAD_TIME), cockpit()))


def test_lead_time_triggered_lines_are_issued_once_need_time_minus_lead_time_is_reached():
    book, pearl_chain = Book(lead_time_plant()), chain(20, the_line=OPEN_LINE)
    pearl_chain.broadcast("V01", at(7))
    # V17 comes 16 takts after V01: broadcast expected 07:16, seats needed 07:46, called off at 07:01.
    assert book.reconcile(pearl_chain, ["V17"], at(7, 0, 59)).new_calloffs == []
    result = book.reconcile(pearl_chain, ["V17"], at(7, 1))
    [calloff] = result.new_calloffs
    [seat] = calloff.lines
    assert (seat.order_id, seat.family, seat.need_time, seat.ship_by) == ("V17", "SEATS", at(7, 46), at(7, 1))
    assert result.alerts == []


def test_lead_time_triggered_lines_are_amended_when_the_vehicle_moves():
    book, pearl_chain = Book(lead_time_plant()), chain(20, the_line=OPEN_LINE)
    pearl_chain.broadcast("V01", at(7))
    book.reconcile(pearl_chain, [f"V{n:02d}" for n in range(2, 6)], at(7))
    book.move_to(S.SENT)
    change = pearl_chain.move("V03", now=at(7), after="V05")
    result = book.reconcile(pearl_chain, [change.order_id, *change.renumbered], at(7), reason="move of V03")
    assert {o: (book.line(o, "SEATS").seq_no, book.line(o, "SEATS").state) for o in ("V02", "V03", "V04", "V05")} == {
        "V02": (2, S.SENT), "V03": (5, S.AMENDED), "V04": (3, S.AMENDED), "V05": (4, S.AMENDED),
    }
    assert book.line("V03", "SEATS").need_time == at(7, 34)
    assert all(book.line(o, "SEATS").amendments == 1 for o in ("V03", "V04", "V05"))
    changed = [e for e in result.events if isinstance(e, CallOffLineChanged)]
    assert sorted((e.order_id, e.new_state, e.seq_no, e.reason) for e in changed) == [
        ("V03", "AMENDED", 5, "move of V03"), ("V04", "AMENDED", 3, "move of V03"), ("V05", "AMENDED", 4, "move of V03"),
    ]


def test_a_line_not_yet_sent_is_amended_in_place():
    book, pearl_chain = Book(lead_time_plant()), chain(20, the_line=OPEN_LINE)
    pearl_chain.broadcast("V01", at(7))
    book.reconcile(pearl_chain, ["V02", "V03"], at(7))
    pearl_chain.swap("V02", "V03", now=at(7))
    result = book.reconcile(pearl_chain, ["V02", "V03"], at(7))
    assert [(ln.order_id, ln.seq_no, ln.state, ln.amendments) for ln in result.changed_lines] == [
        ("V02", 3, S.CREATED, 0), ("V03", 2, S.CREATED, 0),
    ]
    assert result.events == []


# -- sequence changes on issued lines ----------------------------------------------------------


def test_cancelling_a_vehicle_cancels_its_live_lines():
    book, pearl_chain = Book(), chain(4, the_line=OPEN_LINE)
    pearl_chain.broadcast("V01", at(7))
    book.reconcile(pearl_chain, ["V01"], at(7))
    book.move_to(S.SENT)
    pearl_chain.cancel("V01", now=at(7, 1), override=True)
    result = book.reconcile(pearl_chain, ["V01"], at(7, 1), reason="cancel of V01")
    assert {(ln.family, ln.state) for ln in result.changed_lines} == {("SEATS", S.CANCELLED), ("COCKPIT", S.CANCELLED)}
    assert {(e.family, e.old_state, e.new_state, e.reason) for e in result.events if isinstance(e, CallOffLineChanged)} == {
        ("SEATS", "SENT", "CANCELLED", "cancel of V01"), ("COCKPIT", "SENT", "CANCELLED", "cancel of V01"),
    }
    assert result.new_calloffs == []


def test_a_spec_change_to_a_rule_without_part_cancels_the_line():
    book, pearl_chain = Book(), chain(4, the_line=OPEN_LINE)
    pearl_chain.change_spec("V01", now=at(6), options={"roof": "sun"})
    pearl_chain.broadcast("V01", at(7))
    book.reconcile(pearl_chain, ["V01"], at(7))
    assert book.line("V01", "ROOF").part_number == "ROOF-SUN"
    pearl_chain.change_spec("V01", now=at(7, 1), options={"roof": None}, override=True)
    result = book.reconcile(pearl_chain, ["V01"], at(7, 1), reason="spec change of V01")
    [cancelled] = result.changed_lines
    assert (cancelled.family, cancelled.state) == ("ROOF", S.CANCELLED)
    [event] = [e for e in result.events if isinstance(e, CallOffLineChanged)]
    assert event.reason == "spec change of V01: no part needed"
    assert book.line("V01", "SEATS").state is S.CREATED


def test_a_spec_change_to_another_part_amends_the_line():
    book, pearl_chain = Book(), chain(4, the_line=OPEN_LINE)
    pearl_chain.broadcast("V01", at(7))
    book.reconcile(pearl_chain, ["V01"], at(7))
    book.move_to(S.PICKED)
    pearl_chain.change_spec("V01", now=at(7, 1), options={"trim": "leather"}, override=True)
    result = book.reconcile(pearl_chain, ["V01"], at(7, 1))
    [amended] = result.changed_lines
    assert (amended.family, amended.part_number, amended.state, amended.amendments) == ("SEATS", "SEAT-LEATHER", S.AMENDED, 1)


def test_a_change_after_shipment_raises_an_alert_and_leaves_the_line_alone():
    book, pearl_chain = Book(), chain(4, the_line=OPEN_LINE)
    pearl_chain.broadcast("V01", at(7))
    book.reconcile(pearl_chain, ["V01"], at(7))
    book.move_to(S.SHIPPED, ("V01", "SEATS"))
    pearl_chain.change_spec("V01", now=at(7, 1), options={"trim": "leather"}, override=True)
    result = book.reconcile(pearl_chain, ["V01"], at(7, 1))
    [alert] = result.alerts
    assert (alert.kind, alert.order_id, alert.details) == (AlertKind.CHANGE_AFTER_SHIPMENT, "V01", {"family": "SEATS", "state": "SHIPPED"})
    assert "a physical action is needed" in alert.message
    seat = book.line("V01", "SEATS")
    assert (seat.state, seat.part_number) == (S.SHIPPED, "SEAT-CLOTH")
    assert result.changed_lines == []


def test_a_cancel_after_shipment_raises_an_alert_and_still_cancels_the_lines_not_shipped():
    book, pearl_chain = Book(), chain(4, the_line=OPEN_LINE)
    pearl_chain.broadcast("V01", at(7))
    book.reconcile(pearl_chain, ["V01"], at(7))
    book.move_to(S.SHIPPED, ("V01", "SEATS"))
    pearl_chain.cancel("V01", now=at(7, 1), override=True)
    result = book.reconcile(pearl_chain, ["V01"], at(7, 1))
    assert [a.kind for a in result.alerts] == [AlertKind.CHANGE_AFTER_SHIPMENT]
    assert (book.line("V01", "SEATS").state, book.line("V01", "COCKPIT").state) == (S.SHIPPED, S.CANCELLED)


def test_a_vehicle_whose_parts_cannot_be_determined_raises_an_alert_and_gets_no_line():
    book, pearl_chain = Book(), chain(4, the_line=OPEN_LINE)
    pearl_chain.change_spec("V01", now=at(6), options={"trim": "vinyl"})
    pearl_chain.broadcast("V01", at(7))
    result = book.reconcile(pearl_chain, ["V01", "V02"], at(7))
    [alert] = result.alerts
    assert (alert.kind, alert.order_id, alert.seq_no) == (AlertKind.EXPLOSION_FAILED, "V01", 1)
    assert "family SEATS" in alert.message
    assert result.new_calloffs == []


# -- late call-offs ----------------------------------------------------------------------------


def test_a_late_issue_raises_one_late_call_off_alert_per_supplier_group():
    # Seats and roofs take an hour to come, more than the 30 and 20 takts from broadcast to need.
    late_plant = plant(OPEN_LINE, (seats(lead_minutes=60), roof(lead_minutes=60), cockpit()))
    book, pearl_chain = Book(late_plant), chain(4, the_line=OPEN_LINE)
    for n in (1, 2, 3):
        pearl_chain.change_spec(f"V0{n}", now=at(6), options={"roof": "sun"})
    broadcast(pearl_chain, "V01", "V02", "V03")
    result = book.reconcile(pearl_chain, ["V03", "V01", "V02"], at(7, 2))
    late = alerts_of(result, AlertKind.LATE_CALL_OFF)
    assert sorted((a.details["supplier"], a.details["unloading_point"], a.details["lines"]) for a in late) == [
        ("SEATCO", "DOCK-A", 3), ("SEATCO", "DOCK-B", 3),
    ]
    seats_alert = next(a for a in late if a.details["unloading_point"] == "DOCK-A")
    # V01's seats were needed at 07:30, so due to ship at 06:30: 32 minutes before 07:02.
    assert "up to 32 min late" in seats_alert.message and "first seq 1" in seats_alert.message
    assert (seats_alert.order_id, seats_alert.seq_no) == ("V01", 1)
    assert len(result.new_calloffs) == 3


def test_an_issue_exactly_at_the_latest_despatch_time_is_not_late():
    on_the_edge = plant(OPEN_LINE, (seats(lead_minutes=30),))
    book, pearl_chain = Book(on_the_edge), chain(4, the_line=OPEN_LINE)
    pearl_chain.broadcast("V01", at(7))
    result = book.reconcile(pearl_chain, ["V01"], at(7))
    assert book.line("V01", "SEATS").ship_by == at(7)
    assert result.alerts == []


# -- JIT summarized calls ----------------------------------------------------------------------


def test_jit_quantities_are_summed_per_part_and_window():
    book, pearl_chain = Book(), chain(6, the_line=OPEN_LINE)
    pearl_chain.change_spec("V03", now=at(6), model="B")
    broadcast(pearl_chain, "V01", "V02", "V03")
    pearl_chain.broadcast("V04", at(7, 20))  # wheels needed at 08:00: the next window
    result = book.reconcile(pearl_chain, ["V01", "V02", "V03", "V04"], at(7, 20))
    assert book.quantities() == {("WHL-17", at(7)): 8, ("WHL-18", at(7)): 4, ("WHL-17", at(8)): 4}
    assert {(c.supplier, c.window_end) for c in result.changed_calls} == {("WHEELCO", at(8)), ("WHEELCO", at(9))}
    assert book.calls["L1", "WHEELS", "WHL-17", at(7)].contributions == {"V01": 4, "V02": 4}
    assert [e.quantity for e in result.events if isinstance(e, SummarizedCallChanged) and e.window_start == at(7) and e.part_number == "WHL-17"] == [4, 8]


def test_jit_lines_of_later_reconciles_add_to_the_stored_call():
    book, pearl_chain = Book(), chain(6, the_line=OPEN_LINE)
    broadcast(pearl_chain, "V01", "V02")
    book.reconcile(pearl_chain, ["V01"], at(7))
    book.reconcile(pearl_chain, ["V02"], at(7, 1))
    assert book.quantities() == {("WHL-17", at(7)): 8}


def test_a_jit_call_waits_for_the_broadcast_when_triggered_by_it():
    book, pearl_chain = Book(), chain(6, the_line=OPEN_LINE)
    result = book.reconcile(pearl_chain, ["V01", "V02"], at(7))
    assert (result.changed_calls, book.quantities()) == ([], {})


def lead_time_jit_plant() -> Plant:
    return plant(OPEN_LINE, (wheels(lead_minutes=180, trigger=CallOffTrigger.LEAD_TIME),))


def test_a_jit_quantity_moves_to_the_new_window_when_the_need_time_moves():
    book, pearl_chain = Book(lead_time_jit_plant()), chain(30, the_line=OPEN_LINE)
    pearl_chain.broadcast("V01", at(7))
    everyone = [e.order_id for e in pearl_chain.planned()]
    book.reconcile(pearl_chain, everyone, at(7))
    # V20 is expected at 07:19 and needs its wheels at 07:59; V21 needs them at 08:00.
    assert book.quantities() == {("WHL-17", at(7)): 4 * 19, ("WHL-17", at(8)): 4 * 10}
    change = pearl_chain.move("V20", now=at(7), after="V25")
    result = book.reconcile(pearl_chain, [change.order_id, *change.renumbered], at(7))
    assert book.quantities() == {("WHL-17", at(7)): 4 * 19, ("WHL-17", at(8)): 4 * 10}
    seven, eight = (book.calls["L1", "WHEELS", "WHL-17", at(hour)].contributions for hour in (7, 8))
    assert ("V20" in eight, "V20" in seven, "V21" in seven, "V21" in eight) == (True, False, True, False)
    assert len(result.changed_calls) == len({id(c) for c in result.changed_calls}) == 2


def test_a_cancelled_vehicle_is_taken_out_of_its_summarized_call():
    book, pearl_chain = Book(), chain(6, the_line=OPEN_LINE)
    broadcast(pearl_chain, "V01", "V02", "V03")
    book.reconcile(pearl_chain, ["V01", "V02", "V03"], at(7, 2))
    pearl_chain.cancel("V02", now=at(7, 3), override=True)
    result = book.reconcile(pearl_chain, ["V02"], at(7, 3))
    assert book.quantities() == {("WHL-17", at(7)): 8}
    assert [e.quantity for e in result.events if isinstance(e, SummarizedCallChanged)] == [8]


def test_vehicles_cancelled_together_are_all_taken_out_of_their_shared_call():
    book, pearl_chain = Book(), chain(6, the_line=OPEN_LINE)
    broadcast(pearl_chain, "V01", "V02", "V03")
    book.reconcile(pearl_chain, ["V01", "V02", "V03"], at(7, 2))
    for order_id in ("V01", "V02"):
        pearl_chain.cancel(order_id, now=at(7, 3), override=True)
    result = book.reconcile(pearl_chain, ["V01", "V02"], at(7, 3))
    assert book.quantities() == {("WHL-17", at(7)): 4}
    assert len(result.changed_calls) == 1


def test_vehicles_joining_a_stored_call_together_all_count():
    book, pearl_chain = Book(), chain(6, the_line=OPEN_LINE)
    broadcast(pearl_chain, "V01", "V02", "V03")
    book.reconcile(pearl_chain, ["V01"], at(7))
    result = book.reconcile(pearl_chain, ["V02", "V03"], at(7, 2))
    assert book.quantities() == {("WHL-17", at(7)): 12}
    assert len(result.changed_calls) == 1


def test_the_stored_calls_are_read_once_for_the_windows_of_every_vehicle_reconciled():
    book, pearl_chain = Book(), chain(6, the_line=OPEN_LINE)
    pearl_chain.change_spec("V03", now=at(6), model="B")
    broadcast(pearl_chain, "V01", "V02", "V03")
    pearl_chain.broadcast("V04", at(7, 20))
    book.reconcile(pearl_chain, ["V01", "V02", "V03", "V04"], at(7, 20))
    assert book.asked == [{("WHEELS", "WHL-17", at(7)), ("WHEELS", "WHL-18", at(7)), ("WHEELS", "WHL-17", at(8))}]


def test_a_line_without_jit_families_reads_no_stored_calls():
    book, pearl_chain = Book(plant(OPEN_LINE, (seats(),))), chain(6, the_line=OPEN_LINE)
    broadcast(pearl_chain, "V01")
    result = book.reconcile(pearl_chain, ["V01"], at(7))
    assert (book.asked, len(result.new_calloffs)) == ([], 1)

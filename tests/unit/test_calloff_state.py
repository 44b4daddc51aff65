import itertools
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from factories import at
from jisflow.domain.calloff import CallOffLine, CallOffState, SummarizedCall, new_calloff_number, window_of
from jisflow.domain.errors import IllegalTransition
from jisflow.domain.events import CallOffLineChanged, SummarizedCallChanged

S = CallOffState
HOUR = timedelta(hours=1)

# The life of a call-off line, written out independently of the module's table.
LEGAL = {
    (S.CREATED, S.SENT), (S.CREATED, S.CANCELLED),
    (S.SENT, S.ACKNOWLEDGED), (S.SENT, S.AMENDED), (S.SENT, S.CANCELLED),
    (S.ACKNOWLEDGED, S.PICKED), (S.ACKNOWLEDGED, S.AMENDED), (S.ACKNOWLEDGED, S.CANCELLED),
    (S.PICKED, S.PACKED), (S.PICKED, S.AMENDED), (S.PICKED, S.CANCELLED),
    (S.PACKED, S.SHIPPED), (S.PACKED, S.AMENDED), (S.PACKED, S.CANCELLED),
    (S.SHIPPED, S.DELIVERED),
    (S.DELIVERED, S.CONSUMED),
    (S.AMENDED, S.SENT), (S.AMENDED, S.AMENDED), (S.AMENDED, S.CANCELLED),
}
ILLEGAL = sorted(set(itertools.product(S, S)) - LEGAL)


def calloff_line(state: CallOffState = S.CREATED, **fields) -> CallOffLine:
    values = {
        "number": "CO-1", "supplier": "SEATCO", "unloading_point": "DOCK-A", "line": "L1", "order_id": "V01",
        "family": "SEATS", "seq_no": 1, "rolling_no": 1, "vin": None, "part_number": "SEAT-CLOTH", "quantity": 1,
        "station": "SEATS", "need_time": at(7, 30), "ship_by": at(7, 10), "state": state,
    }
    return CallOffLine(**{**values, **fields})


def amend(line: CallOffLine, **changes):
    values = {
        "seq_no": line.seq_no, "rolling_no": line.rolling_no, "part_number": line.part_number, "quantity": line.quantity,
        "need_time": line.need_time, "ship_by": line.ship_by, "vin": line.vin, "reason": "move of V01",
    }
    return line.amend(at(8), **{**values, **changes})


# -- the state machine -------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new"), sorted(LEGAL), ids=lambda s: s.value)
def test_every_legal_transition_is_allowed_and_announced(old, new):
    line = calloff_line(old)
    line.transition(new, at(8), "by test")
    assert (line.state, line.updated_at) == (new, at(8))
    assert line.events == [
        CallOffLineChanged("CO-1", "SEATCO", "L1", "V01", "SEATS", old.value, new.value, 1, "SEAT-CLOTH", "by test")
    ]


@pytest.mark.parametrize(("old", "new"), ILLEGAL, ids=lambda s: s.value)
def test_every_illegal_transition_raises_and_changes_nothing(old, new):
    line = calloff_line(old)
    with pytest.raises(IllegalTransition, match=f"cannot go from {old.value} to {new.value}"):
        line.transition(new, at(8))
    assert (line.state, line.updated_at, line.events) == (old, None, [])


def test_cancelled_and_consumed_are_final():
    for state in (S.CANCELLED, S.CONSUMED):
        assert not any((state, to) in LEGAL for to in S)
        assert all((state, to) in ILLEGAL for to in S)


def test_only_a_cancelled_line_is_not_live():
    assert [state for state in S if not calloff_line(state).live] == [S.CANCELLED]


# -- amendments --------------------------------------------------------------------------------


def test_amending_a_created_line_changes_it_in_place():
    line = calloff_line(S.CREATED)
    assert amend(line, seq_no=3, rolling_no=3, need_time=at(7, 32), ship_by=at(7, 12))
    assert (line.state, line.seq_no, line.rolling_no, line.need_time, line.ship_by) == (S.CREATED, 3, 3, at(7, 32), at(7, 12))
    assert (line.amendments, line.events, line.updated_at) == (0, [], at(8))


def test_amending_a_sent_line_marks_it_amended_and_counts_the_amendment():
    line = calloff_line(S.SENT)
    assert amend(line, part_number="SEAT-LEATHER")
    assert (line.state, line.part_number, line.amendments) == (S.AMENDED, "SEAT-LEATHER", 1)
    [event] = line.events
    assert (event.old_state, event.new_state, event.part_number, event.reason) == ("SENT", "AMENDED", "SEAT-LEATHER", "move of V01")


def test_each_further_amendment_counts_again():
    line = calloff_line(S.SENT)
    amend(line, seq_no=2, rolling_no=2)
    amend(line, seq_no=3, rolling_no=3)
    line.transition(S.SENT, at(9), "re-sent")
    amend(line, quantity=2)
    assert (line.state, line.amendments) == (S.AMENDED, 3)


@pytest.mark.parametrize("field", ["seq_no", "rolling_no", "part_number", "quantity", "vin"])
def test_every_field_the_supplier_sees_is_an_amendment(field):
    new_value = {"seq_no": 9, "rolling_no": 9, "part_number": "SEAT-LEATHER", "quantity": 2, "vin": "1M8GDM9AXKP042788"}[field]
    line = calloff_line(S.ACKNOWLEDGED)
    assert amend(line, **{field: new_value})
    assert (getattr(line, field), line.state) == (new_value, S.AMENDED)


@pytest.mark.parametrize("state", [S.SHIPPED, S.DELIVERED, S.CONSUMED, S.CANCELLED])
def test_a_line_shipped_or_beyond_cannot_be_amended(state):
    line = calloff_line(state)
    with pytest.raises(IllegalTransition, match=f"is {state.value}: it can no longer be amended \\(move of V01\\)"):
        amend(line, seq_no=2, rolling_no=2)
    assert (line.state, line.seq_no, line.amendments, line.events) == (state, 1, 0, [])


@pytest.mark.parametrize("state", [S.SENT, S.SHIPPED])
def test_a_new_need_time_alone_is_refreshed_without_an_amendment(state):
    line = calloff_line(state)
    assert amend(line, need_time=at(7, 31), ship_by=at(7, 11))
    assert (line.state, line.need_time, line.ship_by, line.amendments, line.events) == (state, at(7, 31), at(7, 11), 0, [])


def test_amending_with_the_same_values_changes_nothing():
    line = calloff_line(S.SENT)
    assert not amend(line)
    assert (line.state, line.updated_at, line.events) == (S.SENT, None, [])


# -- summarized calls and windows --------------------------------------------------------------


def test_a_summarized_call_sums_the_contributions_of_its_vehicles():
    call = SummarizedCall("L1", "WHEELS", "WHEELCO", "WHL-17", at(7), at(8))
    assert call.set_contribution("V01", 4, at(7))
    assert call.set_contribution("V02", 4, at(7))
    assert call.quantity == 8
    assert call.events[-1] == SummarizedCallChanged("L1", "WHEELCO", "WHEELS", "WHL-17", at(7), at(8), 8)


def test_a_contribution_of_zero_takes_the_vehicle_out():
    call = SummarizedCall("L1", "WHEELS", "WHEELCO", "WHL-17", at(7), at(8), {"V01": 4, "V02": 4})
    assert call.set_contribution("V01", 0, at(7, 5))
    assert (call.contributions, call.quantity, call.updated_at) == ({"V02": 4}, 4, at(7, 5))


def test_the_same_contribution_again_changes_nothing():
    call = SummarizedCall("L1", "WHEELS", "WHEELCO", "WHL-17", at(7), at(8), {"V01": 4})
    assert not call.set_contribution("V01", 4, at(7))
    assert not call.set_contribution("V09", 0, at(7))
    assert (call.events, call.updated_at) == ([], None)


@pytest.mark.parametrize(
    ("t", "length", "window"),
    [
        (at(7, 20), HOUR, (at(7), at(8))),
        (at(8), HOUR, (at(8), at(9))),
        (at(7, 59, 59), HOUR, (at(7), at(8))),
        (at(7, 20), 2 * HOUR, (at(6), at(8))),
        (at(7, 20), timedelta(minutes=15), (at(7, 15), at(7, 30))),
        (at(0, 0), HOUR, (at(0), at(1))),
    ],
)
def test_a_window_holds_the_instant_and_is_aligned_on_utc_midnight(t, length, window):
    assert window_of(t, length) == window


def test_a_window_of_a_local_time_is_still_aligned_on_utc_midnight():
    berlin = datetime(2024, 3, 4, 8, 20, tzinfo=ZoneInfo("Europe/Berlin"))  # 07:20 UTC
    start, end = window_of(berlin, HOUR)
    assert (start, end) == (at(7), at(8))
    assert start.utcoffset() == timedelta(0) and start.tzinfo is UTC


def test_call_off_numbers_are_unique():
    numbers = {new_calloff_number() for _ in range(1000)}
    assert len(numbers) == 1000
    assert all(re.fullmatch(r"CO-[0-9A-F]{16}", n) for n in numbers)

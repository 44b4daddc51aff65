"""Projection of one item, checked against figures worked out by hand."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jisflow.domain.alerts import AlertKind
from jisflow.domain.calendar import Break, LineCalendar, Shift
from jisflow.domain.errors import NotFound
from jisflow.domain.projection import Demand, Projector, Supply, project_item, shortage_alert


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An instant on Monday 2024-03-04, UTC."""
    return datetime(2024, 3, 4, hour, minute, second, tzinfo=UTC)


def calendar() -> LineCalendar:
    """Early shift 06:00-14:00, Monday to Friday, with a coffee break 10:00-10:30 (UTC)."""
    return LineCalendar("UTC", (Shift("early", time(6), time(14), frozenset(range(5)), (Break(time(10), time(10, 30), "coffee"),)),))


NOW = at(7)


def demand(order: str, seq_no: int, hour: int, minute: int, quantity: int, item: str = "X") -> Demand:
    return Demand(item, at(hour, minute), seq_no, "L1", order, quantity, takt_seconds=90)


def test_stock_that_covers_every_need_has_no_shortage_and_no_risk():
    # 5 - 2 = 3, - 2 = 1, + 2 (08:02) = 3, - 3 = 0
    p = project_item("X", 5, [Supply("X", at(8, 2), 2, "PO1")], [demand("V1", 1, 8, 0, 2), demand("V2", 2, 8, 1, 2), demand("V3", 3, 8, 2, 3)], NOW)
    assert (p.first_shortage_at, p.coverage, p.short_quantity, p.end_balance) == (None, None, 0, 0)
    assert p.line_stop_risk_minutes == 0
    assert not p.below(10_000)


def test_the_first_shortage_names_the_vehicle_its_time_coverage_and_line_stop_risk():
    # 3 - 2 = 1; V2: 1 - 2 = -1 (1 short); +4 at 08:01:30 -> 3; V3: 3 - 2 = 1; V4: 1 - 2 = -1 (1 short)
    demands = [demand("V1", 1, 8, 0, 2), demand("V2", 2, 8, 1, 2), demand("V3", 3, 8, 2, 2), demand("V4", 4, 8, 3, 2)]
    p = project_item("X", 3, [Supply("X", at(8, 1, 30), 4)], demands, NOW)
    assert (p.first_shortage_at, p.first_shortage_order_id, p.first_shortage_seq_no) == (at(8, 1), "V2", 2)
    assert p.short_quantity == 2
    assert p.end_balance == -1
    assert p.coverage == timedelta(hours=1, minutes=1)
    assert p.coverage_hours == Decimal("1.02")
    assert p.line_stop_risk_minutes == Decimal(3)  # two vehicles short, 90 s each


def test_a_receipt_due_at_the_need_time_serves_that_need():
    p = project_item("X", 0, [Supply("X", at(8), 1)], [demand("V1", 1, 8, 0, 1)], NOW)
    assert p.first_shortage_at is None


def test_coverage_counts_only_working_time():
    # 07:00 to 10:45 on the early shift holds the 10:00-10:30 coffee break: 3 h 15 min of work
    lines = {"L1": calendar()}
    p = project_item("X", 0, [], [demand("V1", 1, 10, 45, 1)], NOW, lambda line, a, b: lines[line].working_time_between(a, b))
    assert p.coverage == timedelta(hours=3, minutes=15)


def test_the_steps_trace_the_projected_stock_for_a_chart():
    p = project_item("X", 2, [Supply("X", at(8, 30), 5)], [demand("V1", 1, 8, 0, 3)], NOW, with_steps=True)
    assert p.steps == ((NOW, 2), (at(8), -1), (at(8, 30), 4))


def test_a_line_added_at_the_same_need_time_with_a_lower_sequence_number_is_served_first():
    projector = Projector(NOW, {"X": 1}, [], [demand("V3", 3, 8, 0, 1)])
    assert projector.project_all()["X"].first_shortage_at is None
    assert projector.apply([], [demand("V2", 2, 8, 0, 1)])["X"].first_shortage_order_id == "V3"


def test_an_incremental_update_touches_only_the_vehicles_items_and_agrees_with_a_full_run():
    demands = [demand("V1", 1, 8, 0, 1), demand("V1", 1, 8, 0, 1, item="Y"), demand("V2", 2, 8, 1, 1), demand("V3", 3, 8, 2, 1, item="Z")]
    projector = Projector(NOW, {"X": 1, "Y": 1, "Z": 0}, [], demands)
    projector.project_all()
    old = [d for d in demands if d.order_id == "V1"]
    moved = [demand("V1", 1, 8, 5, 1), demand("V1", 1, 8, 5, 1, item="Y")]
    touched = projector.apply(old, moved)
    assert set(touched) == {"X", "Y"}
    assert touched["X"].first_shortage_order_id == "V1"  # V2 now comes first and takes the unit
    rest = [demand("V2", 2, 8, 1, 1), demand("V3", 3, 8, 2, 1, item="Z"), *moved]
    assert Projector(NOW, {"X": 1, "Y": 1, "Z": 0}, [], rest).project_all() == projector.projections


def test_a_cancelled_vehicle_frees_its_units():
    v1 = demand("V1", 1, 8, 0, 1)
    projector = Projector(NOW, {"X": 1}, [], [v1, demand("V2", 2, 8, 1, 1)])
    assert projector.project_all()["X"].first_shortage_order_id == "V2"
    assert projector.apply([v1], [])["X"].first_shortage_at is None


def test_removing_a_demand_line_that_is_not_there_is_refused():
    projector = Projector(NOW, {"X": 1}, [], [demand("V1", 1, 8, 0, 1)])
    with pytest.raises(NotFound, match="V2"):
        projector.apply([demand("V2", 2, 8, 0, 1)], [])


def test_a_shortage_within_the_threshold_raises_an_alert_and_an_event():
    p = project_item("X", 0, [], [demand("V1", 1, 7, 20, 1)], NOW)
    assert shortage_alert(p, 20, NOW) is None
    alert, event = shortage_alert(p, 21, NOW)
    assert alert.kind is AlertKind.SHORTAGE_PROJECTED and alert.details["item"] == "X"
    assert (event.order_id, event.coverage_minutes, event.threshold_minutes, event.line_stop_risk_seconds) == ("V1", 20, 21, 90)


demand_lines = st.lists(
    st.tuples(st.integers(0, 240), st.integers(1, 4), st.sampled_from(["L1", "L2"])), max_size=30
)
receipts = st.lists(st.tuples(st.integers(0, 300), st.integers(1, 6)), max_size=4)


@given(on_hand=st.integers(0, 10), lines=demand_lines, incoming=receipts)
@settings(max_examples=200, deadline=None)
def test_the_bisection_projection_agrees_with_walking_every_event(on_hand, lines, incoming):
    demands = sorted(
        # a vehicle may need the item more than once: its line-stop risk counts once
        (Demand("X", NOW + timedelta(minutes=m), n % 7, line, f"V{n % 7}", q, 60 if line == "L1" else 90) for n, (m, q, line) in enumerate(lines)),
        key=lambda d: d.rank,
    )
    supplies = [Supply("X", NOW + timedelta(minutes=m), q) for m, q in incoming]
    fast = project_item("X", on_hand, supplies, demands, NOW)
    walked = project_item("X", on_hand, supplies, demands, NOW, with_steps=True)
    assert fast == dataclasses.replace(walked, steps=())

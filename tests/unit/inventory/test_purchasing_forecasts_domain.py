"""Forecasts feed purchasing: stored forecast lines read as periods, netted against the pearl
chain's demand, exploded by the bill of material, seen by the reorder point and the delivery
schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jisflow.domain.errors import ValidationError
from jisflow.domain.forecast import Commitment, ForecastLine, ForecastPeriod, part_of, periods_of
from jisflow.domain.projection import Demand
from jisflow.domain.purchasing import (
    BomLine,
    DemandSource,
    PhasedDemand,
    Policy,
    PolicyKind,
    Situation,
    delivery_schedule,
    explode_forecast,
    net_forecast,
    plan,
)

MONDAY = date(2026, 12, 7)
T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 12, 7, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def line(due: date, quantity: int, *, item: str = "SEAT", partner: str = "OEM", point: str = "DOCK", supplier_item: str | None = None,
         commitment: Commitment = Commitment.PLANNING) -> ForecastLine:
    return ForecastLine(partner, "SITZ", item, point, due, supplier_item, "EA", quantity, quantity, commitment, "DELFOR", "FC-1", MONDAY,
                        "edifact:OEM:SITZ:1", T0)


def period(start: datetime, days: float, quantity: int, item: str = "SEAT", partner: str = "OEM") -> ForecastPeriod:
    return ForecastPeriod(item, start, start + timedelta(days=days), quantity, Commitment.PLANNING, partner)


def vehicle(n: int, need: datetime, quantity: int = 1, item: str = "SEAT") -> Demand:
    return Demand(item, need, n, "L1", f"V{n}", quantity)


# --------------------------------------------------------------------------- periods
def test_a_run_of_weekly_forecast_lines_reads_as_periods_from_each_date_to_the_next():
    lines = [line(MONDAY + timedelta(weeks=w), 100 + w) for w in range(3)]
    periods = periods_of(lines)
    assert [(p.start, p.end, p.quantity) for p in periods] == [
        (MIDNIGHT, MIDNIGHT + 7 * DAY, 100),
        (MIDNIGHT + 7 * DAY, MIDNIGHT + 14 * DAY, 101),
        (MIDNIGHT + 14 * DAY, MIDNIGHT + 21 * DAY, 102),  # the last as long as the one before it
    ]


def test_a_forecast_of_a_single_period_lasts_one_day_and_each_unloading_point_has_its_own_run():
    periods = periods_of([line(MONDAY, 5, point="DOCK"), line(MONDAY + timedelta(days=2), 7, point="GATE"), line(MONDAY + 3 * DAY, 1, point="DOCK")])
    assert [(p.start.day, p.end.day, p.quantity) for p in periods] == [(7, 10, 5), (9, 10, 7), (10, 13, 1)]


def test_a_forecast_line_is_demand_of_the_supplier_part_number_only_when_the_customer_number_is_unknown_here():
    assert part_of(line(MONDAY, 1, item="OEM-77", supplier_item="SEAT-C"), {"SEAT-C"}) == "SEAT-C"
    assert part_of(line(MONDAY, 1, item="SEAT-C", supplier_item="S-1"), {"SEAT-C", "S-1"}) == "SEAT-C"
    assert part_of(line(MONDAY, 1, item="OEM-77", supplier_item="S-9"), {"SEAT-C"}) == "OEM-77"
    assert part_of(line(MONDAY, 1, item="OEM-77"), set()) == "OEM-77"


# --------------------------------------------------------------------------- netting
def test_the_chain_demand_inside_a_period_is_taken_off_its_forecast_and_never_below_zero():
    periods = [period(MIDNIGHT, 1, 10), period(MIDNIGHT + DAY, 1, 3), period(MIDNIGHT + 2 * DAY, 1, 8)]
    chain = [vehicle(1, T0, 4), vehicle(2, T0 + DAY, 5)]  # 4 inside the first day, 5 inside the second (of 3 forecast)
    assert [(p.start.day, p.quantity) for p in net_forecast(chain, periods, T0)] == [(7, 6), (9, 8)]


def test_a_period_over_by_now_counts_no_more_and_one_still_running_does():
    periods = [period(MIDNIGHT - 7 * DAY, 7, 50), period(MIDNIGHT, 7, 40)]
    assert [(p.start, p.quantity) for p in net_forecast([], periods, T0)] == [(MIDNIGHT, 40)]


def test_overlapping_forecasts_of_two_customers_take_a_chain_demand_off_once():
    periods = [period(MIDNIGHT, 7, 3, partner="OEM-A"), period(MIDNIGHT, 1, 5, partner="OEM-B")]
    # the shorter period (OEM-B's day) takes 5 of the 6, OEM-A's week the 1 left
    net = net_forecast([vehicle(1, T0, 6)], periods, T0)
    assert [(p.partner, p.quantity) for p in net] == [("OEM-A", 2)]


def test_the_forecast_adds_to_the_chain_what_each_period_holds_beyond_it_due_at_the_period_start():
    net = net_forecast([vehicle(1, T0, 2)], [period(MIDNIGHT, 1, 5), period(MIDNIGHT + DAY, 1, 4)], T0)
    phased = [PhasedDemand.of_period(p) for p in net]
    assert [(e.need_time, e.quantity, e.source, e.commitment) for e in phased] == [
        (MIDNIGHT, 3, DemandSource.FORECAST, Commitment.PLANNING),
        (MIDNIGHT + DAY, 4, DemandSource.FORECAST, Commitment.PLANNING),
    ]


def _inside(chain: list[Demand], p: ForecastPeriod) -> int:
    return sum(d.quantity for d in chain if p.start <= d.need_time < p.end)


@st.composite
def disjoint_periods(draw) -> list[ForecastPeriod]:
    """One customer's run of periods of one part: consecutive, of 1 to 10 days."""
    start, out = MIDNIGHT - draw(st.integers(0, 10)) * DAY, []
    for days, quantity in draw(st.lists(st.tuples(st.integers(1, 10), st.integers(0, 500)), max_size=12)):
        out.append(period(start, days, quantity))
        start += days * DAY
    return out


chain_demands = st.lists(st.tuples(st.integers(-48, 24 * 60), st.integers(1, 40)), max_size=60).map(
    lambda rows: [vehicle(n + 1, T0 + timedelta(hours=h), q) for n, (h, q) in enumerate(rows)])


@settings(max_examples=300, deadline=None)
@given(periods=disjoint_periods(), chain=chain_demands)
def test_the_demand_is_the_chain_plus_each_open_period_less_the_chain_inside_it(periods, chain):
    net = net_forecast(chain, periods, T0)
    expected = sum(max(0, p.quantity - _inside(chain, p)) for p in periods if p.end > T0)
    assert sum(p.quantity for p in net) == expected
    assert all(p.quantity > 0 and p.end > T0 for p in net)


@settings(max_examples=300, deadline=None)
@given(
    periods=st.lists(st.builds(period, st.sampled_from([MIDNIGHT + n * DAY for n in range(-2, 6)]), st.integers(1, 7), st.integers(0, 300),
                               partner=st.sampled_from(["OEM-A", "OEM-B", "OEM-C"])), max_size=10),
    chain=chain_demands,
)
def test_overlapping_forecasts_take_each_chain_demand_off_once_at_most_and_no_period_below_zero(periods, chain):
    net = net_forecast(chain, periods, T0)
    live = [p for p in periods if p.end > T0]
    taken = sum(p.quantity for p in live) - sum(p.quantity for p in net)
    assert taken <= sum(d.quantity for d in chain)
    # a chain demand left over inside a period means that period was used up: the netting takes
    # at least what any single period and the chain inside it allow
    assert all(taken >= min(p.quantity, _inside(chain, p)) for p in live)
    assert all(n.quantity > 0 and any((n.start, n.end, n.partner) == (p.start, p.end, p.partner) and n.quantity <= p.quantity for p in live) for n in net)


# --------------------------------------------------------------------------- bill of material
def test_a_forecast_of_a_finished_part_is_demand_of_its_components_level_by_level():
    bom = [BomLine("SEAT", "FRAME", 1, "FRAMECO"), BomLine("SEAT", "FOAM", 2, "FOAMCO"), BomLine("FRAME", "TUBE", 4, "STEEL")]
    components, unresolved = explode_forecast([period(MIDNIGHT, 7, 10)], bom)
    assert [(p.item, p.quantity, p.start, p.end) for p in components] == [
        ("FOAM", 20, MIDNIGHT, MIDNIGHT + 7 * DAY), ("FRAME", 10, MIDNIGHT, MIDNIGHT + 7 * DAY), ("TUBE", 40, MIDNIGHT, MIDNIGHT + 7 * DAY)]
    assert unresolved == []


def test_a_component_that_names_vehicle_options_is_reported_once_and_left_out():
    bom = [BomLine("SEAT", "COVER-{trim}-{colour}", 1, "COVERCO"), BomLine("SEAT", "FRAME", 1, "FRAMECO")]
    components, unresolved = explode_forecast([period(MIDNIGHT, 7, 10), period(MIDNIGHT + 7 * DAY, 7, 12)], bom)
    assert [(p.item, p.quantity) for p in components] == [("FRAME", 10), ("FRAME", 12)]
    assert [(p.where, p.what) for p in unresolved] == [
        ("bill of material of SEAT", "component COVER-{trim}-{colour} names vehicle option(s) trim, colour, which a forecast does not give")]


def test_a_bill_of_material_that_runs_in_a_circle_is_refused_naming_the_circle():
    bom = [BomLine("SEAT", "FRAME", 1, "FRAMECO"), BomLine("FRAME", "SEAT", 1, "SITZ")]
    with pytest.raises(ValidationError, match="runs in a circle: SEAT > FRAME > SEAT"):
        explode_forecast([period(MIDNIGHT, 7, 10)], bom)


# --------------------------------------------------------------------------- policies
def forecast_entry(start: datetime, quantity: int, days: int = 1, item: str = "SEAT") -> PhasedDemand:
    return PhasedDemand.of_period(period(start, days, quantity, item=item))


def test_the_reorder_point_sees_the_forecast_due_within_its_lead_time_and_names_the_demand_it_answers():
    policy = Policy("SEAT", PolicyKind.REORDER_POINT, "SUP", lead_time_minutes=2 * 24 * 60, reorder_point=0, order_quantity=10)
    forecast = (forecast_entry(MIDNIGHT + DAY, 15), forecast_entry(MIDNIGHT + 3 * DAY, 100))  # the second lies past the lead time
    [only_forecast] = plan([policy], {"SEAT": Situation(5, (), (), forecast)}, T0)
    assert (only_forecast.quantity, only_forecast.demand) == (20, DemandSource.FORECAST)  # position 5 - 15 = -10
    assert "0 from the chain, 15 from the forecast" in only_forecast.reason
    [both] = plan([policy], {"SEAT": Situation(5, (), (vehicle(1, T0 + HOUR, 2),), forecast)}, T0)
    assert (both.quantity, both.demand) == (20, DemandSource.BOTH)
    [chain] = plan([policy], {"SEAT": Situation(1, (), (vehicle(1, T0 + HOUR, 2),))}, T0)
    assert (chain.quantity, chain.demand) == (10, DemandSource.CHAIN)
    [stock_alone] = plan([Policy("SEAT", PolicyKind.REORDER_POINT, "SUP", reorder_point=3, order_quantity=10)], {"SEAT": Situation(1, (), ())}, T0)
    assert stock_alone.demand is None and "from the" not in stock_alone.reason


def test_kanban_and_schedule_policies_propose_nothing_for_a_forecast():
    forecast = (forecast_entry(MIDNIGHT, 1000),)
    policies = [Policy("SEAT", PolicyKind.KANBAN, "SUP", kanban_cards=2, container_quantity=10), Policy("FOAM", PolicyKind.SCHEDULE, "SUP")]
    assert plan(policies, {"SEAT": Situation(0, (), (), forecast), "FOAM": Situation(0, (), (), forecast)}, T0) == []


def test_the_delivery_schedule_extends_past_the_chain_with_the_forecast_marked_planning():
    chain = [vehicle(1, T0 + 2 * HOUR, 3)]
    forecast = [forecast_entry(MIDNIGHT, 4), forecast_entry(MIDNIGHT + 2 * DAY, 9)]  # today's period already runs: due at once
    lines = delivery_schedule("SEAT", chain, after=T0 + HOUR, bucket=DAY, forecast=forecast)
    assert [(ln.start.day, ln.quantity, ln.cumulative, ln.planning, ln.commitment) for ln in lines] == [
        (7, 7, 7, 4, Commitment.PLANNING), (8, 0, 7, 0, Commitment.FIRM), (9, 9, 16, 9, Commitment.PLANNING)]
    firm_only = delivery_schedule("SEAT", chain, after=T0 + HOUR, bucket=DAY)
    assert [(ln.quantity, ln.commitment) for ln in firm_only] == [(3, Commitment.FIRM)]


def test_a_forecast_period_over_before_the_frozen_zone_ends_is_not_scheduled():
    lines = delivery_schedule("SEAT", [], after=T0 + HOUR, bucket=DAY, forecast=[forecast_entry(MIDNIGHT - DAY, 4, days=1)])
    assert lines == []

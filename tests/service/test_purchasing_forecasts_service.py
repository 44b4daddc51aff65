"""Forecasts feed purchasing, through the service layer on the in-memory unit of work: the
small plant's pearl chain reserves one cloth seat set (SEAT-C) per vehicle on Monday
2026-12-07; the customer's daily forecast covers Monday to Wednesday."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from floor_support import MONDAY_0700, small_plant_app

from jisflow.adapters.memory import MemoryStore, MemoryUnitOfWork
from jisflow.domain.errors import ValidationError
from jisflow.domain.forecast import Commitment, ReceivedForecast, ReceivedPeriod
from jisflow.domain.inventory import Item, Location, LocationKind
from jisflow.domain.purchasing import BomLine, DemandSource, Policy, PolicyKind
from jisflow.domain.sequence import Vehicle
from jisflow.services import commands as c
from jisflow.services import inventory as inv
from jisflow.services.edi import ReceiveForecasts

MONDAY = date(2026, 12, 7)
TWO_DAYS = 2 * 24 * 60  # minutes: the horizon reaches Wednesday 06:00 UTC, so Wednesday's period is inside


@pytest.fixture
def jf():
    app = small_plant_app(
        MemoryUnitOfWork(MemoryStore()),
        items=[Item("SEAT-C", "Cloth seat set"), Item("FRAME-1", "Seat frame"), Item("FOAM-1", "Seat foam")],
        locations=[Location("WH", LocationKind.WAREHOUSE, "Warehouse")],
    )
    app.bus.handle(inv.ReceiveStock("SEAT-C", "WH", 10))
    return app


def load(jf, count: int) -> None:
    rows = tuple(c.SequenceRow(f"row {i + 2}", Vehicle(f"V{i + 1:04d}", "CITY", {"trim": "BASE", "roof": "CLOSED"})) for i in range(count))
    jf.bus.handle(c.ImportSequence("L1", rows))


def forecast(jf, quantities: dict[int, int], *, issued: date = MONDAY, number: int = 1, item: str = "SEAT-C", supplier_item: str | None = None) -> None:
    """The customer's forecast: ``quantities`` per day after Monday."""
    periods = tuple(ReceivedPeriod(MONDAY + timedelta(days=day), quantity, Commitment.PLANNING) for day, quantity in quantities.items())
    received = ReceivedForecast("LIN 1", "OEM", "SITZ", item, supplier_item, "DOCK-1", "EA", "DELFOR", f"FC-{number}", issued, periods)
    jf.bus.handle(ReceiveForecasts(f"edifact:OEM:SITZ:{number}", (received,)))


def proposals(jf, **kw) -> dict:
    return {p.item: p for p in jf.bus.handle(inv.PlanPurchasing(**kw)).details["proposals"]}


def test_the_forecast_beyond_the_chain_feeds_the_reorder_point_net_of_the_chain_inside_its_period(jf):
    load(jf, 10)  # 10 seat sets reserved on Monday morning
    forecast(jf, {0: 25, 1: 30, 2: 40})
    jf.bus.handle(inv.SetPolicy(Policy("SEAT-C", PolicyKind.REORDER_POINT, "SEATCO", lead_time_minutes=TWO_DAYS, reorder_point=0, order_quantity=10)))
    # due by Wednesday 06:00: 10 of the chain + Monday's 25 less the chain's 10 + 30 + 40 = 95; position 10 - 95 = -85
    seat = proposals(jf)["SEAT-C"]
    assert (seat.quantity, seat.demand) == (90, DemandSource.BOTH)
    assert "10 from the chain, 85 from the forecast" in seat.reason
    # the chain alone: position 10 - 10 = 0, at the reorder point
    chain_only = proposals(jf, forecasts=False)["SEAT-C"]
    assert (chain_only.quantity, chain_only.demand) == (10, DemandSource.CHAIN)


def test_only_the_newest_forecast_counts_and_a_forecast_alone_drives_the_plan(jf):
    jf.bus.handle(inv.SetPolicy(Policy("SEAT-C", PolicyKind.REORDER_POINT, "SEATCO", lead_time_minutes=TWO_DAYS, reorder_point=0, order_quantity=10)))
    forecast(jf, {0: 25, 1: 30, 2: 40})
    forecast(jf, {1: 5, 2: 5}, issued=MONDAY + timedelta(days=1), number=2)  # Tuesday and Wednesday replaced, Monday stays
    seat = proposals(jf)["SEAT-C"]
    # position 10 - (25 + 5 + 5) = -25
    assert (seat.quantity, seat.demand) == (30, DemandSource.FORECAST)


def test_a_forecast_under_the_customer_part_number_counts_for_the_supplier_part_it_names(jf):
    jf.bus.handle(inv.SetPolicy(Policy("SEAT-C", PolicyKind.REORDER_POINT, "SEATCO", lead_time_minutes=TWO_DAYS, reorder_point=0, order_quantity=10)))
    forecast(jf, {1: 12}, item="OEM-4711", supplier_item="SEAT-C")
    assert (proposals(jf)["SEAT-C"].quantity, proposals(jf)["SEAT-C"].demand) == (10, DemandSource.FORECAST)  # 10 - 12 = -2


def test_a_forecast_of_the_finished_part_is_demand_of_its_components_by_the_bill_of_material(jf):
    load(jf, 10)
    forecast(jf, {0: 25, 1: 30, 2: 40})
    jf.bus.handle(inv.SetBom((BomLine("SEAT-C", "FOAM-1", 2, "FOAMCO"), BomLine("SEAT-C", "COVER-{trim}", 1, "COVERCO"))))
    jf.bus.handle(inv.SetPolicy(Policy("FOAM-1", PolicyKind.REORDER_POINT, "FOAMCO", lead_time_minutes=TWO_DAYS, reorder_point=0, order_quantity=50)))
    outcome = jf.bus.handle(inv.PlanPurchasing())
    [foam] = outcome.details["proposals"]
    # the seat sets' forecast net of the chain, (15 + 30 + 40) x 2 foams = 170: position -170
    assert (foam.item, foam.quantity, foam.demand) == ("FOAM-1", 200, DemandSource.FORECAST)
    assert [p.what for p in outcome.details["unresolved"]] == ["component COVER-{trim} names vehicle option(s) trim, which a forecast does not give"]
    # without the forecast the foams have no demand: only the empty stock at the point orders
    assert [(p.quantity, p.demand) for p in jf.bus.handle(inv.PlanPurchasing(forecasts=False)).details["proposals"]] == [(50, None)]


def test_a_placed_forecast_proposal_becomes_an_open_order_the_next_plan_counts(jf):
    forecast(jf, {1: 30})
    jf.bus.handle(inv.SetPolicy(Policy("SEAT-C", PolicyKind.REORDER_POINT, "SEATCO", lead_time_minutes=TWO_DAYS, reorder_point=0, order_quantity=10)))
    placed = jf.bus.handle(inv.PlanPurchasing(place=True))
    with jf.uow:
        [order] = jf.uow.purchasing.orders(item="SEAT-C")
    assert placed.details["orders"] == [order.number] and (order.quantity, order.source) == (30, "reorder_point")
    assert proposals(jf) == {}  # 10 on hand + 30 on order - 30 due = 10, above the point


def test_the_delivery_schedule_runs_past_the_chain_with_the_forecast_marked_planning(jf):
    load(jf, 40)  # the frozen zone holds V0001 to V0031: 9 vehicles beyond it
    forecast(jf, {0: 50, 1: 30, 2: 40})
    jf.bus.handle(inv.SetPolicy(Policy("SEAT-C", PolicyKind.SCHEDULE, "SEATCO")))
    with jf.uow:
        schedule = inv.delivery_schedules(jf.uow, MONDAY_0700, timedelta(days=1))["SEAT-C"]
        chain_only = inv.delivery_schedules(jf.uow, MONDAY_0700, timedelta(days=1), forecasts=False)["SEAT-C"]
    # Monday: 9 of the chain + what the forecast adds to the chain's 40 (50 - 40 = 10), planning
    assert [(ln.start.day, ln.quantity, ln.cumulative, ln.planning, ln.commitment.value) for ln in schedule] == [
        (7, 19, 19, 10, "planning"), (8, 30, 49, 30, "planning"), (9, 40, 89, 40, "planning")]
    assert [(ln.start.day, ln.quantity, ln.commitment.value) for ln in chain_only] == [(7, 9, "firm")]


def test_a_bill_of_material_in_a_circle_refuses_the_plan_and_places_nothing(jf):
    forecast(jf, {1: 30})
    jf.bus.handle(inv.SetBom((BomLine("SEAT-C", "FRAME-1", 1, "FRAMECO"), BomLine("FRAME-1", "SEAT-C", 1, "SITZ"))))
    jf.bus.handle(inv.SetPolicy(Policy("SEAT-C", PolicyKind.REORDER_POINT, "SEATCO", lead_time_minutes=TWO_DAYS, reorder_point=0, order_quantity=10)))
    with pytest.raises(ValidationError, match="SEAT-C > FRAME-1 > SEAT-C"):
        jf.bus.handle(inv.PlanPurchasing(place=True))
    with jf.uow:
        assert jf.uow.purchasing.orders() == []
    assert proposals(jf, forecasts=False) == {}

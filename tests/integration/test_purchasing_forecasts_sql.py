"""Forecasts feed purchasing on SQLite and PostgreSQL: the stored forecast, the reservations of
the pearl chain and the bill of material read back from the database give the same plan as in
memory."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from jisflow.adapters.db.uow import SqlUnitOfWork
from jisflow.adapters.plant_file import load_plant_file
from jisflow.bootstrap import bootstrap
from jisflow.domain.forecast import Commitment, ReceivedForecast, ReceivedPeriod
from jisflow.domain.inventory import Item, Location, LocationKind
from jisflow.domain.purchasing import BomLine, DemandSource, Policy, PolicyKind
from jisflow.domain.sequence import Vehicle
from jisflow.services import commands as c
from jisflow.services import inventory as inv
from jisflow.services.clock import SimulatedClock
from jisflow.services.edi import ReceiveForecasts
from jisflow.services.outbox import MemoryPublisher

PLANT = Path(__file__).parent.parent / "data" / "plants" / "small_plant.yaml"
MONDAY_0700 = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)
MONDAY = date(2026, 12, 7)


def test_the_stored_forecast_net_of_the_chain_and_exploded_by_the_bill_of_material_drives_the_plan(sql_engine):
    definition = load_plant_file(PLANT)
    jf = bootstrap(SqlUnitOfWork(sql_engine), clock=SimulatedClock(MONDAY_0700), publisher=MemoryPublisher())
    jf.bus.handle(c.LoadPlant(definition.plant, definition.data))
    jf.bus.handle(inv.RegisterItems((Item("SEAT-C", "Cloth seat set"), Item("FOAM-1", "Seat foam"))))
    jf.bus.handle(inv.AddLocations((Location("WH", LocationKind.WAREHOUSE, "Warehouse"),)))
    jf.bus.handle(inv.ReceiveStock("SEAT-C", "WH", 10))
    rows = tuple(c.SequenceRow(f"row {i + 2}", Vehicle(f"V{i + 1:04d}", "CITY", {"trim": "BASE", "roof": "CLOSED"})) for i in range(10))
    jf.bus.handle(c.ImportSequence("L1", rows))  # 10 seat sets reserved on Monday morning
    periods = tuple(ReceivedPeriod(MONDAY + timedelta(days=day), quantity, Commitment.PLANNING) for day, quantity in ((0, 25), (1, 30), (2, 40)))
    jf.bus.handle(ReceiveForecasts("edifact:OEM:SITZ:1", (ReceivedForecast("LIN 1", "OEM", "SITZ", "SEAT-C", None, "DOCK-1", "EA", "DELFOR", "FC-1", MONDAY, periods),)))
    jf.bus.handle(inv.SetBom((BomLine("SEAT-C", "FOAM-1", 2, "FOAMCO"),)))
    for item, quantity in (("SEAT-C", 10), ("FOAM-1", 50)):
        jf.bus.handle(inv.SetPolicy(Policy(item, PolicyKind.REORDER_POINT, "SUP", lead_time_minutes=2 * 24 * 60, reorder_point=0, order_quantity=quantity)))

    placed = jf.bus.handle(inv.PlanPurchasing(place=True))

    # seat sets: 10 on hand - (10 of the chain + 15 + 30 + 40 of the forecast) = -85; foams: -(85 x 2)
    assert [(p.item, p.quantity, p.demand) for p in placed.details["proposals"]] == [
        ("FOAM-1", 200, DemandSource.FORECAST), ("SEAT-C", 90, DemandSource.BOTH)]
    with jf.uow:
        orders = sorted((o.item, o.quantity) for o in jf.uow.purchasing.orders(open_only=True))
    assert orders == [("FOAM-1", 200), ("SEAT-C", 90)] and len(placed.details["orders"]) == 2
    assert jf.bus.handle(inv.PlanPurchasing()).details["proposals"] == []

"""``GET /purchasing/plan`` counts the customers' forecasts beyond the pearl chain, and says
where each proposal's demand comes from; ``forecasts=false`` plans for the chain alone. A JIT
delivery received through the API counts against the summarized call it names."""

from __future__ import annotations

from datetime import date, timedelta

from jisflow.domain.forecast import Commitment, ReceivedForecast, ReceivedPeriod
from jisflow.domain.inventory import Item, Location, LocationKind
from jisflow.domain.purchasing import Policy, PolicyKind
from jisflow.services import inventory as inv
from jisflow.services.edi import ReceiveForecasts

MONDAY = date(2026, 12, 7)


def test_the_plan_counts_the_forecast_unless_asked_not_to(api):
    bus = api.app.bus
    bus.handle(inv.RegisterItems((Item("FOAM-9", "Seat foam"),)))
    bus.handle(inv.AddLocations((Location("WH", LocationKind.WAREHOUSE, "Warehouse"),)))
    bus.handle(inv.ReceiveStock("FOAM-9", "WH", 10))
    bus.handle(inv.SetPolicy(Policy("FOAM-9", PolicyKind.REORDER_POINT, "FOAMCO", lead_time_minutes=3 * 24 * 60, reorder_point=5, order_quantity=20)))
    periods = tuple(ReceivedPeriod(MONDAY + timedelta(days=d), 15, Commitment.PLANNING) for d in range(3))
    bus.handle(ReceiveForecasts("edifact:OEM:SITZ:1", (ReceivedForecast("LIN 1", "OEM", "SITZ", "FOAM-9", None, "DOCK-1", "EA", "DELFOR", "FC-1", MONDAY, periods),)))

    with_forecast = api.get("planner", "/purchasing/plan")
    chain_only = api.get("planner", "/purchasing/plan", params={"forecasts": "false"})

    assert with_forecast.status_code == chain_only.status_code == 200
    (proposal,) = [p for p in with_forecast.json()["items"] if p["item"] == "FOAM-9"]
    # position 10 - 45 = -35, 5 at most: (5 + 35) // 20 + 1 = 3 orders of 20
    assert (proposal["quantity"], proposal["demand"]) == (60, "forecast")
    assert "0 from the chain, 45 from the forecast" in proposal["reason"]
    assert [p for p in chain_only.json()["items"] if p["item"] == "FOAM-9"] == []  # 10 on hand, above the point


def test_a_jit_delivery_received_through_the_api_counts_against_its_call(api):
    bus = api.app.bus
    bus.handle(inv.RegisterItems((Item("BMP-T", "Tourer bumper"),)))
    bus.handle(inv.AddLocations((Location("S20-L", LocationKind.SUPERMARKET, "Line side of S20"),)))
    with api.app.uow:
        (call,) = [k for k in api.app.uow.jit_calls.list("L1") if k.part_number == "BMP-T"]
    body = {"item": "BMP-T", "location": "S20-L", "quantity": call.quantity,
            "jit_call": {"line": "L1", "family": call.family, "window_start": call.window_start.isoformat()}}
    assert api.post("warehouse", "/inventory/receipts", body).status_code == 201
    wrong = {**body, "jit_call": {**body["jit_call"], "window_start": (call.window_start + timedelta(days=1)).isoformat()}}
    refused = api.post("warehouse", "/inventory/receipts", wrong)
    assert refused.status_code == 404 and "no summarized call of BMP-T" in refused.json()["detail"]
    with api.app.uow:
        assert api.app.uow.jit_calls.open_for(["BMP-T"]) == []
        assert api.app.uow.inventory.balances(["BMP-T"])["BMP-T"].on_hand == call.quantity

"""The floor's common start for the service tests on the small plant: the leather seats of the
first vehicles broadcast, called off, acknowledged, picked, scanned into a rack, loaded and
despatched."""

from __future__ import annotations

from datetime import datetime, timedelta

from jisflow.domain.calloff import CallOffState
from jisflow.domain.execution import Scan
from jisflow.domain.sequence import Vehicle
from jisflow.services import commands as c
from jisflow.services import execution as x
from jisflow.services.unit_of_work import CallOffLineFilter


def despatch_seats(jf, start: datetime, takt: timedelta, vehicles: int) -> str:
    """Broadcast ``vehicles`` leather-seat vehicles one takt apart from ``start``, pick, rack and
    despatch their seats on line L1; the truck's id. ``jf.clock_`` is the app's simulated clock."""
    rows = tuple(c.SequenceRow(f"row {i + 2}", Vehicle(f"V{i + 1:04d}", "TOURER", {"trim": "LUX", "roof": "CLOSED"}, None)) for i in range(vehicles))
    jf.bus.handle(c.ImportSequence("L1", rows, source="test.csv"))
    for i in range(vehicles):
        jf.clock_.set(start + i * takt)
        jf.bus.handle(c.BroadcastVehicle("L1", f"V{i + 1:04d}", start + i * takt))
    jf.relay()
    with jf.uow:
        numbers = sorted({ln.number for ln in jf.uow.calloffs.lines(CallOffLineFilter(line="L1"))})
    for number in numbers:
        jf.bus.handle(c.TransitionCallOffLines(number, CallOffState.ACKNOWLEDGED, actor="supplier"))
    items = jf.bus.handle(x.CreatePickList("L1", "SEATS")).details["items"]
    jf.bus.handle(x.ConfirmPick("L1", tuple((i["order_id"], i["family"]) for i in items)))
    jf.bus.handle(x.VerifyScans("L1", tuple(Scan(i["rack_id"], i["slot"], i["part_number"], f"SN-{i['order_id']}") for i in items)))
    (shipment,) = jf.bus.handle(x.PlanLoads("L1", until=start + timedelta(hours=1))).details["shipments"]
    jf.clock_.set(start + vehicles * takt)
    jf.bus.handle(x.DespatchShipment(shipment["id"]))
    return shipment["id"]

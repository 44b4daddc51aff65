"""What the service tests on the small plant share: a jisflow wired on it (``small_plant_app``),
and the floor's common start: the leather seats of the first vehicles broadcast, called off,
acknowledged, picked, scanned into a rack, loaded and despatched (``despatch_seats``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from jisflow.adapters.plant_file import load_plant_file
from jisflow.bootstrap import App, bootstrap
from jisflow.domain.calloff import CallOffState
from jisflow.domain.execution import ExecutionSetup, Scan
from jisflow.domain.inventory import Item, Location
from jisflow.domain.sequence import Vehicle
from jisflow.services import commands as c
from jisflow.services import execution as x
from jisflow.services import inventory as inv
from jisflow.services.clock import SimulatedClock
from jisflow.services.outbox import MemoryPublisher
from jisflow.services.unit_of_work import AbstractUnitOfWork, CallOffLineFilter

PLANT = Path(__file__).parent.parent / "data" / "plants" / "small_plant.yaml"
MONDAY_0700 = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)  # 07:00 Berlin, the day shift starts


def small_plant_app(
    uow: AbstractUnitOfWork, *, setup: ExecutionSetup | None = None, items: Iterable[Item] = (), locations: Iterable[Location] = (),
) -> App:
    """jisflow on ``uow`` with the small plant loaded, its clock simulated from Monday 07:00
    (also as ``app.clock_``, to move it), and, when given, the execution set up, the locations
    added and the items registered."""
    clock = SimulatedClock(MONDAY_0700)
    app = bootstrap(uow, clock=clock, publisher=MemoryPublisher())
    definition = load_plant_file(PLANT)
    app.bus.handle(c.LoadPlant(definition.plant, definition.data))
    if setup is not None:
        app.bus.handle(x.ConfigureExecution("SMALL", setup))
    if locations := tuple(locations):
        app.bus.handle(inv.AddLocations(locations))
    if items := tuple(items):
        app.bus.handle(inv.RegisterItems(items))
    app.clock_ = clock  # type: ignore[attr-defined]
    return app


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

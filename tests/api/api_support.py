"""Helpers of the API tests: a jisflow on SQLite with the small plant, call-offs of two
suppliers, one user (and key) per role, and a TestClient."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from fastapi.testclient import TestClient

from jisflow.adapters.plant_file import load_plant_file
from jisflow.bootstrap import App, bootstrap
from jisflow.domain import execution as ex
from jisflow.domain.auth import Role
from jisflow.domain.calloff import CallOffState
from jisflow.domain.inventory import Item, Location, LocationKind
from jisflow.domain.sequence import Vehicle
from jisflow.entrypoints.api import create_app
from jisflow.services import auth
from jisflow.services import commands as c
from jisflow.services import execution as x
from jisflow.services import inventory as inv
from jisflow.services.clock import SimulatedClock
from jisflow.services.unit_of_work import CallOffLineFilter

PLANT = Path(__file__).parent.parent / "data" / "plants" / "small_plant.yaml"
MONDAY_0700 = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)  # 07:00 Berlin, the day shift starts
FAST_HASH = 2**8  # scrypt cost for test keys: the check stays real, only cheaper

USERS = {
    "planner": (Role.PLANNER, None),
    "warehouse": (Role.WAREHOUSE, None),
    "seats": (Role.SUPPLIER, "SEATS"),  # the supplier of the SEAT family
    "carrier": (Role.CARRIER, "SEATS-TRUCKS"),  # the carrier of the lane from SEATS
    "auditor": (Role.AUDITOR, None),
    "admin": (Role.ADMIN, None),
}


@dataclass
class Api:
    app: App
    client: TestClient
    tokens: dict[str, str]
    own_calloff: str = ""  # a call-off of SEATS
    foreign_calloff: str = ""  # a call-off of ROOFS
    clock: SimulatedClock = field(default=None)  # type: ignore[assignment]
    racks: dict[str, str] = field(default_factory=dict)  # supplier -> a rack of its
    shipments: dict[str, str] = field(default_factory=dict)  # supplier -> a despatched shipment of its

    def as_(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, user: str, path: str, **kw):
        return self.client.get(path, headers=self.as_(user), **kw)

    def post(self, user: str, path: str, json=None, headers: dict[str, str] | None = None, **kw):
        return self.client.post(path, headers={**self.as_(user), **(headers or {})}, json=json, **kw)


def vehicles(count: int, first: int = 1) -> list[dict]:
    return [
        {"order_id": f"V{n:04d}", "model": "TOURER", "options": {"trim": "LUX", "roof": "GLASS"}}
        for n in range(first, first + count)
    ]


def make_api(db_url: str, migrate: bool = True) -> Api:
    clock = SimulatedClock(MONDAY_0700)
    app = bootstrap(database_url=db_url, migrate=migrate, clock=clock)
    definition = load_plant_file(PLANT)
    app.bus.handle(c.LoadPlant(definition.plant, definition.data))
    tokens = {}
    for name, (role, partner) in USERS.items():
        auth.create_user(app.uow, clock, name, role, partner)
        tokens[name] = auth.issue_key(app.uow, clock, name, cost=FAST_HASH).token
    rows = tuple(c.SequenceRow(f"row {i}", Vehicle(v["order_id"], v["model"], v["options"])) for i, v in enumerate(vehicles(8)))
    app.bus.handle(c.ImportSequence("L1", rows))
    app.bus.handle(c.BroadcastNext("L1", 2))
    app.bus.handle(c.Tick())
    app.relay()  # the call-offs go out: their lines are SENT
    with app.uow:
        numbers = {ln.supplier: ln.number for ln in app.uow.calloffs.lines(CallOffLineFilter())}
    return Api(app, TestClient(create_app(app), raise_server_exceptions=False), tokens, numbers["SEATS"], numbers["ROOFS"], clock)



def with_floor(api: Api) -> Api:
    """Take the call-offs of both suppliers over the floor, through the bus: acknowledged,
    picked, scanned into racks, closed, loaded and despatched (one shipment per supplier); and
    register the seat as a stock item in two bins."""
    bus = api.app.bus
    for number in (api.own_calloff, api.foreign_calloff):
        bus.handle(c.TransitionCallOffLines(number, CallOffState.ACKNOWLEDGED))
    serial = 0
    for supplier in ("SEATS", "ROOFS"):
        items = bus.handle(x.CreatePickList("L1", supplier)).details["items"]
        bus.handle(x.ConfirmPick("L1", tuple((i["order_id"], i["family"]) for i in items)))
        scans = []
        for i in items:
            serial += 1
            scans.append(ex.Scan(i["rack_id"], i["slot"], i["part_number"], f"SN{serial:04d}"))
        bus.handle(x.VerifyScans("L1", tuple(scans)))
        api.racks[supplier] = items[0]["rack_id"]
        bus.handle(x.CloseRacks("L1", tuple(sorted({i["rack_id"] for i in items}))))
    for shipment in bus.handle(x.PlanLoads("L1", until=datetime(2027, 1, 1, tzinfo=timezone.utc))).details["shipments"]:
        bus.handle(x.DespatchShipment(shipment["id"]))
        with api.app.uow:
            api.shipments[api.app.uow.execution.shipment(shipment["id"]).supplier] = shipment["id"]
    bus.handle(inv.RegisterItems((Item("SEAT-L", "Front seat set, leather"),)))
    bus.handle(inv.AddLocations((Location("BIN-1", LocationKind.BIN), Location("BIN-2", LocationKind.BIN))))
    bus.handle(inv.ReceiveStock("SEAT-L", "BIN-1", 10))
    return api

"""A small seeded plant served with the control tower, for the browser tests.

``python tests/e2e/tower_server.py DB_FILE`` loads the demo plant into a fresh SQLite file,
imports a short sequence, lets the lead-time call-offs go out, broadcasts some vehicles
(their call-offs sent and, but for the last few, acknowledged), stocks the line, runs the
floor once and then loads trucks that wait for their despatch; creates a planner and a
supplier user with a key each; then serves the API and
the tower on a free port with the clock standing still. Its first line of output is JSON:
the address, the two keys and what the tests look for.
"""

from __future__ import annotations

import json
import socket
import sys
from datetime import date, timedelta
from pathlib import Path

import uvicorn

from jisflow.adapters.plant_file import demo_plant_path, load_plant_file
from jisflow.bootstrap import bootstrap
from jisflow.domain.auth import Role
from jisflow.domain.execution import Scan
from jisflow.domain.racks import RackState
from jisflow.domain.sequence import Vehicle
from jisflow.domain.vehicle_mix import generate_vehicles
from jisflow.entrypoints.web import create_tower_app
from jisflow.services import auth
from jisflow.services import commands as c
from jisflow.services import execution as x
from jisflow.services.clock import SimulatedClock
from jisflow.simulation.shift_run import ShiftRun, first_shift_start, next_monday

SUPPLIER = "SITZ"


def seed(db_file: Path) -> tuple:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    definition = load_plant_file(demo_plant_path())
    plant, line = definition.plant, definition.plant.lines[0]
    _, start, end = first_shift_start(line, next_monday(date(2026, 12, 1)))
    clock = SimulatedClock(start - timedelta(minutes=30))
    app = bootstrap(database_url=f"sqlite:///{db_file}", clock=clock, migrate=True)
    app.bus.handle(c.LoadPlant(plant, definition.data))
    rows = tuple(c.SequenceRow(f"row {i + 1}", Vehicle(g.order_id, g.model, dict(g.options), g.vin)) for i, g in enumerate(generate_vehicles(definition.mix, 280, 11)))
    app.bus.handle(c.ImportSequence(line.code, rows, source="tower test"))
    run = ShiftRun(app, clock, plant, definition.mix, line=line.code, seed=11)
    run.lead_in(start, every=timedelta(minutes=30))
    run.floor.stock_line(start, end)

    def floor(i: int, t) -> None:
        if i == 20:
            run.floor.step(t)
        if i == 21:
            load_trucks(app, line.code, t)

    run.play(start, 28, acknowledge_until=22, after_takt=floor)
    auth.create_user(app.uow, clock, "anna", Role.PLANNER)
    auth.create_user(app.uow, clock, "sitz", Role.SUPPLIER, SUPPLIER)
    planner = auth.issue_key(app.uow, clock, "anna", cost=2**10).token
    supplier = auth.issue_key(app.uow, clock, "sitz", cost=2**10).token
    return app, line.code, planner, supplier


def load_trucks(app, line: str, now) -> None:
    """Pick, scan and rack what is called off, close every rack and plan the trucks, without
    despatching them: trucks wait for their suppliers to record the despatch."""
    bus = app.bus
    items = bus.handle(x.CreatePickList(line, at=now)).details["items"]
    to_pick = tuple((i["order_id"], i["family"]) for i in items if not i["picked"])
    if to_pick:
        bus.handle(x.ConfirmPick(line, to_pick, actor="picker", at=now))
    ordered = sorted(items, key=lambda i: (i["rack_id"], i["slot"]))
    bus.handle(x.VerifyScans(line, tuple(Scan(i["rack_id"], i["slot"], i["part_number"], f"SN-{i['order_id']}-{i['family']}") for i in ordered), at=now))
    with app.uow:
        open_racks = tuple(r.id for r in app.uow.execution.racks(line, (RackState.OPEN,)))
    bus.handle(x.CloseRacks(line, rack_ids=open_racks, at=now))
    bus.handle(x.PlanLoads(line, until=now + timedelta(hours=8), at=now))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    app, line, planner, supplier = seed(Path(sys.argv[1]))
    port = free_port()
    api = create_tower_app(app, storage_secret="tower-test")
    print(json.dumps({"url": f"http://127.0.0.1:{port}", "line": line, "planner": planner, "supplier": supplier, "supplier_code": SUPPLIER}), flush=True)
    uvicorn.run(api, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()

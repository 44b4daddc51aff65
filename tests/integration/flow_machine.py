"""A model-based test of the whole flow: a Hypothesis state machine that drives the real
service layer (the bus of a bootstrapped jisflow on a SQL database) through random
broadcasts, sequence changes, picks, racks, shipments, receipts, consumptions, stock
movements and cancellations, next to a plain model of the pearl chain, and checks after
every step:

- the chain holds the model's vehicles, in the model's order, with the model's status;
- never two live call-off lines for one vehicle and family; exactly one live seat line (the
  JIS family called off at broadcast) per broadcast vehicle, none for a vehicle never
  broadcast, none left open (unshipped) for a cancelled vehicle; and the part of every line
  not yet shipped is the part the vehicle's current specification needs;
- stock is never negative nor double-booked: balances and stock rows equal the sums of the
  movements, ``0 <= reserved <= on hand`` and reserved equals the units the reservations hold;
- every command that changed a business record (chain, call-off lines, stock, reservations,
  racks, shipments) wrote audit entries, and a refused command changed no business record and
  wrote neither audit entries nor outbox messages (a refused scan keeps only its refusal record
  and alert); the changes no domain event announces are audited under their own subject, with
  the state before and after: a rack planned by a pick list (``rack/<id>``, new or given more
  slots while open), and every other change of a rack (a part scanned in, closed, emptied,
  loaded, despatched, received, resequenced, a part taken out for an emergency delivery, an
  express rack made), a shipment planned (``shipment/<id>``), and an item's
  demand or reserved units changed by a reservation sync (``reservations/<item>``, one entry
  an item, unless stock of the item moved in the same command);
- whenever the relay runs (a random step, and at the end of every run) it leaves no message
  unpublished, and by the end of a run every outbox message reached the publisher exactly once.

Each run works on a database of its own (``Databases``), so a failing run replays alone.
Used by ``tests/integration/test_whole_flow_stateful.py`` (bounded) and
``benchmarks/stateful_flow.py`` (long runs).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from jisflow.adapters.db import tables as t
from jisflow.adapters.db import tables_api as ta
from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.db.migrate import upgrade
from jisflow.adapters.db.uow import SqlUnitOfWork
from jisflow.adapters.plant_file import load_plant_file
from jisflow.bootstrap import App, bootstrap
from jisflow.domain.calloff import AMENDABLE, CallOffState
from jisflow.domain.errors import JisflowError
from jisflow.domain.execution import ExecutionSetup, LineSideScan, RecordKind, Scan, ScanRefused
from jisflow.domain.inventory import Item, Location, LocationKind, ReasonCode
from jisflow.domain.racks import RackState, RackType
from jisflow.domain.sequence import Vehicle, VehicleStatus
from jisflow.domain.transport import Lane, ShipmentState
from jisflow.services import commands as c
from jisflow.services import execution as x
from jisflow.services import inventory as inv
from jisflow.services.clock import SimulatedClock
from jisflow.services.outbox import MemoryPublisher
from jisflow.services.unit_of_work import CallOffLineFilter

PLANT = Path(__file__).resolve().parent.parent / "data" / "plants" / "small_plant.yaml"
T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # Monday 07:00 in Berlin, the day shift starts
LINE = "L1"
SETUP = ExecutionSetup(
    {"RACK-S": RackType("RACK-S", 4, families=frozenset({"SEAT"})), "RACK-R": RackType("RACK-R", 2, 2, frozenset({"ROOF"}))},
    {
        "SEATS>DOCK-1": Lane("SEATS>DOCK-1", "SEATS", "DOCK-1", timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=1), "local haulier", 2),
        "ROOFS>DOCK-1": Lane("ROOFS>DOCK-1", "ROOFS", "DOCK-1", timedelta(hours=4), timedelta(hours=5), timedelta(minutes=20), "long haul", 3),
    },
    {"SEAT-L": "A-01-03", "SEAT-C": "A-01-04"},
)
ITEMS = ("BOLT-6", "SEAT-C", "SEAT-L")
S = CallOffState
PHYSICAL = (S.SHIPPED, S.DELIVERED, S.CONSUMED)  # a part on its way or fitted: no message takes it back

MODELS = st.sampled_from(["CITY", "TOURER"])
TRIMS = st.sampled_from(["BASE", "LUX"])


def seat_part(trim: str) -> str:
    return "SEAT-C" if trim == "BASE" else "SEAT-L"


# --------------------------------------------------------------------------- databases
class Databases:
    """A fresh migrated database for each run: a copy of a migrated SQLite file, or the empty
    PostgreSQL database at ``postgres_url``, migrated once and emptied before each run
    (creating and dropping databases costs a checkpoint each)."""

    def __init__(self, kind: str, postgres_url: str | None = None) -> None:
        self.kind = kind
        self._count = itertools.count(1)
        if kind == "sqlite":
            self.directory = Path(tempfile.mkdtemp(prefix="jisflow-flow-"))
            self.template = self.directory / "template.db"
            upgrade(f"sqlite:///{self.template}")
            return
        assert postgres_url, "PostgreSQL needs the URL of an empty database"
        self.url = postgres_url
        upgrade(self.url)
        self.engine = make_engine(self.url, poolclass=sa.NullPool)
        self._tables = ", ".join(f'"{table.name}"' for table in t.metadata.sorted_tables)

    def fresh(self) -> str:
        if self.kind == "sqlite":
            path = self.directory / f"run{next(self._count)}.db"
            shutil.copyfile(self.template, path)
            return f"sqlite:///{path}"
        with self.engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {self._tables} RESTART IDENTITY CASCADE")
        return self.url

    def drop(self, url: str) -> None:
        if self.kind == "sqlite":
            Path(sa.make_url(url).database or "").unlink(missing_ok=True)

    def close(self) -> None:
        if self.kind == "sqlite":
            shutil.rmtree(self.directory, ignore_errors=True)
        else:
            self.engine.dispose()


# --------------------------------------------------------------------------- what the checks read
def business_state(app: App) -> dict[str, Any]:
    """The records whose every change must be audited: the chain, the call-off lines, the
    stock, the reservations (per item: reserved units and live demand lines), the racks
    (state, shipment, slots) and the shipments."""
    uow = app.uow
    with uow:
        plant = uow.plants.of_line(LINE)
        chain = tuple((e.order_id, e.seq_no, e.status.value, tuple(sorted(e.vehicle.options.items())), e.vehicle.model) for e in uow.chains.get(plant.line(LINE)).entries())
        lines = tuple(sorted((ln.number, ln.order_id, ln.family, ln.state.value, ln.part_number, ln.seq_no) for ln in uow.calloffs.lines(CallOffLineFilter())))
        stock = tuple(sorted((r.item, r.location, r.lot, r.on_hand) for r in uow.inventory.stock()))
        demand: dict[str, set] = {code: set() for code in ITEMS}
        for r in uow.inventory.reservations(line=LINE):
            demand[r.item].add((r.order_id, r.family, r.quantity, r.seq_no, r.need_time))
        reservations = {code: (b.reserved, frozenset(demand.get(code, ()))) for code, b in uow.inventory.balances().items()}
        racks = {r.id: (r.state.value, r.shipment, tuple((s.order_id, s.family, s.serial) for s in r.slots)) for r in uow.execution.racks(LINE)}
        shipments = {s.id: (s.state.value, tuple(s.racks)) for s in uow.execution.shipments(LINE)}
    return {"chain": chain, "lines": lines, "stock": stock, "reservations": reservations, "racks": racks, "shipments": shipments}


def marks(app: App) -> tuple[int, int, int]:
    """How many audit entries and outbox messages (published or not) exist, and the id of
    the last audit entry."""
    with app.uow:
        connection = app.uow._connection  # noqa: SLF001 - plain counts
        assert connection is not None
        audit = connection.execute(sa.select(sa.func.count()).select_from(ta.audit_log)).scalar_one()
        messages = connection.execute(sa.select(sa.func.count()).select_from(t.outbox)).scalar_one()
        last = connection.execute(sa.select(sa.func.coalesce(sa.func.max(ta.audit_log.c.id), 0))).scalar_one()
    return audit, messages, last


def audited_since(app: App, after_id: int) -> dict[str, list]:
    """The audit entries written after entry ``after_id``, by subject, in order."""
    with app.uow:
        entries = app.uow.audit.read(after_id=after_id, limit=100_000).entries
    by_subject: dict[str, list] = {}
    for entry in entries:
        by_subject.setdefault(entry.subject, []).append(entry)
    return by_subject


def slot_keys(rack: dict[str, Any] | None) -> list[tuple[str, str]] | None:
    """The (vehicle, family) of each slot of a rack as its audit entry shows it."""
    return None if rack is None else [(s["order_id"], s["family"]) for s in rack["slots"]]


def rack_state(rack: dict[str, Any]) -> tuple[str, str | None, tuple[tuple[str, str, str | None], ...]]:
    """A rack's audit entry as the records show a rack: state, truck, slots."""
    return rack["state"], rack["shipment"], tuple((s["order_id"], s["family"], s["serial"]) for s in rack["slots"])


def unaudited_changes(before: dict[str, Any], after: dict[str, Any], entries: dict[str, list]) -> list[str]:
    """The changes no domain event announces that lack their audit entry (or whose entry
    holds another state before or after than the records show)."""
    missing = []
    for rack_id, (state, shipment, slots) in after["racks"].items():
        old = before["racks"].get(rack_id)
        mine = entries.get(f"rack/{rack_id}", [])
        keys = [(s[0], s[1]) for s in slots]
        if state == "OPEN" and (old is None or set(keys) - {(s[0], s[1]) for s in old[2]}):  # planned by a pick list
            was = None if old is None else [(s[0], s[1]) for s in old[2]]
            if not mine or slot_keys(mine[0].before) != was or slot_keys(mine[-1].after) != keys:
                missing.append(f"rack {rack_id} planned ({len(keys)} slot(s))")
        elif old != (state, shipment, slots):  # filled, closed, emptied, loaded, despatched, received, resequenced, expedited
            if old is None:  # an express rack: new, already on its way
                if not mine or mine[0].before is not None or rack_state(mine[-1].after) != (state, shipment, slots):
                    missing.append(f"rack {rack_id} made ({state})")
            elif not mine or mine[0].before is None or rack_state(mine[0].before) != old or rack_state(mine[-1].after) != (state, shipment, slots):
                missing.append(f"rack {rack_id} {old[0]} -> {state}")
    for shipment_id, (state, racks) in after["shipments"].items():
        if shipment_id not in before["shipments"] and state == "PLANNED":
            mine = entries.get(f"shipment/{shipment_id}", [])
            if not mine or mine[0].before is not None or mine[-1].after["racks"] != list(racks):
                missing.append(f"shipment {shipment_id} planned")
    for item, (reserved, demand) in after["reservations"].items():
        was_reserved, was_demand = before["reservations"].get(item, (0, frozenset()))
        moved = any(subject.startswith(f"{item}/") for subject in entries)
        if (reserved, demand) == (was_reserved, was_demand) or moved:
            continue  # unchanged, or changed with stock movements (audited as stock.moved)
        mine = entries.get(f"reservations/{item}", [])
        if (
            not mine or mine[0].before["reserved"] != was_reserved
            or mine[-1].after["reserved"] != reserved
            or mine[-1].after["demand"] != sum(d[2] for d in demand) or mine[-1].after["lines"] != len(demand)
        ):
            missing.append(f"reservations of {item}: reserved {was_reserved} -> {reserved}, {len(was_demand)} -> {len(demand)} demand line(s)")
    return missing


# --------------------------------------------------------------------------- the machine
def flow_machine(databases: Databases, on_run: Callable[[int, Counter[str]], None] | None = None) -> type[RuleBasedStateMachine]:
    """The state machine class, each run on a fresh database from ``databases``;
    ``on_run(steps, applied)`` is told, for every finished run, its number of commands and
    how many of each kind were applied (not refused)."""

    class WholeFlow(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.url = databases.fresh()
            self.engine = make_engine(self.url)
            self.clock = SimulatedClock(T0)
            self.publisher = MemoryPublisher()
            self.app = bootstrap(SqlUnitOfWork(self.engine), clock=self.clock, publisher=self.publisher)
            definition = load_plant_file(PLANT)
            bus = self.app.bus
            bus.handle(c.LoadPlant(definition.plant, definition.data))
            bus.handle(x.ConfigureExecution("SMALL", SETUP))
            bus.handle(inv.AddLocations((
                Location("S10-L", LocationKind.SUPERMARKET, "Line side of S10"),
                Location("S10-KLT", LocationKind.SUPERMARKET, "Kanban rack at S10"),
                Location("WH", LocationKind.WAREHOUSE, "Warehouse"),
            )))
            bus.handle(inv.RegisterItems(tuple(Item(code) for code in ITEMS)))
            # the model of the pearl chain
            self.planned: list[str] = []
            self.broadcast: list[str] = []
            self.cancelled: set[str] = set()
            self.spec: dict[str, tuple[str, str]] = {}  # order id -> (model, trim)
            self.messages: set[str] = set()  # ids of the feed's messages applied so far
            self.numbers = itertools.count(1)
            self.serials = itertools.count(1)
            self.steps = 0
            self.refusals: Counter[str] = Counter()
            self.applied: Counter[str] = Counter()

        def teardown(self) -> None:
            try:
                self.app.relay()
                with self.app.uow:
                    pending = self.app.uow.outbox.pending(1000)
                assert pending == [], f"{len(pending)} outbox message(s) still unpublished after the relay"
                ids = [m[2] for m in self.publisher.messages]
                assert len(ids) == len(set(ids)), "the relay published a message twice"
                assert len(ids) == marks(self.app)[1], "a message of the outbox never reached the publisher"
                if on_run is not None:
                    on_run(self.steps, self.applied)
            finally:
                self.engine.dispose()
                databases.drop(self.url)

        # ------------------------------------------------------------------ running a command
        def run(self, command: c.Command, *, refusable: bool = True) -> Any:
            """Handle one command; its changes to business records must be audited, and a
            refusal (a typed error) must change nothing, not even the outbox."""
            self.steps += 1
            before_state, before_marks = business_state(self.app), marks(self.app)
            try:
                outcome = self.app.bus.handle(command)
            except ScanRefused:
                self.refusals[type(command).__name__] += 1
                assert business_state(self.app) == before_state, f"a refused {type(command).__name__} changed business records"
                return None
            except JisflowError:
                if not refusable:
                    raise
                self.refusals[type(command).__name__] += 1
                assert business_state(self.app) == before_state, f"a refused {type(command).__name__} changed business records"
                assert marks(self.app) == before_marks, f"a refused {type(command).__name__} wrote audit entries or outbox messages"
                return None
            after_state = business_state(self.app)
            if after_state != before_state:
                assert marks(self.app)[0] > before_marks[0], f"{type(command).__name__} changed business records without an audit entry"
                missing = unaudited_changes(before_state, after_state, audited_since(self.app, before_marks[2]))
                assert not missing, f"{type(command).__name__} changed records without their audit entry: {missing}"
            self.applied[type(command).__name__] += 1
            return outcome

        def lines(self, *states: CallOffState) -> list:
            with self.app.uow:
                return self.app.uow.calloffs.lines(CallOffLineFilter(line=LINE, states=states))

        def new_vehicle(self, model: str, trim: str) -> Vehicle:
            order_id = f"V{next(self.numbers):04d}"
            return Vehicle(order_id, model, {"trim": trim, "roof": "CLOSED"}, None)

        def live(self) -> list[str]:
            return [*self.planned, *self.broadcast]

        # ------------------------------------------------------------------ the sequence
        @initialize(specs=st.lists(st.tuples(MODELS, TRIMS), min_size=3, max_size=6), broadcast=st.integers(1, 3))
        def start_the_line(self, specs: list[tuple[str, str]], broadcast: int) -> None:
            self.import_vehicles(specs)
            self.broadcast_next(broadcast)

        @rule(specs=st.lists(st.tuples(MODELS, TRIMS), min_size=1, max_size=3))
        def import_vehicles(self, specs: list[tuple[str, str]]) -> None:
            vehicles = [self.new_vehicle(model, trim) for model, trim in specs]
            rows = tuple(c.SequenceRow(f"row {i + 2}", v) for i, v in enumerate(vehicles))
            if self.run(c.ImportSequence(LINE, rows, source="flow.csv"), refusable=False) is not None:
                self.planned.extend(v.order_id for v in vehicles)
                self.spec.update({v.order_id: (v.model, v.options["trim"]) for v in vehicles})

        @precondition(lambda self: self.planned)
        @rule(count=st.integers(1, 3))
        def broadcast_next(self, count: int) -> None:
            if self.run(c.BroadcastNext(LINE, count)) is not None:
                heads, self.planned = self.planned[:count], self.planned[count:]
                self.broadcast.extend(heads)

        @precondition(lambda self: self.planned)
        @rule(data=st.data(), message=st.integers(1, 6))
        def broadcast_one(self, data: st.DataObject, message: int) -> None:
            """The feed names any vehicle (out of order, again, cancelled, unknown), as a
            message the feed may repeat: applied only to a planned vehicle, once a message."""
            order_id = data.draw(st.sampled_from([*self.planned, *self.broadcast, *sorted(self.cancelled), "V9999"]), label="vehicle")
            message_id = f"feed-{message}"
            outcome = self.run(c.BroadcastVehicle(LINE, order_id, message_id=message_id), refusable=False)
            if message_id in self.messages:
                assert outcome.duplicate and not outcome.applied, f"message {message_id} applied twice"
                return
            self.messages.add(message_id)
            assert outcome.applied == (order_id in self.planned), f"broadcast of {order_id}: applied={outcome.applied}"
            if outcome.applied:
                self.planned.remove(order_id)
                self.broadcast.append(order_id)

        @rule(data=st.data(), model=MODELS, trim=TRIMS, override=st.booleans())
        def insert(self, data: st.DataObject, model: str, trim: str, override: bool) -> None:
            anchor = data.draw(st.sampled_from([None, *self.planned]), label="anchor")
            before = data.draw(st.booleans(), label="before") if anchor else False
            vehicle = self.new_vehicle(model, trim)
            where = {"before": anchor} if before else {"after": anchor}
            if self.run(c.InsertVehicle(LINE, vehicle=vehicle, override=override, actor="planner", **where)) is not None:
                index = len(self.planned) if anchor is None else self.planned.index(anchor) + (0 if before else 1)
                self.planned.insert(index, vehicle.order_id)
                self.spec[vehicle.order_id] = (model, trim)

        @precondition(lambda self: self.live())
        @rule(data=st.data(), override=st.booleans())
        def cancel(self, data: st.DataObject, override: bool) -> None:
            order_id = data.draw(st.sampled_from(self.live()), label="vehicle")
            if self.run(c.CancelVehicle(LINE, order_id=order_id, override=override, actor="planner")) is not None:
                (self.planned if order_id in self.planned else self.broadcast).remove(order_id)
                self.cancelled.add(order_id)

        @precondition(lambda self: len(self.planned) >= 2)
        @rule(data=st.data(), before=st.booleans(), override=st.booleans())
        def move(self, data: st.DataObject, before: bool, override: bool) -> None:
            order_id = data.draw(st.sampled_from(self.planned), label="vehicle")
            anchor = data.draw(st.sampled_from([o for o in self.planned if o != order_id]), label="anchor")
            where = {"before": anchor} if before else {"after": anchor}
            if self.run(c.MoveVehicle(LINE, order_id=order_id, override=override, actor="planner", **where)) is not None:
                self.planned.remove(order_id)
                self.planned.insert(self.planned.index(anchor) + (0 if before else 1), order_id)

        @precondition(lambda self: len(self.planned) >= 2)
        @rule(data=st.data(), override=st.booleans())
        def swap(self, data: st.DataObject, override: bool) -> None:
            first, second = data.draw(st.lists(st.sampled_from(self.planned), min_size=2, max_size=2, unique=True), label="pair")
            if self.run(c.SwapVehicles(LINE, first=first, second=second, override=override, actor="planner")) is not None:
                i, j = self.planned.index(first), self.planned.index(second)
                self.planned[i], self.planned[j] = second, first

        @precondition(lambda self: self.live())
        @rule(data=st.data(), model=MODELS, trim=TRIMS, override=st.booleans())
        def change_spec(self, data: st.DataObject, model: str, trim: str, override: bool) -> None:
            order_id = data.draw(st.sampled_from(self.live()), label="vehicle")
            if self.run(c.ChangeVehicleSpec(LINE, order_id=order_id, model=model, options={"trim": trim}, override=override, actor="planner")) is not None:
                self.spec[order_id] = (model, trim)

        # ------------------------------------------------------------------ messages and time
        @rule()
        def relay(self) -> None:
            """Every message written so far is delivered: nothing is left unpublished."""
            self.steps += 1
            report = self.app.relay()
            with self.app.uow:
                pending = self.app.uow.outbox.pending(1000)
            assert report.failed == 0 and pending == [], f"{len(pending)} outbox message(s) left unpublished by the relay"

        @rule(minutes=st.integers(1, 30))
        def time_passes(self, minutes: int) -> None:
            self.clock.set(self.clock.now() + timedelta(minutes=minutes))

        @rule(data=st.data())
        def acknowledge(self, data: st.DataObject) -> None:
            numbers = sorted({ln.number for ln in self.lines(S.SENT)})
            if numbers:
                number = data.draw(st.sampled_from(numbers), label="call-off")
                self.run(c.TransitionCallOffLines(number, S.ACKNOWLEDGED, actor="supplier"))

        # ------------------------------------------------------------------ the supplier's floor
        @rule(data=st.data())
        def pick(self, data: st.DataObject) -> None:
            outcome = self.run(x.CreatePickList(LINE))
            if outcome is None:
                return
            todo = sorted({(i["order_id"], i["family"]) for i in outcome.details["items"] if not i["picked"]})
            if todo:
                keys = data.draw(st.lists(st.sampled_from(todo), min_size=1, unique=True), label="picks")
                self.run(x.ConfirmPick(LINE, tuple(keys)))

        @rule()
        def rack(self) -> None:
            """Scan every picked part whose slot is the next open one of its rack."""
            with self.app.uow:
                racks = self.app.uow.execution.racks(LINE, (RackState.OPEN,))
            states = {(ln.order_id, ln.family): ln.state for ln in self.lines()}
            scans = []
            for r in sorted(racks, key=lambda r: r.id):
                for slot in sorted(r.slots, key=lambda s: s.position):
                    if slot.filled:
                        continue
                    if states.get(slot.key) is not S.PICKED:
                        break
                    scans.append(Scan(r.id, slot.position, slot.part_number, f"SN{next(self.serials):06d}"))
            if scans:
                self.run(x.VerifyScans(LINE, tuple(scans)))

        @rule(data=st.data())
        def close_racks(self, data: st.DataObject) -> None:
            with self.app.uow:
                racks = sorted(r.id for r in self.app.uow.execution.racks(LINE, (RackState.OPEN,)) if r.filled)
            chosen = data.draw(st.lists(st.sampled_from(racks), unique=True), label="racks") if racks else []
            self.run(x.CloseRacks(LINE, tuple(chosen)))

        @rule(hours=st.integers(0, 4))
        def ship(self, hours: int) -> None:
            outcome = self.run(x.PlanLoads(LINE, until=self.clock.now() + timedelta(hours=hours)))
            for shipment in outcome.details["shipments"] if outcome else []:
                self.run(x.DespatchShipment(shipment["id"]))

        @precondition(lambda self: self.live())
        @rule(data=st.data())
        def expedite(self, data: st.DataObject) -> None:
            waiting = sorted((ln.order_id, ln.family) for ln in self.lines(S.SENT, S.ACKNOWLEDGED, S.PICKED, S.PACKED))
            if waiting:
                order_id, family = data.draw(st.sampled_from(waiting), label="part")
                self.run(x.OrderEmergencyDelivery(LINE, order_id, family, "rack damaged"))

        @rule(data=st.data(), stages=st.integers(0, 7).map(lambda n: 8 - n))  # shrinks towards the whole round
        def floor_round(self, data: st.DataObject, stages: int) -> None:
            """The floor's day in order, up to a random stage: relay, acknowledge, pick, scan
            into racks, close, load and despatch, receive, consume."""
            self.relay()
            for stage in range(1, stages):
                if stage == 1:
                    for number in sorted({ln.number for ln in self.lines(S.SENT)}):
                        self.run(c.TransitionCallOffLines(number, S.ACKNOWLEDGED, actor="supplier"))
                elif stage == 2:
                    self.pick(data)
                elif stage == 3:
                    self.rack()
                elif stage == 4:
                    self.close_racks(data)
                elif stage == 5:
                    self.ship(4)
                elif stage == 6:
                    self.receive()
                else:
                    self.consume(data)

        # ------------------------------------------------------------------ the plant
        @rule()
        def receive(self) -> None:
            with self.app.uow:
                departed = sorted(s.id for s in self.app.uow.execution.shipments(LINE, (ShipmentState.DEPARTED,)))
            for shipment_id in departed:
                self.run(x.ReceiveShipment(shipment_id))

        @rule(data=st.data())
        def consume(self, data: st.DataObject) -> None:
            """Scan at the station, in the order the vehicles arrive, then backflush."""
            due = sorted(self.lines(S.DELIVERED), key=lambda ln: (ln.need_time, ln.seq_no))
            if not due:
                return
            take = due[: data.draw(st.integers(1, len(due)), label="vehicles")]
            with self.app.uow:
                serials = {
                    (r.order_id, r.family): r.serial
                    for ln in take for r in self.app.uow.execution.records(line=LINE, order_id=ln.order_id, kinds=(RecordKind.DESPATCHED,))
                }
            scans = tuple(LineSideScan(ln.order_id, ln.part_number, serials.get((ln.order_id, ln.family)) or "") for ln in take)
            if self.run(x.CheckLineSide(LINE, "S10", scans)) is not None:
                self.run(x.ConsumeVehicles(LINE, tuple(dict.fromkeys(ln.order_id for ln in take)), "S10"))

        @rule(item=st.sampled_from(ITEMS), quantity=st.integers(1, 40), location=st.sampled_from(["S10-L", "S10-KLT", "WH"]))
        def receive_stock(self, item: str, quantity: int, location: str) -> None:
            self.run(inv.ReceiveStock(item, location, quantity, actor="dock"), refusable=False)

        @rule(item=st.sampled_from(ITEMS), quantity=st.integers(1, 30), location=st.sampled_from(["S10-L", "S10-KLT", "WH"]))
        def scrap(self, item: str, quantity: int, location: str) -> None:
            self.run(inv.AdjustStock(item, location, -quantity, ReasonCode.SCRAP, actor="quality"))

        @rule()
        def backflush_due(self) -> None:
            self.run(inv.BackflushDue(LINE, until=self.clock.now()))

        # ------------------------------------------------------------------ invariants
        @invariant()
        def the_chain_is_the_model(self) -> None:
            with self.app.uow:
                chain = self.app.uow.chains.get(self.app.uow.plants.of_line(LINE).line(LINE))
                entries = {e.order_id: e for e in chain.entries()}
                planned = [e.order_id for e in chain.planned()]
                cancelled = {o for o in self.cancelled if (e := chain.find(o)) is not None and e.status is VehicleStatus.CANCELLED}
            assert planned == self.planned
            assert {o for o, e in entries.items() if e.status is VehicleStatus.BROADCAST} == set(self.broadcast)
            assert cancelled == self.cancelled and not self.cancelled & set(entries)
            for order_id in self.live():
                vehicle = entries[order_id].vehicle
                assert (vehicle.model, vehicle.options["trim"]) == self.spec[order_id]

        @invariant()
        def exactly_one_live_call_off_line_per_vehicle_and_family(self) -> None:
            lines = self.lines()
            live = Counter((ln.order_id, ln.family) for ln in lines if ln.live)
            assert not [k for k, n in live.items() if n > 1], f"vehicles with two live lines of one family: {[k for k, n in live.items() if n > 1]}"
            by_key = {(ln.order_id, ln.family): ln for ln in lines if ln.live}
            for order_id in self.broadcast:
                assert (order_id, "SEAT") in by_key, f"broadcast vehicle {order_id} has no live seat line"
            for order_id in self.planned:
                assert (order_id, "SEAT") not in by_key, f"vehicle {order_id}, never broadcast, has a seat line"
            for order_id in self.cancelled:
                open_lines = [ln for k, ln in by_key.items() if k[0] == order_id and ln.state not in PHYSICAL]
                assert not open_lines, f"cancelled vehicle {order_id} keeps open lines {[(ln.family, ln.state.value) for ln in open_lines]}"
            for (order_id, family), ln in by_key.items():
                if family == "SEAT" and ln.state in AMENDABLE and order_id in self.spec and order_id not in self.cancelled:
                    assert ln.part_number == seat_part(self.spec[order_id][1]), f"{order_id}'s seat line asks for {ln.part_number}"

        @invariant()
        def stock_is_never_negative_nor_double_booked(self) -> None:
            with self.app.uow:
                inventory = self.app.uow.inventory
                kinds = {code: loc.kind for code, loc in inventory.locations().items()}
                balances = inventory.balances()
                rows = inventory.stock()
                moves = inventory.movements()
                reservations = inventory.reservations()
            by_place: Counter[tuple[str, str, str]] = Counter()
            for m in moves:
                by_place[(m.item, m.location, m.lot)] += m.quantity
            assert all(r.on_hand > 0 for r in rows), "a stock row at or below zero"
            assert {(r.item, r.location, r.lot): r.on_hand for r in rows} == {k: q for k, q in by_place.items() if q}
            assert all(q >= 0 for q in by_place.values()), "the movements take more than was there"
            for code, b in balances.items():
                on_hand = sum(q for (item, loc, _), q in by_place.items() if item == code and kinds[loc] is not LocationKind.IN_TRANSIT)
                assert b.on_hand == on_hand, f"{code}: balance {b.on_hand} on hand, movements {on_hand}"
                mine = [r for r in reservations if r.item == code and r.consumed_at is None]
                assert all(0 <= r.filled <= r.quantity for r in mine)
                assert 0 <= b.reserved <= b.on_hand, f"{code}: {b.reserved} reserved of {b.on_hand} on hand"
                assert b.reserved == sum(r.filled for r in mine), f"{code}: reserved {b.reserved}, the reservations hold {sum(r.filled for r in mine)}"

    return WholeFlow

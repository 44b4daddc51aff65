"""The digital twin: a SimPy model of one line and its suppliers that drives the real services.

Simulated time is whole seconds from the start of the run; the services see it through a
``SimulatedClock`` and keep their state in the in-memory unit of work. The processes:

- the **line** works through the calendar takt by takt: it checks that every part the vehicles
  at the stations need has reached the line side, consumes them, and broadcasts the next
  vehicle of the pearl chain through ``BroadcastVehicle``. A missing part stops the whole line
  (broadcast point included) until the part arrives; the working minutes lost are booked on the
  family and supplier of the part (cause ``supplier``; ``warehouse`` when a STOCK part was in
  the warehouse but not yet brought to the line). The line also stops by itself at a random
  rate (cause ``line stoppage``).
- the **ticker** lets time pass for the services (``Tick``): call-offs triggered by lead time go
  out when their issue point comes, also before the first shift. At every tick, when the
  scenario has emergencies, every JIS part not on the road this close to its need is expedited
  (``OrderEmergencyDelivery``). Every quarter of an hour the line's use is booked: the JIS
  parts of the vehicles that had all of them fitted are backflushed (``ConsumeVehicles``), and
  so are the stock-fed parts of the vehicles that had all of those fitted (``BackflushVehicles``,
  which consumes the vehicle's reservations).
- every call-off the services issue is relayed through the outbox and **acknowledged** by its
  supplier (``TransitionCallOffLines``); its parts are ready after the supplier's build time.
- a **truck** per supplier leaves at its interval. For JIS parts the supplier's floor runs
  through the real execution commands: pick list and racks (``CreatePickList``), picks and
  scans of the parts that are ready, in sequence (``ConfirmPick``, ``VerifyScans``), racks
  closed (``CloseRacks``), the load planned and despatched (``PlanLoads``,
  ``DespatchShipment``) with its ETA set from a transit time drawn from the lane's triangular
  distribution (``UpdateEta``); at the plant the truck is received against its ASN
  (``ReceiveShipment``). Trucks may overtake each other, so parts can arrive out of sequence.
  A part that finds the line side of its family full (the scenario's buffer) waits at the dock
  until a place frees, unless the line is already waiting for it. JIT lots ride the same truck.
- JIT, KANBAN and STOCK families are supplied as ``simulation.supply`` describes.

The parts the line waits for are exactly the call-off lines and summarized calls the real
handlers issued: the twin invents no demand of its own. The generated sequence is imported into
the chain a rolling horizon ahead of the broadcast point (the longest JIS or JIT lead time and
an hour), as a plant's scheduling feeds it. The services are wired as in production
(``bootstrap``), reactions included: every import and broadcast brings the line's reservations
of the stock-fed parts in step with the chain in its own transaction, and the items they touch
are projected again (raising shortage alerts), so the reservations, projections and purchasing
of a run are those the real system computes. Each replication draws from random
streams named by the seed and their use (the line, each supplier's lane, emergencies), so
variants of a scenario run on common random numbers.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any

import simpy

from jisflow.adapters.memory import MemoryUnitOfWork
from jisflow.bootstrap import App, bootstrap
from jisflow.domain.calloff import CallOffState
from jisflow.domain.errors import ExplosionError, JisflowError
from jisflow.domain.execution import ExecutionSetup, Scan, default_setup
from jisflow.domain.explosion import explode_vehicle
from jisflow.domain.plant import Line, Plant, SupplyMode
from jisflow.domain.racks import RackState
from jisflow.domain.sequence import Vehicle
from jisflow.domain.vehicle_mix import generate_vehicles
from jisflow.services import commands as c
from jisflow.services import execution as x
from jisflow.services.clock import SimulatedClock
from jisflow.services.messagebus import MessageBus
from jisflow.services.outbox import MemoryPublisher
from jisflow.simulation.scenario import Scenario
from jisflow.simulation.shift_run import lead_in_span
from jisflow.simulation.supply import JitCall, Ledger, StockSupply

TICK_EVERY = 600  # seconds between two ticks of the services (and emergency checks)
BOOK_EVERY = 900  # seconds between two bookings of the line's use (backflushes)
SAMPLE_EVERY = 300  # seconds between two samples of the stock series
LINE_CAUSE = "line stoppage"
IMPORT_CHUNK = 120  # vehicles imported into the chain at a time, ahead of the broadcast point
LINE_SIDE = ("JIS line side", "JIT line side", "KANBAN line side", "STOCK line side")
WAREHOUSE_LEVELS = ("STOCK warehouse", "STOCK tugger")
DOCK = "JIS dock"


@dataclass
class Part:
    """One called-off part on its way from the supplier to the line side."""

    order_id: str
    family: str
    supplier: str
    seq_no: int
    need_at: int  # the call-off's need time, in run seconds
    ready_at: int
    departed_at: int | None = None
    arrived_at: int | None = None
    consumed_at: int | None = None
    emergency: bool = False
    quantity: int = 1  # pieces (a set of four wheels is one part of four pieces)


@dataclass(frozen=True)
class Truck:
    supplier: str
    departed_at: int
    arrived_at: int
    parts: int
    capacity: int
    emergency: bool = False


@dataclass(frozen=True)
class Stop:
    """A stop of the line: when, how many working seconds, and why."""

    started_at: int
    ended_at: int
    working_seconds: int
    cause: str  # LINE_CAUSE, "supplier" or "warehouse"
    supplier: str | None = None
    family: str | None = None
    order_id: str | None = None


@dataclass
class TwinResult:
    """Everything a run measured; ``kpis()`` is the summary, the rest feeds the report."""

    scenario: str
    plant: str
    line: str
    seed: int
    origin: datetime
    start: datetime
    end: datetime
    vehicles_built: int
    vehicles_broadcast: int
    calloff_lines: int
    parts: list[Part]
    trucks: list[Truck]
    stops: list[Stop]
    series: list[tuple[int, int, int]]  # (run second, parts line side, parts waiting at the dock)
    stock_area: int  # piece-seconds at the plant (line side, dock, warehouse) over the production span
    peak_line_side: int
    peak_stock: int = 0  # parts at the plant at the busiest moment
    modes: dict[str, str] = field(default_factory=dict)  # family -> supply mode
    level_area: dict[str, int] = field(default_factory=dict)  # stock category -> part-seconds
    level_peak: dict[str, int] = field(default_factory=dict)
    level_series: list[tuple[int, dict[str, int]]] = field(default_factory=list)
    space_peak: dict[str, int] = field(default_factory=dict)  # rack_places, bin_places, warehouse_places
    touches: dict[str, int] = field(default_factory=dict)  # by supply mode
    emergencies: dict[str, int] = field(default_factory=dict)  # by supply mode
    purchase_orders: int = 0
    handler_calls: dict[str, int] = field(default_factory=dict)  # command name -> times handled
    needs: dict[str, tuple[int, int]] = field(default_factory=dict)  # family -> (parts the line reached, found at the line side)
    jit_calls: list[JitCall] = field(default_factory=list)
    ledger: Ledger = field(default_factory=Ledger)

    def kpis(self) -> dict[str, Any]:
        span = max(int((self.end - self.start).total_seconds()), 1)
        end_s = int((self.end - self.origin).total_seconds())
        due = [p for p in self.parts if p.need_at <= end_s]
        on_time = {id(p) for p in due if p.arrived_at is not None and p.arrived_at <= p.need_at}
        in_seq = _in_sequence(self.parts)
        arrived = [p for p in self.parts if p.arrived_at is not None]
        good = sum(1 for p in due if id(p) in on_time and id(p) in in_seq)
        causes: dict[tuple[str, str | None, str | None], list[int]] = defaultdict(list)
        for s in self.stops:
            causes[(s.cause, s.supplier, s.family)].append(s.working_seconds)
        by_supplier: dict[str, dict[str, Any]] = {}
        for code in sorted({t.supplier for t in self.trucks if not t.emergency}):
            trucks = [t for t in self.trucks if t.supplier == code and not t.emergency]
            loaded = sum(t.parts for t in trucks)
            by_supplier[code] = {"trucks": len(trucks), "parts": loaded, "utilisation": _ratio(loaded, sum(t.capacity for t in trucks))}
        regular = [t for t in self.trucks if not t.emergency]
        modes = sorted(set(self.modes.values()))
        stopped: dict[str, list[int]] = defaultdict(list)  # mode -> working seconds of the stops its families caused
        for s in self.stops:
            if s.family in self.modes:
                stopped[self.modes[s.family]].append(s.working_seconds)
        reached: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # mode -> [parts the line reached, found at the line side]
        for family, (needed, found) in self.needs.items():
            reached[self.modes[family]][0] += needed
            reached[self.modes[family]][1] += found
        calls_due = [k for k in self.jit_calls if k.due > 0]
        calls_on_time = sum(1 for k in calls_due if k.on_time)
        jis = {
            "parts_due": len(due), "parts_on_time": len(on_time),
            "parts_in_sequence": sum(1 for p in due if id(p) in in_seq),
            "on_time_in_sequence": _ratio(good, len(due)),
            "sequence_accuracy": _ratio(sum(1 for p in arrived if id(p) in in_seq), len(arrived)),
        }
        by_mode: dict[str, dict[str, Any]] = {}
        for mode in modes:
            cats = [k for k in self.level_area if k.startswith(mode + " ")]
            needed, found = reached.get(mode, (0, 0))
            by_mode[mode] = {
                "families": sum(1 for m in self.modes.values() if m == mode),
                "avg_stock": round(sum(self.level_area[k] for k in cats) / span, 2),
                "peak_stock": sum(self.level_peak.get(k, 0) for k in cats),
                "handling_touches": self.touches.get(mode, 0),
                "emergency_deliveries": self.emergencies.get(mode, 0),
                "avg_line_side_stock": round(self.level_area.get(f"{mode} line side", 0) / span, 2),
                "line_stop_minutes": _minutes(sum(stopped.get(mode, ()))),
                "line_stops": len(stopped.get(mode, ())),
                "parts_needed": needed, "parts_available": found, "availability": _ratio(found, needed),
            }
            if mode == SupplyMode.JIS.value:
                by_mode[mode].update(jis)
            else:
                if mode == SupplyMode.JIT.value:
                    by_mode[mode].update(calls_due=len(calls_due), calls_on_time=calls_on_time, on_time=_ratio(calls_on_time, len(calls_due)))
                by_mode[mode].update(
                    items=self.ledger.items.get(mode, 0), reservations=self.ledger.reservations.get(mode, 0),
                    backflushed=self.ledger.backflushed.get(mode, 0), shortage_alerts=self.ledger.shortage_alerts.get(mode, 0),
                    projected_shortages=sum(1 for k in self.ledger.shortages if k.mode == mode),
                )
        needed_all = sum(n for n, _ in reached.values())
        found_all = sum(f for _, f in reached.values())
        return {
            "scenario": self.scenario, "plant": self.plant, "line": self.line, "seed": self.seed,
            "start": self.start.isoformat(), "end": self.end.isoformat(),
            "vehicles_built": self.vehicles_built, "vehicles_broadcast": self.vehicles_broadcast,
            "calloff_lines": self.calloff_lines,
            "line_stop_minutes": _minutes(sum(s.working_seconds for s in self.stops)),
            "line_stops": [
                {"cause": cause, "supplier": supplier, "family": family, "stops": len(secs), "minutes": _minutes(sum(secs))}
                for (cause, supplier, family), secs in sorted(causes.items(), key=lambda kv: (-sum(kv[1]), str(kv[0])))
            ],
            **jis,
            "emergency_deliveries": sum(self.emergencies.values()),
            "avg_stock": round(self.stock_area / span, 2), "peak_stock": self.peak_stock,
            "avg_line_side_stock": round(sum(self.level_area.get(k, 0) for k in LINE_SIDE) / span, 2),
            "peak_line_side_stock": self.peak_line_side,
            "avg_warehouse_stock": round(sum(self.level_area.get(k, 0) for k in WAREHOUSE_LEVELS) / span, 2),
            "peak_warehouse_stock": self.level_peak.get("warehouse", 0),
            "rack_places": self.space_peak.get("rack_places", 0),
            "bin_places": self.space_peak.get("bin_places", 0),
            "warehouse_places": self.space_peak.get("warehouse_places", 0),
            "handling_touches": sum(self.touches.values()),
            "purchase_orders": self.purchase_orders,
            "trucks": len(regular), "truck_utilisation": _ratio(sum(t.parts for t in regular), sum(t.capacity for t in regular)),
            "trucks_by_supplier": by_supplier,
            "by_mode": by_mode,
            "line_availability": _ratio(found_all, needed_all),
            "jit_calls_due": len(calls_due), "jit_calls_on_time": calls_on_time, "jit_on_time": _ratio(calls_on_time, len(calls_due)),
            "reservations": sum(self.ledger.reservations.values()),
            "shortage_alerts": sum(self.ledger.shortage_alerts.values()),
            "projected_shortages": [
                {"item": k.item, "family": k.family, "mode": k.mode, "first_shortage_at": k.first_shortage_at.isoformat(),
                 "order_id": k.order_id, "seq_no": k.seq_no, "short_quantity": k.short_quantity, "line_stop_risk_minutes": k.line_stop_risk_minutes}
                for k in self.ledger.shortages
            ],
        }


def _in_sequence(parts: list[Part]) -> set[int]:
    """The parts no later-sequenced part of their family overtook (arrived strictly earlier)."""
    ok: set[int] = set()
    by_family: dict[str, list[Part]] = defaultdict(list)
    for p in parts:
        if p.arrived_at is not None:
            by_family[p.family].append(p)
    for family_parts in by_family.values():
        family_parts.sort(key=lambda p: p.seq_no)
        earliest_later = None
        for p in reversed(family_parts):
            if earliest_later is None or p.arrived_at <= earliest_later:
                ok.add(id(p))
            earliest_later = p.arrived_at if earliest_later is None else min(earliest_later, p.arrived_at)
    return ok


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 1.0


def _minutes(seconds: int) -> float:
    return round(seconds / 60, 2)




def twin_app(clock: SimulatedClock) -> App:
    """The services wired by ``bootstrap`` as production wires them (command and event
    handlers, and the reactions: the line's reservations follow every change of the pearl
    chain in its transaction and the items they touch are projected again), on the
    in-memory store with the simulated clock."""
    return bootstrap(MemoryUnitOfWork(), clock=clock, publisher=MemoryPublisher())


class _CountingBus:
    """Counts the commands handled, by name, on the way to the real bus."""

    def __init__(self, bus: MessageBus, counts: dict[str, int]) -> None:
        self._bus = bus
        self._counts = counts

    def handle(self, command: c.Command) -> Any:
        name = type(command).__name__
        self._counts[name] = self._counts.get(name, 0) + 1
        return self._bus.handle(command)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bus, name)


class Twin:
    """One run of a scenario. ``run()`` plays it and returns what it measured."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.plant = scenario.plant
        self.line: Line = self.plant.line(scenario.line)
        cal = self.line.calendar
        self.start, self.end = _span(scenario, self.line)
        self.origin = self.start - lead_in_span(self.plant, self.line.code)
        self.clock = SimulatedClock(self.origin)
        self.app: App = twin_app(self.clock)
        self.handler_calls: dict[str, int] = {}
        self.app.bus = _CountingBus(self.app.bus, self.handler_calls)  # type: ignore[assignment]
        self.env = simpy.Environment()
        self.takt = int(self.line.takt.total_seconds())
        self.rng = {name: random.Random(f"{scenario.seed}:{name}") for name in ["line", *scenario.suppliers]}
        self.stations = {st.code: st.offset_takts for st in self.line.stations}
        families = self.plant.families_of_line(self.line.code)
        self.family_station = {f.code: f.station for f in families}
        self.modes = {f.code: f.route.mode for f in families}
        self.supplier_of = {f.code: f.route.supplier for f in families}
        self.family_order = sorted(((self.stations[f.station], f.code) for f in families))
        self.jit_suppliers = {f.route.supplier for f in families if f.route.mode is SupplyMode.JIT and f.route.supplier}
        self.setup = _setup(self.plant, scenario)
        self.rack_size = {
            f.code: (self.setup.rack_types.get(f.route.rack_type or f"RK-{f.code}").capacity if self.setup.rack_types.get(f.route.rack_type or f"RK-{f.code}") else 10)
            for f in families
        }
        self.parts: dict[tuple[str, str], Part] = {}
        self.pending: dict[tuple[str, str], Part] = {}  # called off, not yet on the road
        self.line_side: dict[str, int] = defaultdict(int)
        self.at_line: set[tuple[str, str]] = set()
        self.dock: dict[str, list[Part]] = defaultdict(list)
        self.arrival: dict[tuple[str, str], simpy.Event] = {}
        self.trucks: list[Truck] = []
        self.stops: list[Stop] = []
        self.series: list[tuple[int, int, int]] = []
        self.level_series: list[tuple[int, dict[str, int]]] = []
        self.levels: dict[str, int] = defaultdict(int)
        self.level_area: dict[str, int] = defaultdict(int)
        self.level_peak: dict[str, int] = defaultdict(int)
        self.space_peak: dict[str, int] = defaultdict(int)
        self.stock_area = 0
        self.peak = 0
        self._stock_since = 0
        self.touches: dict[str, int] = defaultdict(int)
        self.emergencies: dict[str, int] = defaultdict(int)
        self.unfitted: dict[str, int] = defaultdict(int)  # vehicle -> JIS parts called off, not yet fitted
        self.to_consume: list[str] = []  # vehicles whose every JIS part was fitted since the last tick
        self.broadcast: list[str] = []
        self.built = 0
        self.working = cal.working_time_between
        self.stock: StockSupply | None = None
        self.stock_demand: dict[str, dict[str, tuple[str, int]]] = {}
        self.needs: dict[str, list[int]] = {}  # family -> [parts the line reached, found at the line side]

    # ------------------------------------------------------------------ time and randomness
    def at(self, s: int | float) -> datetime:
        return self.origin + timedelta(seconds=int(s))

    def sec(self, t: datetime) -> int:
        return int((t - self.origin).total_seconds())

    def _now(self) -> datetime:
        return self.clock.set(self.at(self.env.now))

    def rng_for(self, name: str) -> random.Random:
        """The random stream of one use, named by the seed and the use (common random numbers)."""
        if name not in self.rng:
            self.rng[name] = random.Random(f"{self.scenario.seed}:{name}")
        return self.rng[name]

    # ------------------------------------------------------------------ run
    def run(self) -> TwinResult:
        self.app.bus.handle(c.LoadPlant(self.plant, self.scenario.definition.data))
        self.app.bus.handle(x.ConfigureExecution(self.plant.code, self.setup))
        self._plan()
        end = self.sec(self.end)
        if self.stock is not None:
            self.stock.start()
        self.env.process(self._ticker(end))
        self.env.process(self._booker(end))
        for code in sorted(self.scenario.suppliers):
            self.env.process(self._trucks(code, end))
        self.env.process(self._sampler(end))
        done = self.env.process(self._line_process(end))
        self.env.run(until=simpy.events.AnyOf(self.env, [done, self.env.timeout(end - self.env.now + 1)]))
        self._book()
        self.app.relay()
        self.level(None, 0)
        return TwinResult(
            scenario=self.scenario.name, plant=self.plant.code, line=self.line.code, seed=self.scenario.seed,
            origin=self.origin, start=self.start, end=self.end, vehicles_built=self.built,
            vehicles_broadcast=len(self.broadcast), calloff_lines=len(self.parts), parts=list(self.parts.values()),
            trucks=self.trucks, stops=self.stops, series=self.series, stock_area=self.stock_area, peak_line_side=self.level_peak["line side"], peak_stock=self.peak,
            modes={f: m.value for f, m in self.modes.items()}, level_area=dict(self.level_area), level_peak=dict(self.level_peak),
            level_series=self.level_series, space_peak=dict(self.space_peak),
            touches={**self.touches, **{k: self.touches.get(k, 0) + v for k, v in (self.stock.touches if self.stock else {}).items()}},
            emergencies={**self.emergencies, **{k: self.emergencies.get(k, 0) + v for k, v in (self.stock.emergencies if self.stock else {}).items()}},
            purchase_orders=self.stock.orders if self.stock else 0, handler_calls=dict(self.handler_calls),
            needs={f: (n[0], n[1]) for f, n in self.needs.items()},
            jit_calls=self.stock.jit_calls() if self.stock else [], ledger=self.stock.ledger() if self.stock else Ledger(),
        )

    def _plan(self) -> None:
        """Import enough generated vehicles for the whole run plus the line's length, and
        work out which stock-fed part each vehicle takes (for the line and the bin sizes)."""
        mix = self.scenario.definition.mix
        if mix is None:
            raise JisflowError(f"plant {self.plant.code} has no vehicle mix to generate the sequence from")
        takts = int(self.working(self.start, self.end) / self.line.takt)
        count = takts + max(self.stations.values()) + 30
        rows = tuple(
            c.SequenceRow(f"generated vehicle {i + 1}", Vehicle(g.order_id, g.model, dict(g.options), g.vin))
            for i, g in enumerate(generate_vehicles(mix, count, self.scenario.seed))
        )
        self.rows = rows
        self.order = [r.vehicle.order_id for r in rows]
        lead = max((f.route.lead_time for f in self.plant.families_of_line(self.line.code) if f.route.mode in (SupplyMode.JIS, SupplyMode.JIT)), default=timedelta(0))
        self.horizon = int(lead / self.line.takt) + 60  # a call by lead time goes out at most its lead time ahead
        self.imported = 0
        self._import(self.horizon + IMPORT_CHUNK)
        fed = [f for f in self.plant.families_of_line(self.line.code) if f.route.mode is not SupplyMode.JIS]
        if not fed:
            return
        demand: dict[str, int] = defaultdict(int)
        for i, row in enumerate(rows):
            try:
                lines = explode_vehicle(self.line, fed, row.vehicle, i + 1, self.start)
            except ExplosionError:
                continue
            self.stock_demand[row.vehicle.order_id] = {d.family: (d.part_number, d.quantity) for d in lines}
            if i < takts:
                for d in lines:
                    demand[d.part_number] += d.quantity
        self.stock = StockSupply(self, fed, demand, max(takts, 1))

    def _import(self, count: int) -> None:
        """Import the next ``count`` vehicles of the generated sequence: the chain is fed a
        rolling horizon ahead of the broadcast point, as a plant's scheduling feeds it."""
        rows = self.rows[self.imported : self.imported + count]
        if rows:
            self.app.bus.handle(c.ImportSequence(self.line.code, rows, source=f"vehicle mix, seed {self.scenario.seed}, from vehicle {self.imported + 1}"))
            self.imported += len(rows)

    # ------------------------------------------------------------------ stock levels
    def level(self, category: str | None, delta: int) -> None:
        """Book a change of one stock category (part-seconds from the first shift on)."""
        now = max(self.env.now, self.sec(self.start))
        if now > self._stock_since:
            since = max(self._stock_since, self.sec(self.start))
            for k, v in self.levels.items():
                if v:
                    self.level_area[k] += v * (now - since)
                    self.stock_area += v * (now - since)
            self._stock_since = now
        if category:
            self.levels[category] += delta
            self.level_peak[category] = max(self.level_peak[category], self.levels[category])
            line_side = sum(self.levels[k] for k in LINE_SIDE)
            self.level_peak["line side"] = max(self.level_peak["line side"], line_side)
            self.level_peak["warehouse"] = max(self.level_peak["warehouse"], sum(self.levels[k] for k in WAREHOUSE_LEVELS))
            self.peak = max(self.peak, sum(self.levels.values()))

    # ------------------------------------------------------------------ services
    def _take(self, numbers: list[str]) -> None:
        """Relay the new call-offs and let their suppliers acknowledge and build them."""
        self.app.relay()
        if not numbers:
            return
        now = self.env.now
        with self.app.uow:
            calloffs = [self.app.uow.calloffs.get(n) for n in numbers]
        for calloff in calloffs:
            self.app.bus.handle(c.TransitionCallOffLines(calloff.number, CallOffState.ACKNOWLEDGED, actor=calloff.supplier))
            build = self.scenario.supplier(calloff.supplier).build_minutes * 60
            for ln in calloff.lines:
                part = Part(ln.order_id, ln.family, ln.supplier, ln.seq_no, self.sec(ln.need_time), now + build, quantity=ln.quantity)
                if (ln.order_id, ln.family) not in self.parts:
                    self.unfitted[ln.order_id] += 1
                self.parts[(ln.order_id, ln.family)] = part
                self.pending[(ln.order_id, ln.family)] = part
        self.app.relay()

    def _ticker(self, end: int):
        lead = self.scenario.emergency_lead_minutes
        while self.env.now <= end:
            now = self._now()
            self._take(self.app.bus.handle(c.Tick(now, issue_ahead=timedelta(seconds=TICK_EVERY))).calloffs)
            if lead is not None:
                limit = self.env.now + lead * 60
                for p in sorted((p for p in self.pending.values() if p.need_at <= limit), key=lambda p: (p.need_at, p.family)):
                    self._expedite(p)
            yield self.env.timeout(TICK_EVERY)

    def _booker(self, end: int):
        while self.env.now <= end:
            self._book()
            yield self.env.timeout(BOOK_EVERY)

    def _book(self) -> None:
        """The line's use since the last tick: the JIS parts of every vehicle that has had all
        of them fitted are backflushed (``ConsumeVehicles``), and so are the stock-fed parts of
        every vehicle that has had all of those fitted (``BackflushVehicles``)."""
        now = self._now()
        if self.to_consume:
            self.app.bus.handle(x.ConsumeVehicles(self.line.code, tuple(self.to_consume), at=now))
            self.to_consume = []
        if self.stock is not None:
            self.stock.book()

    # ------------------------------------------------------------------ suppliers and trucks
    def _trucks(self, code: str, end: int):
        settings = self.scenario.supplier(code)
        rng = self.rng[code]
        lane = settings.transit_minutes
        yield self.env.timeout(round(settings.first_departure_minutes * 60))
        jit = self.stock is not None and code in self.jit_suppliers
        while self.env.now <= end:
            # a rack goes when its first part would be late on the next truck at the longest transit
            load, shipments, racks = self._load(code, settings.truck_capacity, self.env.now + round((settings.truck_interval_minutes + lane.max) * 60))
            lots = self.stock.jit_load(code, round((settings.truck_interval_minutes + lane.max) * 60), settings.truck_capacity - len(load)) if jit and self.stock else []
            if load or lots:
                transit = round(rng.triangular(lane.min, lane.max, lane.mode) * 60)
                now = self._now()
                for shipment in shipments:
                    self.app.bus.handle(x.UpdateEta(shipment, now + timedelta(seconds=transit), at=now))
                for p in load:
                    p.departed_at = self.env.now
                self.trucks.append(Truck(code, self.env.now, self.env.now + transit, len(load) + sum(lot[1] for lot in lots), settings.truck_capacity))
                self.env.process(self._drive(load, shipments, lots, transit, racks))
            yield self.env.timeout(settings.truck_interval_minutes * 60)

    def _load(self, code: str, capacity: int, due_by: int) -> tuple[list[Part], list[str], int]:
        """The supplier's floor at a truck departure, through the real commands: racks planned
        for what was called off; every rack whose first part is needed by ``due_by`` gets the
        parts that are ready picked and scanned into it in sequence (up to the truck's
        capacity); those racks are closed, loaded and despatched. Racks not yet due wait for a
        later truck, so parts travel just in time rather than as soon as they are built."""
        if not any(p.supplier == code for p in self.pending.values()):
            return [], [], 0
        now_s = self.env.now
        now = self._now()
        bus, line = self.app.bus, self.line.code
        bus.handle(x.CreatePickList(line, supplier=code, at=now))
        with self.app.uow:
            racks = self.app.uow.execution.racks(line, (RackState.OPEN,), code)
        load: list[Part] = []
        scans: list[Scan] = []
        closing: list[str] = []
        for rack in sorted(racks, key=lambda r: (r.first_need, r.first_seq or 0, r.family)):
            if self.sec(rack.first_need) > due_by:
                continue
            took = 0
            for slot in sorted(rack.slots, key=lambda s: s.position):
                p = self.pending.get((slot.order_id, slot.family))
                if slot.filled or p is None or p.ready_at > now_s or len(load) >= capacity:
                    break
                load.append(p)
                scans.append(Scan(rack.id, slot.position, slot.part_number, f"SN-{slot.order_id}-{slot.family}"))
                took += 1
            if took:
                closing.append(rack.id)
        if not load:
            return [], [], 0
        bus.handle(x.ConfirmPick(line, tuple((p.order_id, p.family) for p in load), actor=code, at=now))
        bus.handle(x.VerifyScans(line, tuple(scans), actor=code, at=now))
        with self.app.uow:
            still_open = {r.id for r in self.app.uow.execution.racks(line, (RackState.OPEN,), code)}
        bus.handle(x.CloseRacks(line, tuple(r for r in closing if r in still_open), at=now))
        shipments = []
        for s in bus.handle(x.PlanLoads(line, until=now + timedelta(days=365), at=now)).details["shipments"]:
            bus.handle(x.DespatchShipment(s["id"], at=now))
            shipments.append(s["id"])
        for p in load:
            del self.pending[(p.order_id, p.family)]
        return load, shipments, len(closing)

    def _expedite(self, p: Part) -> None:
        """An emergency delivery of one JIS part by express courier, at half the lane's transit."""
        try:
            outcome = self.app.bus.handle(x.OrderEmergencyDelivery(self.line.code, p.order_id, p.family, "not on the road in time", at=self._now()))
        except JisflowError:
            return
        del self.pending[(p.order_id, p.family)]
        lane = self.scenario.supplier(p.supplier).transit_minutes
        transit = round(self.rng_for(f"emergency:{p.supplier}").triangular(lane.min, lane.max, lane.mode) * 30)
        leave = max(self.env.now, p.ready_at)
        p.departed_at, p.emergency = leave, True
        self.emergencies[SupplyMode.JIS.value] += 1
        self.trucks.append(Truck(p.supplier, leave, leave + transit, 1, 1, emergency=True))
        self.env.process(self._drive([p], [outcome.details["shipment_id"]], [], leave + transit - self.env.now, 1))

    def _drive(self, load: list[Part], shipments: list[str], lots: list, transit: int, racks: int):
        yield self.env.timeout(transit)
        now = self._now()
        for shipment in shipments:
            self.app.bus.handle(x.ReceiveShipment(shipment, at=now))
        self.touches[SupplyMode.JIS.value] += 2 * racks  # each rack unloaded and put to the line
        cap = self.scenario.line_side_capacity
        for p in load:
            p.arrived_at = self.env.now
            if cap is not None and self.line_side[p.family] >= cap and (p.order_id, p.family) not in self.arrival:
                self.dock[p.family].append(p)
                self.level(DOCK, +p.quantity)
                continue
            self._to_line_side(p)
        if lots and self.stock is not None:
            self.stock.jit_arrive(lots)

    def _to_line_side(self, p: Part) -> None:
        self.line_side[p.family] += 1
        self.level("JIS line side", +p.quantity)
        self.at_line.add((p.order_id, p.family))
        event = self.arrival.pop((p.order_id, p.family), None)
        if event is not None:
            event.succeed()

    def _from_dock(self, p: Part) -> None:
        """The line needs a part that waits at the dock behind others: it is fetched at once,
        even if that overfills the line side."""
        self.dock[p.family].remove(p)
        self.level(DOCK, -p.quantity)
        self._to_line_side(p)

    def _sampler(self, end: int):
        while self.env.now <= end:
            self.series.append((self.env.now, sum(self.line_side.values()), sum(len(q) for q in self.dock.values())))
            self.level_series.append((self.env.now, {k: v for k, v in self.levels.items() if k != "STOCK tugger"}))
            racks = sum(math.ceil((self.line_side[f] + len(self.dock[f])) / self.rack_size.get(f, 10)) for f in set(self.line_side) | set(self.dock))
            bins, warehouse = self.stock.containers() if self.stock is not None else (0, 0)
            for key, value in (("rack_places", racks), ("bin_places", bins), ("warehouse_places", warehouse)):
                self.space_peak[key] = max(self.space_peak[key], value)
            yield self.env.timeout(SAMPLE_EVERY)

    # ------------------------------------------------------------------ the line
    def _line_process(self, end: int):
        cal = self.line.calendar
        yield self.env.timeout(self.sec(self.start) - self.env.now)
        rng = self.rng["line"]
        p_stop = self.scenario.stoppages_per_hour * self.takt / 3600
        step = 0
        while True:
            now = self._now()
            if not cal.is_working(now):
                resume = self.sec(cal.next_working_time(now))
                if resume >= end:
                    return
                yield self.env.timeout(resume - self.env.now)
                continue
            if self.env.now >= end:
                return
            if p_stop and rng.random() < p_stop:
                length = max(1, round(rng.expovariate(1 / (self.scenario.stoppage_mean_minutes * 60))))
                yield from self._stopped(self.env.timeout(length), cause=LINE_CAUSE)
            for family, _, key, need in self._needed(step):
                found = True
                if key is not None:
                    part = self.parts[key]
                    if part.arrived_at is not None and key not in self.at_line:
                        self._from_dock(part)
                    if key not in self.at_line:
                        found = False
                        event = self.arrival.setdefault(key, self.env.event())
                        yield from self._stopped(event, cause="supplier", key=key, end=end)
                elif self.stock is not None and need is not None and not self.stock.has(*need):
                    found = False
                    yield from self._short(family, need, end)
                counted = self.needs.setdefault(family, [0, 0])
                counted[0] += 1
                counted[1] += found
                if self.env.now >= end:
                    return
            self._consume(step)
            if self.imported - step < self.horizon:
                self._import(IMPORT_CHUNK)
            if step < len(self.order):
                self._now()
                outcome = self.app.bus.handle(c.BroadcastVehicle(self.line.code, self.order[step], self.clock.now()))
                self.broadcast.append(self.order[step])
                self._take(outcome.calloffs)
            step += 1
            yield self.env.timeout(self.takt)

    def _needed(self, step: int) -> list[tuple[str, str, tuple[str, str] | None, tuple[str, int] | None]]:
        """What the vehicles standing at the stations at this step need, station by station:
        the family, the vehicle, and the called-off part (JIS) or the part number and quantity
        (stock-fed)."""
        out: list[tuple[str, str, tuple[str, str] | None, tuple[str, int] | None]] = []
        for offset, family in self.family_order:
            index = step - offset
            if not 0 <= index < len(self.broadcast):
                continue
            order = self.broadcast[index]
            if (order, family) in self.parts:
                out.append((family, order, (order, family), None))
            elif self.modes[family] is not SupplyMode.JIS:
                need = self.stock_demand.get(order, {}).get(family)
                if need is not None:
                    out.append((family, order, None, need))
        return out

    def _stopped(self, until: simpy.Event, *, cause: str, key: tuple[str, str] | None = None, end: int | None = None):
        started = self.env.now
        if end is not None:
            yield self.env.any_of([until, self.env.timeout(max(end - started, 0))])
        else:
            yield until
        part = self.parts.get(key) if key else None
        seconds = int(self.working(self.at(started), self.at(self.env.now)).total_seconds())
        if seconds:
            self.stops.append(Stop(started, self.env.now, seconds, cause, part.supplier if part else None, key[1] if key else None, key[0] if key else None))

    def _short(self, family: str, need: tuple[str, int], end: int):
        """The line waits for a stock-fed part until enough of it is at the line side."""
        assert self.stock is not None
        part, quantity = need
        b = self.stock.bins[part]
        cause = "warehouse" if b.mode is SupplyMode.STOCK and (b.in_tugger or b.warehouse) else "supplier"
        started = self.env.now
        while not self.stock.has(part, quantity) and self.env.now < end:
            event = self.stock.wait_for(part, self.scenario.emergency_lead_minutes)
            yield self.env.any_of([event, self.env.timeout(max(end - self.env.now, 0))])
        seconds = int(self.working(self.at(started), self.at(self.env.now)).total_seconds())
        if seconds:
            self.stops.append(Stop(started, self.env.now, seconds, cause, b.supplier, family, None))

    def _consume(self, step: int) -> None:
        for _, order, key, need in self._needed(step):
            if key is not None:
                part = self.parts[key]
                if part.consumed_at is None:
                    part.consumed_at = self.env.now
                    self.at_line.discard(key)
                    self.line_side[part.family] -= 1
                    self.level("JIS line side", -part.quantity)
                    self.unfitted[key[0]] -= 1
                    if not self.unfitted[key[0]]:
                        self.to_consume.append(key[0])
                    if self.dock[part.family]:
                        self._from_dock(self.dock[part.family][0])
            elif self.stock is not None and need is not None:
                self.stock.take(*need, order)
        if 0 <= step - max(self.stations.values()) < len(self.broadcast):
            self.built += 1


def _setup(plant: Plant, scenario: Scenario) -> ExecutionSetup:
    """The floor's master data for the run: the plant's rack types, and a lane per JIS
    supplier and dock with the scenario's typical and longest transit, one truck per load."""
    base = default_setup(plant, truck_racks=10_000)
    lanes = {}
    for code, lane in base.lanes.items():
        transit = scenario.supplier(lane.supplier).transit_minutes
        lanes[code] = dataclasses.replace(lane, transit=timedelta(minutes=transit.mode), transit_p95=timedelta(minutes=transit.max), unloading_buffer=timedelta(0))
    return dataclasses.replace(base, lanes=lanes)


def _span(scenario: Scenario, line: Line) -> tuple[datetime, datetime]:
    """The run's first working moment and its end: after the given shifts, or hours."""
    cal = line.calendar
    begin = datetime.combine(scenario.start, time(0, 0), tzinfo=timezone.utc)
    windows: list[tuple[datetime, datetime]] = []
    day = cal.local_date(begin)
    for offset in range(0, 60):
        windows += [(s, e) for _, s, e in cal.shift_windows(day + timedelta(days=offset)) if s >= begin]
        if scenario.shifts is not None and len(windows) >= scenario.shifts:
            break
    if not windows:
        raise JisflowError(f"line {line.code} has no shift in the 60 days after {scenario.start}")
    start = windows[0][0]
    if scenario.shifts is not None:
        return start, windows[scenario.shifts - 1][1]
    return start, start + timedelta(hours=scenario.hours or 0)


def simulate(scenario: Scenario) -> TwinResult:
    """Run a scenario once."""
    return Twin(scenario).run()

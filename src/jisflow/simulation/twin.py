"""The digital twin: a SimPy model of one line and its JIS suppliers that drives the real services.

Simulated time is whole seconds from the start of the run; the services see it through a
``SimulatedClock`` and keep their state in the in-memory unit of work. Four kinds of process:

- the **line** works through the calendar takt by takt: it checks that every part the vehicles
  at the stations need has reached the line side, consumes them, and broadcasts the next
  vehicle of the pearl chain through ``BroadcastVehicle``. A missing part stops the whole line
  (broadcast point included) until the part arrives; the working minutes lost are booked on the
  family and supplier of the part. The line also stops by itself at a random rate.
- the **ticker** lets time pass for the services (``Tick``): call-offs triggered by lead time go
  out when their issue point comes, also before the first shift.
- every call-off the services issue is relayed through the outbox and **acknowledged** by its
  supplier (``TransitionCallOffLines``); its parts are ready after the supplier's build time.
- a **truck** per supplier leaves at its interval with what is ready (in sequence, up to its
  capacity) and arrives after a transit time drawn from the lane's triangular distribution.
  Trucks may overtake each other, so parts can arrive out of sequence. A part that finds the
  line side of its family full (the scenario's buffer) waits at the dock until a place frees,
  unless the line is already waiting for it.

The parts the line waits for are exactly the call-off lines the real handlers issued: the twin
invents no demand of its own. Families supplied other than JIS (JIT, KANBAN, STOCK) are taken as
always available at the line side.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any

import simpy

from jisflow.adapters.memory import MemoryUnitOfWork
from jisflow.bootstrap import App, bootstrap
from jisflow.domain.calloff import CallOffState
from jisflow.domain.errors import JisflowError
from jisflow.domain.plant import Line
from jisflow.domain.sequence import Vehicle
from jisflow.domain.vehicle_mix import generate_vehicles
from jisflow.services import commands as c
from jisflow.services.clock import SimulatedClock
from jisflow.simulation.scenario import Scenario
from jisflow.simulation.shift_run import lead_in_span

TICK_EVERY = 300  # seconds between two ticks of the services
SAMPLE_EVERY = 300  # seconds between two samples of the stock series
LINE_CAUSE = "line stoppage"


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


@dataclass(frozen=True)
class Truck:
    supplier: str
    departed_at: int
    arrived_at: int
    parts: int
    capacity: int


@dataclass(frozen=True)
class Stop:
    """A stop of the line: when, how many working seconds, and why."""

    started_at: int
    ended_at: int
    working_seconds: int
    cause: str  # LINE_CAUSE or "supplier"
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
    stock_area: int  # part-seconds at the line side over the production span
    peak_line_side: int

    def kpis(self) -> dict[str, Any]:
        span = max(int((self.end - self.start).total_seconds()), 1)
        end_s = int((self.end - self.origin).total_seconds())
        due = [p for p in self.parts if p.need_at <= end_s]
        on_time = {id(p) for p in due if p.arrived_at is not None and p.arrived_at <= p.need_at}
        in_seq = _in_sequence(self.parts)
        good = sum(1 for p in due if id(p) in on_time and id(p) in in_seq)
        causes: dict[tuple[str, str | None, str | None], list[int]] = defaultdict(list)
        for s in self.stops:
            causes[(s.cause, s.supplier, s.family)].append(s.working_seconds)
        by_supplier: dict[str, dict[str, Any]] = {}
        for code in sorted({t.supplier for t in self.trucks}):
            trucks = [t for t in self.trucks if t.supplier == code]
            loaded = sum(t.parts for t in trucks)
            by_supplier[code] = {"trucks": len(trucks), "parts": loaded, "utilisation": _ratio(loaded, sum(t.capacity for t in trucks))}
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
            "parts_due": len(due), "parts_on_time": len(on_time),
            "parts_in_sequence": sum(1 for p in due if id(p) in in_seq),
            "on_time_in_sequence": _ratio(good, len(due)),
            "avg_stock": round(self.stock_area / span, 2), "peak_stock": self.peak_line_side,
            "trucks": len(self.trucks), "truck_utilisation": _ratio(sum(t.parts for t in self.trucks), sum(t.capacity for t in self.trucks)),
            "trucks_by_supplier": by_supplier,
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
        self.app: App = bootstrap(MemoryUnitOfWork(), clock=self.clock)
        self.env = simpy.Environment()
        self.takt = int(self.line.takt.total_seconds())
        self.rng = {name: random.Random(f"{scenario.seed}:{name}") for name in ["line", *scenario.suppliers]}
        self.stations = {st.code: st.offset_takts for st in self.line.stations}
        self.family_station = {f.code: f.station for f in self.plant.families_of_line(self.line.code)}
        self.ready: dict[str, deque[Part]] = {code: deque() for code in scenario.suppliers}
        self.parts: dict[tuple[str, str], Part] = {}
        self.line_side: dict[str, int] = defaultdict(int)
        self.at_line: set[tuple[str, str]] = set()
        self.dock: dict[str, deque[Part]] = defaultdict(deque)
        self.arrival: dict[tuple[str, str], simpy.Event] = {}
        self.trucks: list[Truck] = []
        self.stops: list[Stop] = []
        self.series: list[tuple[int, int, int]] = []
        self.stock_area = 0
        self.peak = 0
        self._stock_since = 0
        self.broadcast: list[str] = []
        self.built = 0
        self.working = cal.working_time_between

    # ------------------------------------------------------------------ time
    def at(self, s: int | float) -> datetime:
        return self.origin + timedelta(seconds=int(s))

    def sec(self, t: datetime) -> int:
        return int((t - self.origin).total_seconds())

    def _now(self) -> datetime:
        return self.clock.set(self.at(self.env.now))

    # ------------------------------------------------------------------ run
    def run(self) -> TwinResult:
        self.app.bus.handle(c.LoadPlant(self.plant, self.scenario.definition.data))
        self._plan()
        end = self.sec(self.end)
        self.env.process(self._ticker(end))
        for code in sorted(self.scenario.suppliers):
            self.env.process(self._trucks(code, end))
        self.env.process(self._sampler(end))
        done = self.env.process(self._line_process(end))
        self.env.run(until=simpy.events.AnyOf(self.env, [done, self.env.timeout(end - self.env.now + 1)]))
        self._stock_change("", 0)
        return TwinResult(
            scenario=self.scenario.name, plant=self.plant.code, line=self.line.code, seed=self.scenario.seed,
            origin=self.origin, start=self.start, end=self.end, vehicles_built=self.built,
            vehicles_broadcast=len(self.broadcast), calloff_lines=len(self.parts), parts=list(self.parts.values()),
            trucks=self.trucks, stops=self.stops, series=self.series, stock_area=self.stock_area, peak_line_side=self.peak,
        )

    def _plan(self) -> None:
        """Import enough generated vehicles for the whole run plus the line's length."""
        mix = self.scenario.definition.mix
        if mix is None:
            raise JisflowError(f"plant {self.plant.code} has no vehicle mix to generate the sequence from")
        takts = int(self.working(self.start, self.end) / self.line.takt)
        count = takts + max(self.stations.values()) + 30
        rows = tuple(
            c.SequenceRow(f"generated vehicle {i + 1}", Vehicle(g.order_id, g.model, dict(g.options), g.vin))
            for i, g in enumerate(generate_vehicles(mix, count, self.scenario.seed))
        )
        self.app.bus.handle(c.ImportSequence(self.line.code, rows, source=f"vehicle mix, seed {self.scenario.seed}"))
        self.order = [r.vehicle.order_id for r in rows]

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
                part = Part(ln.order_id, ln.family, ln.supplier, ln.seq_no, self.sec(ln.need_time), now + build)
                self.parts[(ln.order_id, ln.family)] = part
                self.ready[ln.supplier].append(part)
        self.app.relay()

    def _ticker(self, end: int):
        while self.env.now <= end:
            now = self._now()
            self._take(self.app.bus.handle(c.Tick(now, issue_ahead=timedelta(seconds=TICK_EVERY))).calloffs)
            yield self.env.timeout(TICK_EVERY)

    # ------------------------------------------------------------------ suppliers and trucks
    def _trucks(self, code: str, end: int):
        settings = self.scenario.supplier(code)
        rng = self.rng[code]
        lane = settings.transit_minutes
        yield self.env.timeout(round(settings.first_departure_minutes * 60))
        while self.env.now <= end:
            queue = self.ready[code]
            load: list[Part] = []
            while queue and len(load) < settings.truck_capacity and queue[0].ready_at <= self.env.now:
                load.append(queue.popleft())
            if load:
                transit = round(rng.triangular(lane.min, lane.max, lane.mode) * 60)
                for p in load:
                    p.departed_at = self.env.now
                self.trucks.append(Truck(code, self.env.now, self.env.now + transit, len(load), settings.truck_capacity))
                self.env.process(self._drive(load, transit))
            yield self.env.timeout(settings.truck_interval_minutes * 60)

    def _drive(self, load: list[Part], transit: int):
        yield self.env.timeout(transit)
        cap = self.scenario.line_side_capacity
        for p in load:
            p.arrived_at = self.env.now
            if cap is not None and self.line_side[p.family] >= cap and (p.order_id, p.family) not in self.arrival:
                self.dock[p.family].append(p)
                continue
            self._to_line_side(p)

    def _to_line_side(self, p: Part) -> None:
        self._stock_change(p.family, +1)
        self.at_line.add((p.order_id, p.family))
        event = self.arrival.pop((p.order_id, p.family), None)
        if event is not None:
            event.succeed()

    def _from_dock(self, p: Part) -> None:
        """The line needs a part that waits at the dock behind others: it is fetched at once,
        even if that overfills the line side."""
        self.dock[p.family].remove(p)
        self._to_line_side(p)

    def _stock_change(self, family: str, delta: int) -> None:
        """Book the line-side stock over time (part-seconds from the first shift on)."""
        now = max(self.env.now, self.sec(self.start))
        if now > self._stock_since:
            self.stock_area += sum(self.line_side.values()) * (now - max(self._stock_since, self.sec(self.start)))
            self._stock_since = now
        if family:
            self.line_side[family] += delta
            self.peak = max(self.peak, sum(self.line_side.values()))

    def _sampler(self, end: int):
        while self.env.now <= end:
            self.series.append((self.env.now, sum(self.line_side.values()), sum(len(q) for q in self.dock.values())))
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
            for key in self._needed(step):
                part = self.parts[key]
                if part.arrived_at is not None and key not in self.at_line:
                    self._from_dock(part)
                if key not in self.at_line:
                    event = self.arrival.setdefault(key, self.env.event())
                    yield from self._stopped(event, cause="supplier", key=key, end=end)
                    if self.env.now >= end:
                        return
            self._consume(step)
            if step < len(self.order):
                self._now()
                outcome = self.app.bus.handle(c.BroadcastVehicle(self.line.code, self.order[step], self.clock.now()))
                self.broadcast.append(self.order[step])
                self._take(outcome.calloffs)
            step += 1
            yield self.env.timeout(self.takt)

    def _needed(self, step: int) -> list[tuple[str, str]]:
        """The called-off parts of the vehicles standing at the stations at this step."""
        keys = []
        for family, station in sorted(self.family_station.items(), key=lambda fs: (self.stations[fs[1]], fs[0])):
            index = step - self.stations[station]
            if 0 <= index < len(self.broadcast) and (self.broadcast[index], family) in self.parts:
                keys.append((self.broadcast[index], family))
        return keys

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

    def _consume(self, step: int) -> None:
        for key in self._needed(step):
            part = self.parts[key]
            if part.consumed_at is None:
                part.consumed_at = self.env.now
                self.at_line.discard(key)
                self._stock_change(part.family, -1)
                if self.dock[part.family]:
                    self._to_line_side(self.dock[part.family].popleft())
        if 0 <= step - max(self.stations.values()) < len(self.broadcast):
            self.built += 1


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

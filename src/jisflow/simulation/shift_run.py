"""Run one shift of a plant in accelerated simulated time through the real services.

The run plays the plant's broadcast feed takt by takt: it broadcasts the next vehicle of the
pearl chain, lets time pass (silent feed check, lead-time call-offs), relays the outbox (the
call-offs go out and become SENT) and lets the suppliers acknowledge what they received. On top
of the regular flow it injects, from the seed, the disturbances a real feed has: sequence
changes outside and inside the frozen zone, a skipped vehicle (gap) that turns up later (out of
order), a repeated telegram (duplicate), a vehicle the chain does not know, a wrong rolling
number and a line stop long enough to make the feed silent. Every call-off, alert and state
change comes from the real handlers.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from jisflow.bootstrap import App
from jisflow.domain.calloff import CallOffState
from jisflow.domain.errors import JisflowError
from jisflow.domain.plant import CallOffTrigger, Line, Plant
from jisflow.domain.sequence import Vehicle, VehicleStatus
from jisflow.domain.vehicle_mix import VehicleMix, generate_vehicles
from jisflow.services import commands as c
from jisflow.services.clock import SimulatedClock
from jisflow.services.unit_of_work import AlertFilter, CallOffLineFilter
from jisflow.simulation.floor import FloorRun


@dataclass
class Snapshot:
    """What a live view shows after each takt."""

    now: datetime
    shift: str
    broadcast: int
    takts_done: int
    takts_total: int
    next_vehicles: list[dict[str, Any]]
    lines_by_supplier: dict[str, Counter]
    alerts: list[dict[str, Any]]
    alert_counts: Counter
    event: str = ""


@dataclass
class ShiftSummary:
    plant: str
    line: str
    shift: str
    start: datetime
    end: datetime
    vehicles_planned: int
    vehicles_broadcast: int
    calloffs: int
    calloff_lines: dict[str, int]
    calloff_lines_by_state: dict[str, int]
    jit_calls: int
    alerts: dict[str, int]
    sequence_changes: dict[str, int]
    messages_published: int
    seed: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "plant": self.plant, "line": self.line, "shift": self.shift,
            "start": self.start.isoformat(), "end": self.end.isoformat(), "seed": self.seed,
            "vehicles_planned": self.vehicles_planned, "vehicles_broadcast": self.vehicles_broadcast,
            "calloffs": self.calloffs,
            "calloff_lines": {"total": sum(self.calloff_lines.values()), "by_supplier": dict(sorted(self.calloff_lines.items())),
                              "by_state": dict(sorted(self.calloff_lines_by_state.items()))},
            "jit_calls": self.jit_calls,
            "alerts": {"total": sum(self.alerts.values()), "by_kind": dict(sorted(self.alerts.items()))},
            "sequence_changes": dict(sorted(self.sequence_changes.items())),
            "messages_published": self.messages_published,
            **self.extra,
        }


def first_shift_start(line: Line, not_before: datetime) -> tuple[str, datetime, datetime]:
    """The first shift of the line that starts at or after ``not_before``: (name, start, end)."""
    cal = line.calendar
    day = cal.local_date(not_before)
    for offset in range(0, 30):
        for shift, start, end in cal.shift_windows(day + timedelta(days=offset)):
            if start >= not_before:
                return shift.name, start, end
    raise JisflowError(f"line {line.code} has no shift in the 30 days after {not_before:%Y-%m-%d}")


def lead_in_span(plant: Plant, line: str) -> timedelta:
    """How long before a shift calls triggered by lead time start going out: the longest lead
    time of such a route (calls at broadcast need no lead-in)."""
    return max(
        (f.route.lead_time for f in plant.families_of_line(line) if f.route.trigger is CallOffTrigger.LEAD_TIME),
        default=timedelta(0),
    )


def next_monday(today: date) -> datetime:
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    return datetime.combine(monday, time(0, 0), tzinfo=timezone.utc)


class ShiftRun:
    def __init__(self, app: App, clock: SimulatedClock, plant: Plant, mix: VehicleMix, *, line: str | None = None, seed: int = 7) -> None:
        self.app = app
        self.clock = clock
        self.plant = plant
        self.mix = mix
        self.line = plant.line(line) if line else plant.lines[0]
        self.seed = seed
        self.rng = random.Random(seed)
        self.published = 0
        self.events: list[str] = []
        self.changes: Counter = Counter()
        self._planned_order: list[str] | None = None
        self.floor = FloorRun(app, plant, self.line)

    # ------------------------------------------------------------------ set-up
    def plan_day(self, shift_start: datetime, extra: int = 60) -> int:
        """Generate and import the vehicles of the working day that starts with this shift
        (plus a margin that covers the frozen zone and the stations' offsets)."""
        cal = self.line.calendar
        day_windows = cal.shift_windows(cal.local_date(shift_start))
        day_end = max(end for _, _, end in day_windows)
        takts = int(cal.working_time_between(shift_start, day_end) / self.line.takt)
        count = takts + extra + max(s.offset_takts for s in self.line.stations)
        generated = generate_vehicles(self.mix, count, self.seed)
        rows = tuple(
            c.SequenceRow(f"generated vehicle {i + 1}", Vehicle(g.order_id, g.model, dict(g.options), g.vin))
            for i, g in enumerate(generated)
        )
        self.app.bus.handle(c.ImportSequence(self.line.code, rows, source=f"vehicle mix, seed {self.seed}"))
        self._relay()
        return count

    def lead_in(self, shift_start: datetime, every: timedelta = timedelta(minutes=5)) -> int:
        """Let the hours before the shift pass (no broadcasts yet), so that call-offs triggered
        by lead time go out when their issue point comes, as they would on a running plant."""
        t = max(self.clock.now(), shift_start - lead_in_span(self.plant, self.line.code))
        issued = 0
        while t < shift_start:
            self.clock.set(t)
            issued += self.app.bus.handle(c.Tick(t, issue_ahead=every)).lines_issued
            self._relay()
            self._acknowledge()
            self.floor.maybe_step(t)
            t += every
        self.clock.set(shift_start)
        return issued

    # ------------------------------------------------------------------ the run
    def run(self, shift_name: str, start: datetime, end: datetime, on_takt: Callable[[Snapshot], None] | None = None) -> ShiftSummary:
        """Play the shift one takt of clock time at a time: in working time the feed
        broadcasts (or misbehaves, as planned from the seed); in breaks only time passes.
        Time is ticked every takt, so lead-time call-offs go out on time across breaks too."""
        cal = self.line.calendar
        takt = self.line.takt
        total = int(cal.working_time_between(start, end) / takt)
        plan = self._disturbances(total)
        skipped: list[str] = []
        stop_left = 0
        broadcast = 0
        step = 0
        t = start
        while t < end:
            self.clock.set(t)
            event = ""
            if not cal.is_working(t):
                pass
            elif stop_left:
                stop_left -= 1
                event = "line stop: no broadcast"
                step += 1
            else:
                kind = plan.get(step)
                head = self._head(2, skipped)
                if kind == "line_stop":
                    stop_left = self.line.silent_feed_takts + 2
                    event = f"line stop for {stop_left + 1} takts"
                elif kind == "gap" and len(head) >= 2:
                    skipped.append(head[0])
                    broadcast += self._broadcast(head[1])
                    event = f"feed skipped {head[0]}"
                elif kind == "late" and skipped:
                    late = skipped.pop(0)
                    broadcast += self._broadcast(late)
                    event = f"skipped vehicle {late} arrives late"
                elif kind == "duplicate" and self._last_broadcast():
                    self._broadcast(self._last_broadcast())
                    event = "feed repeated a telegram"
                elif kind == "unknown":
                    self._broadcast(f"X{self.rng.randint(100000, 999999)}")
                    event = "feed sent an unknown vehicle"
                elif kind == "wrong_number" and head:
                    broadcast += self._broadcast(head[0], rolling_no=self.rng.randint(0, self.line.rolling_modulus - 1))
                    event = "feed sent a wrong rolling number"
                elif kind and kind.startswith("change"):
                    event = self._change(kind)
                    head = self._head(1, skipped)
                    if head:
                        broadcast += self._broadcast(head[0])
                elif head:
                    broadcast += self._broadcast(head[0])
                step += 1
            self.app.bus.handle(c.Tick(t, issue_ahead=takt))
            self._relay()
            self._acknowledge()
            self.floor.maybe_step(t)
            if event:
                self.events.append(f"{t:%H:%M} {event}")
            if on_takt is not None:
                on_takt(self.snapshot(shift_name, broadcast, step, total, event))
            t += takt
        self.clock.set(end)
        self.app.bus.handle(c.Tick(end))
        self._relay()
        return self.summary(shift_name, start, end, broadcast)

    def play(
        self, start: datetime, takts: int, *, acknowledge_until: int = 0, after_takt: Callable[[int, datetime], None] | None = None,
    ) -> datetime:
        """An undisturbed stretch of ``takts`` takts from ``start``: at each, the next planned
        vehicle is broadcast, time is ticked and the outbox relayed; the suppliers acknowledge
        what they received during the first ``acknowledge_until`` takts; ``after_takt(i, t)``
        runs last (the floor, say). The clock is left at the end of the stretch, which is
        returned."""
        takt = self.line.takt
        t = start
        for i in range(takts):
            self.clock.set(t)
            head = self._head(1, [])
            if head:
                self._broadcast(head[0])
            self.app.bus.handle(c.Tick(t, issue_ahead=takt))
            self._relay()
            if i < acknowledge_until:
                self._acknowledge()
            if after_takt is not None:
                after_takt(i, t)
            t += takt
        self.clock.set(t)
        return t

    def _disturbances(self, total: int) -> dict[int, str]:
        """Takt index -> disturbance, drawn from the seed, spread over the shift."""
        kinds = [
            "change_move", "change_spec", "change_cancel", "change_insert", "change_swap", "change_frozen",
            "gap", "duplicate", "unknown", "wrong_number", "line_stop", "change_move", "change_spec",
        ]
        slots = self.rng.sample(range(10, max(total - 30, 40)), len(kinds))
        plan = dict(zip(sorted(slots), kinds, strict=True))
        gap_at = next(i for i, k in plan.items() if k == "gap")
        plan[min(gap_at + 12, total - 1)] = "late"
        return plan

    def replan(self) -> None:
        """Read the pearl chain again before the next broadcast: someone else may have changed it."""
        self._planned_order = None

    def _head(self, n: int, skipped: list[str]) -> list[str]:
        """The next ``n`` planned vehicles physically there (not the ones the feed skipped).
        The planned order is read again only after the chain was changed."""
        if self._planned_order is None:
            with self.app.uow:
                chain = self.app.uow.chains.get(self.line)
            self._planned_order = [e.order_id for e in chain.planned()]
        return [o for o in self._planned_order if o not in skipped][:n]

    def _last_broadcast(self) -> str | None:
        with self.app.uow:
            chain = self.app.uow.chains.get(self.line)
        seq = chain.feed.last_broadcast_seq_no
        done = [e for e in chain.entries() if e.status is VehicleStatus.BROADCAST and e.seq_no == seq]
        return done[0].order_id if done else None

    def _broadcast(self, order_id: str, rolling_no: int | None = None) -> int:
        outcome = self.app.bus.handle(c.BroadcastVehicle(self.line.code, order_id, self.clock.now(), rolling_no))
        if outcome.applied and self._planned_order is not None and order_id in self._planned_order:
            self._planned_order.remove(order_id)
        return 1 if outcome.applied else 0

    def _change(self, kind: str) -> str:
        self._planned_order = None
        with self.app.uow:
            chain = self.app.uow.chains.get(self.line)
        now = self.clock.now()
        planned = chain.planned()
        frozen = chain.frozen_count(now)
        free = planned[frozen + 5 :]
        if len(free) < 10:
            return ""
        pick = self.rng.choice(free[: len(free) // 2])
        try:
            if kind == "change_move":
                target = self.rng.choice(free[: len(free) // 2])
                if target.order_id == pick.order_id:
                    return ""
                self.app.bus.handle(c.MoveVehicle(self.line.code, order_id=pick.order_id, after=target.order_id, actor="planner", reason="paint rework"))
                self.changes["move"] += 1
                return f"planner moved {pick.order_id} after {target.order_id}"
            if kind == "change_swap":
                other = self.rng.choice(free[: len(free) // 2])
                if other.order_id == pick.order_id:
                    return ""
                self.app.bus.handle(c.SwapVehicles(self.line.code, first=pick.order_id, second=other.order_id, actor="planner"))
                self.changes["swap"] += 1
                return f"planner swapped {pick.order_id} and {other.order_id}"
            if kind == "change_cancel":
                self.app.bus.handle(c.CancelVehicle(self.line.code, order_id=pick.order_id, actor="planner", reason="order withdrawn"))
                self.changes["cancel"] += 1
                return f"planner cancelled {pick.order_id}"
            if kind == "change_spec":
                g = generate_vehicles(self.mix, 1, self.rng.randint(1, 10**9))[0]
                self.app.bus.handle(c.ChangeVehicleSpec(self.line.code, order_id=pick.order_id, model=g.model, options=dict(g.options), actor="sales", reason="customer changed the order"))
                self.changes["spec_change"] += 1
                return f"spec change of {pick.order_id}"
            if kind == "change_insert":
                g = generate_vehicles(self.mix, 1, self.rng.randint(1, 10**9), start_order=900000)[0]
                order_id = f"INS{self.rng.randint(10000, 99999)}"
                self.app.bus.handle(c.InsertVehicle(self.line.code, vehicle=Vehicle(order_id, g.model, dict(g.options), g.vin), before=pick.order_id, actor="planner", reason="urgent fleet order"))
                self.changes["insert"] += 1
                return f"planner inserted {order_id} before {pick.order_id}"
            if kind == "change_frozen" and frozen >= 4:
                a, b = planned[1], planned[3]
                self.app.bus.handle(c.SwapVehicles(self.line.code, first=a.order_id, second=b.order_id, override=True, actor="shift lead", reason="body shop delay"))
                self.changes["swap"] += 1
                return f"shift lead swapped {a.order_id} and {b.order_id} inside the frozen zone"
        except JisflowError as exc:
            return f"change refused: {exc.message}"
        return ""

    def _relay(self) -> None:
        self.published += self.app.relay().published

    def _acknowledge(self) -> None:
        """Suppliers acknowledge every call-off they received."""
        with self.app.uow:
            sent = self.app.uow.calloffs.lines(CallOffLineFilter(line=self.line.code, states=(CallOffState.SENT,)))
        for number in sorted({ln.number for ln in sent}):
            keys = tuple(sorted((ln.order_id, ln.family) for ln in sent if ln.number == number))
            self.app.bus.handle(c.TransitionCallOffLines(number, CallOffState.ACKNOWLEDGED, keys=keys, actor="supplier"))
        self._relay()

    # ------------------------------------------------------------------ views
    def snapshot(self, shift: str, broadcast: int, done: int, total: int, event: str) -> Snapshot:
        uow = self.app.uow
        with uow:
            chain = uow.chains.get(self.line)
            counts = uow.calloffs.count_by_supplier_and_state(self.line.code)
            alerts = uow.alerts.list(AlertFilter(line=self.line.code, limit=8))
            alert_counts = Counter(uow.alerts.count_by_kind(self.line.code))
        now = self.clock.now()
        times = chain.planned_broadcast_times(now)
        frozen = chain.frozen_count(now)
        next_vehicles = [
            {"seq_no": e.seq_no, "order_id": e.order_id, "model": e.vehicle.model, "options": e.vehicle.options,
             "planned_at": times[e.order_id], "frozen": i < frozen, "flagged": e.flagged}
            for i, e in enumerate(chain.planned()[:8])
        ]
        by_supplier: dict[str, Counter] = {}
        for (supplier, state), n in counts.items():
            by_supplier.setdefault(supplier, Counter())[state] += n
        return Snapshot(
            now, shift, broadcast, done, total, next_vehicles, by_supplier,
            [{"raised_at": a.raised_at, "kind": a.kind.value, "severity": a.severity.value, "message": a.message} for a in alerts],
            alert_counts, event,
        )

    def summary(self, shift: str, start: datetime, end: datetime, broadcast: int) -> ShiftSummary:
        uow = self.app.uow
        with uow:
            chain = uow.chains.get(self.line)
            counts = uow.calloffs.count_by_supplier_and_state(self.line.code)
            lines = uow.calloffs.lines(CallOffLineFilter(line=self.line.code))
            jit = uow.jit_calls.list(self.line.code)
            alerts = uow.alerts.count_by_kind(self.line.code)
        by_supplier: Counter = Counter()
        by_state: Counter = Counter()
        for (supplier, state), n in counts.items():
            by_supplier[supplier] += n
            by_state[state] += n
        return ShiftSummary(
            plant=self.plant.code, line=self.line.code, shift=shift, start=start, end=end,
            vehicles_planned=len(chain), vehicles_broadcast=broadcast, calloffs=len({ln.number for ln in lines}),
            calloff_lines=dict(by_supplier), calloff_lines_by_state=dict(by_state), jit_calls=len(jit),
            alerts=alerts, sequence_changes=dict(self.changes), messages_published=self.published, seed=self.seed,
            extra={"events": list(self.events), **self.floor.summary()},
        )

"""Command handlers: plain functions of (command, unit of work, clock).

Every handler runs in one unit of work, checks everything before it changes anything, and
hands the events it wants announced to ``uow.publish`` (outbox in the same transaction, bus
after commit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jisflow.domain.alerts import Alert
from jisflow.domain.calloff import CallOffLine, CallOffState, CallWindow, StoredCalls
from jisflow.domain.errors import ExplosionError, NotFound, ProblemCollector, ValidationError, at
from jisflow.domain.events import AlertAcknowledged, Event, PlantLoaded, SequenceImported
from jisflow.domain.explosion import check_vehicle, rule_problem
from jisflow.domain.issuing import IssueResult, reconcile
from jisflow.domain.plant import CallOffTrigger, Plant, SupplyMode
from jisflow.domain.sequence import ChangeKind, PearlChain, SequenceChange, Vehicle, unroll
from jisflow.services import commands as c
from jisflow.services.audit import SYSTEM
from jisflow.services.clock import Clock
from jisflow.services.unit_of_work import AbstractUnitOfWork


@dataclass
class Outcome:
    """What a command did, for the caller (CLI, API, simulation)."""

    applied: bool = True
    duplicate: bool = False
    change: SequenceChange | None = None
    alerts: list[Alert] = field(default_factory=list)
    calloffs: list[str] = field(default_factory=list)  # numbers of new call-offs
    lines_issued: int = 0
    lines_changed: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def _now(cmd_at: datetime | None, clock: Clock) -> datetime:
    if cmd_at is None:
        return clock.now()
    if cmd_at.tzinfo is None:
        raise ValidationError(f"time {cmd_at.isoformat()} has no time zone; give it in UTC or with an offset")
    return cmd_at


def _seen(uow: AbstractUnitOfWork, message_id: str | None, scope: str, now: datetime) -> bool:
    """True when this message was applied before (a replay); registers it otherwise."""
    if not message_id:
        return False
    return not uow.inbox.claim(f"{scope}:{message_id}", now)


class _IssuingState(Mapping[tuple[str, str], CallOffLine]):
    """The live call-off lines of the vehicles being issued, read when first needed; when the
    summarized calls are asked for first, both are read together (``uow.issuing_state``)."""

    def __init__(self, uow: AbstractUnitOfWork, line: str, order_ids: list[str]) -> None:
        self._uow, self._line, self._order_ids = uow, line, order_ids
        self._lines: dict[tuple[str, str], CallOffLine] | None = None

    def calls(self, windows: set[CallWindow]) -> StoredCalls:
        if self._lines is not None:
            return self._uow.jit_calls.gather(self._line, self._order_ids, windows)
        self._lines, stored = self._uow.issuing_state(self._line, self._order_ids, windows)
        return stored

    @property
    def _read(self) -> dict[tuple[str, str], CallOffLine]:
        if self._lines is None:
            self._lines = self._uow.calloffs.live_lines_for(self._line, self._order_ids)
        return self._lines

    def __getitem__(self, key: tuple[str, str]) -> CallOffLine:
        return self._read[key]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._read)

    def __len__(self) -> int:
        return len(self._read)


def _settle(
    uow: AbstractUnitOfWork, plant: Plant, chain: PearlChain, now: datetime, reason: str,
    order_ids: Iterable[str] | None = None, outcome: Outcome | None = None, ahead: timedelta = timedelta(0),
) -> IssueResult:
    """Bring the calls of the touched vehicles in line with the chain, then store it all."""
    ids = list(chain.dirty) if order_ids is None else list(order_ids)
    subjects = {ch.order_id for ch in chain.changes} | {str(ch.details["with"]) for ch in chain.changes if "with" in ch.details}
    kept = frozenset(
        o for ch in chain.changes if ch.kind is not ChangeKind.RESEQUENCE for o in ch.renumbered if o not in subjects
    )
    existing = _IssuingState(uow, chain.line_code, ids)
    result = reconcile(plant, chain, ids, now, existing, existing.calls, reason, ahead, kept)
    uow.chains.save(chain)
    uow.calloffs.add_all(result.new_calloffs)
    if result.changed_lines:
        uow.calloffs.save_lines(result.changed_lines)
    if result.changed_calls:
        uow.jit_calls.save(result.changed_calls)
    alerts = chain.alerts + result.alerts
    for alert in alerts:
        uow.alerts.add(alert)
    uow.publish([*chain.events, *result.events], now)
    chain.alerts.clear()
    chain.events.clear()
    if outcome is not None:
        outcome.alerts.extend(alerts)
        outcome.calloffs.extend(co.number for co in result.new_calloffs)
        outcome.lines_issued += sum(len(co.lines) for co in result.new_calloffs)
        outcome.lines_changed += len(result.changed_lines)
    return result


def load_plant(cmd: c.LoadPlant, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = clock.now()
    with uow:
        uow.plants.put(cmd.plant, cmd.definition, now)
        uow.publish([PlantLoaded(cmd.plant.code, tuple(line.code for line in cmd.plant.lines), len(cmd.plant.families))], now)
        uow.commit()
    return Outcome(details={"plant": cmd.plant.code})


def import_sequence(cmd: c.ImportSequence, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    """Append vehicles to a line's pearl chain. Every row is checked (fields, VIN, duplicates,
    numbers, and that each family selects exactly one part); one bad row rejects the whole
    import with every problem named, and nothing is applied."""
    now = clock.now()
    if not cmd.rows:
        raise ValidationError(f"the sequence for line {cmd.line} holds no vehicle" + (f" ({cmd.source})" if cmd.source else ""))
    with uow:
        if _seen(uow, cmd.message_id, f"import:{cmd.line}", now):
            return Outcome(applied=False, duplicate=True)
        plant = uow.plants.of_line(cmd.line)
        line = plant.line(cmd.line)
        families = plant.families_of_line(cmd.line)
        chain = uow.chains.get(line)
        found = ProblemCollector()
        rows = []
        reference = chain.last_seq_no()
        for row in cmd.rows:
            found.problems.extend(row.vehicle.vin_problems(plant.vin_check_digit, row.where))
            for problem in check_vehicle(families, row.vehicle, row.where):
                found.problems.append(problem)
            seq_no = row.seq_no
            if seq_no is None and row.rolling_no is not None:
                try:
                    seq_no = unroll(row.rolling_no, reference, line.rolling_modulus)
                except ValidationError as exc:
                    found.add(at(row.where, "rolling_no"), exc.message)
            if seq_no is not None:
                reference = max(reference, seq_no)
            rows.append((row.where, row.vehicle, seq_no))
        try:
            chain.append(rows)
        except ValidationError as exc:
            found.problems.extend(exc.problems)
        source = f" from {cmd.source}" if cmd.source else ""
        found.raise_if_any(f"sequence import{source} for line {cmd.line} rejected: {len(found.problems)} problem(s), nothing applied")
        numbers = [e.seq_no for e in chain.dirty.values()]
        outcome = Outcome(details={"vehicles": len(numbers), "first_seq_no": min(numbers), "last_seq_no": max(numbers)})
        chain.events.append(SequenceImported(cmd.line, len(numbers), min(numbers), max(numbers)))
        _settle(uow, plant, chain, now, "sequence import", outcome=outcome)
        uow.commit()
    return outcome


def broadcast_vehicle(cmd: c.BroadcastVehicle, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    with uow:
        if _seen(uow, cmd.message_id, f"broadcast:{cmd.line}", now):
            return Outcome(applied=False, duplicate=True)
        plant = uow.plants.of_line(cmd.line)
        chain = uow.chains.get(plant.line(cmd.line))
        entry = chain.broadcast(cmd.order_id, now, rolling_no=cmd.rolling_no)
        outcome = Outcome(applied=entry is not None)
        if entry is not None:
            outcome.details = {"order_id": entry.order_id, "seq_no": entry.seq_no, "rolling_no": chain.rolling_no(entry.seq_no)}
        _settle(uow, plant, chain, now, "broadcast", outcome=outcome)
        uow.commit()
    return outcome


def broadcast_next(cmd: c.BroadcastNext, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    if cmd.count < 1:
        raise ValidationError(f"count must be at least 1, not {cmd.count}")
    now = _now(cmd.at, clock)
    with uow:
        plant = uow.plants.of_line(cmd.line)
        chain = uow.chains.get(plant.line(cmd.line))
        heads = chain.planned()[: cmd.count]
        if not heads:
            raise NotFound(f"line {cmd.line} has no planned vehicle left to broadcast")
        outcome = Outcome()
        for entry in heads:
            chain.broadcast(entry.order_id, now)
        outcome.details = {"order_ids": [e.order_id for e in heads], "seq_nos": [e.seq_no for e in heads]}
        _settle(uow, plant, chain, now, "broadcast", outcome=outcome)
        uow.commit()
    return outcome


@contextmanager
def _acting(uow: AbstractUnitOfWork, actor: str) -> Iterator[None]:
    """Record the command's actor in the audit log, unless the caller already named one (the
    API names the authenticated user)."""
    previous = uow.actor
    if previous == SYSTEM and actor:
        uow.actor = actor
    try:
        yield
    finally:
        uow.actor = previous


def _change(cmd: c.ChangeCommand, uow: AbstractUnitOfWork, clock: Clock, apply: Callable[[PearlChain, Plant, datetime], SequenceChange]) -> Outcome:
    now = clock.now()
    with _acting(uow, cmd.actor), uow:
        if _seen(uow, cmd.message_id, f"change:{cmd.line}", now):
            return Outcome(applied=False, duplicate=True)
        plant = uow.plants.of_line(cmd.line)
        chain = uow.chains.get(plant.line(cmd.line))
        change = apply(chain, plant, now)
        outcome = Outcome(change=change)
        _settle(uow, plant, chain, now, f"{change.kind.value} of {change.order_id}", outcome=outcome)
        uow.commit()
    return outcome


def _explodable(plant: Plant, line: str, vehicle: Vehicle) -> None:
    """The vehicle may join the line: its VIN is one the plant takes, and each family of the
    line selects exactly one part for it."""
    wrong_vin = vehicle.vin_problems(plant.vin_check_digit)
    if wrong_vin:
        raise ValidationError(f"vehicle {vehicle.order_id}'s VIN is refused by plant {plant.code}", problems=wrong_vin)
    problems = check_vehicle(plant.families_of_line(line), vehicle)
    if problems:
        raise ExplosionError(f"vehicle {vehicle.order_id} cannot be built on line {line}", problems=problems)


def insert_vehicle(cmd: c.InsertVehicle, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    def apply(chain: PearlChain, plant: Plant, now: datetime) -> SequenceChange:
        _explodable(plant, cmd.line, cmd.vehicle)
        return chain.insert(cmd.vehicle, now=now, before=cmd.before, after=cmd.after, override=cmd.override, actor=cmd.actor, reason=cmd.reason)

    return _change(cmd, uow, clock, apply)


def cancel_vehicle(cmd: c.CancelVehicle, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    return _change(cmd, uow, clock, lambda chain, plant, now: chain.cancel(cmd.order_id, now=now, override=cmd.override, actor=cmd.actor, reason=cmd.reason))


def move_vehicle(cmd: c.MoveVehicle, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    return _change(
        cmd, uow, clock,
        lambda chain, plant, now: chain.move(cmd.order_id, now=now, before=cmd.before, after=cmd.after, override=cmd.override, actor=cmd.actor, reason=cmd.reason),
    )


def swap_vehicles(cmd: c.SwapVehicles, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    return _change(cmd, uow, clock, lambda chain, plant, now: chain.swap(cmd.first, cmd.second, now=now, override=cmd.override, actor=cmd.actor, reason=cmd.reason))


def change_vehicle_spec(cmd: c.ChangeVehicleSpec, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    def apply(chain: PearlChain, plant: Plant, now: datetime) -> SequenceChange:
        entry = chain.get(cmd.order_id)
        options = dict(entry.vehicle.options)
        for key, value in cmd.options.items():
            if value is None:
                options.pop(key, None)
            else:
                options[key] = value
        _explodable(plant, cmd.line, Vehicle(cmd.order_id, cmd.model or entry.vehicle.model, options, cmd.vin or entry.vehicle.vin))
        return chain.change_spec(cmd.order_id, now=now, model=cmd.model, options=cmd.options, vin=cmd.vin, override=cmd.override, actor=cmd.actor, reason=cmd.reason)

    return _change(cmd, uow, clock, apply)


LEAD_TIME_MARGIN = timedelta(minutes=30)


def _lead_time_due(plant: Plant, chain: PearlChain, now: datetime, until: datetime) -> dict[str, set[str]]:
    """Planned vehicles whose lead-time-triggered calls fall due by ``until``: order id -> the
    families (needing a part) that are due.

    Only issue points after the line's watermark (the previous look, less a margin for
    estimates that moved earlier) are looked at; older ones were issued then, and changes
    issue their own calls when they happen."""
    line = chain.line
    cal = line.calendar
    routes = [
        (f, line.station(f.station).offset_takts * line.takt)
        for f in plant.families_of_line(line.code)
        if f.route.trigger is CallOffTrigger.LEAD_TIME and f.route.mode in (SupplyMode.JIS, SupplyMode.JIT)
    ]
    due: dict[str, set[str]] = {}
    if not routes:
        return due
    since = chain.feed.issued_until - LEAD_TIME_MARGIN if chain.feed.issued_until is not None else None
    # broadcast time b is due for route f when add_working_time(b, offset) - lead <= until
    latest = max(cal.subtract_working_time(until + f.route.lead_time, offset) for f, offset in routes) + line.takt
    earliest = None if since is None else min(cal.subtract_working_time(since + f.route.lead_time, offset) for f, offset in routes) - line.takt
    for entry, broadcast_at in chain.planned_between(now, earliest, latest):
        needed = set()
        for f, offset in routes:
            issue_at = cal.add_working_time(broadcast_at, offset) - f.route.lead_time
            if issue_at <= until and (since is None or issue_at > since):
                rule = rule_problem(f, entry.vehicle)[0]
                if rule is not None and rule.part_number is not None:
                    needed.add(f.code)
        if needed:
            due[entry.order_id] = needed
    return due


def tick(cmd: c.Tick, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    outcome = Outcome()
    with uow:
        for plant in uow.plants.list():
            for line in plant.lines:
                chain = uow.chains.get(line)
                if not len(chain):
                    continue
                chain.check_silence(now)
                due = _lead_time_due(plant, chain, now, now + cmd.issue_ahead)
                candidates: list[str] = []
                if due:
                    have = uow.calloffs.live_lines_for(line.code, due)
                    counted = uow.jit_calls.counting(line.code, due)
                    for order_id, families in due.items():
                        done = {f for o, f in have if o == order_id} | {call.family for call in counted.get(order_id, [])}
                        if families - done:
                            candidates.append(order_id)
                chain.feed.issued_until = now + cmd.issue_ahead
                chain.feed_dirty = True
                _settle(uow, plant, chain, now, "issue point reached", order_ids=candidates, outcome=outcome, ahead=cmd.issue_ahead)
        uow.commit()
    return outcome


def confirm_calloff_sent(cmd: c.ConfirmCallOffSent, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    with uow:
        calloff = uow.calloffs.get(cmd.number)
        changed = [ln for ln in calloff.lines if ln.state in (CallOffState.CREATED, CallOffState.AMENDED)]
        for ln in changed:
            ln.transition(CallOffState.SENT, now, "message transmitted")
        _store_line_changes(uow, changed, now)
        uow.commit()
    return Outcome(lines_changed=len(changed))


def transition_calloff_lines(cmd: c.TransitionCallOffLines, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    """Move lines of a call-off to a new state; one illegal move refuses the whole request."""
    now = _now(cmd.at, clock)
    with _acting(uow, cmd.actor), uow:
        calloff = uow.calloffs.get(cmd.number)
        live = [ln for ln in calloff.lines if ln.live]
        lines = live
        if cmd.order_ids:
            missing = sorted(set(cmd.order_ids) - {ln.order_id for ln in live})
            if missing:
                raise NotFound(f"call-off {cmd.number} has no live line for vehicle(s) {', '.join(missing)}")
            lines = [ln for ln in lines if ln.order_id in cmd.order_ids]
        if cmd.keys:
            missing_keys = sorted(set(cmd.keys) - {(ln.order_id, ln.family) for ln in live})
            if missing_keys:
                raise NotFound(f"call-off {cmd.number} has no live line for " + ", ".join(f"{o}/{f}" for o, f in missing_keys))
            lines = [ln for ln in lines if (ln.order_id, ln.family) in cmd.keys]
        found = ProblemCollector()
        for ln in lines:
            try:
                ln.transition(cmd.to, now, f"by {cmd.actor}")
            except Exception as exc:  # collect every refusal, then raise once
                found.add(f"{cmd.number}/{ln.order_id}/{ln.family}", str(exc))
        found.raise_if_any(f"call-off {cmd.number}: {len(found.problems)} line(s) cannot go to {cmd.to.value}; nothing changed")
        _store_line_changes(uow, lines, now)
        uow.commit()
    return Outcome(lines_changed=len(lines))


def _store_line_changes(uow: AbstractUnitOfWork, lines: list, now: datetime) -> None:
    events: list[Event] = []
    for ln in lines:
        events.extend(ln.events)
        ln.events.clear()
    uow.calloffs.save_lines(lines)
    uow.publish(events, now)


def acknowledge_alert(cmd: c.AcknowledgeAlert, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    if not cmd.by.strip():
        raise ValidationError("an alert is acknowledged by someone: give a name")
    with _acting(uow, cmd.by), uow:
        now = clock.now()
        alert = uow.alerts.acknowledge(cmd.alert_id, cmd.by, now)
        if alert.acknowledged_at == now:  # acknowledged now, not before
            uow.publish([AlertAcknowledged(cmd.alert_id, alert.line, cmd.by)], now)
        uow.commit()
    return Outcome(details={"alert_id": alert.id, "acknowledged_by": alert.acknowledged_by})


COMMAND_HANDLERS: dict[type[c.Command], Callable[..., Outcome]] = {
    c.LoadPlant: load_plant,
    c.ImportSequence: import_sequence,
    c.BroadcastVehicle: broadcast_vehicle,
    c.BroadcastNext: broadcast_next,
    c.InsertVehicle: insert_vehicle,
    c.CancelVehicle: cancel_vehicle,
    c.MoveVehicle: move_vehicle,
    c.SwapVehicles: swap_vehicles,
    c.ChangeVehicleSpec: change_vehicle_spec,
    c.Tick: tick,
    c.ConfirmCallOffSent: confirm_calloff_sent,
    c.TransitionCallOffLines: transition_calloff_lines,
    c.AcknowledgeAlert: acknowledge_alert,
}

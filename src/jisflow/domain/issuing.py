"""Issuing and reconciling calls for vehicles: the rules that turn sequenced demand into JIS
call-off lines and JIT summarized calls, and keep them true when the sequence changes.

For each vehicle and family with a JIS route:

- no live line yet and the issue point reached (the vehicle was broadcast, or, for a route
  triggered by lead time, its need time minus the lead time has come): a new line;
- a live line and the vehicle cancelled, or no part needed any more: the line is cancelled;
- a live line and a new number, part, quantity or VIN: the line is amended.

JIT routes add the vehicle's quantity to the summarized call of the window its need time falls
in, and take it out of the old window when the need time moves.

Everything is pure: the caller loads the vehicles' existing lines and calls and stores what
comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jisflow.domain.alerts import Alert, AlertKind
from jisflow.domain.calloff import CallOff, CallOffLine, CallOffState, CallWindow, StoredCalls, SummarizedCall, new_calloff_number, window_of
from jisflow.domain.errors import ExplosionError, IllegalTransition
from jisflow.domain.events import AlertRaised, CallOffIssued, Event
from jisflow.domain.explosion import DemandLine, explode_vehicle
from jisflow.domain.plant import CallOffTrigger, PartFamily, Plant, SupplyMode
from jisflow.domain.sequence import ChainEntry, PearlChain, VehicleStatus


@dataclass
class IssueResult:
    new_calloffs: list[CallOff] = field(default_factory=list)
    changed_lines: list[CallOffLine] = field(default_factory=list)
    changed_calls: list[SummarizedCall] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def alert(self, alert: Alert) -> None:
        self.alerts.append(alert)
        self.events.append(AlertRaised(alert.kind.value, alert.severity.value, alert.line, alert.message, alert.order_id, alert.seq_no))


def issue_point_reached(family: PartFamily, entry: ChainEntry, demand: DemandLine, until: datetime) -> bool:
    """Whether the vehicle's call for this family is due by ``until``."""
    if entry.status is VehicleStatus.BROADCAST:
        return True
    if family.route.trigger is CallOffTrigger.LEAD_TIME:
        return until >= demand.need_time - family.route.lead_time
    return False


def reconcile(
    plant: Plant,
    chain: PearlChain,
    order_ids: Iterable[str],
    now: datetime,
    existing_lines: Mapping[tuple[str, str], CallOffLine],
    stored_calls: Callable[[set[CallWindow]], StoredCalls],
    reason: str,
    ahead: timedelta = timedelta(0),
    order_kept: frozenset[str] = frozenset(),
) -> IssueResult:
    """Issue, amend or cancel the calls of the given vehicles of ``chain``.

    Calls whose issue point comes before ``now + ahead`` are issued now: a caller that looks
    again only every few minutes passes that interval, so nothing goes out late between looks.
    ``order_kept`` names vehicles renumbered only because of a change to another vehicle.

    ``existing_lines`` maps (order id, family) to the live JIS line. ``stored_calls(windows)``
    gives, in one go, the summarized calls that count each of the vehicles and the stored calls
    of the windows the vehicles' JIT demand falls in; it is asked once, after the explosion, and
    only when the line has a JIT family.
    """
    line = chain.line
    families = plant.families_of_line(line.code)
    result = IssueResult()
    new_by_group: dict[tuple[str, str], CallOff] = {}
    late: dict[tuple[str, str], list[CallOffLine]] = {}
    calls: dict[tuple[str, str, str, datetime], SummarizedCall] = {}
    order_ids = list(order_ids)
    planned_times: dict[str, datetime] | None = None
    exploded: list[tuple[str, ChainEntry, dict[str, DemandLine] | ExplosionError]] = []
    for order_id in order_ids:
        entry = chain.get(order_id)
        demand: dict[str, DemandLine] | ExplosionError = {}
        if entry.status is not VehicleStatus.CANCELLED:
            if entry.broadcast_at is not None:
                broadcast_at = entry.broadcast_at
            elif len(order_ids) <= 8:
                broadcast_at = chain.broadcast_time_of(entry, now)
            else:
                if planned_times is None:
                    planned_times = chain.planned_broadcast_times(now)
                broadcast_at = planned_times[order_id]
            try:
                demand = {d.family: d for d in explode_vehicle(line, families, entry.vehicle, entry.seq_no, broadcast_at)}
            except ExplosionError as exc:
                demand = exc
        exploded.append((order_id, entry, demand))
    jit = [f for f in families if f.route.mode is SupplyMode.JIT]
    stored = StoredCalls()
    if jit and order_ids:
        stored = stored_calls({
            (f.code, d.part_number, window_of(d.need_time, f.route.jit_window)[0])
            for _, _, demand in exploded if isinstance(demand, dict)
            for f in jit if (d := demand.get(f.code)) is not None
        })
    for order_id, entry, demand in exploded:
        if isinstance(demand, ExplosionError):
            result.alert(Alert(AlertKind.EXPLOSION_FAILED, line.code, str(demand), now, order_id=order_id, seq_no=entry.seq_no))
            continue
        for family in families:
            route = family.route
            d = demand.get(family.code)
            if route.mode is SupplyMode.JIS:
                _reconcile_jis(family, entry, d, existing_lines.get((order_id, family.code)), chain, now, reason, result, new_by_group, late, now + ahead, order_id in order_kept)
            elif route.mode is SupplyMode.JIT:
                _reconcile_jit(family, entry, d, stored.counting.get(order_id, []), stored.windows, now, result, calls, now + ahead)
    for (supplier, point), lines_late in late.items():
        worst = max(now - ln.ship_by for ln in lines_late)
        first = min(lines_late, key=lambda ln: ln.seq_no)
        result.alert(
            Alert(
                AlertKind.LATE_CALL_OFF, line.code,
                f"{len(lines_late)} call-off line(s) to {supplier} for {point} issued after their latest despatch time "
                f"(up to {int(worst.total_seconds() // 60)} min late), first seq {first.seq_no}",
                now, order_id=first.order_id, seq_no=first.seq_no,
                details={"supplier": supplier, "unloading_point": point, "lines": len(lines_late)},
            )
        )
    for calloff in new_by_group.values():
        calloff.lines.sort(key=lambda ln: (ln.seq_no, ln.family))
        result.new_calloffs.append(calloff)
        result.events.append(
            CallOffIssued(
                calloff.number, calloff.supplier, calloff.unloading_point, calloff.line,
                tuple(
                    {"order_id": ln.order_id, "vin": ln.vin, "seq_no": ln.seq_no, "rolling_no": ln.rolling_no, "family": ln.family,
                     "part_number": ln.part_number, "quantity": ln.quantity, "station": ln.station,
                     "need_time": ln.need_time.isoformat(), "ship_by": ln.ship_by.isoformat()}
                    for ln in calloff.lines
                ),
            )
        )
    return result


def _reconcile_jis(family, entry, d, existing, chain, now, reason, result, new_by_group, late, until, order_kept) -> None:
    route = family.route
    if existing is not None and existing.live:
        try:
            if d is None:
                existing.transition(CallOffState.CANCELLED, now, reason if entry.status is VehicleStatus.CANCELLED else f"{reason}: no part needed")
                result.changed_lines.append(existing)
            elif existing.amend(
                now, seq_no=d.seq_no, rolling_no=chain.rolling_no(d.seq_no), part_number=d.part_number, quantity=d.quantity,
                need_time=d.need_time, ship_by=d.need_time - route.lead_time, vin=entry.vehicle.vin, reason=reason,
                order_kept=order_kept,
            ):
                result.changed_lines.append(existing)
        except IllegalTransition as exc:
            result.alert(Alert(AlertKind.CHANGE_AFTER_SHIPMENT, chain.line_code, f"{exc.message}; a physical action is needed", now, order_id=entry.order_id, seq_no=entry.seq_no, details={"family": family.code, "state": existing.state.value}))
        result.events.extend(existing.events)
        existing.events.clear()
        return
    if d is None or not issue_point_reached(family, entry, d, until):
        return
    group = (route.supplier or "", route.unloading_point)
    calloff = new_by_group.get(group)
    if calloff is None:
        calloff = new_by_group[group] = CallOff(new_calloff_number(), group[0], group[1], chain.line_code, now)
    line = CallOffLine(
        number=calloff.number, supplier=group[0], unloading_point=group[1], line=chain.line_code, order_id=entry.order_id,
        family=family.code, seq_no=d.seq_no, rolling_no=chain.rolling_no(d.seq_no), vin=entry.vehicle.vin,
        part_number=d.part_number, quantity=d.quantity, station=d.station, need_time=d.need_time,
        ship_by=d.need_time - route.lead_time, updated_at=now,
    )
    calloff.lines.append(line)
    if now > line.ship_by:
        late.setdefault(group, []).append(line)


def _reconcile_jit(family, entry, d, counted_in, stored_windows, now, result, calls, until) -> None:
    """Count the vehicle in the summarized call of its need time's window, and only there.

    ``calls`` holds one object per call key for the whole reconcile: a store may hand out a
    fresh copy of the same call for every vehicle, and each vehicle's contribution must land
    on the one object that is stored.
    """
    route = family.route
    mine = [calls.setdefault(c.key, c) for c in counted_in if c.family == family.code]
    reached = d is not None and (bool(mine) or issue_point_reached(family, entry, d, until))
    target_key = None
    if reached:
        start, end = window_of(d.need_time, route.jit_window)
        target_key = (family.line, family.code, d.part_number, start)
    for call in mine:
        if call.key != target_key and call.set_contribution(entry.order_id, 0, now):
            _changed(result, call)
    if target_key is None:
        for call in mine:
            result.events.extend(call.events)
            call.events.clear()
        return
    call = calls.get(target_key)
    if call is None:
        call = stored_windows.get((family.code, d.part_number, start)) or SummarizedCall(family.line, family.code, route.supplier or "", d.part_number, start, end)
        calls[target_key] = call
    if call.set_contribution(entry.order_id, d.quantity, now):
        _changed(result, call)
    for c in {id(c): c for c in [*mine, call]}.values():
        result.events.extend(c.events)
        c.events.clear()


def _changed(result: IssueResult, call: SummarizedCall) -> None:
    if not any(c is call for c in result.changed_calls):
        result.changed_calls.append(call)

"""What the control tower's pages show: plain data read through the unit of work and the
services' queries, shaped for one page each. Nothing here renders or changes anything.

Every function takes the wired jisflow and the principal who looks; a supplier sees only
its own call-offs, racks and shipments (the same object-level rule as the API:
``Principal.supplier`` narrows the filter, ``owns_supplier_object`` guards each object).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jisflow.bootstrap import App
from jisflow.domain import execution as ex
from jisflow.domain import kpi
from jisflow.domain.alerts import Alert
from jisflow.domain.auth import Principal
from jisflow.domain.calloff import CallOffLine, CallOffState
from jisflow.domain.errors import ExplosionError
from jisflow.domain.explosion import explode_vehicle
from jisflow.domain.plant import Plant, SupplyMode
from jisflow.domain.racks import RackState
from jisflow.domain.sequence import VehicleStatus
from jisflow.domain.transport import ShipmentState
from jisflow.services import execution as x
from jisflow.services import inventory as inv
from jisflow.services.unit_of_work import AlertFilter, CallOffLineFilter

S = CallOffState
PIPELINE_STATES = (S.CREATED, S.SENT, S.ACKNOWLEDGED, S.PICKED, S.PACKED, S.SHIPPED, S.DELIVERED, S.CONSUMED, S.AMENDED, S.CANCELLED)
NOT_YET_SHIPPED = (S.CREATED, S.SENT, S.ACKNOWLEDGED, S.PICKED, S.PACKED, S.AMENDED)
UNACKNOWLEDGED = (S.SENT,)


def plants(app: App) -> list[Plant]:
    with app.uow:
        return app.uow.plants.list()


def line_codes(app: App) -> list[str]:
    return [ln.code for p in plants(app) for ln in p.lines]


# --------------------------------------------------------------------------- overview
@dataclass
class LineStatus:
    line: str
    name: str
    takt_seconds: int
    last_seq_no: int | None
    last_order_id: str | None
    last_broadcast_at: datetime | None
    broadcast: int
    planned: int
    frozen: int
    next_order_id: str | None
    next_at: datetime | None


@dataclass
class Overview:
    now: datetime
    lines: list[LineStatus]
    open_alerts: dict[str, int]  # severity -> open alerts
    latest_alerts: list[Alert]
    kpis: dict[str, Any]
    calloff_lines: dict[str, int]  # state -> lines


def overview(app: App, who: Principal) -> Overview:
    now = app.clock.now()
    statuses = []
    with app.uow:
        found = app.uow.plants.list()
        for plant in found:
            for line in plant.lines:
                chain = app.uow.chains.get(line)
                done = [e for e in chain.entries() if e.status is VehicleStatus.BROADCAST]
                last = max(done, key=lambda e: e.broadcast_at or now, default=None)
                planned = chain.planned()
                times = chain.planned_broadcast_times(now) if planned else {}
                statuses.append(LineStatus(
                    line.code, line.name, line.takt_seconds, last.seq_no if last else None, last.order_id if last else None,
                    last.broadcast_at if last else None, len(done), len(planned), chain.frozen_count(now),
                    planned[0].order_id if planned else None, times.get(planned[0].order_id) if planned else None,
                ))
        alerts = app.uow.alerts.list(AlertFilter(open_only=True)) if who.supplier is None else []
        lines = app.uow.calloffs.lines(CallOffLineFilter(supplier=who.supplier))
    figures = x.kpis(app.uow).to_json() if who.supplier is None else {}
    return Overview(
        now, statuses, dict(Counter(a.severity.value for a in alerts)), alerts[:6], figures,
        dict(Counter(ln.state.value for ln in lines)),
    )


# --------------------------------------------------------------------------- sequence board
@dataclass
class BoardPart:
    family: str
    station: str
    part_number: str
    mode: str
    supplier: str | None
    need_time: datetime
    state: str | None  # the call-off line's state; None: not called off (yet, or not by vehicle)
    amendments: int = 0
    number: str | None = None


@dataclass
class BoardRow:
    seq_no: int
    rolling_no: int
    order_id: str
    model: str
    options: dict[str, str]
    status: str
    at: datetime | None  # broadcast time, or the planned one
    frozen: bool
    flagged: bool
    parts: list[BoardPart] = field(default_factory=list)


@dataclass
class Board:
    line: str
    station: str | None
    stations: list[tuple[str, str]]
    families: list[str]
    rows: list[BoardRow]
    now: datetime


def board(app: App, who: Principal, line: str, station: str | None = None, count: int = 16, start: str | None = None, behind: int = 2) -> Board:
    """The vehicles around the broadcast point in sequence order (the last ``behind``
    broadcast ones, then the planned ones; or from the order or sequence number ``start``),
    each with its parts for ``station`` (default: every station) and their call-off states."""
    now = app.clock.now()
    with app.uow:
        plant = app.uow.plants.of_line(line)
        found = plant.line(line)
        chain = app.uow.chains.get(found)
        entries = chain.entries()
        planned = chain.planned()
        frozen = {e.order_id for e in planned[: chain.frozen_count(now)]}
        times = chain.planned_broadcast_times(now)
        if start:
            key = start.strip()
            index = next((i for i, e in enumerate(entries) if e.order_id == key or str(e.seq_no) == key or str(chain.rolling_no(e.seq_no)) == key), None)
            index = 0 if index is None else index
        else:
            first_planned = next((i for i, e in enumerate(entries) if e.status is VehicleStatus.PLANNED), len(entries))
            index = max(0, first_planned - behind)
        shown = [e for e in entries[index:] if e.status is not VehicleStatus.CANCELLED][:count]
        live = app.uow.calloffs.live_lines_for(line, [e.order_id for e in shown])
    families = [f for f in plant.families_of_line(line) if station is None or f.station == station]
    rows = []
    for e in shown:
        at = e.broadcast_at if e.broadcast_at is not None else times.get(e.order_id)
        row = BoardRow(e.seq_no, chain.rolling_no(e.seq_no), e.order_id, e.vehicle.model, dict(e.vehicle.options), e.status.value, at,
                       e.order_id in frozen or e.status is not VehicleStatus.PLANNED, e.flagged)
        if at is not None:
            try:
                exploded = explode_vehicle(found, families, e.vehicle, e.seq_no, at)
            except ExplosionError:
                exploded = []
            for d in sorted(exploded, key=lambda d: (d.station, d.family)):
                ln = live.get((e.order_id, d.family))
                if ln is not None and not who.owns_supplier_object(ln.supplier):
                    continue
                if who.supplier is not None and ln is None:
                    continue
                row.parts.append(BoardPart(
                    d.family, d.station, ln.part_number if ln else d.part_number, d.mode.value, d.supplier,
                    ln.need_time if ln else d.need_time, ln.state.value if ln else None, ln.amendments if ln else 0, ln.number if ln else None,
                ))
        rows.append(row)
    stations = [(s.code, s.name) for s in found.stations]
    return Board(line, station, stations, sorted({f.code for f in families}), rows, now)


# --------------------------------------------------------------------------- call-off pipeline
@dataclass
class PipelineLine:
    number: str
    supplier: str
    order_id: str
    seq_no: int
    family: str
    part_number: str
    state: str
    need_time: datetime
    ship_by: datetime
    late_minutes: int  # minutes past the ship-by time without having shipped; 0: not late
    amendments: int


@dataclass
class Pipeline:
    now: datetime
    supplier: str | None
    by_supplier: dict[str, dict[str, int]]  # supplier -> state -> lines
    open_lines: list[PipelineLine]  # not yet shipped, by ship-by time
    to_acknowledge: list[tuple[str, int, datetime]]  # call-off number, lines waiting, earliest need
    late: int


def pipeline(app: App, who: Principal, supplier: str | None = None, line: str | None = None, limit: int = 200) -> Pipeline:
    """Call-off lines by supplier and state, the lines not yet shipped with their lateness,
    and the call-offs waiting for an acknowledgement. A supplier sees only its own."""
    if who.supplier is not None:
        supplier = who.supplier
    now = app.clock.now()
    with app.uow:
        lines = app.uow.calloffs.lines(CallOffLineFilter(line=line, supplier=supplier))
    lines = [ln for ln in lines if who.owns_supplier_object(ln.supplier)]
    by_supplier: dict[str, Counter] = defaultdict(Counter)
    for ln in lines:
        by_supplier[ln.supplier][ln.state.value] += 1
    waiting = sorted((ln for ln in lines if ln.state in NOT_YET_SHIPPED), key=lambda ln: (ln.ship_by, ln.seq_no, ln.family))
    open_lines = [_pipeline_line(ln, now) for ln in waiting]
    calls: dict[str, list[CallOffLine]] = defaultdict(list)
    for ln in lines:
        if ln.state in UNACKNOWLEDGED:
            calls[ln.number].append(ln)
    to_ack = sorted(((n, len(ls), min(ln.need_time for ln in ls)) for n, ls in calls.items()), key=lambda t: (t[2], t[0]))
    return Pipeline(now, supplier, {s: dict(c) for s, c in sorted(by_supplier.items())}, open_lines[:limit], to_ack,
                    sum(1 for p in open_lines if p.late_minutes > 0))


def _pipeline_line(ln: CallOffLine, now: datetime) -> PipelineLine:
    late = max(0, int((now - ln.ship_by).total_seconds() // 60))
    return PipelineLine(ln.number, ln.supplier, ln.order_id, ln.seq_no, ln.family, ln.part_number, ln.state.value, ln.need_time, ln.ship_by, late, ln.amendments)


def calloff_lines(app: App, who: Principal, number: str) -> list[CallOffLine]:
    """The lines of one call-off the principal may see (none for another supplier's)."""
    with app.uow:
        calloff = app.uow.calloffs.get(number)
    if not who.owns_supplier_object(calloff.supplier):
        return []
    return list(calloff.lines)


# --------------------------------------------------------------------------- racks and trucks
@dataclass
class RackView:
    id: str
    supplier: str
    family: str
    unloading_point: str
    state: str
    filled: int
    slots: int
    capacity: int
    first_seq: int | None
    last_seq: int | None
    cut_off: datetime
    shipment: str | None


@dataclass
class TruckView:
    id: str
    supplier: str
    lane: str
    unloading_point: str
    state: str
    racks: int
    departure: datetime
    eta: datetime
    latest_arrival: datetime
    slack_minutes: int  # latest safe arrival minus ETA; negative: the truck arrives too late
    emergency: bool


@dataclass
class Transport:
    now: datetime
    racks: list[RackView]
    trucks: list[TruckView]


def transport(app: App, who: Principal, line: str | None = None) -> Transport:
    """Open and closed racks, and trucks planned or on the road with their ETA against the
    latest safe arrival."""
    now = app.clock.now()
    with app.uow:
        racks = app.uow.execution.racks(line, (RackState.OPEN, RackState.CLOSED), who.supplier) if who.carrier is None else []
        trucks = app.uow.execution.shipments(line, (ShipmentState.PLANNED, ShipmentState.DEPARTED))
        carriers = {ln: _carriers(app.uow, ln) for ln in {s.line for s in trucks}}
    rack_views = [
        RackView(r.id, r.supplier, r.family, r.unloading_point, r.state.value, sum(1 for s in r.slots if s.filled_at is not None), len(r.slots),
                 r.capacity, r.first_seq, r.last_seq, r.cut_off, r.shipment)
        for r in racks if who.owns_supplier_object(r.supplier)
    ]
    truck_views = [
        TruckView(s.id, s.supplier, s.lane, s.unloading_point, s.state.value, len(s.racks), s.departure, s.eta, s.latest_arrival,
                  int((s.latest_arrival - s.eta).total_seconds() // 60), s.emergency)
        for s in trucks if who.owns_shipment(s.supplier, carriers[s.line].get(s.lane, ""))
    ]
    return Transport(now, rack_views, sorted(truck_views, key=lambda t: (t.eta, t.id)))


def _carriers(uow, line: str) -> dict[str, str]:
    """The carrier of each lane serving ``line`` (as the API tells a carrier its trucks)."""
    plant = uow.plants.of_line(line)
    setup = uow.execution.setup(plant.code) or ex.default_setup(plant)
    return {lane.code: lane.carrier for lane in setup.lanes.values()}


# --------------------------------------------------------------------------- inventory
@dataclass
class ItemCoverage:
    item: str
    on_hand: int
    demand: int
    expected: int
    end_balance: int
    coverage_minutes: int | None  # None: covered over the whole horizon
    first_shortage_at: datetime | None
    first_shortage_order_id: str | None
    first_shortage_seq_no: int | None
    short_quantity: int
    line_stop_risk_minutes: float


def coverage(app: App) -> list[ItemCoverage]:
    """Every item's projection, the shortest coverage first."""
    with app.uow:
        projected = inv.projections(app.uow, app.clock.now())
    rows = [
        ItemCoverage(p.item, p.on_hand, p.demand, p.expected, p.end_balance,
                     None if p.coverage is None else int(p.coverage.total_seconds() // 60), p.first_shortage_at, p.first_shortage_order_id,
                     p.first_shortage_seq_no, p.short_quantity, float(p.line_stop_risk_minutes))
        for p in projected.values()
    ]
    return sorted(rows, key=lambda r: (r.coverage_minutes is None, r.coverage_minutes or 0, r.item))


@dataclass
class StockCurve:
    item: str
    now: datetime
    steps: list[tuple[datetime, int]]
    first_shortage_at: datetime | None
    first_shortage_order_id: str | None
    first_shortage_seq_no: int | None


def stock_curve(app: App, item: str) -> StockCurve:
    """The projected stock of one item over time, with its first shortage."""
    now = app.clock.now()
    with app.uow:
        p = inv.projections(app.uow, now, [item], with_steps=True)[item]
    return StockCurve(item, now, list(p.steps), p.first_shortage_at, p.first_shortage_order_id, p.first_shortage_seq_no)


# --------------------------------------------------------------------------- KPIs over time
@dataclass
class KpiSeries:
    times: list[datetime]
    on_time_in_sequence: list[float | None]
    sequence_accuracy: list[float | None]
    line_stop_minutes: list[float]
    stock_on_hand: list[int]
    now: datetime


def kpi_series(app: App, line: str | None = None, bucket: timedelta = timedelta(minutes=30)) -> KpiSeries:
    """Per time bucket: on-time-in-sequence and sequence accuracy of the parts received in it,
    the minutes the line stood (silent feed alerts raised in it, at their silence), and the
    units on hand at its end, from the stock movements."""
    now = app.clock.now()
    with app.uow:
        records = app.uow.execution.records(line=line)
        alerts = app.uow.alerts.list(AlertFilter(line=line))
        movements = app.uow.inventory.movements()
    stamps = [r.at for r in records] + [a.raised_at for a in alerts]
    if not stamps:
        return KpiSeries([], [], [], [], [], now)
    start = min(stamps).replace(minute=0, second=0, microsecond=0)
    end = max(max(stamps), now) if now > min(stamps) else max(stamps)
    times: list[datetime] = []
    t = start
    while t <= end and len(times) < 200:
        times.append(t)
        t += bucket
    by_bucket: dict[int, list] = defaultdict(list)
    for r in records:
        by_bucket[int((r.at - start) / bucket)].append(r)
    stops: dict[int, float] = defaultdict(float)
    for a in alerts:
        if a.kind.value == "silent_feed":
            stops[int((a.raised_at - start) / bucket)] += int(a.details.get("silent_seconds", 0) or 0) / 60
    otis, accuracy = [], []
    for i in range(len(times)):
        k = kpi.compute(by_bucket.get(i, []))
        otis.append(None if k.on_time_in_sequence is None else round(float(k.on_time_in_sequence) * 100, 1))
        accuracy.append(None if k.sequence_accuracy is None else round(float(k.sequence_accuracy) * 100, 1))
    stock = _stock_by_bucket(movements, times, bucket)
    return KpiSeries(times, otis, accuracy, [round(stops.get(i, 0.0), 1) for i in range(len(times))], stock, now)


def _stock_by_bucket(movements: list, times: list[datetime], bucket: timedelta) -> list[int]:
    ordered = sorted(movements, key=lambda m: m.at)
    level, result, i = 0, [], 0
    for t in times:
        while i < len(ordered) and ordered[i].at < t + bucket:
            level += ordered[i].quantity  # signed: a move is two lines that cancel out
            i += 1
        result.append(level)
    return result


# --------------------------------------------------------------------------- alerts and the pearl chain
def alerts(app: App, open_only: bool = False, limit: int = 200) -> list[Alert]:
    with app.uow:
        return app.uow.alerts.list(AlertFilter(open_only=open_only, limit=limit))


@dataclass
class ChainRow:
    index: int
    seq_no: int
    rolling_no: int
    order_id: str
    model: str
    options: dict[str, str]
    planned_at: datetime | None
    frozen: bool
    flagged: bool
    calloff_states: dict[str, int]


@dataclass
class ChainView:
    line: str
    frozen: int
    rows: list[ChainRow]
    now: datetime


def chain(app: App, line: str, count: int = 200) -> ChainView:
    """The planned vehicles of the pearl chain in order, the frozen zone marked, with the
    states of the call-off lines already issued for each."""
    now = app.clock.now()
    with app.uow:
        found = app.uow.chains.get(app.uow.plants.of_line(line).line(line))
        planned = found.planned()[:count]
        live = app.uow.calloffs.live_lines_for(line, [e.order_id for e in planned])
    frozen = found.frozen_count(now)
    times = found.planned_broadcast_times(now)
    states: dict[str, Counter] = defaultdict(Counter)
    for (order_id, _family), ln in live.items():
        states[order_id][ln.state.value] += 1
    rows = [
        ChainRow(i, e.seq_no, found.rolling_no(e.seq_no), e.order_id, e.vehicle.model, dict(e.vehicle.options), times.get(e.order_id),
                 i < frozen, e.flagged, dict(states.get(e.order_id, {})))
        for i, e in enumerate(planned)
    ]
    return ChainView(line, frozen, rows, now)


def supply_modes(plant: Plant, line: str) -> dict[str, SupplyMode]:
    return {f.code: f.route.mode for f in plant.families_of_line(line)}

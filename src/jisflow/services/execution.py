"""Execution commands and their handlers: the supplier's floor (pick lists, pick confirmation,
scan verification into rack slots, rack cut-off), transport (load plans, despatch with its
ASN, ETA updates, emergency deliveries) and the plant's side (goods receipt against the ASN,
line-side check, consumption), plus resequencing after pick when a picked vehicle changes.

A refused scan (at the rack or at the station) changes nothing but the record of the refusal
and its alert, which are committed before ``ScanRefused`` is raised.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jisflow.domain.alerts import Alert, AlertKind
from jisflow.domain.calloff import TRANSITIONS, CallOffLine, CallOffState
from jisflow.domain.errors import ConflictError, NotFound, Problem, ProblemCollector, ValidationError
from jisflow.domain.events import AlertRaised, CallOffLineChanged, Event
from jisflow.domain.inventory import InsufficientStock, Movement, ReasonCode
from jisflow.domain import execution as ex
from jisflow.domain import kpi
from jisflow.domain.plant import Plant
from jisflow.domain.racks import Rack, RackSlot, RackState, new_rack_id
from jisflow.domain.transport import Lane, Shipment, ShipmentState, departure_time, latest_safe_arrival, load_plan, new_shipment_id, shipment_parts
from jisflow.services.audit import AuditEntry, changes
from jisflow.services.clock import Clock
from jisflow.services.commands import Command
from jisflow.services import inventory
from jisflow.services.handlers import Outcome, _now
from jisflow.services.unit_of_work import AbstractUnitOfWork, CallOffLineFilter

S = CallOffState
Key = tuple[str, str]


# --------------------------------------------------------------------------- commands
@dataclass(frozen=True)
class ConfigureExecution(Command):
    """Store the plant's floor master data (rack types, lanes, pick locations)."""

    plant: str
    setup: ex.ExecutionSetup


@dataclass(frozen=True)
class CreatePickList(Command):
    """Plan acknowledged call-off lines into rack slots, in sequence, and list what to pick."""

    line: str
    supplier: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class ConfirmPick(Command):
    line: str
    keys: tuple[Key, ...]  # (order id, family)
    actor: str = "picker"
    at: datetime | None = None


@dataclass(frozen=True)
class VerifyScans(Command):
    """Scans of parts into rack slots: all are right and applied, or nothing is."""

    line: str
    scans: tuple[ex.Scan, ...]
    actor: str = "picker"
    at: datetime | None = None


@dataclass(frozen=True)
class CloseRacks(Command):
    """Close the given racks, and every open rack whose cut-off has come."""

    line: str
    rack_ids: tuple[str, ...] = ()
    at: datetime | None = None


@dataclass(frozen=True)
class PlanLoads(Command):
    """Put closed racks on trucks in reverse unloading order. A lane's racks are loaded when
    they fill a truck, or when the departure of the first of them comes by ``until``."""

    line: str
    until: datetime | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class DespatchShipment(Command):
    shipment_id: str
    at: datetime | None = None


@dataclass(frozen=True)
class UpdateEta(Command):
    shipment_id: str
    eta: datetime
    at: datetime | None = None


@dataclass(frozen=True)
class OrderEmergencyDelivery(Command):
    """Expedite one vehicle's part on its own express lane, outside the normal cadence."""

    line: str
    order_id: str
    family: str
    reason: str = ""
    at: datetime | None = None


@dataclass(frozen=True)
class ReceiveShipment(Command):
    """Goods receipt at the dock. ``racks`` maps each rack id to the slots found in it; empty
    means everything arrived as advised."""

    shipment_id: str
    racks: Mapping[str, tuple[ex.ReceivedSlot, ...]] | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class CheckLineSide(Command):
    """Scans at one station, in the order the vehicles arrive: all pass, or none is recorded
    as passed and every refusal raises an alert."""

    line: str
    station: str
    scans: tuple[ex.LineSideScan, ...]
    at: datetime | None = None


@dataclass(frozen=True)
class ConsumeVehicles(Command):
    """Backflush: the vehicles passed the station (every station when none is given)."""

    line: str
    order_ids: tuple[str, ...]
    station: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class ApplyChangesToRacks(Command):
    """Call-off lines changed (amended, cancelled) after they were put into rack slots."""

    line: str
    keys: tuple[Key, ...]
    at: datetime | None = None


# --------------------------------------------------------------------------- helpers
@dataclass
class _Work:
    """What one handler changes, written at the end in one go."""

    uow: AbstractUnitOfWork
    now: datetime
    racks: dict[str, Rack] = field(default_factory=dict)
    lines: dict[int, CallOffLine] = field(default_factory=dict)
    records: list[ex.ExecutionRecord] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    watched: dict[str, tuple[str, dict[str, Any] | None]] = field(default_factory=dict)  # rack id -> (audit action, state before)
    audited: list[AuditEntry] = field(default_factory=list)

    def watch(self, action: str, racks: Iterable[Rack], *, new: bool = False) -> None:
        """Audit these racks' change as ``action``: their state now is their state before
        (``new``: they had none). A rack watched already keeps its first action and state."""
        for rack in racks:
            self.watched.setdefault(rack.id, (action, None if new else _rack_state(rack)))

    def advance(self, line: CallOffLine, to: S, reason: str) -> None:
        line.transition(to, self.now, reason)
        self.events.extend(line.events)
        line.events.clear()
        self.lines[id(line)] = line

    def alert(self, alert: Alert) -> None:
        self.alerts.append(alert)
        self.events.append(AlertRaised(alert.kind.value, alert.severity.value, alert.line, alert.message, alert.order_id, alert.seq_no))

    def record(self, kind: ex.RecordKind, line: str, **kw: Any) -> None:
        self.records.append(ex.ExecutionRecord(kind, self.now, line, **kw))

    def flush(self) -> None:
        if self.racks:
            self.uow.execution.save_racks(self.racks.values())
        if self.lines:
            self.uow.calloffs.save_lines(self.lines.values())
        if self.records:
            self.uow.execution.add_records(self.records)
        for alert in self.alerts:
            self.uow.alerts.add(alert)
        by_action: dict[tuple[str, str], tuple[dict[str, dict[str, Any] | None], dict[str, dict[str, Any]]]] = {}
        for rack_id, (action, before) in self.watched.items():
            if rack_id in self.racks:  # saved: changed
                rack = self.racks[rack_id]
                was, now = by_action.setdefault((action, rack.line), ({}, {}))
                was[rack_id], now[rack_id] = before, _rack_state(rack)
        for (action, line), (was, now) in by_action.items():
            self.audited.extend(changes(self.uow.actor, self.now, action, "rack", was, now, line=line))
        self.uow.audit.append(self.audited)
        self.uow.publish(self.events, self.now)


def _rack_state(rack: Rack) -> dict[str, Any]:
    """What the audit log keeps of a rack: its state, its truck, its slots in order."""
    return {"state": rack.state.value, "shipment": rack.shipment,
            "slots": [{"position": s.position, "order_id": s.order_id, "family": s.family, "part_number": s.part_number, "serial": s.serial} for s in rack.slots]}


def _shipment_state(shipment: Shipment) -> dict[str, Any]:
    """What the audit log keeps of a planned shipment: its lane, racks (loading order), times."""
    return {"state": shipment.state.value, "lane": shipment.lane, "racks": list(shipment.racks), "departure": shipment.departure.isoformat(),
            "latest_arrival": shipment.latest_arrival.isoformat(), "eta": shipment.eta.isoformat()}


def _setup(uow: AbstractUnitOfWork, plant: Plant) -> ex.ExecutionSetup:
    return uow.execution.setup(plant.code) or ex.default_setup(plant)


def _live(uow: AbstractUnitOfWork, line: str, keys: Iterable[Key]) -> dict[Key, CallOffLine]:
    keys = list(keys)
    found = uow.calloffs.live_lines_for(line, {k[0] for k in keys})
    return {k: found[k] for k in keys if k in found}


def _refuse(uow: AbstractUnitOfWork, work: _Work, message: str, problems: list[Problem]) -> None:
    """Commit the refusal's records and alerts (nothing else), then raise."""
    work.racks.clear()
    work.lines.clear()
    work.events = [e for e in work.events if isinstance(e, AlertRaised)]
    work.flush()
    uow.commit()
    raise ex.ScanRefused(message, problems=problems)


def _close(work: _Work, rack: Rack) -> None:
    if not rack.filled:
        work.watch("rack.emptied", [rack])
        rack.close(work.now)
        rack.state = RackState.EMPTIED
        return
    work.watch("rack.closed", [rack])
    released = rack.close(work.now)
    filled, capacity = rack.fill_rate
    work.record(ex.RecordKind.RACK_CLOSED, rack.line, rack_id=rack.id, data={"filled": filled, "capacity": capacity, "partial": rack.partial, "released": len(released)})
    work.events.append(ex.RackClosed(rack.id, rack.line, rack.supplier, rack.first_seq, rack.last_seq, filled, capacity, rack.partial))


# --------------------------------------------------------------------------- supplier floor
def configure_execution(cmd: ConfigureExecution, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    with uow:
        plant = uow.plants.get(cmd.plant)
        problems = ProblemCollector()
        for lane in cmd.setup.lanes.values():
            if lane.supplier not in {s.code for s in plant.suppliers}:
                problems.add(f"lane {lane.code}", f"supplier {lane.supplier!r} is not a supplier of plant {plant.code}")
        for rt in cmd.setup.rack_types.values():
            if rt.cells < 1 or rt.layers < 1:
                problems.add(f"rack type {rt.code}", f"needs at least one cell and one layer, not {rt.cells} x {rt.layers}")
        problems.raise_if_any(f"floor master data for plant {plant.code} rejected")
        uow.execution.put_setup(plant.code, cmd.setup)
        uow.commit()
    return Outcome(details={"rack_types": len(cmd.setup.rack_types), "lanes": len(cmd.setup.lanes)})


def create_pick_list(cmd: CreatePickList, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    with uow:
        plant = uow.plants.of_line(cmd.line)
        work = _Work(uow, now)
        racks = uow.execution.racks(cmd.line, (RackState.OPEN, RackState.CLOSED, RackState.LOADED), cmd.supplier)
        slots: dict[Key, tuple[Rack, RackSlot]] = {s.key: (r, s) for r in racks for s in r.slots}
        waiting = uow.calloffs.lines(CallOffLineFilter(line=cmd.line, supplier=cmd.supplier, states=(S.ACKNOWLEDGED, S.PICKED)))
        work.watch("rack.planned", (r for r in racks if r.state is RackState.OPEN))
        todo = []
        for ln in waiting:
            held = slots.get(ln.key[1:])
            if held is None:
                todo.append(ln)
            elif held[1].filled and ln.state is S.ACKNOWLEDGED:  # re-slotted after a change: already in its rack
                work.advance(ln, S.PICKED, f"already in rack {held[0].id}")
                work.advance(ln, S.PACKED, f"already in rack {held[0].id} slot {held[1].position}")
        items, changed = ex.plan_racks(todo, [r for r in racks if r.state is RackState.OPEN], _setup(uow, plant), plant, now)
        work.watch("rack.planned", changed, new=True)  # the open racks are watched already: these are new
        work.racks.update({r.id: r for r in changed})
        picked = {ln.key[1:] for ln in todo if ln.state is S.PICKED}
        work.flush()
        uow.commit()
    return Outcome(details={"items": [_item(i, (i.order_id, i.family) in picked) for i in items], "racks": sorted(work.racks)})


def _item(i: ex.PickItem, picked: bool) -> dict[str, Any]:
    """A pick-list line; ``picked`` when the part was picked already (its rack closed at
    cut-off before it was scanned in): it only needs scanning into its new slot."""
    return {"order_id": i.order_id, "family": i.family, "seq_no": i.seq_no, "part_number": i.part_number, "location": i.location,
            "rack_id": i.rack_id, "slot": i.slot, "need_time": i.need_time.isoformat(), "number": i.number, "picked": picked}


def confirm_pick(cmd: ConfirmPick, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    if not cmd.keys:
        raise ValidationError("confirm which picks: no vehicle and family given")
    with uow:
        work = _Work(uow, now)
        lines = _live(uow, cmd.line, cmd.keys)
        problems = ProblemCollector()
        for key in cmd.keys:
            ln = lines.get(key)
            if ln is None:
                problems.add(f"pick {key[0]}/{key[1]}", "no live call-off line")
            elif ln.state is not S.ACKNOWLEDGED:
                problems.add(f"pick {key[0]}/{key[1]}", f"the call-off line is {ln.state.value}, not ACKNOWLEDGED")
        problems.raise_if_any(f"pick confirmation on line {cmd.line} refused, nothing applied", ConflictError)
        for key in cmd.keys:
            ln = lines[key]
            work.advance(ln, S.PICKED, f"picked by {cmd.actor}")
            work.record(ex.RecordKind.PICKED, cmd.line, order_id=ln.order_id, family=ln.family, seq_no=ln.seq_no, part_number=ln.part_number)
        work.flush()
        uow.commit()
    return Outcome(details={"picked": len(cmd.keys)})


def verify_scans(cmd: VerifyScans, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    if not cmd.scans:
        raise ValidationError("no scan given")
    with uow:
        work = _Work(uow, now)
        racks: dict[str, Rack | None] = {}
        problems: list[Problem] = []
        filled: list[tuple[Rack, RackSlot, ex.Scan]] = []
        for i, scan in enumerate(cmd.scans):
            where = f"scan {i + 1} (rack {scan.rack_id}, slot {scan.slot}, part {scan.part_number})"
            if scan.rack_id not in racks:
                racks[scan.rack_id] = uow.execution.rack(scan.rack_id)
            rack = racks[scan.rack_id]
            found = ex.verify_scan(scan, rack, where)
            if not found and rack is not None:
                slot = rack.next_open_slot()
                assert slot is not None
                ln = _live(uow, cmd.line, [slot.key]).get(slot.key)
                if ln is None or ln.state is not S.PICKED:
                    found.append(Problem(where, f"vehicle {slot.order_id}'s call-off line is {ln.state.value if ln else 'gone'}: confirm the pick first"))
                else:
                    work.watch("rack.filled", [rack])
                    rack.fill(slot.position, scan.serial, now)
                    filled.append((rack, slot, scan))
                    work.advance(ln, S.PACKED, f"scanned into rack {rack.id} slot {slot.position}")
            if found:
                problems.extend(found)
                text = "; ".join(p.what for p in found)
                work.record(ex.RecordKind.SCAN_REFUSED, cmd.line, part_number=scan.part_number, serial=scan.serial, rack_id=scan.rack_id, data={"slot": scan.slot, "why": text})
                work.alert(Alert(AlertKind.WRONG_SCAN, cmd.line, f"scan refused at rack {scan.rack_id} slot {scan.slot}: {text}", now, details={"rack_id": scan.rack_id, "slot": scan.slot, "part_number": scan.part_number}))
        if problems:
            _refuse(uow, work, f"{len(problems)} scan problem(s) on line {cmd.line}: nothing was placed", problems)
        for rack, slot, scan in filled:
            work.racks[rack.id] = rack
            work.record(ex.RecordKind.PACKED, cmd.line, order_id=slot.order_id, family=slot.family, seq_no=slot.seq_no, part_number=slot.part_number, serial=scan.serial, vin=slot.vin, rack_id=rack.id, data={"slot": slot.position})
        for rack in {id(r): r for r, _, _ in filled}.values():
            if rack.state is RackState.CLOSED:
                filled_n, capacity = rack.fill_rate
                work.record(ex.RecordKind.RACK_CLOSED, rack.line, rack_id=rack.id, data={"filled": filled_n, "capacity": capacity, "partial": False, "released": 0})
                work.events.append(ex.RackClosed(rack.id, rack.line, rack.supplier, rack.first_seq, rack.last_seq, filled_n, capacity, False))
        work.flush()
        uow.commit()
    return Outcome(details={"placed": len(filled), "racks_closed": sorted({r.id for r, _, _ in filled if r.state is RackState.CLOSED})})


def close_racks(cmd: CloseRacks, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    with uow:
        work = _Work(uow, now)
        wanted = set(cmd.rack_ids)
        racks = uow.execution.racks(cmd.line, (RackState.OPEN,))
        missing = wanted - {r.id for r in racks}
        if missing:
            raise NotFound(f"no open rack {', '.join(sorted(missing))} on line {cmd.line}")
        for rack in racks:
            if rack.id in wanted or rack.cut_off <= now:
                _close(work, rack)
                work.racks[rack.id] = rack
        work.flush()
        uow.commit()
    return Outcome(details={"closed": sorted(r.id for r in work.racks.values() if r.state is RackState.CLOSED),
                            "partial": sorted(r.id for r in work.racks.values() if r.partial and r.state is RackState.CLOSED)})


# --------------------------------------------------------------------------- transport
def plan_loads(cmd: PlanLoads, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    until = cmd.until or now
    with uow:
        plant = uow.plants.of_line(cmd.line)
        calendar = plant.line(cmd.line).calendar
        setup = _setup(uow, plant)
        work = _Work(uow, now)
        by_lane: dict[str, list[Rack]] = {}
        lanes: dict[str, Lane] = {}
        problems = ProblemCollector()
        for rack in uow.execution.racks(cmd.line, (RackState.CLOSED,)):
            if not rack.slots:  # every part left it after it closed (expedited, pulled): nothing to load
                work.watch("rack.emptied", [rack])
                rack.state = RackState.EMPTIED
                work.racks[rack.id] = rack
                continue
            lane = setup.lane_for(rack.supplier, rack.unloading_point)
            if lane is None:
                problems.add(f"rack {rack.id}", f"no lane from {rack.supplier} to {rack.unloading_point}")
                continue
            lanes[lane.code] = lane
            by_lane.setdefault(lane.code, []).append(rack)
        problems.raise_if_any(f"loads on line {cmd.line} cannot be planned")
        shipments: list[Shipment] = []
        for code, racks in sorted(by_lane.items()):
            lane = lanes[code]
            for truck in load_plan(racks, lane.truck_racks):
                first_need = min(r.first_need for r in truck)
                depart = departure_time(lane, calendar, first_need)
                if len(truck) < lane.truck_racks and depart > until:
                    continue
                shipment = Shipment(
                    new_shipment_id(), lane.code, lane.supplier, cmd.line, lane.unloading_point, [r.id for r in truck], lane.truck_racks,
                    depart, latest_safe_arrival(lane, calendar, first_need), max(depart, now) + lane.transit,
                )
                work.watch("rack.loaded", truck)
                for rack in truck:
                    rack.state, rack.shipment = RackState.LOADED, shipment.id
                    work.racks[rack.id] = rack
                uow.execution.save_shipment(shipment)
                shipments.append(shipment)
        work.audited.extend(changes(uow.actor, now, "shipment.planned", "shipment", {}, {s.id: _shipment_state(s) for s in shipments}, line=cmd.line))
        work.flush()
        uow.commit()
    return Outcome(details={"shipments": [
        {"id": s.id, "lane": s.lane, "departure": s.departure.isoformat(), "loading_order": s.racks} for s in shipments
    ]})


def _asn(racks: Iterable[Rack]) -> list[dict[str, Any]]:
    return [
        {"rack_id": r.id, "rack_type": r.rack_type, "family": r.family, "first_seq_no": r.first_seq, "last_seq_no": r.last_seq,
         "slots": [{"position": s.position, "seq_no": s.seq_no, "order_id": s.order_id, "vin": s.vin, "family": s.family,
                    "part_number": s.part_number, "serial": s.serial, "need_time": s.need_time.isoformat(), "number": s.number} for s in r.slots]}
        for r in racks
    ]


def _despatch(uow: AbstractUnitOfWork, work: _Work, shipment: Shipment, racks: list[Rack], transit: timedelta, lines: dict[Key, CallOffLine] | None = None) -> None:
    """Ship the racks: lines to SHIPPED, the ASN through the outbox, records for the KPIs."""
    now = work.now
    keys = [s.key for r in racks for s in r.slots]
    lines = lines if lines is not None else _live(uow, shipment.line, keys)
    problems = ProblemCollector()
    for key in keys:
        ln = lines.get(key)
        if ln is None or ln.state is not S.PACKED:
            problems.add(f"shipment {shipment.id}", f"the part of vehicle {key[0]} ({key[1]}) is {ln.state.value if ln else 'no longer called off'}, not PACKED")
    problems.raise_if_any(f"shipment {shipment.id} cannot leave", ConflictError)
    issued: dict[str, datetime] = {}
    work.watch("rack.despatched", racks)
    for rack in racks:
        rack.state = RackState.SHIPPED
        work.racks[rack.id] = rack
        for s in rack.slots:
            ln = lines[s.key]
            work.advance(ln, S.SHIPPED, f"despatched on {shipment.id}")
            if ln.number not in issued:
                issued[ln.number] = uow.calloffs.get(ln.number).issued_at
            work.record(ex.RecordKind.DESPATCHED, shipment.line, order_id=s.order_id, family=s.family, seq_no=s.seq_no, part_number=s.part_number,
                        serial=s.serial, vin=s.vin, rack_id=rack.id, shipment_id=shipment.id, data={"issued_at": issued[ln.number].isoformat()})
    shipment.state, shipment.departed_at = ShipmentState.DEPARTED, now
    shipment.eta = now + transit
    shipment.asn = _asn(list(reversed(racks)))  # in unloading order
    work.record(ex.RecordKind.SHIPMENT_DESPATCHED, shipment.line, shipment_id=shipment.id, data={"racks": len(racks), "capacity": shipment.capacity, "emergency": shipment.emergency})
    work.events.append(ex.DespatchAdviceIssued(shipment.id, shipment.line, shipment.supplier, shipment.unloading_point, shipment.lane, now, shipment.eta, shipment.emergency, tuple(shipment.asn)))
    if shipment.late_risk:
        _late(work, shipment)
    uow.execution.save_shipment(shipment)


def _late(work: _Work, shipment: Shipment) -> None:
    late = int((shipment.eta - shipment.latest_arrival).total_seconds() // 60)
    work.alert(Alert(AlertKind.LATE_RISK, shipment.line, f"shipment {shipment.id} on lane {shipment.lane} is expected at {shipment.eta:%H:%M}Z, {late} min after its latest safe arrival {shipment.latest_arrival:%H:%M}Z",
                     work.now, details={"shipment_id": shipment.id, "eta": shipment.eta.isoformat()}))


def _shipment(uow: AbstractUnitOfWork, shipment_id: str) -> Shipment:
    shipment = uow.execution.shipment(shipment_id)
    if shipment is None:
        raise NotFound(f"no shipment {shipment_id!r}")
    return shipment


def despatch_shipment(cmd: DespatchShipment, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    with uow:
        shipment = _shipment(uow, cmd.shipment_id)
        if shipment.state is not ShipmentState.PLANNED:
            raise ConflictError(f"shipment {shipment.id} is {shipment.state.value}: it left already")
        plant = uow.plants.of_line(shipment.line)
        lane = _setup(uow, plant).lanes[shipment.lane]
        work = _Work(uow, now)
        racks = [uow.execution.rack(r) for r in shipment.racks]
        _despatch(uow, work, shipment, [r for r in racks if r is not None], lane.transit)
        work.flush()
        uow.commit()
    outcome = Outcome(details={"shipment_id": shipment.id, "eta": shipment.eta.isoformat(), "late_risk": shipment.late_risk, "loading_order": shipment.racks})
    _reproject_cargo(uow, shipment, now, outcome)
    return outcome


def _reproject_cargo(uow: AbstractUnitOfWork, shipment: Shipment, now: datetime, outcome: Outcome, also: Iterable[str] = ()) -> None:
    """Project again the registered items a truck carries (its ETA feeds their projection)."""
    with uow:
        registered = uow.inventory.items()
    inventory.reproject(uow, {part for part, _, _ in shipment_parts(shipment) if part in registered} | set(also), now, outcome)


def update_eta(cmd: UpdateEta, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    eta = _now(cmd.eta, clock)
    with uow:
        shipment = _shipment(uow, cmd.shipment_id)
        if shipment.state is not ShipmentState.DEPARTED:
            raise ConflictError(f"shipment {shipment.id} is {shipment.state.value}: only a truck on the road has an ETA")
        work = _Work(uow, now)
        was_late = shipment.late_risk
        shipment.eta = eta
        work.events.append(ex.ShipmentEtaChanged(shipment.id, shipment.line, eta, shipment.latest_arrival, shipment.late_risk))
        if shipment.late_risk and not was_late:
            _late(work, shipment)
        uow.execution.save_shipment(shipment)
        work.flush()
        uow.commit()
    outcome = Outcome(alerts=work.alerts, details={"shipment_id": shipment.id, "late_risk": shipment.late_risk})
    _reproject_cargo(uow, shipment, now, outcome)
    return outcome


def order_emergency_delivery(cmd: OrderEmergencyDelivery, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    with uow:
        plant = uow.plants.of_line(cmd.line)
        ln = _live(uow, cmd.line, [(cmd.order_id, cmd.family)]).get((cmd.order_id, cmd.family))
        if ln is None:
            raise NotFound(f"vehicle {cmd.order_id} has no live call-off line for family {cmd.family} on line {cmd.line}")
        if ln.state not in (S.SENT, S.ACKNOWLEDGED, S.PICKED, S.PACKED):
            raise ConflictError(f"the part of vehicle {cmd.order_id} ({cmd.family}) is {ln.state.value}: it cannot be expedited")
        setup = _setup(uow, plant)
        regular = setup.lane_for(ln.supplier, ln.unloading_point)
        if regular is None:
            raise NotFound(f"no lane from {ln.supplier} to {ln.unloading_point}")
        lane = Lane(ex.EMERGENCY_LANE + regular.code, ln.supplier, ln.unloading_point, regular.transit / 2, regular.transit_p95 / 2, timedelta(0), "express courier", 1)
        work = _Work(uow, now)
        serial = None
        for rack in uow.execution.racks(cmd.line, (RackState.OPEN, RackState.CLOSED, RackState.LOADED), ln.supplier):
            slot = rack.slot_of(cmd.order_id, cmd.family)
            if slot is not None:
                serial = slot.serial
                work.watch("rack.expedited", [rack])  # the part leaves it for the express rack
                rack.slots.remove(slot)
                rack.reslot()
                work.racks[rack.id] = rack
        express = Rack(new_rack_id(), "EXPRESS", 1, ln.supplier, cmd.line, ln.unloading_point, cmd.family, now, now)
        express.plan(RackSlot(0, ln.order_id, ln.family, ln.seq_no, ln.part_number, ln.number, ln.need_time, ln.vin))
        express.fill(1, serial or f"EXP-{uuid.uuid4().hex[:10].upper()}", now)
        work.watch("rack.expedited", [express], new=True)
        for to in (S.ACKNOWLEDGED, S.PICKED, S.PACKED):
            if to in TRANSITIONS[ln.state]:
                work.advance(ln, to, "emergency delivery")
        calendar = plant.line(cmd.line).calendar
        shipment = Shipment(new_shipment_id(), lane.code, lane.supplier, cmd.line, lane.unloading_point, [express.id], 1, now,
                            latest_safe_arrival(lane, calendar, ln.need_time), now + lane.transit, emergency=True)
        work.record(ex.RecordKind.EMERGENCY, cmd.line, order_id=ln.order_id, family=ln.family, seq_no=ln.seq_no, part_number=ln.part_number, shipment_id=shipment.id, data={"reason": cmd.reason})
        _despatch(uow, work, shipment, [express], lane.transit, {(ln.order_id, ln.family): ln})
        work.flush()
        uow.commit()
    outcome = Outcome(details={"shipment_id": shipment.id, "eta": shipment.eta.isoformat(), "rack_id": express.id})
    _reproject_cargo(uow, shipment, now, outcome)
    return outcome


# --------------------------------------------------------------------------- plant side
def receive_shipment(cmd: ReceiveShipment, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    with uow:
        shipment = _shipment(uow, cmd.shipment_id)
        if shipment.state is not ShipmentState.DEPARTED:
            raise ConflictError(f"shipment {shipment.id} is {shipment.state.value}: only a shipment on the road can be received")
        received = None if cmd.racks is None else {k: list(v) for k, v in cmd.racks.items()}
        ok, discrepancies = ex.check_receipt(shipment.asn, received)
        good = {(s["order_id"], s["family"]) for s in ok}
        work = _Work(uow, now)
        keys = [(s["order_id"], s["family"]) for r in shipment.asn for s in r["slots"]]
        lines = _live(uow, shipment.line, keys)
        for rack in shipment.asn:
            for s in rack["slots"]:
                key = (s["order_id"], s["family"])
                ln = lines.get(key)
                in_position = key in good
                if in_position and ln is not None and ln.state is S.SHIPPED:
                    work.advance(ln, S.DELIVERED, f"received from {shipment.id}")
                work.record(ex.RecordKind.RECEIVED, shipment.line, order_id=s["order_id"], family=s["family"], seq_no=s["seq_no"], part_number=s["part_number"],
                            serial=s["serial"], vin=s["vin"], rack_id=rack["rack_id"], shipment_id=shipment.id,
                            data={"in_position": in_position, "on_time": now <= datetime.fromisoformat(s["need_time"])})
        for text in discrepancies:
            work.record(ex.RecordKind.DISCREPANCY, shipment.line, shipment_id=shipment.id, data={"what": text})
        if discrepancies:
            work.alert(Alert(AlertKind.RECEIPT_DISCREPANCY, shipment.line, f"receipt of {shipment.id}: {len(discrepancies)} discrepancy(ies): " + "; ".join(discrepancies[:3]),
                             now, details={"shipment_id": shipment.id, "discrepancies": discrepancies}))
        for rack_id in shipment.racks:
            rack = uow.execution.rack(rack_id)
            if rack is not None:
                work.watch("rack.received", [rack])
                rack.state = RackState.RECEIVED
                work.racks[rack.id] = rack
        shipment.state, shipment.received_at = ShipmentState.RECEIVED, now
        uow.execution.save_shipment(shipment)
        work.events.append(ex.GoodsReceived(shipment.id, shipment.line, now, len(keys), tuple(discrepancies)))
        items = _ledger(uow, shipment.line, [ln for ln in work.lines.values() if ln.state is S.DELIVERED], now, received=True)
        work.flush()
        uow.commit()
    outcome = Outcome(alerts=work.alerts, details={"shipment_id": shipment.id, "parts": len(keys), "in_position": len(good), "discrepancies": discrepancies})
    _reproject_cargo(uow, shipment, now, outcome, also=items)
    return outcome


def check_line_side(cmd: CheckLineSide, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    if not cmd.scans:
        raise ValidationError("no line-side scan given")
    with uow:
        plant = uow.plants.of_line(cmd.line)
        plant.line(cmd.line).station(cmd.station)
        families = [f for f in plant.families_of_line(cmd.line) if f.station == cmd.station]
        delivered = [ln for ln in uow.calloffs.lines(CallOffLineFilter(line=cmd.line, states=(S.DELIVERED,))) if ln.family in {f.code for f in families}]
        due = {f.code: sorted((ln for ln in delivered if ln.family == f.code), key=lambda ln: (ln.need_time, ln.seq_no)) for f in families}
        work = _Work(uow, now)
        problems: list[Problem] = []
        passed = []
        for scan in cmd.scans:
            mine = [ln for ln in delivered if ln.order_id == scan.order_id]
            family = next((ln.family for ln in mine if ln.part_number == scan.part_number), None) or next(
                (f.code for f in families if any(r.part_number == scan.part_number for r in f.rules)), mine[0].family if mine else None,
            )
            owners = {r.order_id for r in uow.execution.records(serial=scan.serial, kinds=(ex.RecordKind.DESPATCHED,))}
            owner = owners.pop() if len(owners) == 1 else None
            where = f"station {cmd.station}, vehicle {scan.order_id}, part {scan.part_number} serial {scan.serial}"
            found = ex.check_line_side(scan, due.get(family or "", []), owner, where)
            seq = next((ln.seq_no for ln in mine), None)
            if found:
                problems.extend(found)
                text = "; ".join(p.what for p in found)
                work.record(ex.RecordKind.LINESIDE_REFUSED, cmd.line, order_id=scan.order_id, family=family, seq_no=seq, part_number=scan.part_number, serial=scan.serial, data={"station": cmd.station, "why": text})
                work.alert(Alert(AlertKind.LINE_SIDE_REFUSED, cmd.line, f"do not fit: {where}: {text}", now, order_id=scan.order_id, seq_no=seq, details={"station": cmd.station}))
                continue
            due[family] = [ln for ln in due[family] if ln.order_id != scan.order_id]  # type: ignore[index]
            passed.append((scan, family, seq))
        if problems:
            work.records = [r for r in work.records if r.kind is ex.RecordKind.LINESIDE_REFUSED]
            _refuse(uow, work, f"line-side check refused at station {cmd.station}", problems)
        for scan, family, seq in passed:
            work.record(ex.RecordKind.LINESIDE_OK, cmd.line, order_id=scan.order_id, family=family, seq_no=seq, part_number=scan.part_number, serial=scan.serial, data={"station": cmd.station})
        work.flush()
        uow.commit()
    return Outcome(details={"passed": len(passed), "station": cmd.station})


def consume_vehicles(cmd: ConsumeVehicles, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    if not cmd.order_ids:
        raise ValidationError("no vehicle to consume given")
    with uow:
        plant = uow.plants.of_line(cmd.line)
        stations = {f.code: f.station for f in plant.families_of_line(cmd.line)}
        wanted = set(cmd.order_ids)
        lines = [
            ln for ln in uow.calloffs.lines(CallOffLineFilter(line=cmd.line, states=(S.DELIVERED,)))
            if ln.order_id in wanted and (cmd.station is None or stations[ln.family] == cmd.station)
        ]
        missing = wanted - {ln.order_id for ln in lines}
        if missing:
            raise NotFound(f"vehicle(s) {', '.join(sorted(missing))} have no delivered part to consume" + (f" at station {cmd.station}" if cmd.station else "") + f" on line {cmd.line}")
        serials: dict[Key, str | None] = {}
        checked: set[Key] = set()
        for order_id in sorted(wanted):
            for r in uow.execution.records(line=cmd.line, order_id=order_id, kinds=(ex.RecordKind.DESPATCHED, ex.RecordKind.LINESIDE_OK)):
                key = (order_id, r.family or "")
                if r.kind is ex.RecordKind.DESPATCHED:
                    serials[key] = r.serial
                else:
                    checked.add(key)
        work = _Work(uow, now)
        by_vehicle: dict[str, list[dict[str, Any]]] = {}
        for ln in lines:
            key = (ln.order_id, ln.family)
            work.advance(ln, S.CONSUMED, "backflushed")
            work.record(ex.RecordKind.CONSUMED, cmd.line, order_id=ln.order_id, family=ln.family, seq_no=ln.seq_no, part_number=ln.part_number,
                        serial=serials.get(key), vin=ln.vin, data={"station": stations[ln.family], "checked": key in checked})
            by_vehicle.setdefault(ln.order_id, []).append({"family": ln.family, "part_number": ln.part_number, "serial": serials.get(key), "vin": ln.vin})
        for order_id, parts in by_vehicle.items():
            work.events.append(ex.PartsConsumed(cmd.line, order_id, parts[0]["vin"], cmd.station or "", tuple(parts)))
        items = _ledger(uow, cmd.line, lines, now, received=False)
        work.flush()
        uow.commit()
    outcome = Outcome(details={"vehicles": len(by_vehicle), "consumed": len(lines)})
    inventory.reproject(uow, items, now, outcome)
    return outcome


def _ledger(uow: AbstractUnitOfWork, line: str, parts: list[CallOffLine], now: datetime, *, received: bool) -> set[str]:
    """The ledger side of the floor, in the floor's transaction, so stock and traceability
    agree: every part that is a registered item is booked, a receipt into its family's
    line-side location or a backflush that consumes its vehicle's reservation. Every shortfall
    of a backflush is named before one ``InsufficientStock`` is raised. Returns the items
    booked."""
    registered = uow.inventory.items()
    booked = [ln for ln in parts if ln.part_number in registered]
    if not booked:
        return set()
    stocks = uow.inventory.load({ln.part_number for ln in booked})
    short = ProblemCollector()
    if received:
        locations = {f.code: f.route.line_side_location for f in uow.plants.of_line(line).families_of_line(line)}
        for ln in booked:
            stocks[ln.part_number].post([Movement(ln.part_number, locations[ln.family], "", ln.quantity, ReasonCode.RECEIPT, "dock", now, f"{line}/{ln.order_id}")])
    else:
        for ln in booked:
            try:
                stocks[ln.part_number].backflush((line, ln.order_id, ln.family), ln.quantity, "line", now, f"{line}/{ln.order_id}")
            except InsufficientStock as error:
                short.problems.extend(Problem(f"{ln.order_id}/{ln.family}", p.what) for p in error.problems)
        short.raise_if_any(f"the ledger lacks {len(short.problems)} part(s) to backflush; nothing consumed", InsufficientStock)
    inventory.save_stock(uow, stocks.values())
    return set(stocks)


# --------------------------------------------------------------------------- resequencing
def apply_changes_to_racks(cmd: ApplyChangesToRacks, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    wanted = set(cmd.keys)
    with uow:
        work = _Work(uow, now)
        instructions: list[ex.Instruction] = []
        for rack in uow.execution.racks(cmd.line, (RackState.OPEN, RackState.CLOSED, RackState.LOADED)):
            if not wanted & {s.key for s in rack.slots}:
                continue
            current = _live(uow, cmd.line, [s.key for s in rack.slots])
            work.watch("rack.resequenced", [rack])  # audited only when saved: changed
            done = ex.resequence_after_pick(rack, {s.key: current.get(s.key) for s in rack.slots})
            if not done:
                continue
            work.racks[rack.id] = rack
            for ins in done:
                instructions.append(ins)
                work.record(ex.RecordKind.RESEQUENCED, cmd.line, order_id=ins.order_id, family=ins.family, rack_id=rack.id,
                            data={"action": ins.action.value, "instruction": ins.text, "from_slot": ins.from_slot, "to_slot": ins.to_slot})
                work.events.append(ex.ResequenceInstructed(cmd.line, rack.id, ins.order_id, ins.family, ins.action.value, ins.text))
                if ins.action is not ex.Action.REPLAN:
                    work.alert(Alert(AlertKind.RESEQUENCE_AFTER_PICK, cmd.line, ins.text, now, order_id=ins.order_id, details={"rack_id": rack.id, "action": ins.action.value}))
        work.flush()
        uow.commit()
    return Outcome(alerts=work.alerts, details={"instructions": [{"action": i.action.value, "rack_id": i.rack_id, "order_id": i.order_id, "text": i.text} for i in instructions]})


def on_calloff_line_changed(event: CallOffLineChanged, bus: Any) -> None:
    """A call-off line amended or cancelled may sit in a rack: settle the racks."""
    if event.new_state in (S.AMENDED.value, S.CANCELLED.value):
        bus.handle(ApplyChangesToRacks(event.line, ((event.order_id, event.family),)))


# --------------------------------------------------------------------------- queries
def trace(uow: AbstractUnitOfWork, serial: str) -> list[ex.ExecutionRecord]:
    """Every record of a serial number, from packing to the vehicle it was fitted into."""
    with uow:
        return uow.execution.records(serial=serial)


def kpis(uow: AbstractUnitOfWork, line: str | None = None) -> kpi.Kpis:
    with uow:
        return kpi.compute(uow.execution.records(line=line))


COMMAND_HANDLERS: dict[type[Command], Callable[..., Outcome]] = {
    ConfigureExecution: configure_execution,
    CreatePickList: create_pick_list,
    ConfirmPick: confirm_pick,
    VerifyScans: verify_scans,
    CloseRacks: close_racks,
    PlanLoads: plan_loads,
    DespatchShipment: despatch_shipment,
    UpdateEta: update_eta,
    OrderEmergencyDelivery: order_emergency_delivery,
    ReceiveShipment: receive_shipment,
    CheckLineSide: check_line_side,
    ConsumeVehicles: consume_vehicles,
    ApplyChangesToRacks: apply_changes_to_racks,
}

EVENT_HANDLERS = {CallOffLineChanged: on_calloff_line_changed}

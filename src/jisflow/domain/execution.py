"""Execution on the floor: picking in sequence, scan verification, resequencing after pick,
goods receipt against the despatch advice, the line-side check, consumption and traceability.

Every step leaves an ``ExecutionRecord`` (what happened, to which vehicle, part, serial, rack
and shipment, when): the records are the facts the KPIs are computed from and the trail from a
part's serial number to the VIN it went into.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from jisflow.domain.calloff import CallOffLine, CallOffState
from jisflow.domain.errors import ConflictError, Problem
from jisflow.domain.events import Event
from jisflow.domain.plant import Plant, SupplyMode
from jisflow.domain.racks import Rack, RackSlot, RackType, new_rack_id
from jisflow.domain.transport import Lane


class ScanRefused(ConflictError):
    """A scan that does not match what the sequence expects: nothing changes."""

    code = "scan_refused"


# --------------------------------------------------------------------------- master data
@dataclass(frozen=True)
class ExecutionSetup:
    """The floor's master data: rack types, lanes and where each part is picked."""

    rack_types: Mapping[str, RackType]
    lanes: Mapping[str, Lane]  # by code
    pick_locations: Mapping[str, str] = field(default_factory=dict)  # part number -> bin

    def lane_for(self, supplier: str, unloading_point: str) -> Lane | None:
        return next((ln for ln in self.lanes.values() if (ln.supplier, ln.unloading_point) == (supplier, unloading_point) and not ln.code.startswith(EMERGENCY_LANE)), None)

    def location_of(self, part_number: str) -> str:
        return self.pick_locations.get(part_number) or f"BIN-{part_number}"


EMERGENCY_LANE = "EXPRESS-"
_TRAILING_NUMBER = re.compile(r"(\d+)$")


def default_setup(plant: Plant, truck_racks: int = 8) -> ExecutionSetup:
    """Master data derived from the plant: one rack type per route's rack type (as many slots
    as the number its code ends with, else 10) and one lane per supplier and unloading point,
    with a transit time that grows with the distance and fits within the route's lead time."""
    rack_types: dict[str, RackType] = {}
    lanes: dict[str, Lane] = {}
    for family in plant.families:
        route = family.route
        if route.mode is not SupplyMode.JIS or route.supplier is None:
            continue
        code = route.rack_type or f"RK-{family.code}"
        if code not in rack_types:
            m = _TRAILING_NUMBER.search(code)
            rack_types[code] = RackType(code, int(m.group(1)) if m else 10)
        rack_types[code] = RackType(code, rack_types[code].cells, 1, rack_types[code].families | {family.code})
        lane_code = f"{route.supplier}>{route.unloading_point}"
        distance = plant.supplier(route.supplier).distance_km
        transit = min(timedelta(minutes=10 + distance), route.lead_time / 4)
        buffer = min(timedelta(minutes=10), route.lead_time / 8)
        old = lanes.get(lane_code)
        if old is None or transit < old.transit:
            lanes[lane_code] = Lane(lane_code, route.supplier, route.unloading_point, transit, transit + transit / 4, buffer, carrier=f"{route.supplier}-TRUCKS", truck_racks=truck_racks)
    return ExecutionSetup(rack_types, lanes)


# --------------------------------------------------------------------------- records
class RecordKind(str, enum.Enum):
    PICKED = "picked"
    PACKED = "packed"  # scan verified, part placed in its rack slot
    SCAN_REFUSED = "scan_refused"
    RACK_CLOSED = "rack_closed"
    RESEQUENCED = "resequenced"  # a physical instruction after a change to a picked part
    DESPATCHED = "despatched"  # one part left on a shipment
    SHIPMENT_DESPATCHED = "shipment_despatched"
    EMERGENCY = "emergency"
    RECEIVED = "received"  # one part received (data: in_position, on_time)
    DISCREPANCY = "discrepancy"
    LINESIDE_OK = "lineside_ok"
    LINESIDE_REFUSED = "lineside_refused"
    CONSUMED = "consumed"  # backflushed: fitted into the vehicle


@dataclass
class ExecutionRecord:
    kind: RecordKind
    at: datetime
    line: str
    order_id: str | None = None
    family: str | None = None
    seq_no: int | None = None
    part_number: str | None = None
    serial: str | None = None
    vin: str | None = None
    rack_id: str | None = None
    shipment_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


# --------------------------------------------------------------------------- events
@dataclass(frozen=True)
class RackClosed(Event):
    topic: ClassVar[str] = "rack.closed"
    rack_id: str
    line: str
    supplier: str
    first_seq_no: int | None
    last_seq_no: int | None
    filled: int
    capacity: int
    partial: bool


@dataclass(frozen=True)
class DespatchAdviceIssued(Event):
    """The ASN: the shipment's racks, slots, sequence numbers and parts."""

    topic: ClassVar[str] = "shipment.despatched"
    shipment_id: str
    line: str
    supplier: str
    unloading_point: str
    lane: str
    departed_at: datetime
    eta: datetime
    emergency: bool
    racks: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ShipmentEtaChanged(Event):
    topic: ClassVar[str] = "shipment.eta_changed"
    shipment_id: str
    line: str
    eta: datetime
    latest_arrival: datetime
    late_risk: bool


@dataclass(frozen=True)
class GoodsReceived(Event):
    topic: ClassVar[str] = "shipment.received"
    shipment_id: str
    line: str
    received_at: datetime
    parts: int
    discrepancies: tuple[str, ...]


@dataclass(frozen=True)
class ResequenceInstructed(Event):
    topic: ClassVar[str] = "rack.resequence"
    line: str
    rack_id: str
    order_id: str
    family: str
    action: str
    instruction: str


@dataclass(frozen=True)
class PartsConsumed(Event):
    topic: ClassVar[str] = "parts.consumed"
    line: str
    order_id: str
    vin: str | None
    station: str
    parts: tuple[dict[str, Any], ...]


# --------------------------------------------------------------------------- picking
@dataclass(frozen=True)
class PickItem:
    """One line of a pick list: take ``part_number`` from ``location``, put it in ``rack_id``
    slot ``slot``."""

    number: str
    order_id: str
    family: str
    seq_no: int
    part_number: str
    location: str
    rack_id: str
    slot: int
    need_time: datetime


def plan_racks(
    lines: Sequence[CallOffLine], open_racks: Iterable[Rack], setup: ExecutionSetup, plant: Plant, now: datetime,
) -> tuple[list[PickItem], list[Rack]]:
    """Put call-off lines (acknowledged, not yet in a rack) into rack slots in sequence order:
    first into the open rack of their supplier, unloading point and family, then into new
    racks. Returns the pick list (in sequence order) and every rack that changed."""
    racks = {(r.supplier, r.unloading_point, r.family): r for r in open_racks}
    changed: dict[str, Rack] = {}
    items: list[PickItem] = []
    for ln in sorted(lines, key=lambda x: (x.supplier, x.unloading_point, x.family, x.seq_no)):
        group = (ln.supplier, ln.unloading_point, ln.family)
        rack = racks.get(group)
        if rack is None or rack.free <= 0 or (rack.last_seq is not None and ln.seq_no <= rack.last_seq):
            route = plant.family(ln.family).route
            code = route.rack_type or f"RK-{ln.family}"
            rtype = setup.rack_types.get(code) or RackType(code, 10)
            rack = racks[group] = Rack(new_rack_id(), code, rtype.capacity, ln.supplier, ln.line, ln.unloading_point, ln.family, now, ln.ship_by)
        rack.plan(RackSlot(0, ln.order_id, ln.family, ln.seq_no, ln.part_number, ln.number, ln.need_time, ln.vin))
        changed[rack.id] = rack
        slot = rack.slots[-1]
        items.append(PickItem(ln.number, ln.order_id, ln.family, ln.seq_no, ln.part_number, setup.location_of(ln.part_number), rack.id, slot.position, ln.need_time))
    items.sort(key=lambda i: (i.need_time, i.seq_no, i.family))
    return items, list(changed.values())


@dataclass(frozen=True)
class Scan:
    """What the picker scanned: the part's barcode (part number and serial) and the rack slot."""

    rack_id: str
    slot: int
    part_number: str
    serial: str


def verify_scan(scan: Scan, rack: Rack | None, where: str) -> list[Problem]:
    """Everything wrong with a scan: an unknown or closed rack, a slot that is not the next
    one to fill, or a part that is not the one the slot's vehicle needs."""
    if rack is None:
        return [Problem(where, f"rack {scan.rack_id} does not exist")]
    expected = rack.next_open_slot()
    if expected is None or rack.state.value != "OPEN":
        return [Problem(where, f"rack {rack.id} is {rack.state.value.lower()} and has no slot left to fill")]
    problems = []
    if scan.slot != expected.position:
        problems.append(Problem(where, f"wrong slot: rack {rack.id} is filled in sequence, the next slot is {expected.position} (seq {expected.seq_no}, vehicle {expected.order_id}), not {scan.slot}"))
    if scan.part_number != expected.part_number:
        problems.append(Problem(where, f"wrong part: slot {expected.position} of rack {rack.id} is for vehicle {expected.order_id} (seq {expected.seq_no}) and needs {expected.part_number}, not {scan.part_number}"))
    if not scan.serial.strip():
        problems.append(Problem(where, "the part's serial number is empty"))
    return problems


# --------------------------------------------------------------------------- resequencing
class Action(str, enum.Enum):
    RESLOT = "reslot"  # move the part to another slot of the same rack
    PULL = "pull"  # take the part out and return it to stock
    INSERT_LATER = "insert_later"  # take the part out; it goes into a later rack
    REPLAN = "replan"  # the slot was only planned: nothing to do physically


@dataclass(frozen=True)
class Instruction:
    action: Action
    rack_id: str
    order_id: str
    family: str
    text: str
    from_slot: int | None = None
    to_slot: int | None = None


def resequence_after_pick(rack: Rack, lines: Mapping[tuple[str, str], CallOffLine | None]) -> list[Instruction]:
    """What to do physically when vehicles whose parts are in ``rack`` were moved, cancelled
    or re-specified. ``lines`` holds the current call-off line of every slot (None when it is
    gone). Changes ``rack`` to match and returns one instruction per physical action:

    - a slot only planned, not filled: released, the line is planned again (REPLAN);
    - a cancelled vehicle: its part is pulled and returned to stock (PULL);
    - a vehicle that needs another part, or that moved out of the rack's range (its new place
      is further from its neighbours than any two parts of the rack were): its part is pulled
      and goes into a later rack (INSERT_LATER);
    - a vehicle that moved inside the range: its part moves to its new slot (RESLOT). A shift
      of every number by the same amount (a vehicle inserted before the rack) keeps the order
      and needs nothing.
    """
    instructions: list[Instruction] = []
    old_gap = max((b.seq_no - a.seq_no for a, b in zip(rack.slots, rack.slots[1:])), default=1)
    keep: list[RackSlot] = []
    for slot in list(rack.slots):
        line = lines.get(slot.key)
        where = f"rack {rack.id} slot {slot.position}"
        if line is None or line.state is CallOffState.CANCELLED:
            if slot.filled:
                instructions.append(Instruction(Action.PULL, rack.id, slot.order_id, slot.family, f"pull {slot.part_number} (serial {slot.serial}) from {where} and return it to stock: vehicle {slot.order_id} was cancelled", from_slot=slot.position))
            else:
                instructions.append(Instruction(Action.REPLAN, rack.id, slot.order_id, slot.family, f"{where} released: vehicle {slot.order_id} was cancelled"))
        elif not slot.filled and (line.seq_no != slot.seq_no or line.part_number != slot.part_number):
            instructions.append(Instruction(Action.REPLAN, rack.id, slot.order_id, slot.family, f"{where} released: vehicle {slot.order_id} will be picked again"))
        elif line.part_number != slot.part_number:
            instructions.append(Instruction(Action.INSERT_LATER, rack.id, slot.order_id, slot.family, f"pull {slot.part_number} (serial {slot.serial}) from {where}: vehicle {slot.order_id} now needs {line.part_number}, which goes into a later rack", from_slot=slot.position))
        else:
            keep.append(slot)
    new_seq = {s.key: lines[s.key].seq_no for s in keep}  # type: ignore[union-attr]
    old_rank = {s.key: i for i, s in enumerate(keep)}
    order = sorted(keep, key=lambda s: new_seq[s.key])
    for i, slot in enumerate(order):
        neighbours = [new_seq[o.key] for o in order[max(i - 1, 0) : i + 2] if o is not slot]
        if old_rank[slot.key] != i and neighbours and min(abs(new_seq[slot.key] - n) for n in neighbours) > old_gap:
            instructions.append(Instruction(Action.INSERT_LATER, rack.id, slot.order_id, slot.family, f"pull {slot.part_number} (serial {slot.serial}) from rack {rack.id} slot {slot.position}: vehicle {slot.order_id} moved to seq {new_seq[slot.key]}, outside the rack's range; its part goes into a later rack", from_slot=slot.position))
            keep.remove(slot)
    old_positions = {s.key: s.position for s in keep}
    before = [s.key for s in keep]
    for s in keep:
        s.seq_no = new_seq[s.key]
        s.need_time = lines[s.key].need_time  # type: ignore[union-attr]
    rack.slots = keep
    rack.reslot()
    after = [s.key for s in rack.slots]
    for s in rack.slots:
        if s.filled and before.index(s.key) != after.index(s.key):
            instructions.append(Instruction(Action.RESLOT, rack.id, s.order_id, s.family, f"move {s.part_number} (serial {s.serial}) of vehicle {s.order_id} in rack {rack.id} from slot {old_positions[s.key]} to slot {s.position}", from_slot=old_positions[s.key], to_slot=s.position))
    return instructions


# --------------------------------------------------------------------------- receipt
@dataclass(frozen=True)
class ReceivedSlot:
    position: int
    part_number: str
    serial: str | None = None


def check_receipt(asn: Sequence[dict[str, Any]], received: Mapping[str, Sequence[ReceivedSlot]] | None) -> tuple[list[dict[str, Any]], list[str]]:
    """Compare what arrived with the despatch advice. ``received`` maps each rack id to the
    slots found in it; None means everything arrived as advised. Returns the advised slots
    found in their planned position, and every discrepancy (missing or extra rack, missing,
    extra or wrong part in a slot)."""
    if received is None:
        return [s for r in asn for s in r["slots"]], []
    ok: list[dict[str, Any]] = []
    found: list[str] = []
    advised = {r["rack_id"]: r for r in asn}
    for rack_id in sorted(set(received) - set(advised)):
        found.append(f"rack {rack_id} arrived but was not advised")
    for rack_id, rack in advised.items():
        if rack_id not in received:
            found.append(f"rack {rack_id} was advised but did not arrive ({len(rack['slots'])} part(s))")
            continue
        got = {s.position: s for s in received[rack_id]}
        for slot in rack["slots"]:
            actual = got.pop(slot["position"], None)
            if actual is None:
                found.append(f"rack {rack_id} slot {slot['position']}: part {slot['part_number']} for seq {slot['seq_no']} is missing")
            elif actual.part_number != slot["part_number"] or (actual.serial and slot.get("serial") and actual.serial != slot["serial"]):
                found.append(f"rack {rack_id} slot {slot['position']}: found {actual.part_number} {actual.serial or ''}".rstrip() + f", advised {slot['part_number']} {slot.get('serial') or ''} for seq {slot['seq_no']}".rstrip())
            else:
                ok.append(slot)
        for position in sorted(got):
            found.append(f"rack {rack_id} slot {position}: part {got[position].part_number} was not advised")
    return ok, found


# --------------------------------------------------------------------------- line side
@dataclass(frozen=True)
class LineSideScan:
    """At the station: the vehicle in front of the operator and the part taken from the rack."""

    order_id: str
    part_number: str
    serial: str


def check_line_side(scan: LineSideScan, due: Sequence[CallOffLine], serial_owner: str | None, where: str) -> list[Problem]:
    """Right vehicle, right part, right order. ``due`` are the delivered lines of the station's
    family not yet fitted, in the order their vehicles reach the station (need time, then
    sequence number: a vehicle the feed skipped comes later); the first is expected now;
    ``serial_owner`` is the vehicle the scanned serial was shipped for (None: not shipped)."""
    mine = next((ln for ln in due if ln.order_id == scan.order_id), None)
    if mine is None:
        return [Problem(where, f"vehicle {scan.order_id} has no delivered part waiting at this station")]
    problems = []
    if mine is not due[0]:
        problems.append(Problem(where, f"out of sequence: vehicle {due[0].order_id} (seq {due[0].seq_no}) is due before {scan.order_id} (seq {mine.seq_no})"))
    if scan.part_number != mine.part_number:
        problems.append(Problem(where, f"wrong part: vehicle {scan.order_id} needs {mine.part_number}, not {scan.part_number}"))
    if serial_owner is None:
        problems.append(Problem(where, f"serial {scan.serial} was not shipped for any vehicle"))
    elif serial_owner != scan.order_id:
        problems.append(Problem(where, f"wrong vehicle: serial {scan.serial} was shipped for vehicle {serial_owner}, not {scan.order_id}"))
    return problems

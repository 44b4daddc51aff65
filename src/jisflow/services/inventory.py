"""Inventory commands and their handlers: the ledger (receive, move, adjust, count, backflush),
reservations kept in step with the pearl chain, projections with shortage alerts, purchasing.

Expected receipts are the open purchase orders (at their confirmed time), the despatched
shipments still on the road (at their ETA), and what JIT summarized calls still bring (at their
window's start; a receipt that names its call counts against it): despatch, a new ETA and the
receipt project the items on the truck again.

Every stock change goes through ``ItemStock`` aggregates loaded (and locked) by
``uow.inventory.load``. Right after the change commits, the projection of each item it touched
is computed again, in a transaction of its own, and a ``ShortageProjected`` alert is raised
when its coverage falls below the item's threshold (once, until the alert is acknowledged).

Reservations follow the sequence: ``sync_line`` explodes the line's live vehicles, and
``REACTIONS`` run it inside the transaction of every import, broadcast and change of the pearl
chain, so the chain and its reservations commit together (``SyncReservations`` runs it on its
own). Every family whose part number is a registered item gets reservations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from jisflow.domain.alerts import AlertKind
from jisflow.domain.errors import NotFound, Problem, ProblemCollector, ValidationError
from jisflow.domain.events import Event, SequenceChanged, SequenceImported, VehicleBroadcast
from jisflow.domain.explosion import rule_problem
from jisflow.domain.forecast import periods_of
from jisflow.domain.inventory import (
    InsufficientStock,
    Item,
    ItemStock,
    Location,
    LotKind,
    Movement,
    ReasonCode,
    Reservation,
    check_locations,
    count_correction,
)
from jisflow.domain.plant import Plant, SupplyMode
from jisflow.domain.projection import Demand, ItemProjection, Supply, project_item, shortage_alert
from jisflow.domain.purchasing import (
    BomLine,
    ForwardedDemand,
    PhasedDemand,
    Policy,
    PolicyKind,
    Proposal,
    PurchaseOrder,
    ScheduleLine,
    Situation,
    delivery_schedule,
    explode_forecast,
    forward,
    net_forecast,
    plan,
    scan_card,
)
from jisflow.domain.sequence import PearlChain, PlannedBasis, Vehicle, VehicleStatus
from jisflow.domain.transport import ShipmentState, expected_receipts, shipment_parts
from jisflow.services.audit import SYSTEM, AuditEntry, changes
from jisflow.services.clock import Clock
from jisflow.services.commands import Command
from jisflow.services.handlers import Outcome, _now
from jisflow.services.unit_of_work import AbstractUnitOfWork, AlertFilter


# --------------------------------------------------------------------------- commands
@dataclass(frozen=True)
class RegisterItems(Command):
    items: tuple[Item, ...]


@dataclass(frozen=True)
class AddLocations(Command):
    locations: tuple[Location, ...]


@dataclass(frozen=True)
class ReceiveStock(Command):
    item: str
    location: str
    quantity: int
    lot: str = ""
    lot_kind: LotKind = LotKind.LOT
    purchase_order: str | None = None
    actor: str = "system"
    reference: str = ""
    at: datetime | None = None
    jit_call: JitCallRef | None = None  # a JIT delivery: the summarized call it answers


@dataclass(frozen=True)
class JitCallRef:
    """The summarized call a JIT delivery answers (its part is the receipt's item)."""

    line: str
    family: str
    window_start: datetime


@dataclass(frozen=True)
class MoveStock(Command):
    item: str
    from_location: str
    to_location: str
    quantity: int
    lot: str = ""
    actor: str = "system"
    reference: str = ""
    at: datetime | None = None


# Reasons a manual adjustment may give; receipts, transfers, counts and backflushes have their
# own commands.
ADJUSTMENT_REASONS = (ReasonCode.ADJUSTMENT, ReasonCode.SCRAP, ReasonCode.ISSUE_TO_LINE)


@dataclass(frozen=True)
class AdjustStock(Command):
    item: str
    location: str
    quantity: int  # signed
    reason: ReasonCode = ReasonCode.ADJUSTMENT
    lot: str = ""
    actor: str = "system"
    note: str = ""
    at: datetime | None = None


@dataclass(frozen=True)
class CountStock(Command):
    item: str
    location: str
    counted: int
    lot: str = ""
    actor: str = "system"
    at: datetime | None = None


@dataclass(frozen=True)
class SyncReservations(Command):
    """Bring the line's reservations in step with its pearl chain."""

    line: str
    at: datetime | None = None


@dataclass(frozen=True)
class ReprojectItems(Command):
    """Project the items again (and alert those that fell below their threshold)."""

    items: tuple[str, ...]
    at: datetime | None = None


@dataclass(frozen=True)
class BackflushVehicle(Command):
    """The vehicle passed its stations: its reserved parts leave stock."""

    line: str
    order_id: str
    actor: str = "system"
    at: datetime | None = None


@dataclass(frozen=True)
class BackflushVehicles(Command):
    """These vehicles passed their stations: their reserved parts leave stock, in one
    transaction (each item's stock is loaded, re-allocated and projected once for all)."""

    line: str
    order_ids: tuple[str, ...]
    actor: str = "system"
    at: datetime | None = None


@dataclass(frozen=True)
class BackflushDue(Command):
    """The line built everything needed up to ``until``: the stock-fed (KANBAN and STOCK)
    parts of those vehicles leave stock. A part the stock cannot cover stays open (and
    projected short) instead of driving the books negative."""

    line: str
    until: datetime
    actor: str = "line"
    at: datetime | None = None


# the supply modes whose parts the line takes from stock rather than from a sequenced delivery
STOCK_FED = (SupplyMode.KANBAN, SupplyMode.STOCK)


@dataclass(frozen=True)
class PlacePurchaseOrder(Command):
    item: str
    supplier: str
    quantity: int
    due_at: datetime
    confirmed_at: datetime | None = None
    source: str = "manual"


@dataclass(frozen=True)
class ConfirmPurchaseOrder(Command):
    number: str
    confirmed_at: datetime


@dataclass(frozen=True)
class SetPolicy(Command):
    policy: Policy


@dataclass(frozen=True)
class SetBom(Command):
    lines: tuple[BomLine, ...]


@dataclass(frozen=True)
class ScanKanbanCard(Command):
    item: str
    at: datetime | None = None


@dataclass(frozen=True)
class PlanPurchasing(Command):
    """Ask every policy what to order; ``place`` turns the proposals into purchase orders.
    The policies see the pearl chain's demand and, unless ``forecasts`` is off, the customers'
    forecasts beyond it (``forecast_demand``)."""

    place: bool = False
    at: datetime | None = None
    forecasts: bool = True


# --------------------------------------------------------------------------- queries
def _calendars(uow: AbstractUnitOfWork) -> tuple[dict[str, int], Callable[[str, datetime, datetime], timedelta]]:
    lines = {line.code: line for plant in uow.plants.list() for line in plant.lines}

    def working_time(line: str, start: datetime, end: datetime) -> timedelta:
        if end <= start:
            return timedelta(0)
        if line in lines:
            return lines[line].calendar.working_time_between(start, end)
        return end - start

    return {code: line.takt_seconds for code, line in lines.items()}, working_time


def projections(uow: AbstractUnitOfWork, now: datetime, items: Iterable[str] | None = None, with_steps: bool = False) -> dict[str, ItemProjection]:
    """The projection of these items (default: every item), inside an open unit of work."""
    known = uow.inventory.items()
    codes = sorted(known if items is None else set(items))
    missing = [c for c in codes if c not in known]
    if missing:
        raise NotFound(f"unknown item(s): {', '.join(missing)}")
    takts, working_time = _calendars(uow)
    balances = uow.inventory.balances(codes)
    transit = in_transit(uow, set(codes))
    for call in uow.jit_calls.open_for(codes):  # what JIT calls still bring, at their window's start
        transit.setdefault(call.part_number, []).append(
            Supply(call.part_number, call.window_start, call.open_quantity, f"JIT call {call.line}/{call.family} {call.window_start.isoformat()}")
        )
    result = {}
    for code in codes:
        demands = [
            Demand(code, r.need_time, r.seq_no, r.line, r.order_id, r.quantity, takts.get(r.line, 60))
            for r in uow.inventory.reservations(item=code)
        ]
        supplies = [s for o in uow.purchasing.orders(item=code, open_only=True) if (s := o.supply()) is not None]
        supplies += transit.get(code, [])
        result[code] = project_item(code, balances[code].on_hand, supplies, demands, now, working_time, with_steps)
    return result


def in_transit(uow: AbstractUnitOfWork, items: Set[str]) -> dict[str, list[Supply]]:
    """Despatched shipments still on the road, as expected receipts of ``items`` at their ETA
    (per item, in the order the trucks are listed)."""
    found: dict[str, list[Supply]] = {}
    if not items:
        return found
    for shipment in uow.execution.shipments(states=(ShipmentState.DEPARTED,)):
        vehicles = {order_id for part, order_id, _ in shipment_parts(shipment) if part in items}
        if not vehicles:
            continue
        quantities = {key: ln.quantity for key, ln in uow.calloffs.live_lines_for(shipment.line, vehicles).items()}
        for supply in expected_receipts(shipment, items, quantities):
            found.setdefault(supply.item, []).append(supply)
    return found


def reproject(uow: AbstractUnitOfWork, codes: Iterable[str], now: datetime, outcome: Outcome) -> None:
    """Project the touched items again, in a transaction of its own right after the change
    committed; alert the items that fell below their threshold (once, while the alert is
    open)."""
    codes = sorted(set(codes))
    if not codes:
        return
    with uow:
        items = uow.inventory.items()
        open_alerts = {
            a.details.get("item")
            for a in uow.alerts.list(AlertFilter(kinds=(AlertKind.SHORTAGE_PROJECTED,), open_only=True))
        }
        events: list[Event] = []
        for code, projection in projections(uow, now, codes).items():
            outcome.details.setdefault("projections", {})[code] = projection
            if code in open_alerts:
                continue
            raised = shortage_alert(projection, items[code].coverage_threshold_minutes, now)
            if raised is not None:
                alert, event = raised
                uow.alerts.add(alert)
                outcome.alerts.append(alert)
                events.append(event)
        uow.publish(events, now)
        uow.commit()


def save_stock(uow: AbstractUnitOfWork, stocks: Iterable[ItemStock]) -> None:
    """Write the items' stock back, and one audit entry for each movement, in the same
    transaction: who moved how many of what, where, and why."""
    stocks = list(stocks)
    moved = [m for agg in stocks for m in agg.movements]  # saving clears them
    uow.inventory.save(stocks)
    uow.audit.append(
        AuditEntry(
            uow.actor if uow.actor != SYSTEM else m.actor, m.at, "stock.moved", f"{m.item}/{m.location}" + (f"/{m.lot}" if m.lot else ""),
            None, {"quantity": m.quantity, "reason": m.reason.value, "reference": m.reference},
        )
        for m in moved
    )


def _post(uow: AbstractUnitOfWork, item: str, movements: list[Movement], now: datetime) -> Outcome:
    stocks = uow.inventory.load([item])
    stocks[item].post(movements)
    save_stock(uow, stocks.values())
    return Outcome(details={"movements": len(movements)})


def _positive(quantity: int, what: str) -> None:
    if quantity <= 0:
        raise ValidationError(f"{what} needs a quantity above zero, not {quantity}")


# --------------------------------------------------------------------------- handlers
def register_items(cmd: RegisterItems, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    found = ProblemCollector()
    with uow:
        known = uow.inventory.items()
        seen: set[str] = set()
        for item in cmd.items:
            found.problems.extend(item.problems(f"item {item.code}"))
            if item.code in known or item.code in seen:
                found.add(f"item {item.code}", "already exists")
            seen.add(item.code)
        found.raise_if_any(f"{len(found.problems)} problem(s) in the items to register; nothing registered")
        uow.inventory.add_items(cmd.items)
        uow.commit()
    return Outcome(details={"items": len(cmd.items)})


def add_locations(cmd: AddLocations, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    with uow:
        check_locations(cmd.locations, uow.inventory.locations())
        uow.inventory.add_locations(cmd.locations)
        uow.commit()
    return Outcome(details={"locations": len(cmd.locations)})


def receive_stock(cmd: ReceiveStock, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    """A receipt at the dock (or into transit); booked against its purchase order, or counted
    as delivered against its JIT call, if named."""
    _positive(cmd.quantity, f"a receipt of {cmd.item}")
    now = _now(cmd.at, clock)
    with uow:
        if cmd.item not in uow.inventory.items():
            raise NotFound(f"{cmd.item} is not a registered item")
        reference = cmd.reference or (cmd.purchase_order or "")
        if cmd.jit_call is not None:
            ref = cmd.jit_call
            uow.jit_calls.deliver(ref.line, ref.family, cmd.item, ref.window_start, cmd.quantity)
            reference = reference or f"JIT call {ref.line}/{ref.family} {ref.window_start.isoformat()}"
        if cmd.purchase_order:
            order = uow.purchasing.get_order(cmd.purchase_order)
            if order.item != cmd.item:
                raise ValidationError(f"purchase order {order.number} is for {order.item}, not {cmd.item}")
            order.receive(cmd.quantity, now)
            uow.purchasing.save_order(order)
        if cmd.lot:
            uow.inventory.add_lot(cmd.item, cmd.lot, cmd.lot_kind, now)
        outcome = _post(uow, cmd.item, [Movement(cmd.item, cmd.location, cmd.lot, cmd.quantity, ReasonCode.RECEIPT, cmd.actor, now, reference)], now)
        uow.commit()
    reproject(uow, [cmd.item], now, outcome)
    return outcome


def move_stock(cmd: MoveStock, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    """A transfer: two movements of one reason, out of one location and into another."""
    _positive(cmd.quantity, f"a move of {cmd.item}")
    if cmd.from_location == cmd.to_location:
        raise ValidationError(f"a move of {cmd.item} needs two different locations, not {cmd.from_location} twice")
    now = _now(cmd.at, clock)
    reference = cmd.reference or f"{cmd.from_location}->{cmd.to_location}"
    legs = [
        Movement(cmd.item, cmd.from_location, cmd.lot, -cmd.quantity, ReasonCode.TRANSFER, cmd.actor, now, reference),
        Movement(cmd.item, cmd.to_location, cmd.lot, cmd.quantity, ReasonCode.TRANSFER, cmd.actor, now, reference),
    ]
    with uow:
        outcome = _post(uow, cmd.item, legs, now)
        uow.commit()
    reproject(uow, [cmd.item], now, outcome)
    return outcome


def adjust_stock(cmd: AdjustStock, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    if cmd.reason not in ADJUSTMENT_REASONS:
        raise ValidationError(f"an adjustment takes reason {', '.join(r.value for r in ADJUSTMENT_REASONS)}, not {cmd.reason.value}")
    if cmd.quantity == 0:
        raise ValidationError(f"an adjustment of {cmd.item} at {cmd.location} needs a quantity other than zero")
    if cmd.reason is not ReasonCode.ADJUSTMENT and cmd.quantity > 0:
        raise ValidationError(f"{cmd.reason.value} takes stock away: give a negative quantity, not {cmd.quantity}")
    now = _now(cmd.at, clock)
    with uow:
        outcome = _post(uow, cmd.item, [Movement(cmd.item, cmd.location, cmd.lot, cmd.quantity, cmd.reason, cmd.actor, now, "", cmd.note)], now)
        uow.commit()
    reproject(uow, [cmd.item], now, outcome)
    return outcome


def count_stock(cmd: CountStock, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    with uow:
        stocks = uow.inventory.load([cmd.item])
        agg = stocks[cmd.item]
        if cmd.location not in agg.location_kinds:
            raise NotFound(f"location {cmd.location} does not exist")
        movements = count_correction(agg.stock, cmd.item, cmd.location, cmd.lot, cmd.counted, cmd.actor, now, "count")
        agg.post(movements)
        save_stock(uow, stocks.values())
        outcome = Outcome(details={"movements": len(movements), "difference": sum(m.quantity for m in movements)})
        uow.commit()
    reproject(uow, [cmd.item], now, outcome)
    return outcome


_SELECTIONS: dict[tuple[int, str, tuple[str, ...]], tuple[Plant, dict[tuple[str, frozenset[tuple[str, str]]], tuple | None]]] = {}
"""Per plant (one parsed revision), line and set of families: the parts each vehicle spec
(model and options) selects, or None when some family cannot select exactly one. A new plant
revision is a new plant object, and a changed spec is a new key, so nothing goes stale."""
_SELECTION_PLANTS = 16


def _selections(plant: Plant, line_code: str, families: list) -> dict[tuple[str, frozenset[tuple[str, str]]], tuple | None]:
    key = (id(plant), line_code, tuple(f.code for f in families))
    cached = _SELECTIONS.get(key)
    if cached is None or cached[0] is not plant:
        if len(_SELECTIONS) >= _SELECTION_PLANTS:
            _SELECTIONS.clear()
        cached = _SELECTIONS[key] = (plant, {})
    return cached[1]


_Key = tuple[str, str, str]  # a demand line's key: line, vehicle, family
_DemandLines = tuple[tuple[_Key, Reservation], ...]
_DEMANDS: dict[tuple[int, str, frozenset[str]], tuple[Plant, dict[str, tuple[int, datetime, Vehicle, _DemandLines]]]] = {}
"""Per plant revision, line and set of wanted items: the demand lines ``line_demand`` last gave
each vehicle, with the sequence number, time and vehicle they were computed from. The same
vehicle object (vehicles are replaced, never changed) at the same number and time gets the same
lines again (they are only ever read)."""


def _demand_memo(plant: Plant, line_code: str, wanted: frozenset[str]) -> dict[str, tuple[int, datetime, Vehicle, _DemandLines]]:
    key = (id(plant), line_code, wanted)
    cached = _DEMANDS.get(key)
    if cached is None or cached[0] is not plant:
        if len(_DEMANDS) >= _SELECTION_PLANTS:
            _DEMANDS.clear()
        cached = _DEMANDS[key] = (plant, {})
    return cached[1]


def _select(families: list, vehicle: Vehicle) -> tuple | None:
    """(family, station, part, quantity) of every family that has a part for the vehicle, as
    ``explode_vehicle`` finds them; None when the vehicle cannot be exploded."""
    selected = []
    for family in families:
        rule, problem = rule_problem(family, vehicle)
        if problem is not None:
            return None
        assert rule is not None
        if rule.part_number is not None:
            selected.append((family.code, family.station, rule.part_number, rule.quantity))
    return tuple(selected)


class _DemandWalk:
    """The demand lines of a line's live vehicles, vehicle by vehicle, as ``explode_vehicle``
    gives them, with need times from the actual (broadcast) or expected broadcast times.

    The parts a vehicle spec selects are remembered per plant revision (``_SELECTIONS``) and
    need times come from the calendar's memory, so a broadcast does not explode the whole chain
    again. ``lines`` explodes one vehicle; callers keep the lines of a vehicle and reuse them
    while its number, time and vehicle object are unchanged (vehicles are replaced, never
    changed), so lines are shared and never to be changed."""

    def __init__(self, plant: Plant, chain: PearlChain, wanted: frozenset[str], now: datetime) -> None:
        line = chain.line
        self.code = line.code
        self.wanted = wanted
        self.families = [f for f in plant.families_of_line(line.code) if any(r.part_number in wanted for r in f.rules)]
        self.selections = _selections(plant, line.code, self.families) if self.families else {}
        self.offsets = {s.code: line.takt * s.offset_takts for s in line.stations}
        self.add_working_time = line.calendar.add_working_time
        self.need_times = line.calendar.need_times
        self.chain, self.now = chain, now
        self.tolerance = line.takt / 2  # a stored need time this close to the expected one is kept
        self.station_offsets = {f.code: self.offsets[f.station] for f in self.families}

    def vehicles(self, built: Set[str]) -> Iterator[tuple[str, int, datetime, Vehicle]]:
        """(order id, number, time, vehicle) of every live vehicle not built, in chain order."""
        planned_at = self.chain.planned_broadcast_times(self.now)
        for entry in self.chain.entries():
            order_id = entry.order_id
            if order_id in built:
                continue
            at = entry.broadcast_at if entry.status is VehicleStatus.BROADCAST else planned_at.get(order_id)
            if at is not None:
                yield order_id, entry.seq_no, at, entry.vehicle

    def demand(
        self, built: Set[str], known: dict[str, tuple[int, datetime, Vehicle, _DemandLines]],
    ) -> tuple[dict[str, tuple[int, datetime, Vehicle, _DemandLines]], dict[_Key, Reservation]]:
        """Every live vehicle's lines (with the number, time and vehicle they come from) and
        all the lines by key, in chain order; the ``known`` lines of a vehicle of the same
        number, time and vehicle object are taken as they are."""
        vehicles: dict[str, tuple[int, datetime, Vehicle, _DemandLines]] = {}
        desired: dict[_Key, Reservation] = {}
        for order_id, seq_no, at, vehicle in self.vehicles(built):
            was = known.get(order_id)
            if was is not None and was[2] is vehicle and was[0] == seq_no and was[1] == at:
                lines = was[3]
            else:
                found = self.lines(order_id, seq_no, at, vehicle)
                if found is None:
                    continue
                lines = found
            vehicles[order_id] = (seq_no, at, vehicle, lines)
            desired.update(lines)
        return vehicles, desired

    def lines(self, order_id: str, seq_no: int, at: datetime, vehicle: Vehicle) -> _DemandLines | None:
        """The vehicle's demand lines; None when it cannot be exploded (the chain's own
        handlers alert on it)."""
        spec = (vehicle.model, frozenset(vehicle.options.items()))
        try:
            selected = self.selections[spec]
        except KeyError:
            selected = self.selections[spec] = _select(self.families, vehicle)
        if selected is None:
            return None
        need_times: dict[str, datetime] = {}
        found = []
        code, wanted = self.code, self.wanted
        for family, station, part, quantity in selected:
            if part in wanted:
                need = need_times.get(station)
                if need is None:
                    need = need_times[station] = self.add_working_time(at, self.offsets[station])
                found.append(((code, order_id, family), Reservation(part, code, order_id, family, seq_no, need, quantity)))
        return tuple(found)


def line_demand(plant: Plant, chain: PearlChain, items: Iterable[str], now: datetime, built: Set[str] = frozenset()) -> dict[tuple[str, str, str], Reservation]:
    """The demand lines of every live vehicle of the chain whose part is a registered item,
    with need times from the actual (broadcast) or expected broadcast times; the ``built``
    vehicles (every part consumed) are left out. A vehicle whose number, time and vehicle are
    those of the last call for the same plant revision, line and items gets the same lines
    (``_DEMANDS``): the lines are shared, never to be changed by the caller."""
    wanted = frozenset(items)
    walk = _DemandWalk(plant, chain, wanted, now)
    if not walk.families:
        return {}
    memo = _demand_memo(plant, chain.line.code, wanted)
    remembered, demand = walk.demand(built, memo)
    memo.clear()
    memo.update(remembered)
    return demand


@dataclass(slots=True)
class _LineSync:
    """What the last reservation sync of a line left in this process: the line's stored
    reservations as the repository handed them out after it (the same object later means
    nothing changed them since), each vehicle's demand lines with the number, time and
    vehicle they were computed from, and the basis of the planned vehicles' expected times
    then. The reservations equal those lines, but for the consumed ones, which a sync never
    changes."""

    plant: Plant
    wanted: frozenset[str]
    stored: Sequence[Reservation]
    consumed: frozenset[_Key]
    built: frozenset[str]
    vehicles: dict[str, tuple[int, datetime, Vehicle, _DemandLines]]
    basis: PlannedBasis


_LINE_SYNCS: dict[str, _LineSync] = {}
"""Per line, the last sync this process committed; taken out while a sync runs and put back
only once its transaction committed, so a failed sync leaves nothing to be trusted."""


def _delta_full(
    walk: _DemandWalk, stored: Sequence[Reservation], known: dict[str, tuple[int, datetime, Vehicle, _DemandLines]],
) -> tuple[list[Reservation], list[Reservation], list[Reservation], frozenset[_Key], frozenset[str], dict]:
    """Added, changed and released demand lines of a line, comparing every live vehicle with
    every stored reservation; with the consumed keys, the built vehicles and the lines of
    every vehicle as the sync leaves them. ``known`` are lines computed before for the same
    plant revision and items, reused for a vehicle of the same number, time and vehicle."""
    existing = {r.key: r for r in stored}
    consumed = {k for k, r in existing.items() if r.consumed_at is not None}
    live = {k: r for k, r in existing.items() if r.consumed_at is None}
    built = frozenset({k[1] for k in consumed} - {k[1] for k in live})
    vehicles, desired = walk.demand(built, known)
    added = [r for k, r in desired.items() if k not in existing]
    released = [r for k, r in live.items() if (want := desired.get(k)) is None or want.item != r.item]
    changed: list[Reservation] = []
    for order_id, (seq_no, at, vehicle, lines) in list(vehicles.items()):
        kept: list | None = None
        for index, (key, want) in enumerate(lines):
            was = live.get(key)
            if was is None:
                continue
            if _differs(was, want, walk.tolerance):
                changed.append(want)
            elif was.need_time != want.need_time:  # close enough: the stored line stays as it is
                kept = kept or list(lines)
                kept[index] = (key, was)
        if kept is not None:
            vehicles[order_id] = (seq_no, at, vehicle, tuple(kept))
    return added, changed, released, frozenset(consumed), built, vehicles


def _differs(was: Reservation, want: Reservation, tolerance: timedelta) -> bool:
    """Whether a stored demand line must be written again: another number, item or quantity,
    or a need time further than ``tolerance`` from the expected one. (A line that runs a little
    early or late moves every expected time; within half a takt the stored times keep the
    sequence's order and the projection's accuracy, and are not written again.)"""
    return (
        was.seq_no != want.seq_no or was.item != want.item or was.quantity != want.quantity
        or abs(was.need_time - want.need_time) > tolerance
    )


def _delta_since(
    walk: _DemandWalk, last: _LineSync,
) -> tuple[list[Reservation], list[Reservation], list[Reservation], dict]:
    """The same as ``_delta_full`` from what the last sync left, the stored reservations being
    unchanged since: only vehicles whose number, time or vehicle moved (or that left the chain)
    are compared, line by line with their last lines."""
    vehicles = last.vehicles
    consumed = last.consumed
    added: list[Reservation] = []
    changed: list[Reservation] = []
    released: list[Reservation] = []
    seen: set[str] = set()
    note, known, built = seen.add, vehicles.get, last.built
    broadcast, cancelled = VehicleStatus.BROADCAST, VehicleStatus.CANCELLED
    planned_at = walk.chain.planned_broadcast_times(walk.now)
    for entry in walk.chain.all_entries():  # the walk of ``walk.vehicles``, inlined: it runs over every vehicle
        status = entry.status
        if status is cancelled:
            continue
        vehicle = entry.vehicle
        order_id = vehicle.order_id
        if order_id in built:
            continue
        at = entry.broadcast_at if status is broadcast else planned_at.get(order_id)
        if at is None:
            continue
        note(order_id)
        seq_no = entry.seq_no
        was = known(order_id)
        if was is not None and was[2] is vehicle and was[0] == seq_no:
            if was[1] == at:
                continue
            retimed = _retimed(walk, was, at, consumed, changed)  # only its time moved (the line runs early or late)
            if retimed is not None:
                vehicles[order_id] = retimed
                continue
        _compare_vehicle(walk, vehicles, consumed, order_id, seq_no, at, vehicle, added, changed, released)
    for order_id in vehicles.keys() - seen:  # cancelled, or no longer in the chain
        released.extend(r for k, r in vehicles.pop(order_id)[3] if k not in consumed)
    return added, changed, released, vehicles


def _delta_of_broadcasts(
    walk: _DemandWalk, last: _LineSync, broadcast: Sequence[str],
) -> tuple[list[Reservation], list[Reservation], list[Reservation], dict, PlannedBasis] | None:
    """The same as ``_delta_since`` when the chain changed only by the broadcast of these
    vehicles since the last sync: when they were the head of the planned vehicles then and
    every other planned vehicle is still the same vehicle under the same number, expected when
    it was (the line kept its takt), only the broadcast ones are compared; with the basis of
    the planned times as this sync leaves them. None when that is not so (every vehicle is
    to be compared).

    The broadcast vehicles only change by a cancel or a spec change, which run a sync of
    their own; the planned ones are checked against the basis of the last sync."""
    gone = tuple(dict.fromkeys(broadcast))
    head = last.basis.vehicles[: len(gone)]
    if len(head) != len(gone) or {v.order_id for v in head} != set(gone):
        return None
    chain = walk.chain
    entries = []
    for order_id in gone:
        entry = chain.find(order_id)
        if entry is None or entry.status is not VehicleStatus.BROADCAST or entry.broadcast_at is None:
            return None
        entries.append(entry)
    entries.sort(key=lambda e: e.seq_no)  # in chain order, as a walk of the chain meets them
    basis = chain.planned_basis_after(last.basis, len(gone), walk.now)
    if basis is None:
        return None
    vehicles, consumed, built = last.vehicles, last.consumed, last.built
    added: list[Reservation] = []
    changed: list[Reservation] = []
    released: list[Reservation] = []
    for entry in entries:
        vehicle, order_id, seq_no, at = entry.vehicle, entry.order_id, entry.seq_no, entry.broadcast_at
        if order_id in built:
            continue
        was = vehicles.get(order_id)
        if was is not None and was[2] is vehicle and was[0] == seq_no:
            if was[1] == at:
                continue
            retimed = _retimed(walk, was, at, consumed, changed)
            if retimed is not None:
                vehicles[order_id] = retimed
                continue
        _compare_vehicle(walk, vehicles, consumed, order_id, seq_no, at, vehicle, added, changed, released)
    return added, changed, released, vehicles, basis


def _compare_vehicle(
    walk: _DemandWalk, vehicles: dict[str, tuple[int, datetime, Vehicle, _DemandLines]], consumed: frozenset[_Key],
    order_id: str, seq_no: int, at: datetime, vehicle: Vehicle,
    added: list[Reservation], changed: list[Reservation], released: list[Reservation],
) -> None:
    """Explode one vehicle again and compare its lines with those it last stored: new lines
    to ``added``, lines to write again to ``changed``, lines it no longer has (or that moved
    to another item) to ``released``; ``vehicles`` keeps what it stores then."""
    was = vehicles.get(order_id)
    lines = walk.lines(order_id, seq_no, at, vehicle)
    old = dict(was[3]) if was is not None else {}
    kept: list = []  # the vehicle's lines as they are stored once this sync is in
    for key, want in lines or ():
        before = old.pop(key, None)
        if key in consumed or before is None:
            if before is None and key not in consumed:
                added.append(want)
            kept.append((key, want))
        elif _differs(before, want, walk.tolerance):
            changed.append(want)
            kept.append((key, want))
            if before.item != want.item:
                released.append(before)  # from the stock of its old item
        else:
            kept.append((key, before))  # close enough: the stored line stays as it is
    if lines is None:
        vehicles.pop(order_id, None)
    else:
        vehicles[order_id] = (seq_no, at, vehicle, tuple(kept))
    released.extend(r for k, r in old.items() if k not in consumed)


def _retimed(
    walk: _DemandWalk, was: tuple[int, datetime, Vehicle, _DemandLines], at: datetime, consumed: frozenset[_Key], changed: list[Reservation],
) -> tuple[int, datetime, Vehicle, _DemandLines] | None:
    """A vehicle whose number and spec are those of its stored lines, with a new time ``at``:
    each line's need time is worked out again from ``at`` and the line is written again only
    when it moved more than the tolerance (added to ``changed``); returns what the vehicle
    stores then. None when a line's family is not one the walk knows (then the vehicle is
    exploded again)."""
    offsets, tolerance = walk.station_offsets, walk.tolerance
    lines = was[3]
    try:
        needs = walk.need_times(at, [offsets[stored.family] for _, stored in lines])
    except KeyError:
        return None
    moved: list[tuple[int, Reservation]] = []
    for index, ((key, stored), need) in enumerate(zip(lines, needs)):
        if key not in consumed and abs(need - stored.need_time) > tolerance:
            moved.append((index, Reservation(stored.item, stored.line, stored.order_id, stored.family, stored.seq_no, need, stored.quantity)))
    if not moved:
        return (was[0], at, was[2], lines)
    kept = list(lines)
    for index, r in moved:
        kept[index] = (kept[index][0], r)
        changed.append(r)
    return (was[0], at, was[2], tuple(kept))


def sync_reservations(cmd: SyncReservations, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    """Add, re-rank and release the line's reservations so they match the pearl chain."""
    now = _now(cmd.at, clock)
    with uow:
        outcome, touched = sync_line(uow, cmd.line, now)
        uow.commit()
    reproject(uow, touched, now, outcome)
    return outcome


def sync_line(
    uow: AbstractUnitOfWork, line_code: str, now: datetime, broadcast: Sequence[str] | None = None,
) -> tuple[Outcome, set[str]]:
    """Bring the line's reservations in step with its pearl chain, inside the caller's
    transaction; returns the outcome and the items whose reservations changed (to be
    projected again once it commits). ``broadcast``: the vehicles whose broadcast is all
    that changed the chain since it was last synced, when the caller knows it.

    It starts from what the last sync of the line in this process left, while the line's
    reservations are unchanged since (the repository hands out the same object): then only
    the vehicles whose number, expected time or spec moved are compared (only the
    ``broadcast`` ones, when they were the head of the planned vehicles and the others are
    still expected when they were); else every vehicle with every reservation."""
    last = _LINE_SYNCS.pop(line_code, None)
    plant = uow.plants.of_line(line_code)
    items = uow.inventory.items()
    stored = uow.inventory.line_reservations(line_code)  # read only
    wanted = frozenset(items)
    if not stored and not any(r.part_number in wanted for f in plant.families_of_line(line_code) for r in f.rules):
        return Outcome(applied=False), set()
    chain = uow.chains.view(plant.line(line_code))
    walk = _DemandWalk(plant, chain, wanted, now)
    basis: PlannedBasis | None = None
    if last is not None and last.plant is plant and last.wanted == wanted and last.stored is stored and len(stored):
        consumed, built = last.consumed, last.built
        found = _delta_of_broadcasts(walk, last, broadcast) if broadcast else None
        if found is not None:
            added, changed, released, vehicles, basis = found
        else:
            added, changed, released, vehicles = _delta_since(walk, last)  # (an empty tuple is one shared object)
    else:
        known = last.vehicles if last is not None and last.plant is plant and last.wanted == wanted else {}
        added, changed, released, consumed, built, vehicles = _delta_full(walk, stored, known)
    touched = {r.item for r in [*added, *changed, *released]}
    outcome = Outcome(details={"added": len(added), "changed": len(changed), "released": len(released)})
    if touched:
        stocks = uow.inventory.load(touched)
        before = {code: _reserved(agg) for code, agg in stocks.items()}
        for r in released:
            stocks[r.item].release(r.key)
        upserts: dict[str, list[Reservation]] = {}
        for r in [*added, *changed]:
            if r.key not in consumed:
                upserts.setdefault(r.item, []).append(r)
        for item, demands in upserts.items():
            stocks[item].upsert(*demands)
        after = {code: {**_reserved(agg), "rows": len(agg.changed) + len(agg.removed)} for code, agg in stocks.items() if agg.changed or agg.removed}
        uow.audit.append(changes(uow.actor, now, "reservations.synced", "reservations", before, after, line=line_code))
        save_stock(uow, stocks.values())
        stored = uow.inventory.line_reservations(line_code)  # as this transaction leaves them
    state = _LineSync(plant, wanted, stored, consumed, built, vehicles, basis if basis is not None else chain.planned_basis(now))
    uow.on_commit(lambda: _LINE_SYNCS.__setitem__(line_code, state))
    return outcome, touched


def sync_after_chain_change(events: list[Event], uow: AbstractUnitOfWork, clock: Clock) -> None:
    """Reaction to the pearl chain's events: the reservations of each line they name follow
    the chain in the same transaction; the items whose reservations changed are projected
    again once it commits."""
    now = clock.now()
    for line_code in dict.fromkeys(e.line for e in events):  # type: ignore[attr-defined]
        mine = [e for e in events if e.line == line_code]  # type: ignore[attr-defined]
        broadcast = [e.order_id for e in mine] if all(type(e) is VehicleBroadcast for e in mine) else None
        _, touched = sync_line(uow, line_code, now, broadcast)
        if touched:
            uow.follow_up(ReprojectItems(tuple(sorted(touched)), at=now))


def reproject_items(cmd: ReprojectItems, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    outcome = Outcome()
    reproject(uow, cmd.items, _now(cmd.at, clock), outcome)
    return outcome


def _reserved(stock: ItemStock) -> dict[str, int]:
    """What the audit log keeps of an item's reservations: units reserved (on hand promised),
    units demanded and demand lines, over its live reservations."""
    live = [r for r in stock.reservations if r.consumed_at is None]
    return {"reserved": stock.balance.reserved, "demand": sum(r.quantity for r in live), "lines": len(live)}


def backflush_vehicle(cmd: BackflushVehicle, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    return backflush_vehicles(BackflushVehicles(cmd.line, (cmd.order_id,), cmd.actor, cmd.at), uow, clock)


def backflush_vehicles(cmd: BackflushVehicles, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    """Every vehicle named must have open demand lines, or nothing is backflushed."""
    now = _now(cmd.at, clock)
    order_ids = tuple(dict.fromkeys(cmd.order_ids))
    if not order_ids:
        raise ValidationError(f"no vehicle to backflush on line {cmd.line}")
    with uow:
        if len(order_ids) == 1:
            lines = uow.inventory.reservations(line=cmd.line, order_id=order_ids[0])
        else:
            wanted = set(order_ids)
            lines = [r for r in uow.inventory.reservations(line=cmd.line) if r.order_id in wanted]
        found = {r.order_id for r in lines}
        missing = [o for o in order_ids if o not in found]
        if missing and len(order_ids) == 1:
            raise NotFound(f"vehicle {missing[0]} on line {cmd.line} has no open demand line to backflush")
        if missing:
            raise NotFound(
                f"{len(missing)} vehicle(s) on line {cmd.line} have no open demand line to backflush; nothing was backflushed",
                problems=[Problem(f"vehicle {o}", f"has no open demand line on line {cmd.line}") for o in missing],
            )
        stocks = uow.inventory.load({r.item for r in lines})
        moved = 0
        for r in lines:
            moved += len(stocks[r.item].consume(r.key, cmd.actor, now, f"{cmd.line}/{r.order_id}"))
        save_stock(uow, stocks.values())
        outcome = Outcome(details={"movements": moved, "items": sorted(stocks), "vehicles": len(order_ids)})
        uow.commit()
    reproject(uow, stocks, now, outcome)
    return outcome


def backflush_due(cmd: BackflushDue, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    until = _now(cmd.until, clock)
    with uow:
        plant = uow.plants.of_line(cmd.line)
        families = {f.code for f in plant.families_of_line(cmd.line) if f.route.mode in STOCK_FED}
        due = [r for r in uow.inventory.reservations(line=cmd.line) if r.family in families and r.need_time <= until and r.consumed_at is None]
        stocks = uow.inventory.load({r.item for r in due})
        consumed = 0
        uncovered: list[tuple[str, str]] = []
        for r in sorted(due, key=lambda r: (r.need_time, r.seq_no)):
            try:
                stocks[r.item].consume(r.key, cmd.actor, now, f"{cmd.line}/{r.order_id}")
                consumed += 1
            except InsufficientStock:
                uncovered.append((r.item, r.order_id))  # not covered: it stays open and projected short
        save_stock(uow, stocks.values())
        outcome = Outcome(details={"consumed": consumed, "uncovered": uncovered})
        uow.commit()
    reproject(uow, stocks, now, outcome)
    return outcome


def _new_order(uow: AbstractUnitOfWork, item: str, supplier: str, quantity: int, due_at: datetime, now: datetime, source: str, confirmed_at: datetime | None = None) -> PurchaseOrder:
    if item not in uow.inventory.items():
        raise NotFound(f"{item} is not a registered item")
    _positive(quantity, f"a purchase order for {item}")
    order = PurchaseOrder(f"PO{uow.purchasing.count_orders() + 1:06d}", item, supplier, quantity, due_at, now, source, confirmed_at)
    uow.purchasing.add_order(order)
    return order


def place_purchase_order(cmd: PlacePurchaseOrder, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = clock.now()
    with uow:
        order = _new_order(uow, cmd.item, cmd.supplier, cmd.quantity, cmd.due_at, now, cmd.source, cmd.confirmed_at)
        outcome = Outcome(details={"number": order.number})
        uow.commit()
    reproject(uow, [cmd.item], now, outcome)
    return outcome


def confirm_purchase_order(cmd: ConfirmPurchaseOrder, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = clock.now()
    with uow:
        order = uow.purchasing.get_order(cmd.number)
        order.confirmed_at = cmd.confirmed_at
        uow.purchasing.save_order(order)
        outcome = Outcome(details={"number": order.number})
        uow.commit()
    reproject(uow, [order.item], now, outcome)
    return outcome


def set_policy(cmd: SetPolicy, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    problems = cmd.policy.problems()
    if problems:
        raise ValidationError(f"policy of {cmd.policy.item} rejected", problems=problems)
    with uow:
        if cmd.policy.item not in uow.inventory.items():
            raise NotFound(f"{cmd.policy.item} is not a registered item")
        uow.purchasing.put_policy(cmd.policy)
        uow.commit()
    return Outcome()


def set_bom(cmd: SetBom, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    found = ProblemCollector()
    for b in cmd.lines:
        if b.quantity <= 0:
            found.add(f"{b.parent} > {b.component}", f"quantity must be above zero, not {b.quantity}")
    found.raise_if_any("bill of material rejected")
    with uow:
        uow.purchasing.put_bom(cmd.lines)
        uow.commit()
    return Outcome(details={"lines": len(cmd.lines)})


def scan_kanban_card(cmd: ScanKanbanCard, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    with uow:
        policy = next((p for p in uow.purchasing.policies() if p.item == cmd.item), None)
        if policy is None:
            raise NotFound(f"{cmd.item} has no replenishment policy")
        proposal = scan_card(policy, uow.purchasing.orders(item=cmd.item, open_only=True), now)
        order = _new_order(uow, proposal.item, proposal.supplier, proposal.quantity, proposal.due_at, now, proposal.source.value)
        outcome = Outcome(details={"number": order.number})
        uow.commit()
    reproject(uow, [cmd.item], now, outcome)
    return outcome


def _chain_demand(uow: AbstractUnitOfWork, code: str) -> tuple[Demand, ...]:
    return tuple(Demand(code, r.need_time, r.seq_no, r.line, r.order_id, r.quantity) for r in uow.inventory.reservations(item=code))


def forecast_demand(uow: AbstractUnitOfWork, now: datetime) -> tuple[dict[str, list[PhasedDemand]], list[Problem]]:
    """Per item, the demand the customers' forecasts add to the pearl chain's, by need time,
    inside an open unit of work; and the bill-of-material components a forecast cannot name.

    Each customer's newest forecast of a part counts (the repository keeps only that, per
    period). A period's quantity is due at its start, less the chain demand of the part inside
    the period (``net_forecast``). What is left of a finished part's forecast is demand of its
    components by the bill of material (``explode_forecast``); the chain's own demand of the
    part reaches the sub-suppliers by forwarding (``forwarded_demand``), vehicle by vehicle."""
    bom, items = uow.purchasing.bom(), set(uow.inventory.items())
    periods = periods_of(uow.purchasing.forecasts(), items | {b.parent for b in bom})
    chain = [d for code in sorted({p.item for p in periods} & items) for d in _chain_demand(uow, code)]
    net = net_forecast(chain, periods, now)
    components, unresolved = explode_forecast(net, bom)
    found: dict[str, list[PhasedDemand]] = {}
    for p in (*net, *components):
        found.setdefault(p.item, []).append(PhasedDemand.of_period(p))
    return {code: sorted(entries, key=lambda e: e.need_time) for code, entries in sorted(found.items())}, unresolved


def situations(uow: AbstractUnitOfWork, items: Iterable[str], forecast: dict[str, list[PhasedDemand]] | None = None) -> dict[str, Situation]:
    balances = uow.inventory.balances(items)
    forecast = forecast or {}
    return {
        code: Situation(
            balances[code].on_hand,
            tuple(uow.purchasing.orders(item=code, open_only=True)),
            _chain_demand(uow, code),
            tuple(forecast.get(code, ())),
        )
        for code in balances
    }


def plan_purchasing(cmd: PlanPurchasing, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = _now(cmd.at, clock)
    with uow:
        policies = uow.purchasing.policies()
        forecast, unresolved = forecast_demand(uow, now) if cmd.forecasts else ({}, [])
        proposals: list[Proposal] = plan(policies, situations(uow, [p.item for p in policies], forecast), now)
        outcome = Outcome(applied=cmd.place, details={"proposals": proposals, "orders": [], "unresolved": unresolved})
        if cmd.place:
            for p in proposals:
                outcome.details["orders"].append(_new_order(uow, p.item, p.supplier, p.quantity, p.due_at, now, p.source.value).number)
            uow.commit()
    if cmd.place:
        reproject(uow, [p.item for p in proposals], now, outcome)
    return outcome


def _frozen_until(uow: AbstractUnitOfWork, now: datetime) -> dict[str, int]:
    """Per line, the highest sequence number inside the frozen zone (broadcast vehicles and
    the frozen head of the planned ones)."""
    limits: dict[str, int] = {}
    for plant in uow.plants.list():
        for line in plant.lines:
            chain = uow.chains.get(line)
            planned, frozen = chain.planned(), chain.frozen_count(now)
            limits[line.code] = max(chain.feed.last_broadcast_seq_no or 0, planned[frozen - 1].seq_no if frozen else 0)
    return limits


def delivery_schedules(uow: AbstractUnitOfWork, now: datetime, bucket: timedelta, forecasts: bool = True) -> dict[str, list[ScheduleLine]]:
    """For every item with a schedule policy, the delivery schedule its supplier receives:
    the item's sequenced demand beyond the frozen zone, per bucket, with cumulative figures,
    extended past the chain by the forecasts (``forecast_demand``; planning, not firm) unless
    ``forecasts`` is off."""
    frozen = _frozen_until(uow, now)
    takts, _ = _calendars(uow)
    policies = [p for p in uow.purchasing.policies() if p.kind is PolicyKind.SCHEDULE]
    forecast = forecast_demand(uow, now)[0] if forecasts and policies else {}
    schedules = {}
    for policy in policies:
        demands = [
            Demand(r.item, r.need_time, r.seq_no, r.line, r.order_id, r.quantity, takts.get(r.line, 60))
            for r in uow.inventory.reservations(item=policy.item)
            if r.seq_no > frozen.get(r.line, 0)
        ]
        schedules[policy.item] = delivery_schedule(policy.item, demands, now, bucket, policy.lead_time, forecast.get(policy.item, ()))
    return schedules


def forwarded_demand(uow: AbstractUnitOfWork, line_code: str, now: datetime, lead_time: timedelta = timedelta(0)) -> list[ForwardedDemand]:
    """The component demand of the line's JIS parts by the bill of material, vehicle by
    vehicle, for the sub-suppliers."""
    bom = uow.purchasing.bom()
    plant = uow.plants.of_line(line_code)
    chain = uow.chains.get(plant.line(line_code))
    parents = {b.parent for b in bom}
    options = {e.order_id: {"model": e.vehicle.model, **e.vehicle.options} for e in chain.entries()}
    takt = plant.line(line_code).takt_seconds
    demands = [
        (Demand(r.item, r.need_time, r.seq_no, r.line, r.order_id, r.quantity, takt), options[r.order_id])
        for r in sorted(line_demand(plant, chain, parents, now).values(), key=lambda r: r.rank)
    ]
    return forward(demands, bom, lead_time)


COMMAND_HANDLERS: dict[type[Command], Callable[..., Outcome]] = {
    RegisterItems: register_items,
    AddLocations: add_locations,
    ReceiveStock: receive_stock,
    MoveStock: move_stock,
    AdjustStock: adjust_stock,
    CountStock: count_stock,
    SyncReservations: sync_reservations,
    ReprojectItems: reproject_items,
    BackflushVehicle: backflush_vehicle,
    BackflushVehicles: backflush_vehicles,
    BackflushDue: backflush_due,
    PlacePurchaseOrder: place_purchase_order,
    ConfirmPurchaseOrder: confirm_purchase_order,
    SetPolicy: set_policy,
    SetBom: set_bom,
    ScanKanbanCard: scan_kanban_card,
    PlanPurchasing: plan_purchasing,
}


# Events of the pearl chain after which the line's reservations are brought in step, in the
# same transaction (a reaction, see ``services.unit_of_work``).
REACTIONS: dict[type[Event], Callable[[list[Event], AbstractUnitOfWork, Clock], None]] = {
    SequenceImported: sync_after_chain_change,
    VehicleBroadcast: sync_after_chain_change,
    SequenceChanged: sync_after_chain_change,
}

"""Stock-fed supply in the digital twin: the JIT, KANBAN and STOCK families.

Each part number of such a family has a ``Bin`` at the line side (and, for STOCK, a place in
the plant's warehouse); the line takes every vehicle's part from it and stops when it is empty.
How a bin is refilled depends on the family's supply mode, and every receipt, transfer, issue,
card scan and purchase order goes through the real inventory and purchasing commands:

- **JIT**: the real handlers sum the vehicles' demand into summarized calls, one per part and
  window. The supplier's truck takes every call whose window would start before the next truck
  could arrive and delivers what it adds to the line side, in containers (``ReceiveStock``); a
  container takes one of the truck's places.
- **KANBAN**: a loop of cards per part (``SetPolicy`` with cards and container quantity). The
  loop starts full at the line side; each emptied container's card is scanned
  (``ScanKanbanCard``, which places the purchase order) and a full container comes back after
  the lead time and is received against that order.
- **STOCK**: a warehouse buffer per part with a reorder point and an order quantity
  (``SetPolicy``); purchasing is planned at every review (``PlanPurchasing``), each proposal
  placed as a purchase order (``PlacePurchaseOrder``) and received into the warehouse when it
  arrives. A tugger picks a container to the line side
  (``MoveStock``) whenever one of the two line-side containers is empty.

The parts are items of the ledger, so the line's reservations of them follow the pearl chain
(the reaction production runs on every import and broadcast; ``SyncReservations`` once the
items are registered) and purchasing and the projections see that demand. The line's use is
booked every quarter of an hour: each vehicle that had all its stock-fed parts fitted is
backflushed (``BackflushVehicles``, the vehicles of a booking together), which consumes their
reservations.
Sizes left open in the scenario follow from each part's demand rate in the generated sequence:
cards cover the replenishment lead time plus the safety cover, reorder points also the review
period, an order the scenario's order cover.

Handling touches count load units handled at the plant: two per container (or rack) received
(unloaded, put to its place) and two per tugger trip (picked, brought to the line).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import simpy

from jisflow.domain.alerts import AlertKind
from jisflow.domain.errors import JisflowError
from jisflow.domain.inventory import Item, Location, LocationKind
from jisflow.domain.plant import PartFamily, SupplyMode
from jisflow.domain.purchasing import Policy, PolicyKind
from jisflow.services import inventory as inv
from jisflow.services.unit_of_work import AlertFilter

if TYPE_CHECKING:
    from jisflow.simulation.twin import Twin

WAREHOUSE = "WAREHOUSE"
PURCHASE = "PURCHASE"  # the supplier of a STOCK family that names none


@dataclass
class Bin:
    """One part number of a stock-fed family at the line side (and in the warehouse)."""

    part: str
    family: str
    mode: SupplyMode
    supplier: str
    location: str
    container: int
    lead_minutes: float
    rate: float  # parts per working second
    line_side: int = 0
    warehouse: int = 0
    in_tugger: int = 0
    used_since_card: int = 0
    unbooked: int = 0  # fitted by the line, not yet backflushed in the ledger
    refill_at: int = 0  # STOCK: the line-side level at which the tugger brings a container
    arrivals: list[int] = field(default_factory=list)  # run seconds of deliveries on their way
    waiting: simpy.Event | None = None


@dataclass(frozen=True)
class JitCall:
    """One summarized call of a JIT part as the run leaves it: the pieces of it needed within
    the run, whether each of them reached the line side by its vehicle's need time (the need
    times the reservations hold), and the pieces delivered against it."""

    family: str
    part_number: str
    window_start: int  # run seconds
    quantity: int
    due: int  # pieces of it needed by the end of the run
    on_time: bool  # every piece due was at the line side by its need time
    delivered: int  # pieces at the line side by the end of the run


@dataclass(frozen=True)
class ItemShortage:
    """A stock-fed item the ledger's projection sees running short at the end of the run."""

    item: str
    family: str
    mode: str
    first_shortage_at: datetime
    order_id: str | None
    seq_no: int | None
    short_quantity: int
    line_stop_risk_minutes: float


@dataclass
class Ledger:
    """The ledger of the stock-fed parts as the run leaves it, counted per supply mode."""

    items: dict[str, int] = field(default_factory=dict)  # mode -> items
    reservations: dict[str, int] = field(default_factory=dict)  # mode -> open demand lines
    backflushed: dict[str, int] = field(default_factory=dict)  # mode -> demand lines consumed
    shortage_alerts: dict[str, int] = field(default_factory=dict)  # mode -> shortage alerts raised in the run
    shortages: list[ItemShortage] = field(default_factory=list)


class StockSupply:
    def __init__(self, twin: Twin, families: list[PartFamily], demand: dict[str, int], vehicles: int) -> None:
        self.twin = twin
        self.env = twin.env
        self.bus = twin.app.bus
        self.families = {f.code: f for f in families}
        self.bins: dict[str, Bin] = {}
        self.jit_shipped: dict[tuple, int] = defaultdict(int)
        self.jit_arrived: dict[tuple, list[tuple[int, int]]] = defaultdict(list)  # call key -> (run second, pieces) received
        self.touches: dict[str, int] = defaultdict(int)
        self.emergencies: dict[str, int] = defaultdict(int)
        self.orders = 0
        self.fitted: dict[str, int] = defaultdict(int)  # vehicle -> stock-fed parts fitted so far
        self.to_backflush: list[str] = []  # vehicles that had every stock-fed part fitted since the last booking
        takt = twin.takt
        for f in families:
            settings = twin.scenario.stock_settings(f.code)
            for part in sorted({r.part_number for r in f.rules if r.part_number}):
                if part in self.bins:
                    continue
                supplier = f.route.supplier or PURCHASE
                self.bins[part] = Bin(part, f.code, f.route.mode, supplier, f.route.line_side_location, settings.container_quantity,
                                      f.route.lead_time.total_seconds() / 60, demand.get(part, 0) / max(vehicles * takt, 1))

    # ------------------------------------------------------------------ set-up
    def start(self) -> None:
        """Items, locations, policies and opening stock in the ledger, then the processes."""
        now = self.twin.clock.now()
        bus = self.bus
        bus.handle(inv.RegisterItems(tuple(Item(p, unit="pcs", coverage_threshold_minutes=60) for p in sorted(self.bins))))
        locations = [Location(code, LocationKind.SUPERMARKET, f"line side {code}") for code in sorted({b.location for b in self.bins.values()})]
        if any(b.mode is SupplyMode.STOCK for b in self.bins.values()):
            locations.append(Location(WAREHOUSE, LocationKind.WAREHOUSE, "plant warehouse"))
        bus.handle(inv.AddLocations(tuple(locations)))
        # the items are known now: the line's reservations are brought in step with the chain
        # imported so far, as a plant does when it starts keeping a part in stock
        bus.handle(inv.SyncReservations(self.twin.line.code, at=now))
        for b in self.bins.values():
            s = self.twin.scenario.stock_settings(b.family)
            cover = b.rate * (b.lead_minutes + s.safety_minutes) * 60
            if b.mode is SupplyMode.KANBAN:
                cards = s.kanban_cards or max(2, math.ceil(cover / b.container) + 1)
                bus.handle(inv.SetPolicy(Policy(b.part, PolicyKind.KANBAN, b.supplier, round(b.lead_minutes), kanban_cards=cards, container_quantity=b.container)))
                self._receive(b, cards * b.container, b.location, actor="opening stock")
            elif b.mode is SupplyMode.STOCK:
                # the reorder point covers the lead time, the review period and the safety cover
                point = s.reorder_point if s.reorder_point is not None else math.ceil(cover + b.rate * s.review_minutes * 60)
                quantity = s.order_quantity or max(b.container, math.ceil(b.rate * s.order_cover_minutes * 60 / b.container) * b.container)
                bus.handle(inv.SetPolicy(Policy(b.part, PolicyKind.REORDER_POINT, b.supplier, round(b.lead_minutes), reorder_point=point, order_quantity=quantity)))
                b.refill_at = b.container + math.ceil(b.rate * s.replenish_minutes * 60 * 1.5)
                self._receive(b, point + quantity, WAREHOUSE, actor="opening stock")
                self._receive(b, b.refill_at + b.container, b.location, actor="opening stock")
        if any(b.mode is SupplyMode.STOCK for b in self.bins.values()):
            self.env.process(self._purchasing())

    # ------------------------------------------------------------------ the line
    def has(self, part: str, quantity: int) -> bool:
        return self.bins[part].line_side >= quantity

    def wait_for(self, part: str, emergency_lead: float | None) -> simpy.Event:
        """The event of the next delivery of this part to the line side; with emergencies on,
        one is ordered when no delivery is due soon enough."""
        b = self.bins[part]
        if emergency_lead is not None and not (b.mode is SupplyMode.STOCK and (b.in_tugger or b.warehouse)):
            soon = self.env.now + emergency_lead * 60
            if not any(t <= soon for t in b.arrivals):
                self._emergency(b)
        if b.mode is SupplyMode.STOCK:
            self._tugger(b)
        if b.waiting is None:
            b.waiting = self.env.event()
        return b.waiting

    def take(self, part: str, quantity: int, order_id: str) -> None:
        """The line fits ``quantity`` of ``part`` to vehicle ``order_id``; once the vehicle
        has had every stock-fed part fitted, it is due for its backflush."""
        b = self.bins[part]
        b.line_side -= quantity
        b.unbooked += quantity
        self.fitted[order_id] += 1
        if self.fitted[order_id] == len(self.twin.stock_demand[order_id]):
            self.to_backflush.append(order_id)
            del self.fitted[order_id]
        self.twin.level(_line(b.mode), -quantity)
        if b.mode is SupplyMode.KANBAN:
            b.used_since_card += quantity
            self._scan_cards(b)
        elif b.mode is SupplyMode.STOCK:
            self._tugger(b)

    def book(self) -> None:
        """Backflush the vehicles that had every stock-fed part fitted since the last booking
        (``BackflushVehicles``: it consumes the vehicles' reservations, as the line's
        backflush point does in the plant)."""
        now = self.twin.clock.now()
        line = self.twin.line.code
        done, self.to_backflush = self.to_backflush, []
        if done:
            self.bus.handle(inv.BackflushVehicles(line, tuple(done), actor="line", at=now))
        for order_id in done:
            for part, quantity in self.twin.stock_demand[order_id].values():
                self.bins[part].unbooked -= quantity
        for b in self.bins.values():
            if b.mode is SupplyMode.KANBAN and b.used_since_card >= b.container:
                self._scan_cards(b)

    # ------------------------------------------------------------------ replenishment
    def _receive(
        self, b: Bin, quantity: int, location: str, *, actor: str = "dock", order: str | None = None, reference: str = "",
        jit_call: inv.JitCallRef | None = None,
    ) -> None:
        self.bus.handle(inv.ReceiveStock(b.part, location, quantity, purchase_order=order, actor=actor, reference=reference,
                                         at=self.twin.clock.now(), jit_call=jit_call))
        if location == WAREHOUSE:
            b.warehouse += quantity
            self.twin.level("STOCK warehouse", quantity)
        else:
            self._to_line_side(b, quantity)
        if actor != "opening stock":
            self.touches[b.mode.value] += 2 * math.ceil(quantity / b.container)

    def _to_line_side(self, b: Bin, quantity: int) -> None:
        b.line_side += quantity
        self.twin.level(_line(b.mode), quantity)
        if b.waiting is not None:
            event, b.waiting = b.waiting, None
            event.succeed()

    def _deliver(self, b: Bin, quantity: int, delay: float, location: str, order: str | None = None, reference: str = ""):
        at = self.env.now + max(0, round(delay))
        b.arrivals.append(at)
        yield self.env.timeout(at - self.env.now)
        b.arrivals.remove(at)
        self.twin._now()
        self._receive(b, quantity, location, order=order, reference=reference)
        if location == WAREHOUSE:
            self._tugger(b)

    def _lane_delay(self, b: Bin) -> float:
        """Seconds a purchase order takes: its lead time, give or take the lane's spread."""
        settings = self.twin.scenario.suppliers.get(b.supplier)
        if settings is None:
            return b.lead_minutes * 60
        lane = settings.transit_minutes
        rng = self.twin.rng_for(f"{b.supplier}:stock")
        return max(60.0, (b.lead_minutes + rng.triangular(lane.min, lane.max, lane.mode) - lane.mode) * 60)

    def _scan_cards(self, b: Bin) -> None:
        while b.used_since_card >= b.container:
            try:
                number = self.bus.handle(inv.ScanKanbanCard(b.part, at=self.twin.clock.now())).details["number"]
            except JisflowError:
                return  # every card of the loop is on order: scanned again when one comes back
            b.used_since_card -= b.container
            self.orders += 1
            self.env.process(self._deliver(b, b.container, self._lane_delay(b), b.location, order=number, reference="kanban"))

    def _purchasing(self):
        review = min(self.twin.scenario.stock_settings(b.family).review_minutes for b in self.bins.values() if b.mode is SupplyMode.STOCK)
        while True:
            now = self.twin._now()
            # the planner's proposals, each placed as an order of its own
            for p in self.bus.handle(inv.PlanPurchasing(place=False, at=now)).details["proposals"]:
                number = self.bus.handle(inv.PlacePurchaseOrder(p.item, p.supplier, p.quantity, p.due_at, source=p.source.value)).details["number"]
                b = self.bins[p.item]
                self.orders += 1
                self.env.process(self._deliver(b, p.quantity, self._lane_delay(b), WAREHOUSE, order=number))
            yield self.env.timeout(review * 60)

    def _tugger(self, b: Bin) -> None:
        """A container is picked in the warehouse and brought to the line when the line side
        (with what is on its way) falls to one container plus the line's use during a tugger
        round (two bins when the round is short)."""
        if b.mode is not SupplyMode.STOCK or b.line_side + b.in_tugger > b.refill_at or b.warehouse <= 0:
            return
        quantity = min(b.container, b.warehouse)
        b.warehouse -= quantity
        b.in_tugger += quantity
        self.twin.level("STOCK warehouse", -quantity)
        self.twin.level("STOCK tugger", quantity)
        self.touches[b.mode.value] += 2
        self.env.process(self._tug(b, quantity))

    def _tug(self, b: Bin, quantity: int):
        at = self.env.now + round(self.twin.scenario.stock_settings(b.family).replenish_minutes * 60)
        b.arrivals.append(at)
        yield self.env.timeout(at - self.env.now)
        b.arrivals.remove(at)
        self.bus.handle(inv.MoveStock(b.part, WAREHOUSE, b.location, quantity, actor="tugger", at=self.twin._now()))
        b.in_tugger -= quantity
        self.twin.level("STOCK tugger", -quantity)
        self._to_line_side(b, quantity)

    def _emergency(self, b: Bin) -> None:
        """An express order of one container, at half the lane's transit (an hour without a lane)."""
        settings = self.twin.scenario.suppliers.get(b.supplier)
        delay = 3600.0 if settings is None else self.twin.rng_for(f"emergency:{b.supplier}").triangular(
            settings.transit_minutes.min, settings.transit_minutes.max, settings.transit_minutes.mode) * 30
        now = self.twin.clock.now()
        number = self.bus.handle(inv.PlacePurchaseOrder(b.part, b.supplier, b.container, now + timedelta(seconds=delay), source="emergency")).details["number"]
        self.emergencies[b.mode.value] += 1
        self.orders += 1
        self.env.process(self._deliver(b, b.container, delay, b.location, order=number, reference="emergency"))

    # ------------------------------------------------------------------ JIT
    def jit_load(self, supplier: str, horizon: int, room: int) -> list[tuple[Bin, int, str, tuple]]:
        """What the supplier's truck takes of its summarized calls: every call whose window
        starts within ``horizon`` seconds, up to ``room`` containers."""
        with self.twin.app.uow:
            calls = self.twin.app.uow.jit_calls.list(self.twin.line.code, supplier)
        limit = self.twin.at(self.env.now + horizon)
        load = []
        for call in sorted(calls, key=lambda c: (c.window_start, c.part_number)):
            if call.window_start > limit or call.part_number not in self.bins or room <= 0:
                continue
            left = call.quantity - self.jit_shipped[call.key]
            if left <= 0:
                continue
            b = self.bins[call.part_number]
            quantity = min(left, room * b.container)
            room -= math.ceil(quantity / b.container)
            self.jit_shipped[call.key] += quantity
            load.append((self.bins[call.part_number], quantity, f"JIT {call.family} {call.window_start:%Y-%m-%d %H:%M}", call.key))
        return load

    def jit_arrive(self, load: list[tuple[Bin, int, str, tuple]]) -> None:
        for b, quantity, reference, key in load:
            line, family, _, window_start = key
            self._receive(b, quantity, b.location, reference=reference, jit_call=inv.JitCallRef(line, family, window_start))
            self.jit_arrived[key].append((self.env.now, quantity))

    def jit_calls(self) -> list[JitCall]:
        """The line's summarized calls as the handlers leave them. A call sums vehicles whose
        parts are needed across its window; it was on time when, vehicle after vehicle in the
        order of their need times, the pieces delivered against it by each need time covered
        every piece needed up to then."""
        uow, line = self.twin.app.uow, self.twin.line.code
        with uow:
            calls = uow.jit_calls.list(line)
            need = {(r.order_id, r.family): self.twin.sec(r.need_time) for r in uow.inventory.reservations(line=line, live_only=False)}
        end = self.twin.sec(self.twin.end)
        found = []
        for call in calls:
            start = self.twin.sec(call.window_start)
            arrived = sorted(self.jit_arrived.get(call.key, []))
            wanted = sorted((need.get((order_id, call.family), start), q) for order_id, q in call.contributions.items())
            due = [(at, q) for at, q in wanted if at <= end]
            needed, on_time = 0, True
            for at, q in due:
                needed += q
                if sum(got for t, got in arrived if t <= at) < needed:
                    on_time = False
                    break
            found.append(JitCall(call.family, call.part_number, start, call.quantity, sum(q for _, q in due), on_time, sum(q for _, q in arrived)))
        return found

    def ledger(self) -> Ledger:
        """What the ledger holds now, per supply mode: the items, the line's open and consumed
        reservations, the shortage alerts the projections raised in the run, and the items the
        projection sees running short (first shortage, the vehicle it hits, line-stop risk)."""
        uow, now = self.twin.app.uow, self.twin.clock.now()
        found = Ledger()
        mode = {part: b.mode.value for part, b in self.bins.items()}
        for m in mode.values():
            found.items[m] = found.items.get(m, 0) + 1
        with uow:
            for r in uow.inventory.reservations(line=self.twin.line.code, live_only=False):
                if r.item in mode:
                    counted = found.backflushed if r.consumed_at is not None else found.reservations
                    counted[mode[r.item]] = counted.get(mode[r.item], 0) + 1
            for alert in uow.alerts.list(AlertFilter(kinds=(AlertKind.SHORTAGE_PROJECTED,))):
                item = alert.details.get("item")
                if item in mode:
                    found.shortage_alerts[mode[item]] = found.shortage_alerts.get(mode[item], 0) + 1
            projected = inv.projections(uow, now, sorted(self.bins))
        for code, p in projected.items():
            if p.first_shortage_at is not None:
                b = self.bins[code]
                found.shortages.append(ItemShortage(code, b.family, b.mode.value, p.first_shortage_at, p.first_shortage_order_id,
                                                    p.first_shortage_seq_no, p.short_quantity, float(p.line_stop_risk_minutes)))
        found.shortages.sort(key=lambda k: (k.first_shortage_at, k.item))
        return found

    # ------------------------------------------------------------------ figures
    def containers(self) -> tuple[int, int]:
        """Bin places at the line side and warehouse places, in containers, right now."""
        line = sum(math.ceil(b.line_side / b.container) for b in self.bins.values())
        warehouse = sum(math.ceil(b.warehouse / b.container) for b in self.bins.values())
        return line, warehouse


def _line(mode: SupplyMode) -> str:
    return f"{mode.value} line side"


__all__ = ["Bin", "ItemShortage", "JitCall", "Ledger", "StockSupply", "WAREHOUSE"]

"""The floor in simulated time: suppliers pick, scan and rack what was called off, trucks
leave in reverse unloading order and arrive after their lane's transit time, the dock receives
against the ASN, and the line checks and backflushes each part when its vehicle reaches the
station. Everything goes through the real execution commands, in batches per step (one pick
list, one scan batch, one close, one load plan per step), so a step costs a handful of
transactions whatever the number of parts.

Once the line is stocked (``stock_line``), the ledger runs beside the floor: its stock-fed
parts are backflushed each step, and the stock on hand is sampled each step for the summary.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from jisflow.bootstrap import App
from jisflow.domain.calloff import CallOffState
from jisflow.domain.errors import JisflowError
from jisflow.domain.execution import LineSideScan, RecordKind, Scan
from jisflow.domain.plant import Line, Plant
from jisflow.domain.transport import ShipmentState
from jisflow.domain.inventory import Item, Location, LocationKind
from jisflow.services import execution as x
from jisflow.services import inventory as inv
from jisflow.services.unit_of_work import CallOffLineFilter

S = CallOffState
WAITING = (S.SENT, S.ACKNOWLEDGED, S.PICKED, S.PACKED)


class FloorRun:
    """Drives the floor of one line; ``step(now)`` plays everything due by ``now``."""

    def __init__(self, app: App, plant: Plant, line: Line, every: timedelta = timedelta(minutes=10)) -> None:
        self.app = app
        self.line = line
        self.every = every
        self.families = plant.families_of_line(line.code)
        self.stations = {f.code: f.station for f in self.families}
        self.next_step: datetime | None = None
        self.refused = 0
        self.stock_samples: list[int] | None = None  # units on hand after each step, once stocked

    def maybe_step(self, now: datetime) -> None:
        if self.next_step is None or now >= self.next_step:
            self.step(now)
            self.next_step = now + self.every

    def step(self, now: datetime) -> None:
        bus, code = self.app.bus, self.line.code
        items = bus.handle(x.CreatePickList(code, at=now)).details["items"]
        if items:
            to_pick = tuple((i["order_id"], i["family"]) for i in items if not i["picked"])
            if to_pick:
                bus.handle(x.ConfirmPick(code, to_pick, actor="picker", at=now))
            ordered = sorted(items, key=lambda i: (i["rack_id"], i["slot"]))
            bus.handle(x.VerifyScans(code, tuple(Scan(i["rack_id"], i["slot"], i["part_number"], f"SN-{i['order_id']}-{i['family']}") for i in ordered), at=now))
        bus.handle(x.CloseRacks(code, at=now))
        for shipment in bus.handle(x.PlanLoads(code, until=now + self.every, at=now)).details["shipments"]:
            bus.handle(x.DespatchShipment(shipment["id"], at=now))
        self._expedite(now)
        with self.app.uow:
            arrived = [s.id for s in self.app.uow.execution.shipments(code, (ShipmentState.DEPARTED,)) if s.eta <= now]
        for shipment_id in arrived:
            bus.handle(x.ReceiveShipment(shipment_id, at=now))
        self._line_side(now)
        if self.stock_samples is not None:
            bus.handle(inv.BackflushDue(code, until=now, at=now))
            with self.app.uow:
                self.stock_samples.append(sum(b.on_hand for b in self.app.uow.inventory.balances().values()))

    def stock_line(self, start: datetime, end: datetime, pack: int = 10) -> None:
        """Put the line's stock-fed parts (KANBAN and STOCK families) in the ledger: every
        part becomes an item, every line-side location a location, and each item gets opening
        stock at the line side, in full packs, covering three quarters to one and a half times
        (by item, in turn) its demand from ``start`` to ``end``."""
        booked = [f for f in self.families if f.route.mode in inv.STOCK_FED]
        parts = sorted({r.part_number for f in booked for r in f.rules if r.part_number})
        bus, code = self.app.bus, self.line.code
        bus.handle(inv.AddLocations(tuple(Location(loc, LocationKind.SUPERMARKET, f"line side {loc}") for loc in sorted({f.route.line_side_location for f in booked}))))
        bus.handle(inv.RegisterItems(tuple(Item(p, unit="pcs", coverage_threshold_minutes=60) for p in parts)))
        bus.handle(inv.SyncReservations(code, at=start))
        stock_fed = {f.code: f.route.line_side_location for f in booked}
        with self.app.uow:
            demand: dict[tuple[str, str], int] = defaultdict(int)
            for r in self.app.uow.inventory.reservations(line=code):
                if r.family in stock_fed and r.need_time < end:
                    demand[(r.item, stock_fed[r.family])] += r.quantity
        for i, ((item, location), quantity) in enumerate(sorted(demand.items())):
            opening = -(-quantity * (3 + i % 4) // 4 // pack) * pack
            bus.handle(inv.ReceiveStock(item, location, opening, actor="opening stock", at=start))
        self.stock_samples = []

    def _expedite(self, now: datetime) -> None:
        """Parts not yet on the road whose need time is closer than a regular truck can make:
        an emergency delivery each."""
        with self.app.uow:
            late = [ln for ln in self.app.uow.calloffs.lines(CallOffLineFilter(line=self.line.code, states=WAITING)) if ln.need_time <= now + self.every * 2]
        for ln in late:
            try:
                self.app.bus.handle(x.OrderEmergencyDelivery(self.line.code, ln.order_id, ln.family, "not despatched in time", at=now))
            except JisflowError:
                self.refused += 1

    def _line_side(self, now: datetime) -> None:
        """Vehicles that reached a station: scan each delivered part, then backflush."""
        uow = self.app.uow
        with uow:
            due = [ln for ln in uow.calloffs.lines(CallOffLineFilter(line=self.line.code, states=(S.DELIVERED,))) if ln.need_time <= now]
            serials = {}
            for order_id in sorted({ln.order_id for ln in due}):
                for r in uow.execution.records(line=self.line.code, order_id=order_id, kinds=(RecordKind.DESPATCHED,)):
                    serials[(order_id, r.family)] = r.serial
        by_station: dict[str, list] = defaultdict(list)
        for ln in sorted(due, key=lambda ln: (ln.need_time, ln.seq_no)):
            by_station[self.stations[ln.family]].append(ln)
        for station, lines in sorted(by_station.items()):
            scans = tuple(LineSideScan(ln.order_id, ln.part_number, serials.get((ln.order_id, ln.family)) or "") for ln in lines)
            try:
                self.app.bus.handle(x.CheckLineSide(self.line.code, station, scans, at=now))
            except JisflowError:
                self.refused += 1
                continue
            self.app.bus.handle(x.ConsumeVehicles(self.line.code, tuple(dict.fromkeys(ln.order_id for ln in lines)), station, at=now))

    def summary(self) -> dict[str, Any]:
        result = x.kpis(self.app.uow, self.line.code).to_json()
        if self.stock_samples is not None:
            result["inventory"] = self.inventory_summary()
        return result

    def inventory_summary(self) -> dict[str, Any]:
        """Average and peak units on hand over the sampled steps, and every item the
        projection sees running short, with the first vehicle each hits."""
        samples = self.stock_samples or [0]
        uow = self.app.uow
        with uow:
            projected = inv.projections(uow, self.app.clock.now())
        short = [
            {"item": p.item, "first_shortage_at": p.first_shortage_at.isoformat(), "order_id": p.first_shortage_order_id,
             "seq_no": p.first_shortage_seq_no, "short_quantity": p.short_quantity}
            for p in projected.values() if p.first_shortage_at is not None
        ]
        average = (sum(samples) + len(samples) // 2) // len(samples)  # whole units, rounded
        return {"average_stock": average, "peak_stock": max(samples), "samples": len(samples), "projected_shortages": short}

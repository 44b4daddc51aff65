"""The floor in simulated time: suppliers pick, scan and rack what was called off, trucks
leave in reverse unloading order and arrive after their lane's transit time, the dock receives
against the ASN, and the line checks and backflushes each part when its vehicle reaches the
station. Everything goes through the real execution commands, in batches per step (one pick
list, one scan batch, one close, one load plan per step), so a step costs a handful of
transactions whatever the number of parts.
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
from jisflow.services import execution as x
from jisflow.services.unit_of_work import CallOffLineFilter

S = CallOffState
WAITING = (S.SENT, S.ACKNOWLEDGED, S.PICKED, S.PACKED)


class FloorRun:
    """Drives the floor of one line; ``step(now)`` plays everything due by ``now``."""

    def __init__(self, app: App, plant: Plant, line: Line, every: timedelta = timedelta(minutes=10)) -> None:
        self.app = app
        self.line = line
        self.every = every
        self.stations = {f.code: f.station for f in plant.families_of_line(line.code)}
        self.next_step: datetime | None = None
        self.refused = 0

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
        return x.kpis(self.app.uow, self.line.code).to_json()

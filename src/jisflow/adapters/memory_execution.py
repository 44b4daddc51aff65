"""In-memory execution repository, with the semantics of the SQL one: documents stored, copies
handed out, changes staged and applied on commit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jisflow.domain.execution import ExecutionRecord, ExecutionSetup, RecordKind
from jisflow.domain.racks import Rack, RackState
from jisflow.domain.transport import Shipment, ShipmentState
from jisflow.services import execution_ports as ep


@dataclass
class ExecutionState:
    setups: dict[str, dict[str, Any]] = field(default_factory=dict)
    racks: dict[str, dict[str, Any]] = field(default_factory=dict)  # insertion order: opening order
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: list[ExecutionRecord] = field(default_factory=list)
    # indexes (kept in step on commit): records by vehicle and by serial, racks not yet settled
    records_of_order: dict[str, list[ExecutionRecord]] = field(default_factory=dict)
    records_of_serial: dict[str, list[ExecutionRecord]] = field(default_factory=dict)
    live_racks: dict[str, dict[str, Any]] = field(default_factory=dict)


# Racks in these states change no more; ``racks()`` asking only for other states skips them.
_SETTLED = {RackState.SHIPPED.value, RackState.RECEIVED.value, RackState.EMPTIED.value}


class MemoryExecutionRepository(ep.ExecutionRepository):
    def __init__(self, staged) -> None:
        self._s = staged

    @property
    def _st(self) -> ExecutionState:
        return self._s.store.execution

    def setup(self, plant: str) -> ExecutionSetup | None:
        doc = self._st.setups.get(plant)
        return ep.setup_from_doc(doc) if doc is not None else None

    def put_setup(self, plant: str, setup: ExecutionSetup) -> None:
        doc = ep.setup_to_doc(setup)
        self._s.stage(lambda st: st.execution.setups.__setitem__(plant, doc))

    def save_racks(self, racks: Iterable[Rack]) -> None:
        docs = [ep.rack_to_doc(r) for r in racks]
        def apply(st) -> None:
            for d in docs:
                st.execution.racks[d["id"]] = d
                if d["state"] in _SETTLED:
                    st.execution.live_racks.pop(d["id"], None)
                else:
                    st.execution.live_racks[d["id"]] = d

        self._s.stage(apply)

    def rack(self, rack_id: str) -> Rack | None:
        doc = self._st.racks.get(rack_id)
        return ep.rack_from_doc(doc) if doc is not None else None

    def racks(self, line: str | None = None, states: tuple[RackState, ...] = (), supplier: str | None = None) -> list[Rack]:
        wanted = {s.value for s in states}
        docs = self._st.live_racks if wanted and not wanted & _SETTLED else self._st.racks
        return [
            ep.rack_from_doc(d) for d in docs.values()
            if (line is None or d["line"] == line) and (not wanted or d["state"] in wanted) and (supplier is None or d["supplier"] == supplier)
        ]

    def save_shipment(self, shipment: Shipment) -> None:
        doc = ep.shipment_to_doc(shipment)
        self._s.stage(lambda st: st.execution.shipments.__setitem__(doc["id"], doc))

    def shipment(self, shipment_id: str) -> Shipment | None:
        doc = self._st.shipments.get(shipment_id)
        return ep.shipment_from_doc(doc) if doc is not None else None

    def shipments(self, line: str | None = None, states: tuple[ShipmentState, ...] = ()) -> list[Shipment]:
        wanted = {s.value for s in states}
        found = [
            ep.shipment_from_doc(d) for d in self._st.shipments.values()
            if (line is None or d["line"] == line) and (not wanted or d["state"] in wanted)
        ]
        return sorted(found, key=lambda s: (s.departure, s.id))

    def add_records(self, records: Iterable[ExecutionRecord]) -> None:
        rows = [(r.kind.value, r.at, r.line, r.order_id, r.serial, ep.record_to_doc(r)) for r in records]

        def apply(st) -> None:
            for kind, at, line, order_id, serial, doc in rows:
                record = ep.record_from(kind, at, line, order_id, serial, doc, len(st.execution.records) + 1)
                st.execution.records.append(record)
                if record.order_id is not None:
                    st.execution.records_of_order.setdefault(record.order_id, []).append(record)
                if record.serial is not None:
                    st.execution.records_of_serial.setdefault(record.serial, []).append(record)

        self._s.stage(apply)

    def records(self, *, line: str | None = None, kinds: tuple[RecordKind, ...] = (), serial: str | None = None, order_id: str | None = None) -> list[ExecutionRecord]:
        if order_id is not None:
            candidates = self._st.records_of_order.get(order_id, [])
        elif serial is not None:
            candidates = self._st.records_of_serial.get(serial, [])
        else:
            candidates = self._st.records
        return [
            ep.record_from(r.kind.value, r.at, r.line, r.order_id, r.serial, ep.record_to_doc(r), r.id) for r in candidates
            if (line is None or r.line == line) and (not kinds or r.kind in kinds) and (serial is None or r.serial == serial)
            and (order_id is None or r.order_id == order_id)
        ]

"""SQL implementation of the execution port (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from jisflow.adapters.db import tables_execution as te
from jisflow.adapters.db.statements import plant_code_for
from jisflow.adapters.db.writes import Transaction
from jisflow.domain.execution import ExecutionRecord, ExecutionSetup, RecordKind
from jisflow.domain.racks import Rack, RackState
from jisflow.domain.transport import Shipment, ShipmentState
from jisflow.services import execution_ports as ep

Connect = Transaction

_RECORD_INSERT = sa.insert(te.records).values(plant_code=plant_code_for("record_line"))
"""A record's plant (its partition on PostgreSQL) is the plant of its line."""


class SqlExecutionRepository(ep.ExecutionRepository):
    def __init__(self, connect: Connect) -> None:
        self._c = connect

    def setup(self, plant: str) -> ExecutionSetup | None:
        doc = self._c().execute(sa.select(te.setups.c.document).where(te.setups.c.plant == plant)).scalar_one_or_none()
        return ep.setup_from_doc(doc) if doc is not None else None

    def put_setup(self, plant: str, setup: ExecutionSetup) -> None:
        c = self._c()
        c.execute(sa.delete(te.setups).where(te.setups.c.plant == plant))
        c.execute(sa.insert(te.setups).values(plant=plant, document=ep.setup_to_doc(setup)))

    def save_racks(self, racks: Iterable[Rack]) -> None:
        c = self._c()
        racks = list(racks)
        if not racks:
            return
        existing = dict(c.execute(sa.select(te.racks.c.id, te.racks.c.seq).where(te.racks.c.id.in_([r.id for r in racks]))).all())
        last = c.execute(sa.select(sa.func.coalesce(sa.func.max(te.racks.c.seq), 0))).scalar_one()
        for rack in racks:
            values = {"line": rack.line, "supplier": rack.supplier, "state": rack.state.value, "document": ep.rack_to_doc(rack)}
            if rack.id in existing:
                c.execute(sa.update(te.racks).where(te.racks.c.id == rack.id).values(**values))
            else:
                last += 1
                c.execute(sa.insert(te.racks).values(id=rack.id, seq=last, **values))

    def rack(self, rack_id: str) -> Rack | None:
        doc = self._c().execute(sa.select(te.racks.c.document).where(te.racks.c.id == rack_id)).scalar_one_or_none()
        return ep.rack_from_doc(doc) if doc is not None else None

    def racks(self, line: str | None = None, states: tuple[RackState, ...] = (), supplier: str | None = None) -> list[Rack]:
        q = sa.select(te.racks.c.document).order_by(te.racks.c.seq)
        if line is not None:
            q = q.where(te.racks.c.line == line)
        if states:
            q = q.where(te.racks.c.state.in_([s.value for s in states]))
        if supplier is not None:
            q = q.where(te.racks.c.supplier == supplier)
        return [ep.rack_from_doc(doc) for doc in self._c().execute(q).scalars()]

    def save_shipment(self, shipment: Shipment) -> None:
        c = self._c()
        values = {"line": shipment.line, "state": shipment.state.value, "departure": shipment.departure, "document": ep.shipment_to_doc(shipment)}
        if c.execute(sa.update(te.shipments).where(te.shipments.c.id == shipment.id).values(**values)).rowcount == 0:
            c.execute(sa.insert(te.shipments).values(id=shipment.id, **values))

    def shipment(self, shipment_id: str) -> Shipment | None:
        doc = self._c().execute(sa.select(te.shipments.c.document).where(te.shipments.c.id == shipment_id)).scalar_one_or_none()
        return ep.shipment_from_doc(doc) if doc is not None else None

    def shipments(self, line: str | None = None, states: tuple[ShipmentState, ...] = ()) -> list[Shipment]:
        q = sa.select(te.shipments.c.document).order_by(te.shipments.c.departure, te.shipments.c.id)
        if line is not None:
            q = q.where(te.shipments.c.line == line)
        if states:
            q = q.where(te.shipments.c.state.in_([s.value for s in states]))
        return [ep.shipment_from_doc(doc) for doc in self._c().execute(q).scalars()]

    def add_records(self, records: Iterable[ExecutionRecord]) -> None:
        rows = [
            {"kind": r.kind.value, "at": r.at, "line": r.line, "order_id": r.order_id, "serial": r.serial, "document": ep.record_to_doc(r),
             "record_line": r.line}
            for r in records
        ]
        if rows:
            self._c().execute(_RECORD_INSERT, rows)

    def records(self, *, line: str | None = None, kinds: tuple[RecordKind, ...] = (), serial: str | None = None, order_id: str | None = None) -> list[ExecutionRecord]:
        r = te.records.c
        q = sa.select(r.id, r.kind, r.at, r.line, r.order_id, r.serial, r.document).order_by(r.id)
        if line is not None:
            q = q.where(r.line == line)
        if kinds:
            q = q.where(r.kind.in_([k.value for k in kinds]))
        if serial is not None:
            q = q.where(r.serial == serial)
        if order_id is not None:
            q = q.where(r.order_id == order_id)
        return [ep.record_from(row.kind, row.at, row.line, row.order_id, row.serial, row.document, row.id) for row in self._c().execute(q)]

"""Port of the floor's execution state: master data (rack types, lanes), racks, shipments and
the append-only execution records, with their JSON codecs (shared by every adapter)."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from jisflow.domain.execution import ExecutionRecord, ExecutionSetup, RecordKind
from jisflow.domain.racks import Rack, RackSlot, RackState, RackType
from jisflow.domain.transport import Lane, Shipment, ShipmentState


class ExecutionRepository(abc.ABC):
    @abc.abstractmethod
    def setup(self, plant: str) -> ExecutionSetup | None:
        """The plant's floor master data; None when none was stored (the default applies)."""

    @abc.abstractmethod
    def put_setup(self, plant: str, setup: ExecutionSetup) -> None: ...

    @abc.abstractmethod
    def save_racks(self, racks: Iterable[Rack]) -> None:
        """Insert or replace racks."""

    @abc.abstractmethod
    def rack(self, rack_id: str) -> Rack | None: ...

    @abc.abstractmethod
    def racks(self, line: str | None = None, states: tuple[RackState, ...] = (), supplier: str | None = None) -> list[Rack]:
        """Racks in the order they were opened."""

    @abc.abstractmethod
    def save_shipment(self, shipment: Shipment) -> None:
        """Insert or replace a shipment."""

    @abc.abstractmethod
    def shipment(self, shipment_id: str) -> Shipment | None: ...

    @abc.abstractmethod
    def shipments(self, line: str | None = None, states: tuple[ShipmentState, ...] = ()) -> list[Shipment]:
        """Shipments by planned departure."""

    @abc.abstractmethod
    def add_records(self, records: Iterable[ExecutionRecord]) -> None: ...

    @abc.abstractmethod
    def records(self, *, line: str | None = None, kinds: tuple[RecordKind, ...] = (), serial: str | None = None, order_id: str | None = None) -> list[ExecutionRecord]:
        """Records in the order they were written."""


# --------------------------------------------------------------------------- JSON codecs
def _t(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def setup_to_doc(setup: ExecutionSetup) -> dict[str, Any]:
    return {
        "rack_types": [{"code": r.code, "cells": r.cells, "layers": r.layers, "families": sorted(r.families)} for r in setup.rack_types.values()],
        "lanes": [
            {"code": ln.code, "supplier": ln.supplier, "unloading_point": ln.unloading_point, "transit_s": ln.transit.total_seconds(),
             "transit_p95_s": ln.transit_p95.total_seconds(), "unloading_buffer_s": ln.unloading_buffer.total_seconds(),
             "carrier": ln.carrier, "truck_racks": ln.truck_racks}
            for ln in setup.lanes.values()
        ],
        "pick_locations": dict(setup.pick_locations),
    }


def setup_from_doc(doc: dict[str, Any]) -> ExecutionSetup:
    return ExecutionSetup(
        {r["code"]: RackType(r["code"], r["cells"], r["layers"], frozenset(r["families"])) for r in doc["rack_types"]},
        {
            ln["code"]: Lane(ln["code"], ln["supplier"], ln["unloading_point"], timedelta(seconds=ln["transit_s"]), timedelta(seconds=ln["transit_p95_s"]),
                             timedelta(seconds=ln["unloading_buffer_s"]), ln["carrier"], ln["truck_racks"])
            for ln in doc["lanes"]
        },
        dict(doc.get("pick_locations", {})),
    )


def rack_to_doc(rack: Rack) -> dict[str, Any]:
    return {
        "id": rack.id, "rack_type": rack.rack_type, "capacity": rack.capacity, "supplier": rack.supplier, "line": rack.line,
        "unloading_point": rack.unloading_point, "family": rack.family, "opened_at": _t(rack.opened_at), "cut_off": _t(rack.cut_off),
        "state": rack.state.value, "closed_at": _t(rack.closed_at), "partial": rack.partial, "shipment": rack.shipment,
        "slots": [
            {"position": s.position, "order_id": s.order_id, "family": s.family, "seq_no": s.seq_no, "part_number": s.part_number,
             "number": s.number, "need_time": _t(s.need_time), "vin": s.vin, "serial": s.serial, "filled_at": _t(s.filled_at)}
            for s in rack.slots
        ],
    }


def rack_from_doc(d: dict[str, Any]) -> Rack:
    slots = [
        RackSlot(s["position"], s["order_id"], s["family"], s["seq_no"], s["part_number"], s["number"], _dt(s["need_time"]), s["vin"], s["serial"], _dt(s["filled_at"]))  # type: ignore[arg-type]
        for s in d["slots"]
    ]
    return Rack(
        d["id"], d["rack_type"], d["capacity"], d["supplier"], d["line"], d["unloading_point"], d["family"], _dt(d["opened_at"]),  # type: ignore[arg-type]
        _dt(d["cut_off"]), slots, RackState(d["state"]), _dt(d["closed_at"]), d["partial"], d["shipment"],  # type: ignore[arg-type]
    )


def shipment_to_doc(s: Shipment) -> dict[str, Any]:
    return {
        "id": s.id, "lane": s.lane, "supplier": s.supplier, "line": s.line, "unloading_point": s.unloading_point, "racks": list(s.racks),
        "capacity": s.capacity, "departure": _t(s.departure), "latest_arrival": _t(s.latest_arrival), "eta": _t(s.eta),
        "emergency": s.emergency, "state": s.state.value, "departed_at": _t(s.departed_at), "received_at": _t(s.received_at), "asn": s.asn,
    }


def shipment_from_doc(d: dict[str, Any]) -> Shipment:
    return Shipment(
        d["id"], d["lane"], d["supplier"], d["line"], d["unloading_point"], list(d["racks"]), d["capacity"], _dt(d["departure"]),  # type: ignore[arg-type]
        _dt(d["latest_arrival"]), _dt(d["eta"]), d["emergency"], ShipmentState(d["state"]), _dt(d["departed_at"]), _dt(d["received_at"]), list(d["asn"]),  # type: ignore[arg-type]
    )


def record_to_doc(r: ExecutionRecord) -> dict[str, Any]:
    return {"family": r.family, "seq_no": r.seq_no, "part_number": r.part_number, "vin": r.vin, "rack_id": r.rack_id, "shipment_id": r.shipment_id, "data": r.data}


def record_from(kind: str, at: datetime, line: str, order_id: str | None, serial: str | None, doc: dict[str, Any], record_id: int | None) -> ExecutionRecord:
    return ExecutionRecord(
        RecordKind(kind), at, line, order_id, doc["family"], doc["seq_no"], doc["part_number"], serial, doc["vin"], doc["rack_id"], doc["shipment_id"],
        dict(doc["data"]), record_id,
    )

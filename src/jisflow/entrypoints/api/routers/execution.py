"""The floor: pick lists, pick confirmations and scans, racks, load plans, shipments with their
ASN, ETA and receipt, emergency deliveries, line-side checks, consumption, trace and KPIs.

A supplier sees and works only its own racks, picks and shipments; a carrier only the
shipments on its own lanes (its trucks). Another partner's object is answered as not found.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from jisflow.domain import execution as ex
from jisflow.domain.auth import Principal, Scope
from jisflow.domain.errors import NotFound, ValidationError
from jisflow.domain.racks import Rack, RackState
from jisflow.domain.transport import Shipment, ShipmentState
from jisflow.entrypoints.api import schemas_ops as o
from jisflow.entrypoints.api.deps import Ctx, Cursor, IdempotencyKey, Limit, decode_cursor, encode_cursor, forbidden, idempotent, requires
from jisflow.entrypoints.api.outcomes import outcome_body
from jisflow.entrypoints.api.schemas import OutcomeOut, Page
from jisflow.services import execution as x
from jisflow.services.unit_of_work import AbstractUnitOfWork, CallOffLineFilter

router = APIRouter(tags=["execution"])
Reader = Annotated[Principal, Depends(requires(Scope.EXECUTION_READ))]
Worker = Annotated[Principal, Depends(requires(Scope.EXECUTION_WRITE))]
ShipmentReader = Annotated[Principal, Depends(requires(Scope.SHIPMENTS_READ))]
Dispatcher = Annotated[Principal, Depends(requires(Scope.SHIPMENTS_WRITE))]
Receiver = Annotated[Principal, Depends(requires(Scope.RECEIVING_WRITE))]
Expediter = Annotated[Principal, Depends(requires(Scope.DELIVERIES_EXPEDITE))]
KpiReader = Annotated[Principal, Depends(requires(Scope.KPIS_READ))]
RackStates = Annotated[list[RackState], Query()]


# --------------------------------------------------------------------------- shapes
def rack_out(r: Rack) -> o.RackOut:
    return o.RackOut(
        id=r.id, rack_type=r.rack_type, capacity=r.capacity, supplier=r.supplier, line=r.line, unloading_point=r.unloading_point, family=r.family,
        opened_at=r.opened_at, cut_off=r.cut_off, state=r.state, closed_at=r.closed_at, partial=r.partial, shipment=r.shipment,
        slots=[
            o.RackSlotOut(position=s.position, order_id=s.order_id, family=s.family, seq_no=s.seq_no, part_number=s.part_number, number=s.number,
                          need_time=s.need_time, vin=s.vin, serial=s.serial, filled_at=s.filled_at)
            for s in r.slots
        ],
    )


def shipment_out(s: Shipment, carrier: str) -> o.ShipmentOut:
    return o.ShipmentOut(
        id=s.id, lane=s.lane, carrier=carrier, supplier=s.supplier, line=s.line, unloading_point=s.unloading_point, racks=list(s.racks),
        capacity=s.capacity, departure=s.departure, latest_arrival=s.latest_arrival, eta=s.eta, emergency=s.emergency, state=s.state,
        departed_at=s.departed_at, received_at=s.received_at,
    )


def record_out(r: ex.ExecutionRecord) -> o.RecordOut:
    return o.RecordOut(
        id=r.id, kind=r.kind, at=r.at, line=r.line, order_id=r.order_id, family=r.family, seq_no=r.seq_no, part_number=r.part_number,
        serial=r.serial, vin=r.vin, rack_id=r.rack_id, shipment_id=r.shipment_id, data=r.data,
    )


# --------------------------------------------------------------------------- ownership
def _carriers(uow: AbstractUnitOfWork, line: str) -> dict[str, str]:
    """The carrier of each lane serving ``line``."""
    plant = uow.plants.of_line(line)
    setup = uow.execution.setup(plant.code) or ex.default_setup(plant)
    return {lane.code: lane.carrier for lane in setup.lanes.values()}


def _own_shipment(uow: AbstractUnitOfWork, caller: Principal, shipment_id: str) -> tuple[Shipment, str]:
    shipment = uow.execution.shipment(shipment_id)
    carrier = _carriers(uow, shipment.line).get(shipment.lane, "") if shipment is not None else ""
    if shipment is None or not caller.owns_shipment(shipment.supplier, carrier):
        raise NotFound(f"no shipment {shipment_id!r}")
    return shipment, carrier


def _own_racks(uow: AbstractUnitOfWork, caller: Principal, rack_ids: list[str]) -> list[Rack]:
    racks = [uow.execution.rack(rack_id) for rack_id in rack_ids]
    unknown = sorted({rack_id for rack_id, r in zip(rack_ids, racks) if r is None or not caller.owns_supplier_object(r.supplier)})
    if unknown:
        raise NotFound(f"no rack {', '.join(repr(r) for r in unknown)}")
    return [r for r in racks if r is not None]


def _own_picks(uow: AbstractUnitOfWork, caller: Principal, line: str, keys: list[tuple[str, str]]) -> None:
    if caller.supplier is None:
        return
    theirs = {
        (ln.order_id, ln.family)
        for order_id in sorted({k[0] for k in keys})
        for ln in uow.calloffs.lines(CallOffLineFilter(line=line, order_id=order_id))
        if ln.supplier != caller.supplier
    }
    foreign = [repr(f"{k[0]}/{k[1]}") for k in keys if k in theirs]
    if foreign:
        raise NotFound(f"no call-off line {', '.join(foreign)}")


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _position(at: datetime, object_id: str) -> list:
    """Where an object stands in a list ordered by a time, then by id (a page's cursor)."""
    return [(at - EPOCH) // timedelta(microseconds=1), object_id]


def _after(cursor: str | None) -> list:
    after = decode_cursor(cursor, [0, ""])
    if not (type(after[0]) is int and isinstance(after[1], str)):
        raise ValidationError("the cursor is not one this API handed out", problems=[])
    return after


def _run(ctx: Ctx, caller: Principal, check, command) -> dict:
    """Check ownership and run the command in one turn of the API's lock."""
    with ctx.acting_as(caller) as app:
        with app.uow:
            check(app.uow)
        return outcome_body(app.bus.handle(command))


# --------------------------------------------------------------------------- picking and racks
@router.post("/lines/{line}/pick-lists", response_model=OutcomeOut, summary="A pick list in sequence: which part goes into which rack slot")
def create_pick_list(line: str, body: o.PickListIn, ctx: Ctx, caller: Worker, request: Request, idempotency_key: IdempotencyKey = None):
    if caller.supplier is not None and body.supplier not in (None, caller.supplier):
        raise forbidden(f"{caller.name} picks only for supplier {caller.supplier}")
    command = x.CreatePickList(line, caller.supplier or body.supplier)
    return idempotent(ctx, caller, idempotency_key, request, body, 200, lambda: outcome_body(ctx.handle(caller, command)))


@router.post("/lines/{line}/picks", response_model=OutcomeOut, summary="Confirm parts picked")
def confirm_picks(line: str, body: o.ConfirmPickIn, ctx: Ctx, caller: Worker, request: Request, idempotency_key: IdempotencyKey = None):
    keys = [(k.order_id, k.family) for k in body.keys]
    command = x.ConfirmPick(line, tuple(keys), actor=caller.name)
    return idempotent(ctx, caller, idempotency_key, request, body, 200, lambda: _run(ctx, caller, lambda uow: _own_picks(uow, caller, line, keys), command))


@router.post("/lines/{line}/scans", response_model=OutcomeOut, summary="Verify parts scanned into their rack slots")
def verify_scans(line: str, body: o.ScansIn, ctx: Ctx, caller: Worker, request: Request, idempotency_key: IdempotencyKey = None):
    scans = tuple(ex.Scan(s.rack_id, s.slot, s.part_number, s.serial) for s in body.scans)
    command = x.VerifyScans(line, scans, actor=caller.name)
    rack_ids = sorted({s.rack_id for s in body.scans})
    return idempotent(ctx, caller, idempotency_key, request, body, 200, lambda: _run(ctx, caller, lambda uow: _own_racks(uow, caller, rack_ids), command))


@router.post("/lines/{line}/racks/close", response_model=OutcomeOut, summary="Close racks (default: every rack past its cut-off)")
def close_racks(line: str, body: o.CloseRacksIn, ctx: Ctx, caller: Worker, request: Request, idempotency_key: IdempotencyKey = None):
    if caller.supplier is not None and not body.rack_ids:
        raise ValidationError("name the racks to close: a supplier closes only its own racks", problems=[])
    command = x.CloseRacks(line, tuple(body.rack_ids))
    return idempotent(ctx, caller, idempotency_key, request, body, 200, lambda: _run(ctx, caller, lambda uow: _own_racks(uow, caller, body.rack_ids), command))


@router.get("/racks", response_model=Page[o.RackOut], summary="Racks in the order they were opened")
def list_racks(
    ctx: Ctx, caller: Reader, line: str | None = None, supplier: str | None = None,
    state: RackStates = [],  # noqa: B006 - FastAPI copies query defaults
    cursor: Cursor = None, limit: Limit = 100,
) -> Page[o.RackOut]:
    if caller.supplier is not None:
        if supplier not in (None, caller.supplier):
            raise forbidden(f"{caller.name} sees only the racks of supplier {caller.supplier}")
        supplier = caller.supplier
    after = _after(cursor)
    with ctx.acting_as(caller) as app, app.uow:
        racks = app.uow.execution.racks(line, tuple(state), supplier)
    rest = sorted((r for r in racks if _position(r.opened_at, r.id) > after), key=lambda r: _position(r.opened_at, r.id))
    page = rest[:limit]
    return Page[o.RackOut](items=[rack_out(r) for r in page], next_cursor=encode_cursor(_position(page[-1].opened_at, page[-1].id)) if len(rest) > limit else None)


@router.get("/racks/{rack_id}", response_model=o.RackOut, summary="One rack with its slots")
def get_rack(rack_id: str, ctx: Ctx, caller: Reader) -> o.RackOut:
    with ctx.acting_as(caller) as app, app.uow:
        return rack_out(_own_racks(app.uow, caller, [rack_id])[0])


# --------------------------------------------------------------------------- transport
@router.post("/lines/{line}/loads", response_model=OutcomeOut, summary="Load closed racks onto trucks (last needed in first)")
def plan_loads(line: str, body: o.PlanLoadsIn, ctx: Ctx, caller: Worker, request: Request, idempotency_key: IdempotencyKey = None):
    if caller.supplier is not None:
        raise forbidden("load plans cover the racks of every supplier of the line: the plant plans them")
    command = x.PlanLoads(line, until=body.until)
    return idempotent(ctx, caller, idempotency_key, request, body, 200, lambda: outcome_body(ctx.handle(caller, command)))


@router.get("/shipments", response_model=Page[o.ShipmentOut], summary="Shipments by planned departure")
def list_shipments(
    ctx: Ctx, caller: ShipmentReader, line: str | None = None,
    state: Annotated[list[ShipmentState], Query()] = [],  # noqa: B006 - FastAPI copies query defaults
    cursor: Cursor = None, limit: Limit = 100,
) -> Page[o.ShipmentOut]:
    after = _after(cursor)
    with ctx.acting_as(caller) as app, app.uow:
        shipments = app.uow.execution.shipments(line, tuple(state))
        carriers = {ln: _carriers(app.uow, ln) for ln in {s.line for s in shipments}}
    visible = [(s, carriers[s.line].get(s.lane, "")) for s in shipments]
    rest = sorted(
        ((s, c) for s, c in visible if caller.owns_shipment(s.supplier, c) and _position(s.departure, s.id) > after),
        key=lambda sc: _position(sc[0].departure, sc[0].id),
    )
    page = rest[:limit]
    last = page[-1][0] if page else None
    return Page[o.ShipmentOut](
        items=[shipment_out(s, c) for s, c in page], next_cursor=encode_cursor(_position(last.departure, last.id)) if last and len(rest) > limit else None,
    )


@router.get("/shipments/{shipment_id}", response_model=o.ShipmentOut, summary="One shipment")
def get_shipment(shipment_id: str, ctx: Ctx, caller: ShipmentReader) -> o.ShipmentOut:
    with ctx.acting_as(caller) as app, app.uow:
        return shipment_out(*_own_shipment(app.uow, caller, shipment_id))


@router.get("/shipments/{shipment_id}/asn", response_model=o.AsnOut, summary="The despatch advice (ASN) of a despatched shipment")
def get_asn(shipment_id: str, ctx: Ctx, caller: ShipmentReader) -> o.AsnOut:
    with ctx.acting_as(caller) as app, app.uow:
        shipment, _ = _own_shipment(app.uow, caller, shipment_id)
    if shipment.state is ShipmentState.PLANNED:
        raise NotFound(f"shipment {shipment_id} has not left yet: it has no ASN")
    return o.AsnOut(shipment_id=shipment.id, supplier=shipment.supplier, unloading_point=shipment.unloading_point, racks=shipment.asn)


@router.post("/shipments/{shipment_id}/despatch", response_model=OutcomeOut, summary="The truck left: send the ASN")
def despatch(shipment_id: str, ctx: Ctx, caller: Worker, request: Request, idempotency_key: IdempotencyKey = None):
    command = x.DespatchShipment(shipment_id)
    return idempotent(ctx, caller, idempotency_key, request, None, 200, lambda: _run(ctx, caller, lambda uow: _own_shipment(uow, caller, shipment_id), command))


@router.post("/shipments/{shipment_id}/eta", response_model=OutcomeOut, summary="A new estimated arrival of a truck on the road")
def update_eta(shipment_id: str, body: o.EtaIn, ctx: Ctx, caller: Dispatcher, request: Request, idempotency_key: IdempotencyKey = None):
    command = x.UpdateEta(shipment_id, body.eta)
    return idempotent(ctx, caller, idempotency_key, request, body, 200, lambda: _run(ctx, caller, lambda uow: _own_shipment(uow, caller, shipment_id), command))


@router.post("/shipments/{shipment_id}/receipt", response_model=OutcomeOut, summary="Receive a shipment at the dock, checked against its ASN")
def receive(shipment_id: str, body: o.ReceiptOfShipmentIn, ctx: Ctx, caller: Receiver, request: Request, idempotency_key: IdempotencyKey = None):
    racks = None if body.racks is None else {
        rack_id: tuple(ex.ReceivedSlot(s.position, s.part_number, s.serial) for s in slots) for rack_id, slots in body.racks.items()
    }
    command = x.ReceiveShipment(shipment_id, racks)
    return idempotent(ctx, caller, idempotency_key, request, body, 200, lambda: _run(ctx, caller, lambda uow: _own_shipment(uow, caller, shipment_id), command))


@router.post("/emergency-deliveries", status_code=201, response_model=OutcomeOut, summary="Order an expedited delivery of one part to save the line")
def emergency(body: o.EmergencyIn, ctx: Ctx, caller: Expediter, request: Request, idempotency_key: IdempotencyKey = None):
    command = x.OrderEmergencyDelivery(body.line, body.order_id, body.family, body.reason)
    return idempotent(ctx, caller, idempotency_key, request, body, 201, lambda: outcome_body(ctx.handle(caller, command)))


# --------------------------------------------------------------------------- at the line
@router.post("/lines/{line}/line-side-checks", response_model=OutcomeOut, summary="Check the parts scanned at a station against the sequence")
def check_line_side(line: str, body: o.LineSideCheckIn, ctx: Ctx, caller: Receiver, request: Request, idempotency_key: IdempotencyKey = None):
    scans = tuple(ex.LineSideScan(s.order_id, s.part_number, s.serial) for s in body.scans)
    command = x.CheckLineSide(line, body.station, scans)
    return idempotent(ctx, caller, idempotency_key, request, body, 200, lambda: outcome_body(ctx.handle(caller, command)))


@router.post("/lines/{line}/consumption", response_model=OutcomeOut, summary="Vehicles passed: consume (backflush) their parts")
def consume(line: str, body: o.ConsumptionIn, ctx: Ctx, caller: Receiver, request: Request, idempotency_key: IdempotencyKey = None):
    command = x.ConsumeVehicles(line, tuple(body.order_ids), body.station)
    return idempotent(ctx, caller, idempotency_key, request, body, 200, lambda: outcome_body(ctx.handle(caller, command)))


# --------------------------------------------------------------------------- queries
@router.get("/trace/{serial}", response_model=Page[o.RecordOut], summary="Every record of a serial number, from packing to the vehicle")
def trace(serial: str, ctx: Ctx, caller: KpiReader) -> Page[o.RecordOut]:
    with ctx.acting_as(caller) as app:
        records = x.trace(app.uow, serial)
    return Page[o.RecordOut](items=[record_out(r) for r in records], next_cursor=None)


@router.get("/kpis", response_model=o.KpisOut, summary="Execution KPIs: on time in sequence, accuracy, fill rates, emergencies")
def get_kpis(ctx: Ctx, caller: KpiReader, line: str | None = None) -> o.KpisOut:
    with ctx.acting_as(caller) as app:
        k = x.kpis(app.uow, line)
    mean = k.mean_calloff_to_despatch
    return o.KpisOut(
        line=line, on_time_in_sequence=k.on_time_in_sequence, sequence_accuracy=k.sequence_accuracy, rack_fill_rate=k.rack_fill_rate,
        truck_utilisation=k.truck_utilisation, emergency_deliveries=k.emergency_deliveries,
        mean_calloff_to_despatch_seconds=None if mean is None else int(mean.total_seconds()), wrong_parts_fitted=k.wrong_parts_fitted,
        parts_received=k.parts_received, parts_consumed=k.parts_consumed,
    )

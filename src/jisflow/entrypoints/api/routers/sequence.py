"""The pearl chain of a line: list it, import vehicles, broadcast, change it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from jisflow.domain.auth import Principal, Scope
from jisflow.domain.errors import ValidationError
from jisflow.domain.sequence import Vehicle, VehicleStatus
from jisflow.entrypoints.api import schemas as s
from jisflow.entrypoints.api.deps import Ctx, Cursor, IdempotencyKey, Limit, decode_cursor, encode_cursor, idempotent, requires
from jisflow.entrypoints.api.outcomes import outcome_body
from jisflow.services import commands as c

router = APIRouter(tags=["pearl chain"])
Reader = Annotated[Principal, Depends(requires(Scope.SEQUENCE_READ))]
Writer = Annotated[Principal, Depends(requires(Scope.SEQUENCE_WRITE))]
CREATED = {"model": s.OutcomeOut}


@router.get("/lines/{line}/chain", response_model=s.Page[s.ChainEntryOut], summary="The pearl chain in sequence order")
def list_chain(line: str, ctx: Ctx, caller: Reader, status: VehicleStatus | None = None, cursor: Cursor = None, limit: Limit = 100) -> s.Page[s.ChainEntryOut]:
    after = decode_cursor(cursor, 0)
    with ctx.acting_as(caller) as app, app.uow:
        plant = app.uow.plants.of_line(line)
        chain = app.uow.chains.get(plant.line(line))
    entries = [e for e in chain.entries() if e.seq_no > after and (status is None or e.status is status)]
    page = entries[:limit]
    items = [
        s.ChainEntryOut(
            order_id=e.order_id, seq_no=e.seq_no, rolling_no=chain.rolling_no(e.seq_no), status=e.status, model=e.vehicle.model,
            options=dict(e.vehicle.options), vin=e.vehicle.vin, broadcast_at=e.broadcast_at, flagged=e.flagged,
        )
        for e in page
    ]
    return s.Page[s.ChainEntryOut](items=items, next_cursor=encode_cursor(page[-1].seq_no) if len(entries) > limit else None)


@router.get("/lines/{line}/changes", response_model=s.Page[s.SequenceChangeOut], summary="The change log of the pearl chain, oldest first")
def list_changes(line: str, ctx: Ctx, caller: Reader, cursor: Cursor = None, limit: Limit = 100) -> s.Page[s.SequenceChangeOut]:
    after = decode_cursor(cursor, 0)
    with ctx.acting_as(caller) as app, app.uow:
        app.uow.plants.of_line(line)  # an unknown line is not found, not an empty log
        found = app.uow.chains.changes(line, after, limit + 1)
    page = found[:limit]
    items = [
        s.SequenceChangeOut(
            id=position, kind=ch.kind, order_id=ch.order_id, at=ch.at, old_seq_no=ch.old_seq_no, new_seq_no=ch.new_seq_no,
            in_frozen_zone=ch.in_frozen_zone, overridden=ch.overridden, renumbered={o: list(n) for o, n in ch.renumbered.items()},
            actor=ch.actor, reason=ch.reason, details=dict(ch.details),
        )
        for position, ch in page
    ]
    return s.Page[s.SequenceChangeOut](items=items, next_cursor=encode_cursor(page[-1][0]) if len(found) > limit else None)


def _vehicle(v: s.VehicleIn, where: str, found: list) -> Vehicle | None:
    try:
        return Vehicle(v.order_id, v.model, dict(v.options), v.vin)
    except ValidationError as exc:
        found.extend(type(p)(f"{where}.{p.where}" if p.where else where, p.what) for p in exc.problems)
        return None


@router.post("/lines/{line}/chain/import", status_code=201, response_model=s.OutcomeOut, summary="Append vehicles to the pearl chain")
def import_rows(line: str, body: s.ImportIn, ctx: Ctx, caller: Writer, request: Request, idempotency_key: IdempotencyKey = None):
    def run():
        found: list = []
        rows = []
        for i, row in enumerate(body.rows):
            vehicle = _vehicle(row, f"rows[{i}]", found)
            if vehicle is not None:
                rows.append(c.SequenceRow(f"rows[{i}]", vehicle, row.seq_no, row.rolling_no))
        if found:
            raise ValidationError(f"sequence import for line {line} rejected: {len(found)} problem(s), nothing applied", problems=found)
        return outcome_body(ctx.handle(caller, c.ImportSequence(line, tuple(rows), message_id=body.message_id, source="api")))

    return idempotent(ctx, caller, idempotency_key, request, body, 201, run)


@router.post("/lines/{line}/broadcast", response_model=s.OutcomeOut, summary="A vehicle passed the broadcast point")
def broadcast(line: str, body: s.BroadcastIn, ctx: Ctx, caller: Writer, request: Request, idempotency_key: IdempotencyKey = None):
    command = c.BroadcastVehicle(line, body.order_id, at=body.at, rolling_no=body.rolling_no, message_id=body.message_id)
    return idempotent(ctx, caller, idempotency_key, request, body, 200, lambda: outcome_body(ctx.handle(caller, command)))


@router.post("/lines/{line}/broadcast-next", response_model=s.OutcomeOut, summary="Broadcast the next planned vehicles")
def broadcast_next(line: str, body: s.BroadcastNextIn, ctx: Ctx, caller: Writer, request: Request, idempotency_key: IdempotencyKey = None):
    command = c.BroadcastNext(line, body.count, at=body.at)
    return idempotent(ctx, caller, idempotency_key, request, body, 200, lambda: outcome_body(ctx.handle(caller, command)))


def _change_command(line: str, body: s.ChangeIn, actor: str) -> c.Command:
    common = {"override": body.override, "actor": actor, "reason": body.reason, "message_id": body.message_id}
    if isinstance(body, s.InsertIn):
        found: list = []
        vehicle = _vehicle(body.vehicle, "vehicle", found)
        if vehicle is None:
            raise ValidationError("the vehicle to insert is invalid", problems=found)
        return c.InsertVehicle(line, vehicle=vehicle, before=body.before, after=body.after, **common)
    if isinstance(body, s.CancelIn):
        return c.CancelVehicle(line, order_id=body.order_id, **common)
    if isinstance(body, s.MoveIn):
        return c.MoveVehicle(line, order_id=body.order_id, before=body.before, after=body.after, **common)
    if isinstance(body, s.SwapIn):
        return c.SwapVehicles(line, first=body.first, second=body.second, **common)
    return c.ChangeVehicleSpec(line, order_id=body.order_id, model=body.model, options=dict(body.options), vin=body.vin, **common)


@router.post("/lines/{line}/changes", response_model=s.OutcomeOut, summary="Change the pearl chain: insert, cancel, move, swap, spec")
def change(line: str, body: s.ChangeIn, ctx: Ctx, caller: Writer, request: Request, idempotency_key: IdempotencyKey = None):
    return idempotent(
        ctx, caller, idempotency_key, request, body, 200,
        lambda: outcome_body(ctx.handle(caller, _change_command(line, body, caller.name))),
    )

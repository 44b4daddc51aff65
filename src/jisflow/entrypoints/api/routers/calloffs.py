"""Call-off lines: list and filter them, read a call-off, move its lines on.

A supplier sees and changes only its own call-offs: its lists are filtered to its supplier,
and a call-off of another supplier is answered as not found (its existence is not told).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from jisflow.domain.auth import Principal, Scope
from jisflow.domain.calloff import CallOff, CallOffLine, CallOffState
from jisflow.domain.errors import NotFound
from jisflow.entrypoints.api import schemas as s
from jisflow.entrypoints.api.deps import Ctx, Cursor, IdempotencyKey, Limit, decode_cursor, encode_cursor, forbidden, idempotent, requires
from jisflow.entrypoints.api.outcomes import outcome_body
from jisflow.services import commands as c
from jisflow.services.unit_of_work import AbstractUnitOfWork, CallOffLineFilter

router = APIRouter(tags=["call-offs"])
Reader = Annotated[Principal, Depends(requires(Scope.CALLOFFS_READ))]
Writer = Annotated[Principal, Depends(requires(Scope.CALLOFFS_WRITE))]


def line_out(ln: CallOffLine) -> s.CallOffLineOut:
    return s.CallOffLineOut(
        number=ln.number, supplier=ln.supplier, unloading_point=ln.unloading_point, line=ln.line, order_id=ln.order_id,
        family=ln.family, seq_no=ln.seq_no, rolling_no=ln.rolling_no, vin=ln.vin, part_number=ln.part_number, quantity=ln.quantity,
        station=ln.station, need_time=ln.need_time, ship_by=ln.ship_by, state=ln.state, amendments=ln.amendments,
    )


def _sort_key(ln: CallOffLine) -> list:
    return [ln.line, ln.seq_no, ln.family, ln.id or 0]


@router.get("/calloff-lines", response_model=s.Page[s.CallOffLineOut], summary="Call-off lines in sequence order")
def list_lines(
    ctx: Ctx, caller: Reader, line: str | None = None, supplier: str | None = None,
    state: Annotated[list[CallOffState], Query()] = [],  # noqa: B006 - FastAPI copies query defaults
    number: str | None = None, order_id: str | None = None, cursor: Cursor = None, limit: Limit = 100,
) -> s.Page[s.CallOffLineOut]:
    if caller.supplier is not None:
        if supplier not in (None, caller.supplier):
            raise forbidden(f"{caller.name} sees only the call-offs of supplier {caller.supplier}")
        supplier = caller.supplier
    after = decode_cursor(cursor, ["", 0, "", 0])
    where = CallOffLineFilter(
        line=line, supplier=supplier, states=tuple(state), number=number, order_id=order_id, limit=limit + 1,
        after=(after[0], after[1], after[2], after[3]) if cursor else None,
    )
    with ctx.acting_as(caller) as app, app.uow:
        rest = app.uow.calloffs.lines(where)  # the page and one more, to tell whether there is a next
    page = rest[:limit]
    return s.Page[s.CallOffLineOut](items=[line_out(ln) for ln in page], next_cursor=encode_cursor(_sort_key(page[-1])) if len(rest) > limit else None)


def _own_calloff(uow: AbstractUnitOfWork, caller: Principal, number: str) -> CallOff:
    calloff = uow.calloffs.get(number)
    if not caller.owns_supplier_object(calloff.supplier):
        raise NotFound(f"no call-off {number!r}")
    return calloff


@router.get("/calloffs/{number}", response_model=s.CallOffOut, summary="One call-off with its lines")
def get_calloff(number: str, ctx: Ctx, caller: Reader) -> s.CallOffOut:
    with ctx.acting_as(caller) as app, app.uow:
        co = _own_calloff(app.uow, caller, number)
    return s.CallOffOut(
        number=co.number, supplier=co.supplier, unloading_point=co.unloading_point, line=co.line, issued_at=co.issued_at,
        lines=[line_out(ln) for ln in co.lines],
    )


@router.post("/calloffs/{number}/transitions", response_model=s.OutcomeOut, summary="Move lines of a call-off to a new state")
def transition(number: str, body: s.TransitionIn, ctx: Ctx, caller: Writer, request: Request, idempotency_key: IdempotencyKey = None):
    def run():
        with ctx.acting_as(caller) as app:
            with app.uow:
                _own_calloff(app.uow, caller, number)
            command = c.TransitionCallOffLines(
                number, body.to, order_ids=tuple(body.order_ids), keys=tuple((k.order_id, k.family) for k in body.keys), actor=caller.name,
            )
            return outcome_body(app.bus.handle(command))

    return idempotent(ctx, caller, idempotency_key, request, body, 200, run)

"""Inventory and purchasing: items with their balances, stock by location and lot, the stock
changes (receipts, moves, adjustments, counts), the projection, the purchasing plan and
purchase orders. Every change is a command on the bus, made in the caller's name."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from jisflow.domain.auth import Principal, Scope
from jisflow.domain.errors import NotFound, ValidationError
from jisflow.domain.projection import ItemProjection
from jisflow.domain.purchasing import PurchaseOrder
from jisflow.entrypoints.api import schemas_ops as o
from jisflow.entrypoints.api.deps import Ctx, Cursor, IdempotencyKey, Limit, decode_cursor, encode_cursor, forbidden, idempotent, requires
from jisflow.entrypoints.api.outcomes import outcome_body
from jisflow.entrypoints.api.schemas import OutcomeOut, Page
from jisflow.services import edi
from jisflow.services import inventory as inv
from jisflow.services.handlers import Outcome

router = APIRouter(tags=["inventory"])
Reader = Annotated[Principal, Depends(requires(Scope.INVENTORY_READ))]
Writer = Annotated[Principal, Depends(requires(Scope.INVENTORY_WRITE))]
Buyer = Annotated[Principal, Depends(requires(Scope.PURCHASING_WRITE))]
ForecastReader = Annotated[Principal, Depends(requires(Scope.CALLOFFS_READ))]  # forecasts go with the call-offs a supplier reads


def _minutes(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds() // 60)


def projection_out(p: ItemProjection) -> o.ProjectionOut:
    return o.ProjectionOut(
        item=p.item, on_hand=p.on_hand, expected=p.expected, demand=p.demand, end_balance=p.end_balance, first_shortage_at=p.first_shortage_at,
        first_shortage_line=p.first_shortage_line, first_shortage_order_id=p.first_shortage_order_id, first_shortage_seq_no=p.first_shortage_seq_no,
        short_quantity=p.short_quantity, coverage_minutes=_minutes(p.coverage), line_stop_risk_minutes=p.line_stop_risk_minutes,
    )


def order_out(po: PurchaseOrder) -> o.PurchaseOrderOut:
    return o.PurchaseOrderOut(
        number=po.number, item=po.item, supplier=po.supplier, quantity=po.quantity, due_at=po.due_at, created_at=po.created_at,
        source=po.source, confirmed_at=po.confirmed_at, received=po.received, state=po.state,
    )


def _done(outcome: Outcome) -> dict:
    """The outcome as JSON; the projections it carries are given in their public shape."""
    projected = outcome.details.get("projections", {})
    body = outcome_body(replace(outcome, details={k: v for k, v in outcome.details.items() if k != "projections"}))
    body["details"]["projections"] = [projection_out(p).model_dump(mode="json") for p in projected.values()]
    return body


@router.get("/inventory/items", response_model=Page[o.ItemOut], summary="Items with their on-hand, in-transit and reserved quantities")
def list_items(ctx: Ctx, caller: Reader, cursor: Cursor = None, limit: Limit = 100) -> Page[o.ItemOut]:
    after = decode_cursor(cursor, "")
    with ctx.acting_as(caller) as app, app.uow:
        items = app.uow.inventory.items()
        balances = app.uow.inventory.balances(sorted(items))
    codes = [code for code in sorted(items) if code > after]
    page = codes[:limit]
    return Page[o.ItemOut](
        items=[
            o.ItemOut(code=c, description=items[c].description, unit=items[c].unit, coverage_threshold_minutes=items[c].coverage_threshold_minutes,
                      on_hand=balances[c].on_hand, in_transit=balances[c].in_transit, reserved=balances[c].reserved)
            for c in page
        ],
        next_cursor=encode_cursor(page[-1]) if len(codes) > limit else None,
    )


@router.get("/inventory/stock", response_model=Page[o.StockRowOut], summary="Stock by item, location and lot")
def list_stock(ctx: Ctx, caller: Reader, item: str | None = None, cursor: Cursor = None, limit: Limit = 100) -> Page[o.StockRowOut]:
    after = decode_cursor(cursor, ["", "", ""])
    if not all(isinstance(part, str) for part in after):
        raise ValidationError("the cursor is not one this API handed out", problems=[])
    with ctx.acting_as(caller) as app, app.uow:
        rows = sorted(app.uow.inventory.stock(item), key=lambda r: (r.item, r.location, r.lot))
    rest = [r for r in rows if [r.item, r.location, r.lot] > after]
    page = rest[:limit]
    return Page[o.StockRowOut](
        items=[o.StockRowOut(item=r.item, location=r.location, lot=r.lot, on_hand=r.on_hand) for r in page],
        next_cursor=encode_cursor([page[-1].item, page[-1].location, page[-1].lot]) if len(rest) > limit else None,
    )


@router.get("/inventory/projection", response_model=Page[o.ProjectionOut], summary="Time-phased stock per item: first shortage and the vehicle it hits")
def get_projection(
    ctx: Ctx, caller: Reader,
    item: Annotated[list[str], Query(max_length=500)] = [],  # noqa: B006 - FastAPI copies query defaults
) -> Page[o.ProjectionOut]:
    with ctx.acting_as(caller) as app, app.uow:
        found = inv.projections(app.uow, app.clock.now(), item or None)
    return Page[o.ProjectionOut](items=[projection_out(p) for p in found.values()], next_cursor=None)


@router.post("/inventory/receipts", status_code=201, response_model=OutcomeOut, summary="Receive stock into a location")
def receive(body: o.ReceiptIn, ctx: Ctx, caller: Writer, request: Request, idempotency_key: IdempotencyKey = None):
    call = body.jit_call
    command = inv.ReceiveStock(
        body.item, body.location, body.quantity, body.lot, body.lot_kind, body.purchase_order, caller.name, body.reference,
        jit_call=inv.JitCallRef(call.line, call.family, call.window_start) if call is not None else None,
    )

    def run() -> dict:
        with ctx.acting_as(caller) as app:
            with app.uow:
                if body.item not in app.uow.inventory.items():  # named before its lot is registered
                    raise NotFound(f"unknown item(s): {body.item}")
            return _done(app.bus.handle(command))

    return idempotent(ctx, caller, idempotency_key, request, body, 201, run)


@router.post("/inventory/moves", status_code=201, response_model=OutcomeOut, summary="Move stock between locations")
def move(body: o.MoveIn, ctx: Ctx, caller: Writer, request: Request, idempotency_key: IdempotencyKey = None):
    command = inv.MoveStock(body.item, body.from_location, body.to_location, body.quantity, body.lot, caller.name, body.reference)
    return idempotent(ctx, caller, idempotency_key, request, body, 201, lambda: _done(ctx.handle(caller, command)))


@router.post("/inventory/adjustments", status_code=201, response_model=OutcomeOut, summary="Adjust stock up or down with a reason code")
def adjust(body: o.AdjustmentIn, ctx: Ctx, caller: Writer, request: Request, idempotency_key: IdempotencyKey = None):
    command = inv.AdjustStock(body.item, body.location, body.quantity, body.reason, body.lot, caller.name, body.note)
    return idempotent(ctx, caller, idempotency_key, request, body, 201, lambda: _done(ctx.handle(caller, command)))


@router.post("/inventory/counts", status_code=201, response_model=OutcomeOut, summary="Record a stock count; the difference is booked as a count correction")
def count(body: o.CountIn, ctx: Ctx, caller: Writer, request: Request, idempotency_key: IdempotencyKey = None):
    command = inv.CountStock(body.item, body.location, body.counted, body.lot, caller.name)
    return idempotent(ctx, caller, idempotency_key, request, body, 201, lambda: _done(ctx.handle(caller, command)))


@router.get("/purchasing/plan", response_model=Page[o.ProposalOut], summary="What the purchasing policies propose to order now (nothing is placed)")
def purchasing_plan(
    ctx: Ctx, caller: Reader,
    forecasts: Annotated[bool, Query(description="Count the customers' forecasts beyond the pearl chain (true) or the chain alone (false)")] = True,
) -> Page[o.ProposalOut]:
    outcome = ctx.handle(caller, inv.PlanPurchasing(place=False, forecasts=forecasts))
    return Page[o.ProposalOut](
        items=[
            o.ProposalOut(item=p.item, supplier=p.supplier, quantity=p.quantity, due_at=p.due_at, source=p.source.value, reason=p.reason,
                          demand=p.demand.value if p.demand else None)
            for p in outcome.details["proposals"]
        ],
        next_cursor=None,
    )


@router.get("/purchasing/orders", response_model=Page[o.PurchaseOrderOut], summary="Purchase orders")
def list_orders(ctx: Ctx, caller: Reader, item: str | None = None, open: bool = False, cursor: Cursor = None, limit: Limit = 100) -> Page[o.PurchaseOrderOut]:
    after = decode_cursor(cursor, "")
    with ctx.acting_as(caller) as app, app.uow:
        orders = sorted(app.uow.purchasing.orders(item=item, open_only=open), key=lambda po: po.number)
    rest = [po for po in orders if po.number > after]
    page = rest[:limit]
    return Page[o.PurchaseOrderOut](items=[order_out(po) for po in page], next_cursor=encode_cursor(page[-1].number) if len(rest) > limit else None)


@router.get("/purchasing/forecasts", response_model=Page[o.ForecastOut], summary="Customer forecasts per period (DELFOR, VDA 4905, X12 830/862)")
def list_forecasts(
    ctx: Ctx, caller: ForecastReader, supplier: str | None = None, partner: str | None = None, item: str | None = None,
    cursor: Cursor = None, limit: Limit = 100,
) -> Page[o.ForecastOut]:
    """A supplier sees only the forecasts sent to it; asking for another supplier's is forbidden."""
    if caller.supplier is not None:
        if supplier not in (None, caller.supplier):
            raise forbidden(f"{caller.name} sees only the forecasts of supplier {caller.supplier}")
        supplier = caller.supplier
    after = decode_cursor(cursor, ["", "", "", "", ""])
    if not all(isinstance(part, str) for part in after):
        raise ValidationError("the cursor is not one this API handed out", problems=[])
    with ctx.acting_as(caller) as app:
        lines = edi.forecasts(app.uow, supplier=supplier, partner=partner, item=item)
    position = lambda ln: [ln.partner, ln.supplier, ln.item, ln.unloading_point, ln.due.isoformat()]  # noqa: E731
    rest = [ln for ln in lines if position(ln) > after]
    page = rest[:limit]
    return Page[o.ForecastOut](
        items=[
            o.ForecastOut(partner=ln.partner, supplier=ln.supplier, item=ln.item, supplier_item=ln.supplier_item, unloading_point=ln.unloading_point,
                          due=ln.due, quantity=ln.quantity, cumulative=ln.cumulative, unit=ln.unit, commitment=ln.commitment.value,
                          message=ln.message, reference=ln.reference, issued=ln.issued, received_at=ln.received_at)
            for ln in page
        ],
        next_cursor=encode_cursor(position(page[-1])) if len(rest) > limit else None,
    )


@router.post("/purchasing/orders", status_code=201, response_model=OutcomeOut, summary="Place a purchase order")
def place_order(body: o.PurchaseOrderIn, ctx: Ctx, caller: Buyer, request: Request, idempotency_key: IdempotencyKey = None):
    command = inv.PlacePurchaseOrder(body.item, body.supplier, body.quantity, body.due_at, body.confirmed_at, source="api")
    return idempotent(ctx, caller, idempotency_key, request, body, 201, lambda: _done(ctx.handle(caller, command)))

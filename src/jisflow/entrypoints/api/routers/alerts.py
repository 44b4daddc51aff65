"""Alerts: list them (newest first) and acknowledge them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from jisflow.domain.alerts import Alert, AlertKind
from jisflow.domain.auth import Principal, Scope
from jisflow.entrypoints.api import schemas as s
from jisflow.entrypoints.api.deps import Ctx, Cursor, IdempotencyKey, Limit, decode_cursor, encode_cursor, idempotent, requires
from jisflow.entrypoints.api.outcomes import outcome_body
from jisflow.services import commands as c
from jisflow.services.unit_of_work import AlertFilter

router = APIRouter(tags=["alerts"])
Reader = Annotated[Principal, Depends(requires(Scope.ALERTS_READ))]
Writer = Annotated[Principal, Depends(requires(Scope.ALERTS_WRITE))]


def alert_out(a: Alert) -> s.AlertOut:
    return s.AlertOut(
        id=a.id, kind=a.kind, severity=a.severity, line=a.line, message=a.message, raised_at=a.raised_at, order_id=a.order_id,
        seq_no=a.seq_no, details=a.details, acknowledged_at=a.acknowledged_at, acknowledged_by=a.acknowledged_by,
    )


@router.get("/alerts", response_model=s.Page[s.AlertOut], summary="Alerts, newest first")
def list_alerts(
    ctx: Ctx, caller: Reader, line: str | None = None,
    kind: Annotated[list[AlertKind], Query()] = [],  # noqa: B006 - FastAPI copies query defaults
    open: bool = False, cursor: Cursor = None, limit: Limit = 100,
) -> s.Page[s.AlertOut]:
    before = decode_cursor(cursor, 0)
    with ctx.acting_as(caller) as app, app.uow:
        alerts = app.uow.alerts.list(AlertFilter(line=line, kinds=tuple(kind), open_only=open))
    rest = [a for a in alerts if a.id < before] if cursor else alerts
    page = rest[:limit]
    return s.Page[s.AlertOut](items=[alert_out(a) for a in page], next_cursor=encode_cursor(page[-1].id) if len(rest) > limit else None)


@router.post("/alerts/{alert_id}/acknowledge", response_model=s.OutcomeOut, summary="Acknowledge an alert (in the caller's name)")
def acknowledge(alert_id: Annotated[int, Path(ge=1, le=2**31 - 1)], ctx: Ctx, caller: Writer, request: Request, idempotency_key: IdempotencyKey = None):
    return idempotent(ctx, caller, idempotency_key, request, None, 200, lambda: outcome_body(ctx.handle(caller, c.AcknowledgeAlert(alert_id, caller.name))))

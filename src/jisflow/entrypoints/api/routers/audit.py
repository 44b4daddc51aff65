"""The audit log, for auditors: every change with who, when, what, before and after."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from jisflow.domain.auth import Principal, Scope
from jisflow.entrypoints.api import schemas as s
from jisflow.entrypoints.api.deps import Ctx, Cursor, Limit, decode_cursor, encode_cursor, requires

router = APIRouter(tags=["audit"])
Auditor = Annotated[Principal, Depends(requires(Scope.AUDIT_READ))]


@router.get("/audit", response_model=s.Page[s.AuditEntryOut], summary="Audit entries in the order they were written")
def read_audit(ctx: Ctx, caller: Auditor, actor: str | None = None, subject: str | None = None, cursor: Cursor = None, limit: Limit = 100) -> s.Page[s.AuditEntryOut]:
    after = decode_cursor(cursor, 0)
    with ctx.acting_as(caller) as app, app.uow:
        page = app.uow.audit.read(after, limit, actor=actor, subject=subject)
    return s.Page[s.AuditEntryOut](
        items=[s.AuditEntryOut(id=e.id, at=e.at, actor=e.actor, action=e.action, subject=e.subject, before=e.before, after=e.after) for e in page.entries],
        next_cursor=encode_cursor(page.next_cursor) if page.next_cursor is not None else None,
    )

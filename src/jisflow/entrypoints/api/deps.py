"""What routes depend on: the wired jisflow, the authenticated caller, pages and idempotency.

A wired ``App`` holds one unit of work, which one request at a time may use. ``Context`` keeps
a pool of them (``App.companions``): on PostgreSQL as many as ``ApiSettings.concurrency``, so
that many requests run at once and a slow one does not hold up the others; SQLite takes one
writer at a time, so there the pool holds one. A request borrows an app for as long as it uses
it (``Context.borrow``); a thread that holds one and asks again gets the same one back. Commands
run with the caller as the unit of work's actor, so the audit log names who made each change.
Requests that share an ``Idempotency-Key`` run one after the other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from jisflow.bootstrap import App
from jisflow.domain.auth import Principal, Scope
from jisflow.domain.errors import ValidationError
from jisflow.services import auth
from jisflow.services.commands import Command
from jisflow.services.handlers import Outcome
from jisflow.services.idempotency import StoredResponse

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100


class Context:
    """The wired apps requests borrow, one request at a time each."""

    def __init__(self, apps: Sequence[App]) -> None:
        if not apps:
            raise ValueError("a context needs at least one wired app")
        self.size = len(apps)
        self._free: queue.LifoQueue[App] = queue.LifoQueue()  # the app used last goes out first (its caches are warm)
        for app in reversed(apps):  # one request after another: always the first
            self._free.put(app)
        self._held = threading.local()  # the app this thread borrowed
        self._keys = [threading.Lock() for _ in range(64)]  # idempotency keys, striped

    @contextmanager
    def borrow(self) -> Iterator[App]:
        """An app for this thread alone until the block ends (waits while all are busy)."""
        held = getattr(self._held, "app", None)
        if held is not None:  # asked again inside a block: the same one
            yield held
            return
        app = self._free.get()
        self._held.app = app
        try:
            yield app
        finally:
            self._held.app = None
            self._free.put(app)

    @contextmanager
    def acting_as(self, principal: Principal) -> Iterator[App]:
        """A wired jisflow for this request alone, its changes recorded as the caller's."""
        with self.borrow() as app:
            was = app.uow.actor, app.uow.tenant
            app.uow.actor, app.uow.tenant = principal.name, principal.supplier
            try:
                yield app
            finally:
                app.uow.actor, app.uow.tenant = was

    def handle(self, principal: Principal, command: Command) -> Outcome:
        with self.acting_as(principal) as app:
            return app.bus.handle(command)

    @contextmanager
    def one_at_a_time(self, scope: str) -> Iterator[None]:
        """Requests with the same idempotency scope run one after the other."""
        with self._keys[hash(scope) % len(self._keys)]:
            yield


def context(request: Request) -> Context:
    return request.app.state.jisflow


Ctx = Annotated[Context, Depends(context)]


def principal(
    ctx: Ctx,
    authorization: Annotated[str | None, Header(description="`Bearer <API key>`")] = None,
    x_api_key: Annotated[str | None, Header(description="The API key, instead of a bearer token")] = None,
) -> Principal:
    token = x_api_key
    if authorization:
        scheme, _, value = authorization.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    if not token:
        raise HTTPException(401, "authenticate with `Authorization: Bearer <API key>` or `X-API-Key`", headers={"WWW-Authenticate": "Bearer"})
    try:
        with ctx.borrow() as app:
            return auth.authenticate(app.uow, token)
    except auth.Unauthenticated:
        raise HTTPException(401, "the API key is unknown, revoked or wrong", headers={"WWW-Authenticate": "Bearer"}) from None


Caller = Annotated[Principal, Depends(principal)]


def requires(scope: Scope) -> Callable[[Principal], Principal]:
    """A dependency: the caller, who must hold ``scope``."""

    def check(caller: Caller) -> Principal:
        if not caller.can(scope):
            raise HTTPException(403, f"this needs the scope {scope.value}, which {caller.name} ({caller.role.value}) does not hold")
        return caller

    return check


def forbidden(detail: str) -> HTTPException:
    return HTTPException(403, detail)


# --------------------------------------------------------------------------- pages
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Page size, at most {MAX_PAGE_SIZE}.")]
Cursor = Annotated[str | None, Query(max_length=500, description="The `next_cursor` of the previous page.")]


def encode_cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, default: Any) -> Any:
    if cursor is None:
        return default
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        position = None
    if not _shaped_like(position, default):
        raise ValidationError("the cursor is not one this API handed out", problems=[])
    return position


def _shaped_like(position: Any, default: Any) -> bool:
    """The same type as the default (a list: as long, each element of its element's type)."""
    if type(position) is not type(default):
        return False
    return not isinstance(default, list) or (len(position) == len(default) and all(map(_shaped_like, position, default)))


# --------------------------------------------------------------------------- idempotency
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="Send the same key again to get the first answer instead of a second change."),
]


def idempotent(ctx: Context, caller: Principal, key: str | None, request: Request, body: BaseModel | None, status_code: int, run: Callable[[], Any]) -> JSONResponse:
    """Run a change once per ``Idempotency-Key``: a repeat gets the stored answer back."""
    if key is None:
        return JSONResponse(run(), status_code=status_code)
    fingerprint = hashlib.sha256(
        "\n".join([request.method, request.url.path, body.model_dump_json() if body is not None else ""]).encode()
    ).hexdigest()
    scope = f"{caller.name}:{key}"
    with ctx.one_at_a_time(scope), ctx.borrow() as app:
        uow = app.uow
        with uow:
            stored = uow.idempotency.get(scope)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise ValidationError(f"the Idempotency-Key {key!r} was used for another request; use a new key")
            return JSONResponse(stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"})
        result = run()
        with uow:
            uow.idempotency.put(scope, StoredResponse(fingerprint, status_code, result), app.clock.now())
            uow.commit()
        return JSONResponse(result, status_code=status_code)

"""Errors as problem details (RFC 9457, ``application/problem+json``).

Each typed domain error has its status; the body carries the error's message as ``detail``, its
``code`` and, for a batch, every problem with where and what.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from jisflow.domain import errors as e

PROBLEM_JSON = "application/problem+json"

STATUS: tuple[tuple[type[e.JisflowError], int], ...] = (
    (e.ValidationError, 422),
    (e.NotFound, 404),
    (e.ConflictError, 409),  # FrozenZoneViolation and DuplicateVehicle included
    (e.IllegalTransition, 409),
    (e.ExplosionError, 422),
    (e.CalendarError, 422),
    (e.Contention, 503),  # lost races with concurrent commands, retried until the bus gave up
    (e.JisflowError, 400),
)
"""The HTTP status of each typed error; the first class that matches wins."""

TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          409: "Conflict", 413: "Content too large", 415: "Unsupported media type", 422: "Unprocessable content",
          503: "Service unavailable"}


def problem(status: int, detail: str, code: str, problems: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {
        "type": f"https://jisflow.org/problems/{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        "problems": problems or [],
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(error: e.JisflowError) -> int:
    return next(status for kind, status in STATUS if isinstance(error, kind))


def install(app: FastAPI) -> None:
    @app.exception_handler(e.JisflowError)
    async def _domain(request: Request, exc: e.JisflowError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, e.Contention) else None
        return problem(status_of(exc), exc.message, exc.code, [{"where": p.where, "what": p.what} for p in exc.problems], headers)

    @app.exception_handler(RequestValidationError)
    async def _request(request: Request, exc: RequestValidationError) -> JSONResponse:
        found = [{"where": ".".join(str(part) for part in err["loc"]), "what": err["msg"]} for err in exc.errors()]
        return problem(422, f"the request is invalid: {len(found)} problem(s)", "validation_error", found)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "http_error")
        return problem(exc.status_code, str(exc.detail), code, headers=getattr(exc, "headers", None))

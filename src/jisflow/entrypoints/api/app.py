"""The HTTP API of jisflow (FastAPI): ``create_app`` wires it onto a bootstrapped jisflow.

Every change goes through the message bus as a command; errors are problem details; lists are
pages with a cursor; every POST takes an ``Idempotency-Key``; request bodies are limited in size.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jisflow.bootstrap import App
from jisflow.entrypoints.api import problems
from jisflow.entrypoints.api.deps import Caller, Context
from jisflow.entrypoints.api.routers import alerts, audit, calloffs, execution, inventory, lines, plants, sequence, webhooks
from jisflow.entrypoints.api.schemas import MeOut, Problem


@dataclass(frozen=True)
class ApiSettings:
    max_body_bytes: int = 2 * 1024 * 1024
    title: str = "jisflow"
    concurrency: int = 4  # requests served at once (PostgreSQL; SQLite serves one at a time)


class BodySizeLimit:
    """Refuse request bodies over ``limit`` bytes with 413, whether announced or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send)
            return
        seen = 0

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting, send)
        except _TooLarge:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        response = problems.problem(413, f"the request body is larger than {self.limit} bytes", "too_large")
        await response(scope, _no_body, send)


class _TooLarge(Exception):
    pass


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


ERRORS = {
    401: "No or bad credentials",
    403: "The caller may not do this",
    404: "No such object (or not the caller's)",
    409: "The request clashes with the current state",
    413: "The request body is too large",
    422: "Invalid input",
    503: "Lost races with concurrent commands, retried and given up: nothing applied, try again after Retry-After",
}


def _document_problems(api: FastAPI) -> None:
    """Document every error answer as ``application/problem+json`` with the Problem schema."""
    build = api.openapi

    def openapi() -> dict:
        if api.openapi_schema is None:
            document = build()
            for operation in (op for path in document["paths"].values() for op in path.values()):
                for status, response in operation.get("responses", {}).items():
                    if status.startswith(("4", "5")):
                        response["content"] = {problems.PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
            document["components"]["schemas"].pop("HTTPValidationError", None)
            document["components"]["schemas"].pop("ValidationError", None)
            api.openapi_schema = document
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


def create_app(app: App | None = None, settings: ApiSettings | None = None) -> FastAPI:
    """The API on a wired jisflow (default: ``bootstrap()`` on the configured database)."""
    if app is None:
        from jisflow.bootstrap import bootstrap

        app = bootstrap()
    settings = settings or ApiSettings()
    # the interactive docs' scripts and styles are served from the installed package: no CDN
    api = FastAPIOffline(
        title=settings.title,
        version="1",
        summary="Just-in-Sequence logistics: pearl chain, call-offs, alerts, audit, webhooks.",
        responses={status: {"model": Problem, "description": text} for status, text in ERRORS.items()},
    )
    _document_problems(api)
    api.state.jisflow = Context(app.companions(settings.concurrency))
    problems.install(api)
    api.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    for module in (plants, lines, sequence, calloffs, execution, inventory, alerts, audit, webhooks):
        api.include_router(module.router)

    @api.get("/health", tags=["meta"], summary="Liveness")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/me", tags=["meta"], response_model=MeOut, summary="Who the credentials stand for")
    def me(caller: Caller) -> MeOut:
        return MeOut(name=caller.name, role=caller.role, partner=caller.partner, scopes=sorted(caller.scopes, key=lambda s: s.value))

    return api


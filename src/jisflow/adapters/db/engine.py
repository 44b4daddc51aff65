"""Engines for the two supported databases: SQLite (embedded default) and PostgreSQL.

``make_engine`` accepts the URLs people write (``postgresql://...``, ``postgres://...``) and
uses psycopg 3 for PostgreSQL, with orjson writing and reading the JSON columns. SQLite files get foreign keys, write-ahead logging (readers do
not block the writer) and a busy timeout (a second writer waits instead of failing).
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from psycopg.types.json import set_json_loads

from jisflow.adapters.db import locking

SQLITE_BUSY_TIMEOUT_SECONDS = 30


def normalize_url(url: str | sa.URL) -> sa.URL:
    """The URL with the driver jisflow uses: psycopg 3 for PostgreSQL."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def json_dumps(value: Any) -> bytes:
    """JSON of a column value (keys that are not text, as dates or numbers, become text, as
    ``json.dumps`` makes them)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def make_engine(url: str | sa.URL, **kwargs: Any) -> sa.Engine:
    """An engine for a SQLite or PostgreSQL URL; ``kwargs`` go to ``sqlalchemy.create_engine``."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_SECONDS)
    else:
        kwargs.setdefault("json_serializer", json_dumps)
    engine = sa.create_engine(parsed, **kwargs)
    locking.install(engine)
    if engine.dialect.name == "postgresql":

        @sa.event.listens_for(engine, "connect")
        def _json_loads(dbapi_connection: Any, _record: Any) -> None:
            set_json_loads(orjson.loads, dbapi_connection)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

    return engine

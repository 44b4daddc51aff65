"""Alembic environment of jisflow.

``jisflow.adapters.db.migrate`` runs the migrations programmatically and hands over an open
connection (``config.attributes["connection"]``). Run from the ``alembic`` command line
(``alembic -c src/jisflow/adapters/db/alembic.ini ...``), the database is
``JISFLOW_DATABASE_URL`` unless ``-x url=...`` names another.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context

from jisflow.adapters.db import tables
from jisflow.adapters.db.engine import make_engine, normalize_url


def _render_item(kind: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write jisflow's own column types as the plain types migrations are made of."""
    if kind == "type" and isinstance(obj, tables.UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=tables.metadata,
        compare_type=True,
        render_item=_render_item,
        **kwargs,
    )


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from jisflow.config import get_settings

    return get_settings().database_url


def _run_on(connection: sa.Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    if context.is_offline_mode():
        _configure(url=normalize_url(_url()), literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = make_engine(_url(), poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            _run_on(connection)
    finally:
        engine.dispose()


run()

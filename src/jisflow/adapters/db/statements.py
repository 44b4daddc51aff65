"""Statements built once and executed many times.

SQLAlchemy keeps a statement's cache key and, through the engine's compiled cache, its SQL on
the statement object: a statement built again for every call pays for its construction and its
cache key every time (on the hot paths of a broadcast that was a third of the time spent in
the process). The repositories therefore build their frequent statements once per dialect,
with bound parameters for every value, and execute them with the values:

    statement = prepared(connection, "inbox.claim", lambda insert: insert(t.inbox).on_conflict_do_nothing(...))
    connection.execute(statement, {"key": key, "received_at": at})

``build`` gets the dialect's INSERT (the one that can say ON CONFLICT) and the dialect name.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from jisflow.adapters.db import tables as t

_STATEMENTS: dict[tuple[Hashable, str], Any] = {}


def dialect_insert(dialect: str) -> Callable[[sa.Table], Any]:
    """The INSERT of the dialect that can say ON CONFLICT."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def conflict_insert(connection: sa.Connection, table: sa.Table) -> Any:
    """An INSERT into ``table`` that can say ON CONFLICT, in the dialect of the connection."""
    return dialect_insert(connection.dialect.name)(table)


def one_of(column: sa.ColumnElement[Any], parameter: str, dialect: str) -> sa.ColumnElement[bool]:
    """``column`` is one of the list given as ``parameter``: on PostgreSQL one array
    (``= ANY``), so the statement's text, and its prepared plan, do not depend on the list's
    length; elsewhere an expanding ``IN``."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(parameter, type_=postgresql.ARRAY(sa.String)))
    return column.in_(sa.bindparam(parameter, expanding=True))


def prepared(connection: sa.Connection, key: Hashable, build: Callable[..., Any]) -> Any:
    """The statement ``build(insert, dialect)`` made the first time ``key`` was asked for on
    this dialect."""
    dialect = connection.dialect.name
    found = _STATEMENTS.get((key, dialect))
    if found is None:
        found = _STATEMENTS[(key, dialect)] = build(dialect_insert(dialect), dialect)
    return found


def upsert(connection: sa.Connection, table: sa.Table, keys: Sequence[str], columns: Sequence[str], returning: Sequence[str] = ()) -> Any:
    """INSERT of a row (its values given at execution, one parameter a column), or UPDATE of
    ``columns`` of the row with the same ``keys``; built once per table, keys, columns,
    returned columns and dialect."""

    def build(insert: Callable[[sa.Table], Any], dialect: str) -> Any:
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=list(keys), set_={name: statement.excluded[name] for name in columns if name not in keys}
        )
        return statement.returning(*(table.c[name] for name in returning)) if returning else statement

    return prepared(connection, ("upsert", table.name, tuple(keys), tuple(columns), tuple(returning)), build)


def plant_code_for(line: str, plant: str | None = None) -> sa.ColumnElement[Any]:
    """The ``plant_code`` of a row written (its partition on PostgreSQL): the plant named by the
    parameter ``plant`` when there is one and it is not null, else the plant of the line named
    by the parameter ``line``, else ``''`` (the default partition)."""
    of_line = sa.select(t.lines.c.plant_code).where(t.lines.c.code == sa.bindparam(line, type_=sa.String)).scalar_subquery()
    if plant is None:
        return sa.func.coalesce(of_line, "")
    return sa.func.coalesce(sa.bindparam(plant, type_=sa.String), of_line, "")

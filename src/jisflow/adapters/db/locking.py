"""Every decision about locks and transaction isolation, in one place.

- **SQLite** allows one writer at a time. Every transaction starts with ``BEGIN IMMEDIATE``,
  which takes the write lock up front (readers carry on under WAL): a command that reads the
  pearl chain and then writes it can never find its snapshot stale halfway through. A second
  writer waits for the busy timeout set in ``engine.make_engine``.
- **PostgreSQL** runs transactions concurrently. A command that loads a pearl chain locks its
  line's row first (``lock_line``), so commands on one line run one after the other while other
  lines go on in parallel; each command locks one line, so no two wait on each other in a
  circle. Outbox relays claim messages with ``FOR UPDATE SKIP LOCKED`` (``claim``), so several
  relays share the outbox without handing out a message twice.
- **Inventory**: a command that changes stock locks the balance rows of its items first
  (``lock_items``), all of them at once and in item-code order, so two commands never wait on
  each other in a circle. Counters then change by increments the database computes, and CHECK
  constraints refuse negative stock or availability: nothing is checked in Python and then
  written back.
"""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa

from jisflow.adapters.db import tables as t

SelectT = TypeVar("SelectT", bound=sa.Select[Any])


def install(engine: sa.Engine) -> None:
    """Set up how transactions begin on this engine (SQLite: ``BEGIN IMMEDIATE``)."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _take_over_transactions(dbapi_connection: Any, _record: Any) -> None:
        # The sqlite3 module would otherwise begin transactions lazily and on its own terms.
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin_immediate(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def lock_line(connection: sa.Connection, line_code: str) -> None:
    """Hold the line until the end of the transaction (PostgreSQL; SQLite already holds the
    whole database)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(t.lines.c.code).where(t.lines.c.code == line_code).with_for_update())


def claim(connection: sa.Connection, query: SelectT) -> SelectT:
    """The rows of ``query``, locked for this transaction and skipped by concurrent claims."""
    if connection.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def lock_items(connection: sa.Connection, item_codes: list[str]) -> None:
    """Hold the items' balance rows until the end of the transaction, taken in item-code
    order (PostgreSQL; SQLite already holds the whole database)."""
    if connection.dialect.name == "postgresql" and item_codes:
        from jisflow.adapters.db import tables_inventory as ti

        query = sa.select(ti.balances.c.item_code).where(ti.balances.c.item_code.in_(sorted(item_codes)))
        connection.execute(query.order_by(ti.balances.c.item_code).with_for_update())

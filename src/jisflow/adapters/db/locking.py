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
- **Line versions** (``line_versions``): a transaction that writes a line's pearl chain gives
  the line a new chain version while it holds the line; one that writes a line's reservations
  locks the line's reservations version row (after its items, in line-code order) and gives it
  a new one. The repositories trust what they keep of a line in memory only under the version
  the database holds.
- **Lost races** (``contention``): a serialization failure, a deadlock, a lock timeout, or the
  same inbound message added to the inbox by two transactions at once, roll the transaction
  back whole; the unit of work raises them as ``Contention`` and the message bus runs the
  command again with back-off (``jisflow.services.messagebus.RetryPolicy``). An inbox
  ``claim`` does not lose that race: it waits for the other transaction and sees a replay.
"""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa

from jisflow.adapters.db import tables as t
from jisflow.adapters.db.writes import Transaction
from jisflow.domain.errors import Contention

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


def lock_line(transaction: Transaction, line_code: str) -> int | None:
    """Hold the line until the end of the transaction (PostgreSQL; SQLite already holds the
    whole database); returns the version of its pearl chain (``line_versions``).

    The version is read by a statement of its own, once the lock is held: under READ
    COMMITTED a statement that waited for a lock still sees the other tables as they were when
    it began, so a version joined into the locking statement could predate the commit it
    waited for. Both statements travel together (one round trip): the server runs the second
    only once the first holds the lock."""
    parameters = {"line": line_code}
    if transaction.connection is not None and transaction.connection.dialect.name == "postgresql":
        _, version = transaction.read_together([(_LOCK_LINE, parameters), (_CHAIN_VERSION, parameters)])
    else:
        (version,) = transaction.read_together([(_CHAIN_VERSION, parameters)])
    return version[0][0] if version else None


_LOCK_LINE = sa.select(t.lines.c.code).where(t.lines.c.code == sa.bindparam("line")).with_for_update()
_CHAIN_VERSION = sa.select(t.line_versions.c.version).where(
    t.line_versions.c.line_code == sa.bindparam("line"), t.line_versions.c.kind == "chain"
)


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


# SQLSTATEs of a transaction that lost a race and was rolled back: serialization failure,
# deadlock detected, lock not available (lock_timeout or NOWAIT).
RETRYABLE_SQLSTATES = {"40001": "serialization failure", "40P01": "deadlock detected", "55P03": "lock not available"}


def contention(error: BaseException) -> Contention | None:
    """The ``Contention`` a database error stands for, or None when it is no lost race."""
    if not isinstance(error, sa.exc.DBAPIError):
        return None
    orig = error.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return Contention(f"the database gave up on the transaction ({RETRYABLE_SQLSTATES[sqlstate]}, SQLSTATE {sqlstate}); nothing was applied")
    diag = getattr(orig, "diag", None)
    if sqlstate == "23505" and getattr(diag, "constraint_name", None) == "pk_inbox":
        return Contention("the same message was applied by another transaction at the same time; nothing was applied")
    if isinstance(error, sa.exc.OperationalError) and "database is locked" in str(orig):
        return Contention("the database stayed locked by another writer for the whole busy timeout; nothing was applied")
    return None

"""The connection of a unit of work's transaction, and the writes it sends later.

Repositories get the transaction as ``connect``: ``connect()`` is the connection, for a
statement to run now. Most writes of a command are never read back before it commits (the
outbox, the audit log, alerts, new call-offs, the chain's changed rows), so a repository may
hand them over instead (``connect.later``): on PostgreSQL they wait, in order, and leave
together, in one round trip (a psycopg pipeline), with the next statement that needs them or
with the COMMIT. A broadcast that sent a dozen statements one after the other, each waiting for
its answer, now waits once.

What a statement sees never changes:

- ``connect()`` sends every waiting write first, so a statement always runs after the writes
  handed over before it, as if they had been sent at once;
- ``connect(reads=...)`` names what the statement reads (tables, or a finer name a write was
  handed over under, like ``line_versions/chain``): the waiting writes stay waiting only when
  none of them touches what it reads. Hot reads say what they read; every other statement
  simply calls ``connect()``.

A waiting write that fails (a unique index, a CHECK constraint) fails the statement that sends
it, usually the COMMIT, with the same SQLAlchemy error a write sent at once would raise; the
transaction rolls back whole, as before. Values a write returns (new ids) reach their objects
when it is sent, before ``commit()`` returns.

Two more things travel the same way. ``connect.rows`` and ``connect.read_together`` run hot
reads straight through the driver, compiled once (several in one round trip). ``connect.expect``
checks what a command assumed from this process's memory (``assuming``), with the next round
trip and always before the COMMIT. The whole write path: ``docs/write-path.md``.

SQLite runs in-process, where a round trip costs nothing: there, writes handed over run at
once.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import sqlalchemy as sa

Returned = Callable[[list[Any]], None]
"""Gets the first column of every row a write returned, in the order of its rows."""


@dataclass
class PipelineStats:
    """What this process sent in pipelines: statements (COMMITs apart), COMMITs, and the round
    trips they took."""

    statements: int = 0
    commits: int = 0
    round_trips: int = 0


SENT = PipelineStats()


@dataclass(frozen=True)
class _Compiled:
    statement: Any  # kept: the cache is keyed by its identity
    sql: str
    constants: dict[str, Any]  # the statement's own bound literals, converted
    processors: dict[str, Callable[[Any], Any]]  # column key -> its type's conversion
    row: Any  # the named tuple of a row the statement returns (None: it returns none)
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # returned columns that need a conversion

    def parameters(self, row: dict[str, Any]) -> dict[str, Any]:
        values = {**self.constants, **row}
        for name, process in self.processors.items():
            values[name] = process(values[name])
        return values

    def rows(self, fetched: list[tuple[Any, ...]]) -> list[Any]:
        """Fetched rows as named tuples of the values the column types give."""
        make = self.row._make
        if not self.results:
            return [make(values) for values in fetched]
        found = []
        for values in fetched:
            converted = list(values)
            for index, process in self.results:
                converted[index] = process(converted[index])
            found.append(make(converted))
        return found


@dataclass
class _Waiting:
    compiled: _Compiled
    rows: list[dict[str, Any]]  # converted to what the driver takes
    returned: Returned | None
    cursor: Any = field(default=None)


_COMPILED: dict[tuple[int, str, tuple[str, ...]], _Compiled] = {}
_COMPILED_LIMIT = 1000


def _compile(statement: Any, dialect: sa.Dialect, keys: tuple[str, ...]) -> _Compiled:
    """The statement's SQL for rows with ``keys``, compiled once (statements handed over are
    built once, as module constants or through ``statements.prepared``)."""
    cache_key = (id(statement), dialect.name, keys)
    found = _COMPILED.get(cache_key)
    if found is not None and found.statement is statement:
        return found
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise TypeError(f"{compiled.string.split(' (')[0]}: columns with Python-side defaults cannot be sent later; give their values")
    # the statement's own bound literals (a default, a COALESCE fallback) keep their values
    every = compiled.construct_params(dict.fromkeys(keys))
    conversions = compiled._bind_processors
    constants = {name: conversions[name](value) if name in conversions else value for name, value in every.items() if name not in keys}
    processors = {name: conversions[name] for name in keys if name in conversions}
    columns = compiled._result_columns
    row = collections.namedtuple("Row", [column.keyname for column in columns], rename=True) if columns else None  # type: ignore[misc]
    results = tuple(
        (index, process) for index, column in enumerate(columns)
        if (process := column.type._cached_result_processor(dialect, None)) is not None
    )
    found = _Compiled(statement, compiled.string, constants, processors, row, results)
    if len(_COMPILED) >= _COMPILED_LIMIT:
        _COMPILED.clear()
    _COMPILED[cache_key] = found
    return found


def _converted(compiled: _Compiled, row: dict[str, Any]) -> dict[str, Any]:
    """The row's values as the driver takes them; a value of the wrong kind is refused as
    SQLAlchemy refuses it (``StatementError``)."""
    try:
        return compiled.parameters(row)
    except Exception as exc:
        raise sa.exc.StatementError(f"({type(exc).__module__}.{type(exc).__qualname__}) {exc}", compiled.sql, row, exc) from exc


def _returned(sent: list[_Waiting]) -> None:
    """Hand the values the sent writes returned to their objects."""
    for write in sent:
        if write.returned is not None:
            values: list[Any] = []
            while True:
                values.extend(row[0] for row in write.cursor.fetchall())
                if not write.cursor.nextset():
                    break
            write.returned(values)
        write.cursor.close()


def _check(expected: list[tuple[_Compiled, dict[str, Any], Callable[[list[Any]], None]]], found: list[list[tuple[Any, ...]]]) -> None:
    for (compiled, _, check), rows in zip(expected, found, strict=True):
        check(compiled.rows(rows))


class Transaction:
    """What a unit of work hands its repositories: its connection, and the writes waiting to
    be sent in it."""

    def __init__(self) -> None:
        self.connection: sa.Connection | None = None
        self._waiting: list[_Waiting] = []
        self._touched: set[str] = set()
        self._expected: list[tuple[_Compiled, dict[str, Any], Callable[[list[Any]], None]]] = []
        # the transaction is run again when it loses a race: a repository may assume what its
        # process kept and have it checked (``expect``) instead of reading it first
        self.assuming = False

    def __call__(self, reads: Collection[str] | None = None) -> sa.Connection:
        """The connection, the waiting writes sent first (only those that touch ``reads``
        matter when it is given; then all of them go, to keep their order)."""
        connection = self._open()
        if self._waiting and (reads is None or not self._touched.isdisjoint(reads)):
            self.flush()
        return connection

    @property
    def engine(self) -> sa.Engine:
        """The engine of the connection (nothing is sent)."""
        return self._open().engine

    def _open(self) -> sa.Connection:
        if self.connection is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self.connection

    def later(self, statement: Any, rows: Sequence[dict[str, Any]], touches: str, returned: Returned | None = None) -> None:
        """Execute ``statement`` once per row, with or before the next statement that reads
        ``touches`` (or that names nothing), at the latest with the COMMIT. ``returned`` gets
        the first returned column of every row when it has been sent."""
        if not rows:
            return
        connection = self._open()
        if connection.dialect.name != "postgresql":
            result = connection.execute(statement, list(rows) if len(rows) > 1 else rows[0])
            if returned is not None:
                returned(list(result.scalars()))
            return
        compiled = _compile(statement, connection.dialect, tuple(rows[0]))
        converted = [_converted(compiled, row) for row in rows]  # a value of the wrong kind is refused here, where it was given
        self._waiting.append(_Waiting(compiled, converted, returned))
        self._touched.add(touches)
        self._touched.add(touches.split("/", 1)[0])

    @property
    def waiting(self) -> int:
        """Statements waiting to be sent."""
        return len(self._waiting)

    def flush(self, commit: Callable[[], None] | None = None) -> None:
        """Send the waiting writes in one round trip, followed by ``commit`` when given (then
        the COMMIT travels with them)."""
        self._send((), commit)

    def rows(self, statement: Any, parameters: dict[str, Any], reads: Collection[str] | None = None) -> list[Any]:
        """The rows of one statement, as named tuples (attribute access, like SQLAlchemy's
        rows). ``reads`` as for ``__call__``. On PostgreSQL the statement is sent straight
        through the driver, compiled once: one round trip, the waiting writes with it when it
        reads what they touch."""
        return self.read_together([(statement, parameters)], reads)[0]

    def read_together(self, statements: Sequence[tuple[Any, dict[str, Any]]], reads: Collection[str] | None = None) -> list[list[Any]]:
        """Run ``statements`` one after the other, each with its parameters, and return the rows
        of each; on PostgreSQL in one round trip (with the waiting writes in front when the
        statements read what they touch, ``reads`` naming what they read as for ``__call__``)."""
        connection = self._open()
        if connection.dialect.name != "postgresql":
            self()
            return [list(connection.execute(statement, parameters)) for statement, parameters in statements]
        compiled = [(c, _converted(c, parameters)) for c, parameters in
                    ((_compile(statement, connection.dialect, tuple(parameters)), parameters) for statement, parameters in statements)]
        fetched = self._send(compiled, writes=reads is None or not self._touched.isdisjoint(reads))
        return [c.rows(found) for (c, _), found in zip(compiled, fetched, strict=True)]

    def expect(self, statement: Any, parameters: dict[str, Any], check: Callable[[list[Any]], None]) -> None:
        """Check something this transaction assumed without reading it (what this process
        kept in memory is still what the database holds): ``check`` gets the rows of
        ``statement`` and raises when the assumption was wrong. On PostgreSQL the statement
        travels with the next round trip, and always before the COMMIT leaves; SQLite runs it
        at once."""
        connection = self._open()
        if connection.dialect.name != "postgresql":
            check(list(self().execute(statement, parameters)))
            return
        compiled = _compile(statement, connection.dialect, tuple(parameters))
        self._expected.append((compiled, _converted(compiled, parameters), check))

    def _send(
        self, reads: Sequence[tuple[_Compiled, dict[str, Any]]], commit: Callable[[], None] | None = None, writes: bool = True,
    ) -> list[list[tuple[Any, ...]]]:
        """The waiting writes (unless not ``writes``), then ``reads`` (parameters converted) and the expectations,
        then ``commit``, in one pipeline: one round trip. Expectations are checked before
        anything else is done with the rows; when some wait for a commit, they go first, in a
        round trip of their own."""
        connection = self._open()
        if self._expected and commit is not None:
            self._send((), None, writes)  # checked: only then may the COMMIT leave
        expected, self._expected = self._expected, []
        asked = len(reads)
        reads = [*reads, *((compiled, parameters) for compiled, parameters, _ in expected)]
        waiting: list[_Waiting] = []
        if writes:
            waiting, self._waiting = self._waiting, []
            self._touched.clear()
        if not waiting and not reads:
            if commit is not None:
                commit()
            return []
        if not connection.in_transaction():
            connection.begin()
        raw = connection.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        sql, cursors = "", []
        try:
            if not waiting and commit is None and len(reads) == 1:  # one statement: no pipeline needed
                (compiled, parameters), sql = reads[0], reads[0][0].sql
                cursors.append(raw.cursor())
                cursors[0].execute(sql, parameters)
                rows = [cursors[0].fetchall()]
                SENT.statements += 1
                SENT.round_trips += 1
                cursors[0].close()
                _check(expected, rows[asked:])
                return rows[:asked]
            with raw.pipeline():
                for write in waiting:
                    sql = write.compiled.sql
                    write.cursor = raw.cursor()
                    write.cursor.executemany(sql, write.rows, returning=write.returned is not None)
                for compiled, parameters in reads:
                    sql = compiled.sql
                    cursors.append(raw.cursor())
                    cursors[-1].execute(sql, parameters)
                if commit is not None:
                    sql = "COMMIT"
                    commit()
            rows = [cursor.fetchall() for cursor in cursors]
        except psycopg.Error as exc:
            raise sa.exc.DBAPIError.instance(sql, None, exc, psycopg.Error, dialect=connection.dialect) from exc
        SENT.statements += len(waiting) + len(reads)
        SENT.commits += commit is not None
        SENT.round_trips += 1
        _returned(waiting)
        for cursor in cursors:
            cursor.close()
        _check(expected, rows[asked:])
        return rows[:asked]

    def discard(self) -> None:
        """Forget the waiting writes and expectations (the transaction rolls back)."""
        self._waiting.clear()
        self._touched.clear()
        self._expected.clear()

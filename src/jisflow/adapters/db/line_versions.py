"""Versions of a line's state, for the caches the repositories keep in memory between
transactions.

Every transaction that writes a line's pearl chain (or its reservations) gives the line's row
of that kind in ``line_versions`` a new random 62-bit value, in the same transaction. A value is
never given twice, so a version read from the database names exactly one committed state: what
a process wrote under a version whose transaction rolled back is never matched, nor is what it
read before another process (or a restore, or a truncation: no row, no trust) changed the line.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from jisflow.adapters.db import tables as t
from jisflow.adapters.db.statements import one_of, prepared
from jisflow.adapters.db.writes import Transaction

CHAIN = "chain"
RESERVATIONS = "reservations"

_lv = t.line_versions


def new_version() -> int:
    return secrets.randbits(62)


def _read_statement(connection: sa.Connection, lock: bool) -> Any:
    def build(insert: Any, dialect: str) -> Any:
        query: Any = sa.select(_lv.c.line_code, _lv.c.version).where(
            _lv.c.kind == sa.bindparam("kind"), one_of(_lv.c.line_code, "codes", dialect)
        )
        return query.order_by(_lv.c.line_code).with_for_update() if lock and dialect == "postgresql" else query

    return prepared(connection, ("line_versions.read", lock), build)


def read(connection: sa.Connection, line_codes: list[str], kind: str, lock: bool = False) -> dict[str, int]:
    """The versions of ``kind`` of the lines that have one (locked until the end of the
    transaction when ``lock``, taken in line-code order)."""
    if not line_codes:
        return {}
    rows = connection.execute(_read_statement(connection, lock), {"kind": kind, "codes": sorted(line_codes)})
    return {code: version for code, version in rows}


def read_rows(transaction: Transaction, line_codes: list[str], kind: str, reads: Collection[str] | None = None) -> dict[str, int]:
    """The same as ``read`` (not locked), straight through the driver on PostgreSQL
    (``Transaction.rows``; ``reads`` as there)."""
    if not line_codes:
        return {}
    rows = transaction.rows(_read_statement(transaction.connection, False), {"kind": kind, "codes": sorted(line_codes)}, reads)
    return {code: version for code, version in rows}


def _bump_statement(connection: sa.Connection) -> Any:
    def build(insert: Any, dialect: str) -> Any:
        statement = insert(_lv)
        return statement.on_conflict_do_update(index_elements=[_lv.c.line_code, _lv.c.kind], set_={"version": statement.excluded.version})

    return prepared(connection, "line_versions.bump", build)


def bump(connection: sa.Connection, line_codes: list[str], kind: str) -> dict[str, int]:
    """Give the lines a new version of ``kind`` (this transaction's), and return it."""
    versions = {code: new_version() for code in sorted(line_codes)}
    if versions:
        rows = [{"line_code": code, "kind": kind, "version": version} for code, version in versions.items()]
        connection.execute(_bump_statement(connection), rows[0] if len(rows) == 1 else rows)
    return versions


def bump_later(transaction: Transaction, line_codes: list[str], kind: str) -> dict[str, int]:
    """The same, the write sent later (a read of ``line_versions/<kind>`` sends it first)."""
    versions = {code: new_version() for code in sorted(line_codes)}
    rows = [{"line_code": code, "kind": kind, "version": version} for code, version in versions.items()]
    transaction.later(_bump_statement(transaction.connection), rows, f"line_versions/{kind}")
    return versions

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
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from jisflow.adapters.db import tables as t

CHAIN = "chain"
RESERVATIONS = "reservations"

_lv = t.line_versions


def new_version() -> int:
    return secrets.randbits(62)


def read(connection: sa.Connection, line_codes: list[str], kind: str, lock: bool = False) -> dict[str, int]:
    """The versions of ``kind`` of the lines that have one (locked until the end of the
    transaction when ``lock``, taken in line-code order)."""
    if not line_codes:
        return {}
    query: Any = sa.select(_lv.c.line_code, _lv.c.version).where(_lv.c.kind == kind, _lv.c.line_code.in_(sorted(line_codes)))
    if lock and connection.dialect.name == "postgresql":
        query = query.order_by(_lv.c.line_code).with_for_update()
    return {code: version for code, version in connection.execute(query)}


def bump(connection: sa.Connection, line_codes: list[str], kind: str) -> dict[str, int]:
    """Give the lines a new version of ``kind`` (this transaction's), and return it."""
    versions = {code: new_version() for code in sorted(line_codes)}
    if versions:
        insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(_lv)
        connection.execute(
            insert.on_conflict_do_update(index_elements=[_lv.c.line_code, _lv.c.kind], set_={"version": insert.excluded.version}),
            [{"line_code": code, "kind": kind, "version": version} for code, version in versions.items()],
        )
    return versions

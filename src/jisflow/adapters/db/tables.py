"""The relational schema of jisflow, as SQLAlchemy Core tables.

This module describes the schema; the Alembic migrations create it (``migrate.upgrade``), and a
test checks that the two agree. Rules shared by every table:

- timestamps are ``UtcDateTime``: timezone-aware UTC going in and coming out, on SQLite too;
- JSON documents are ``JSON`` (``JSONB`` on PostgreSQL), except plant definitions, whose key
  order carries meaning (the order of a rule's conditions, of a mix's weights) and which JSONB
  would sort;
- enumerations are stored as their string values, guarded by CHECK constraints;
- constraint and index names follow ``NAMING_CONVENTION``, so migrations can name them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from jisflow.domain.calloff import CallOffState
from jisflow.domain.sequence import VehicleStatus

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware instant: stored as UTC, always read back as an aware UTC datetime.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so the value is stored as naive
    UTC text and made aware again on the way out. A naive datetime is refused.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored: give a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ORDERED_JSON = sa.JSON()
"""JSON that keeps the key order of its objects (``json``, not ``JSONB``, on PostgreSQL)."""


def _in(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# --------------------------------------------------------------------------- master data
plants = sa.Table(
    "plants",
    metadata,
    sa.Column("code", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("timezone", sa.String, nullable=False),
    sa.Column("definition", ORDERED_JSON, nullable=False),  # the validated plant definition, as loaded
    sa.Column("revision", sa.String(32), nullable=False),  # new on every load: cache key of the parsed plant
    sa.Column("loaded_at", UtcDateTime, nullable=False),
)

lines = sa.Table(
    "lines",
    metadata,
    sa.Column("code", sa.String, primary_key=True),
    sa.Column("plant_code", sa.String, sa.ForeignKey("plants.code"), nullable=False, index=True),
    sa.Column("takt_seconds", sa.Integer, nullable=False),
)

suppliers = sa.Table(
    "suppliers",
    metadata,
    sa.Column("plant_code", sa.String, sa.ForeignKey("plants.code"), primary_key=True),
    sa.Column("code", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
)

part_families = sa.Table(
    "part_families",
    metadata,
    sa.Column("plant_code", sa.String, sa.ForeignKey("plants.code"), primary_key=True),
    sa.Column("code", sa.String, primary_key=True),
    sa.Column("line_code", sa.String, sa.ForeignKey("lines.code"), nullable=False),
    sa.Column("station", sa.String, nullable=False),
    sa.Column("mode", sa.String, nullable=False),
    sa.Column("supplier_code", sa.String, nullable=True),
)

# --------------------------------------------------------------------------- pearl chain
chain_entries = sa.Table(
    "chain_entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("line_code", sa.String, sa.ForeignKey("lines.code"), nullable=False),
    sa.Column("order_id", sa.String, nullable=False),
    sa.Column("seq_no", sa.Integer, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("model", sa.String, nullable=False),
    sa.Column("options", JSON, nullable=False),
    sa.Column("vin", sa.String, nullable=True),
    sa.Column("broadcast_at", UtcDateTime, nullable=True),
    sa.Column("flagged", sa.Boolean, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("line_code", "order_id"),
    sa.CheckConstraint(_in("status", [s.value for s in VehicleStatus]), name="status"),
)
# A cancelled vehicle keeps its number; a live one owns it.
sa.Index(
    "uq_chain_entries_line_code_seq_no_live",
    chain_entries.c.line_code,
    chain_entries.c.seq_no,
    unique=True,
    sqlite_where=sa.text("status <> 'cancelled'"),
    postgresql_where=sa.text("status <> 'cancelled'"),
)

line_feeds = sa.Table(
    "line_feeds",
    metadata,
    sa.Column("line_code", sa.String, sa.ForeignKey("lines.code"), primary_key=True),
    sa.Column("last_broadcast_seq_no", sa.Integer, nullable=True),
    sa.Column("last_broadcast_at", UtcDateTime, nullable=True),
    sa.Column("silence_alerted", sa.Boolean, nullable=False),
    sa.Column("issued_until", UtcDateTime, nullable=True),
)

# One row per line and kind of state ("chain": its entries and feed; "reservations": its demand
# lines), given a new unique value by every transaction that writes that state. Processes keep
# what they last read or wrote of a line under its version and trust it only while the database
# still holds the same value.
line_versions = sa.Table(
    "line_versions",
    metadata,
    sa.Column("line_code", sa.String, sa.ForeignKey("lines.code"), primary_key=True),
    sa.Column("kind", sa.String, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.CheckConstraint(_in("kind", ["chain", "reservations"]), name="kind"),
)

sequence_changes = sa.Table(
    "sequence_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("line_code", sa.String, sa.ForeignKey("lines.code"), nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("order_id", sa.String, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("old_seq_no", sa.Integer, nullable=True),
    sa.Column("new_seq_no", sa.Integer, nullable=True),
    sa.Column("in_frozen_zone", sa.Boolean, nullable=False),
    sa.Column("overridden", sa.Boolean, nullable=False),
    sa.Column("renumbered", JSON, nullable=False),  # order id -> [old, new]
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("details", JSON, nullable=False),
    # the partition key on PostgreSQL (migration 0006): the plant of the line
    sa.Column("plant_code", sa.String, nullable=False, server_default=""),
    sa.Index(None, "line_code", "at"),
)

# --------------------------------------------------------------------------- call-offs
calloffs = sa.Table(
    "calloffs",
    metadata,
    sa.Column("number", sa.String, primary_key=True),
    sa.Column("supplier", sa.String, nullable=False),
    sa.Column("unloading_point", sa.String, nullable=False),
    sa.Column("line_code", sa.String, nullable=False),
    sa.Column("issued_at", UtcDateTime, nullable=False),
)

calloff_lines = sa.Table(
    "calloff_lines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("number", sa.String, sa.ForeignKey("calloffs.number"), nullable=False, index=True),
    sa.Column("supplier", sa.String, nullable=False),
    sa.Column("unloading_point", sa.String, nullable=False),
    sa.Column("line_code", sa.String, nullable=False),
    sa.Column("order_id", sa.String, nullable=False),
    sa.Column("family", sa.String, nullable=False),
    sa.Column("seq_no", sa.Integer, nullable=False),
    sa.Column("rolling_no", sa.Integer, nullable=False),
    sa.Column("vin", sa.String, nullable=True),
    sa.Column("part_number", sa.String, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("station", sa.String, nullable=False),
    sa.Column("need_time", UtcDateTime, nullable=False),
    sa.Column("ship_by", UtcDateTime, nullable=False),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("amendments", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("updated_at", UtcDateTime, nullable=True),
    sa.CheckConstraint(_in("state", [s.value for s in CallOffState]), name="state"),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    sa.Index(None, "line_code", "seq_no"),
)
# One live call-off line per vehicle and family; cancelled ones stay for history.
sa.Index(
    "uq_calloff_lines_line_code_order_id_family_live",
    calloff_lines.c.line_code,
    calloff_lines.c.order_id,
    calloff_lines.c.family,
    unique=True,
    sqlite_where=sa.text("state <> 'CANCELLED'"),
    postgresql_where=sa.text("state <> 'CANCELLED'"),
)

summarized_calls = sa.Table(
    "summarized_calls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("line_code", sa.String, nullable=False),
    sa.Column("family", sa.String, nullable=False),
    sa.Column("supplier", sa.String, nullable=False),
    sa.Column("part_number", sa.String, nullable=False),
    sa.Column("window_start", UtcDateTime, nullable=False),
    sa.Column("window_end", UtcDateTime, nullable=False),
    sa.Column("contributions", JSON, nullable=False),  # order id -> quantity
    sa.Column("quantity", sa.Integer, nullable=False),  # the sum of the contributions
    sa.Column("updated_at", UtcDateTime, nullable=True),
    # pieces received against the call (migration 0009); what is left is an expected receipt
    sa.Column("delivered", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.UniqueConstraint("line_code", "family", "part_number", "window_start"),
    sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    sa.CheckConstraint("delivered >= 0", name="delivered_not_negative"),
)

# --------------------------------------------------------------------------- alerts
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("severity", sa.String, nullable=False),
    sa.Column("line_code", sa.String, nullable=False),
    sa.Column("order_id", sa.String, nullable=True),
    sa.Column("seq_no", sa.Integer, nullable=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("details", JSON, nullable=False),
    sa.Column("raised_at", UtcDateTime, nullable=False),
    sa.Column("acknowledged_at", UtcDateTime, nullable=True),
    sa.Column("acknowledged_by", sa.String, nullable=True),
    # the partition key on PostgreSQL (migration 0008): the plant of the line
    sa.Column("plant_code", sa.String, nullable=False, server_default=""),
    sa.Index(None, "line_code", "id"),
)

# --------------------------------------------------------------------------- messaging
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("topic", sa.String, nullable=False),
    sa.Column("key", sa.String, nullable=False),
    sa.Column("payload", JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("published_at", UtcDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    # the partition key on PostgreSQL (migration 0006): the event's plant, '' for none
    sa.Column("plant_code", sa.String, nullable=False, server_default=""),
)
# The relay only ever looks at what is not yet published.
sa.Index(
    "ix_outbox_unpublished",
    outbox.c.id,
    sqlite_where=sa.text("published_at IS NULL"),
    postgresql_where=sa.text("published_at IS NULL"),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("received_at", UtcDateTime, nullable=False),
)

# The tables of the HTTP side live in their own module, on the same metadata.
from jisflow.adapters.db import tables_api  # noqa: E402,F401
from jisflow.adapters.db import tables_execution  # noqa: E402,F401
from jisflow.adapters.db import tables_inventory  # noqa: E402,F401

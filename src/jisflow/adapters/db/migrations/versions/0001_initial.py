"""The initial schema: plants, pearl chains, call-offs, summarized calls, alerts, outbox, inbox.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ORDERED_JSON = sa.JSON()  # keeps key order on PostgreSQL too

VEHICLE_STATUSES = "status IN ('planned', 'broadcast', 'cancelled')"
CALLOFF_STATES = (
    "state IN ('CREATED', 'SENT', 'ACKNOWLEDGED', 'PICKED', 'PACKED', 'SHIPPED', "
    "'DELIVERED', 'CONSUMED', 'AMENDED', 'CANCELLED')"
)


def _partial_unique_index(name: str, table: str, columns: list[str], where: str) -> None:
    op.create_index(
        name, table, columns, unique=True, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
    )


def upgrade() -> None:
    op.create_table(
        "plants",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("definition", ORDERED_JSON, nullable=False),
        sa.Column("revision", sa.String(length=32), nullable=False),
        sa.Column("loaded_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_plants"),
    )
    op.create_table(
        "lines",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("plant_code", sa.String(), nullable=False),
        sa.Column("takt_seconds", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["plant_code"], ["plants.code"], name="fk_lines_plant_code_plants"),
        sa.PrimaryKeyConstraint("code", name="pk_lines"),
    )
    op.create_index("ix_lines_plant_code", "lines", ["plant_code"])
    op.create_table(
        "suppliers",
        sa.Column("plant_code", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["plant_code"], ["plants.code"], name="fk_suppliers_plant_code_plants"),
        sa.PrimaryKeyConstraint("plant_code", "code", name="pk_suppliers"),
    )
    op.create_table(
        "part_families",
        sa.Column("plant_code", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("line_code", sa.String(), nullable=False),
        sa.Column("station", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("supplier_code", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["plant_code"], ["plants.code"], name="fk_part_families_plant_code_plants"),
        sa.ForeignKeyConstraint(["line_code"], ["lines.code"], name="fk_part_families_line_code_lines"),
        sa.PrimaryKeyConstraint("plant_code", "code", name="pk_part_families"),
    )

    op.create_table(
        "chain_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_code", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("seq_no", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("vin", sa.String(), nullable=True),
        sa.Column("broadcast_at", UTC_DATETIME, nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(VEHICLE_STATUSES, name="ck_chain_entries_status"),
        sa.ForeignKeyConstraint(["line_code"], ["lines.code"], name="fk_chain_entries_line_code_lines"),
        sa.PrimaryKeyConstraint("id", name="pk_chain_entries"),
        sa.UniqueConstraint("line_code", "order_id", name="uq_chain_entries_line_code_order_id"),
    )
    _partial_unique_index(
        "uq_chain_entries_line_code_seq_no_live", "chain_entries", ["line_code", "seq_no"], "status <> 'cancelled'"
    )
    op.create_table(
        "line_feeds",
        sa.Column("line_code", sa.String(), nullable=False),
        sa.Column("last_broadcast_seq_no", sa.Integer(), nullable=True),
        sa.Column("last_broadcast_at", UTC_DATETIME, nullable=True),
        sa.Column("silence_alerted", sa.Boolean(), nullable=False),
        sa.Column("issued_until", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(["line_code"], ["lines.code"], name="fk_line_feeds_line_code_lines"),
        sa.PrimaryKeyConstraint("line_code", name="pk_line_feeds"),
    )
    op.create_table(
        "sequence_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_code", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("old_seq_no", sa.Integer(), nullable=True),
        sa.Column("new_seq_no", sa.Integer(), nullable=True),
        sa.Column("in_frozen_zone", sa.Boolean(), nullable=False),
        sa.Column("overridden", sa.Boolean(), nullable=False),
        sa.Column("renumbered", JSON, nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.ForeignKeyConstraint(["line_code"], ["lines.code"], name="fk_sequence_changes_line_code_lines"),
        sa.PrimaryKeyConstraint("id", name="pk_sequence_changes"),
    )
    op.create_index("ix_sequence_changes_line_code_at", "sequence_changes", ["line_code", "at"])

    op.create_table(
        "calloffs",
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("supplier", sa.String(), nullable=False),
        sa.Column("unloading_point", sa.String(), nullable=False),
        sa.Column("line_code", sa.String(), nullable=False),
        sa.Column("issued_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("number", name="pk_calloffs"),
    )
    op.create_table(
        "calloff_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("supplier", sa.String(), nullable=False),
        sa.Column("unloading_point", sa.String(), nullable=False),
        sa.Column("line_code", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("family", sa.String(), nullable=False),
        sa.Column("seq_no", sa.Integer(), nullable=False),
        sa.Column("rolling_no", sa.Integer(), nullable=False),
        sa.Column("vin", sa.String(), nullable=True),
        sa.Column("part_number", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("station", sa.String(), nullable=False),
        sa.Column("need_time", UTC_DATETIME, nullable=False),
        sa.Column("ship_by", UTC_DATETIME, nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("amendments", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint(CALLOFF_STATES, name="ck_calloff_lines_state"),
        sa.CheckConstraint("quantity > 0", name="ck_calloff_lines_quantity_positive"),
        sa.ForeignKeyConstraint(["number"], ["calloffs.number"], name="fk_calloff_lines_number_calloffs"),
        sa.PrimaryKeyConstraint("id", name="pk_calloff_lines"),
    )
    op.create_index("ix_calloff_lines_number", "calloff_lines", ["number"])
    op.create_index("ix_calloff_lines_line_code_seq_no", "calloff_lines", ["line_code", "seq_no"])
    _partial_unique_index(
        "uq_calloff_lines_line_code_order_id_family_live",
        "calloff_lines",
        ["line_code", "order_id", "family"],
        "state <> 'CANCELLED'",
    )
    op.create_table(
        "summarized_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_code", sa.String(), nullable=False),
        sa.Column("family", sa.String(), nullable=False),
        sa.Column("supplier", sa.String(), nullable=False),
        sa.Column("part_number", sa.String(), nullable=False),
        sa.Column("window_start", UTC_DATETIME, nullable=False),
        sa.Column("window_end", UTC_DATETIME, nullable=False),
        sa.Column("contributions", JSON, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint("quantity >= 0", name="ck_summarized_calls_quantity_not_negative"),
        sa.PrimaryKeyConstraint("id", name="pk_summarized_calls"),
        sa.UniqueConstraint(
            "line_code", "family", "part_number", "window_start",
            name="uq_summarized_calls_line_code_family_part_number_window_start",
        ),
    )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("line_code", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=True),
        sa.Column("seq_no", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("raised_at", UTC_DATETIME, nullable=False),
        sa.Column("acknowledged_at", UTC_DATETIME, nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_line_code_id", "alerts", ["line_code", "id"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("published_at", UTC_DATETIME, nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        sqlite_where=sa.text("published_at IS NULL"),
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_inbox"),
    )


def downgrade() -> None:
    for table in (
        "inbox",
        "outbox",
        "alerts",
        "summarized_calls",
        "calloff_lines",
        "calloffs",
        "sequence_changes",
        "line_feeds",
        "chain_entries",
        "part_families",
        "suppliers",
        "lines",
        "plants",
    ):
        op.drop_table(table)

"""Execution: the floor's master data, racks, shipments and execution records.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
RACK_STATES = "state IN ('OPEN', 'CLOSED', 'LOADED', 'SHIPPED', 'RECEIVED', 'EMPTIED')"
SHIPMENT_STATES = "state IN ('PLANNED', 'DEPARTED', 'RECEIVED')"
RECORD_KINDS = (
    "kind IN ('picked', 'packed', 'scan_refused', 'rack_closed', 'resequenced', 'despatched', 'shipment_despatched', "
    "'emergency', 'received', 'discrepancy', 'lineside_ok', 'lineside_refused', 'consumed')"
)


def upgrade() -> None:
    op.create_table(
        "exec_setups",
        sa.Column("plant", sa.String(), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.PrimaryKeyConstraint("plant", name="pk_exec_setups"),
    )
    op.create_table(
        "exec_racks",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("line", sa.String(), nullable=False),
        sa.Column("supplier", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.CheckConstraint(RACK_STATES, name="ck_exec_racks_state"),
        sa.PrimaryKeyConstraint("id", name="pk_exec_racks"),
    )
    op.create_index("ix_exec_racks_line_state", "exec_racks", ["line", "state"])
    op.create_table(
        "exec_shipments",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("line", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("departure", UTC_DATETIME, nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.CheckConstraint(SHIPMENT_STATES, name="ck_exec_shipments_state"),
        sa.PrimaryKeyConstraint("id", name="pk_exec_shipments"),
    )
    op.create_index("ix_exec_shipments_line_state", "exec_shipments", ["line", "state"])
    op.create_table(
        "exec_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("line", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=True),
        sa.Column("serial", sa.String(), nullable=True),
        sa.Column("document", JSON, nullable=False),
        sa.CheckConstraint(RECORD_KINDS, name="ck_exec_records_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_exec_records"),
    )
    op.create_index("ix_exec_records_line_kind", "exec_records", ["line", "kind"])
    op.create_index("ix_exec_records_serial", "exec_records", ["serial"])
    op.create_index("ix_exec_records_order_id", "exec_records", ["order_id"])


def downgrade() -> None:
    op.drop_table("exec_records")
    op.drop_table("exec_shipments")
    op.drop_table("exec_racks")
    op.drop_table("exec_setups")

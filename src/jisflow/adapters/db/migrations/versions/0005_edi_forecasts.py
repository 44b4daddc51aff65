"""EDI forecasts: the schedules received as DELFOR, VDA 4905 or X12 830/862, one row per
partner, supplier, item, unloading point and period.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
COMMITMENTS = "commitment IN ('firm', 'planning')"
SUPPLIER_POLICY = "current_setting('jisflow.supplier', true) IN ('*', supplier)"


def upgrade() -> None:
    op.create_table(
        "inv_forecasts",
        sa.Column("partner", sa.String(), nullable=False),
        sa.Column("supplier", sa.String(), nullable=False),
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("unloading_point", sa.String(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("supplier_item", sa.String(), nullable=True),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("cumulative", sa.Integer(), nullable=False),
        sa.Column("commitment", sa.String(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("issued", sa.Date(), nullable=True),
        sa.Column("interchange", sa.String(), nullable=False),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("quantity >= 0", name="ck_inv_forecasts_quantity_not_negative"),
        sa.CheckConstraint("cumulative >= 0", name="ck_inv_forecasts_cumulative_not_negative"),
        sa.CheckConstraint(COMMITMENTS, name="ck_inv_forecasts_commitment"),
        sa.PrimaryKeyConstraint("partner", "supplier", "item_code", "unloading_point", "due", name="pk_inv_forecasts"),
    )
    op.create_index("ix_inv_forecasts_supplier", "inv_forecasts", ["supplier"])
    op.create_index("ix_inv_forecasts_item_code", "inv_forecasts", ["item_code"])
    if op.get_bind().dialect.name == "postgresql":  # a supplier's forecasts are its own (jisflow.adapters.db.tenancy)
        op.execute("ALTER TABLE inv_forecasts ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY supplier_isolation ON inv_forecasts USING ({SUPPLIER_POLICY}) WITH CHECK ({SUPPLIER_POLICY})")


def downgrade() -> None:
    op.drop_table("inv_forecasts")

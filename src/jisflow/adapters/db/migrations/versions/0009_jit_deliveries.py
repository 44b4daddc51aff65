"""Deliveries against summarized calls: ``summarized_calls.delivered`` counts the pieces
received against a JIT call, so what is left of it is an expected receipt of its part (the
projection counts it at the window's start).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("summarized_calls") as batch:
        batch.add_column(sa.Column("delivered", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch.create_check_constraint("ck_summarized_calls_delivered_not_negative", "delivered >= 0")


def downgrade() -> None:
    with op.batch_alter_table("summarized_calls") as batch:
        batch.drop_constraint("ck_summarized_calls_delivered_not_negative", type_="check")
        batch.drop_column("delivered")

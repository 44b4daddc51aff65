"""Line versions: a unique value per line and kind of state (pearl chain, reservations), new
with every transaction that writes that state, so that a process can tell whether what it
keeps in memory of a line is still what the database holds.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "line_versions",
        sa.Column("line_code", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("kind IN ('chain', 'reservations')", name="ck_line_versions_kind"),
        sa.ForeignKeyConstraint(["line_code"], ["lines.code"], name="fk_line_versions_line_code_lines"),
        sa.PrimaryKeyConstraint("line_code", "kind", name="pk_line_versions"),
    )


def downgrade() -> None:
    op.drop_table("line_versions")

"""Partitioning by plant: the append-only tables that grow with time and plants (``outbox`` and
``sequence_changes``) get a ``plant_code`` and, on PostgreSQL, become LIST-partitioned by it.

PostgreSQL: each table keeps its name as the partitioned parent, its partitions in the schema
``jisflow_partitions`` (``jisflow.adapters.db.partitioning`` says how). A trigger on ``plants``
calls ``jisflow_plant_partitions`` when a plant is loaded, so a new plant's rows land in their
own partitions from the first one.

SQLite only gets the column: it has no partitioning, and one file holds one site.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

from jisflow.adapters.db import partitioning

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("outbox", "sequence_changes")

# How each table finds the plant of a row it already holds.
PLANT_OF = {
    "outbox": "COALESCE(payload->>'plant', (SELECT l.plant_code FROM lines l WHERE l.code = payload->>'line'), '')",
    "sequence_changes": "COALESCE((SELECT l.plant_code FROM lines l WHERE l.code = line_code), '')",
}
# What a table has besides its columns (0001): primary key, foreign keys, indexes.
EXTRAS = {
    "outbox": [
        "CREATE INDEX ix_outbox_unpublished ON outbox (id) WHERE published_at IS NULL",
    ],
    "sequence_changes": [
        "ALTER TABLE sequence_changes ADD CONSTRAINT fk_sequence_changes_line_code_lines FOREIGN KEY (line_code) REFERENCES lines (code)",
        "CREATE INDEX ix_sequence_changes_line_code_at ON sequence_changes (line_code, at)",
    ],
}
FOREIGN_KEYS = {"outbox": (), "sequence_changes": ("fk_sequence_changes_line_code_lines",)}

PLANT_TRIGGER_FUNCTION = """
CREATE FUNCTION jisflow_plant_loaded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM jisflow_plant_partitions(NEW.code);
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        partitioning.add_plant_columns(op, TABLES)
        return
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {partitioning.SCHEMA}")
    for table in TABLES:
        partitioning.partition(op.execute, table, PLANT_OF[table], EXTRAS[table], FOREIGN_KEYS[table])
    op.execute(partitioning.partitions_function(TABLES))
    op.execute(PLANT_TRIGGER_FUNCTION)
    op.execute("CREATE TRIGGER plant_partitions AFTER INSERT ON plants FOR EACH ROW EXECUTE FUNCTION jisflow_plant_loaded()")
    op.execute("SELECT jisflow_plant_partitions(code) FROM plants")
    for table in TABLES:
        partitioning.fill(op.execute, table)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        partitioning.drop_plant_columns(op, TABLES)
        return
    op.execute("DROP TRIGGER plant_partitions ON plants")
    op.execute("DROP FUNCTION jisflow_plant_loaded()")
    op.execute("DROP FUNCTION jisflow_plant_partitions(text)")
    for table in TABLES:
        partitioning.unpartition(op.execute, table, EXTRAS[table])
    op.execute(f"DROP SCHEMA {partitioning.SCHEMA} CASCADE")

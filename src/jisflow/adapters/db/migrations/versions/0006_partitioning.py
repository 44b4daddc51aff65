"""Partitioning by plant: the append-only tables that grow with time and plants (``outbox`` and
``sequence_changes``) get a ``plant_code`` and, on PostgreSQL, become LIST-partitioned by it.

PostgreSQL: each table keeps its name as the partitioned parent; its partitions live in the
schema ``jisflow_partitions`` (``<table>_default`` for rows of no known plant, one
``<table>_<plant>_<hash>`` per plant). ``jisflow_plant_partitions(plant)`` creates a plant's
partitions (moving its rows out of the default partition); a trigger on ``plants`` calls it
when a plant is loaded, so a new plant's rows land in their own partitions from the first one.
The primary keys become (id, plant_code), as PostgreSQL requires of a partitioned table's
unique keys; ids still come from one sequence per table and stay unique.

SQLite only gets the column: it has no partitioning, and one file holds one site.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "jisflow_partitions"
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

PARTITIONS_FUNCTION = f"""
CREATE FUNCTION jisflow_plant_partitions(plant text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    parent text;
    part text;
BEGIN
    FOREACH parent IN ARRAY ARRAY{list(TABLES)!r}::text[] LOOP
        part := parent || '_' || left(lower(regexp_replace(plant, '[^A-Za-z0-9]+', '_', 'g')), 30) || '_' || left(md5(plant), 6);
        CONTINUE WHEN to_regclass(format('{SCHEMA}.%I', part)) IS NOT NULL;
        -- rows of the plant written before it had partitions wait in the default one: move them
        EXECUTE format('CREATE TEMP TABLE jisflow_moving ON COMMIT DROP AS SELECT * FROM {SCHEMA}.%I WHERE plant_code = %L', parent || '_default', plant);
        EXECUTE format('DELETE FROM {SCHEMA}.%I WHERE plant_code = %L', parent || '_default', plant);
        EXECUTE format('CREATE TABLE {SCHEMA}.%I PARTITION OF public.%I FOR VALUES IN (%L)', part, parent, plant);
        EXECUTE format('INSERT INTO public.%I SELECT * FROM jisflow_moving', parent);
        DROP TABLE jisflow_moving;
    END LOOP;
END $$
"""

PLANT_TRIGGER_FUNCTION = """
CREATE FUNCTION jisflow_plant_loaded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM jisflow_plant_partitions(NEW.code);
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for table in TABLES:
            with op.batch_alter_table(table) as batch:
                batch.add_column(sa.Column("plant_code", sa.String(), server_default="", nullable=False))
        return
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    for table in TABLES:
        _partition(table)
    op.execute(PARTITIONS_FUNCTION)
    op.execute(PLANT_TRIGGER_FUNCTION)
    op.execute("CREATE TRIGGER plant_partitions AFTER INSERT ON plants FOR EACH ROW EXECUTE FUNCTION jisflow_plant_loaded()")
    op.execute("SELECT jisflow_plant_partitions(code) FROM plants")
    for table in TABLES:  # the rows of before: through the parent, each to its plant's partition
        op.execute(f"INSERT INTO {table} SELECT * FROM {table}_unpartitioned")
        op.execute(f"DROP TABLE {table}_unpartitioned")
        op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")


def _partition(table: str) -> None:
    """Replace ``table`` by a partitioned table of the same name and columns plus plant_code."""
    op.execute(f"ALTER TABLE {table} ADD COLUMN plant_code VARCHAR NOT NULL DEFAULT ''")
    op.execute(f"UPDATE {table} SET plant_code = {PLANT_OF[table]}")
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY NONE")
    op.execute(f"ALTER TABLE {table} RENAME TO {table}_unpartitioned")
    op.execute(f"ALTER TABLE {table}_unpartitioned DROP CONSTRAINT pk_{table}")
    for index in [e.split()[2] for e in EXTRAS[table] if e.startswith("CREATE INDEX")]:
        op.execute(f"DROP INDEX {index}")
    if table == "sequence_changes":
        op.execute("ALTER TABLE sequence_changes_unpartitioned DROP CONSTRAINT fk_sequence_changes_line_code_lines")
    op.execute(
        f"CREATE TABLE {table} (LIKE {table}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
        f"CONSTRAINT pk_{table} PRIMARY KEY (id, plant_code)) PARTITION BY LIST (plant_code)"
    )
    for statement in EXTRAS[table]:
        op.execute(statement)
    op.execute(f"CREATE TABLE {SCHEMA}.{table}_default PARTITION OF {table} DEFAULT")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for table in TABLES:
            with op.batch_alter_table(table) as batch:
                batch.drop_column("plant_code")
        return
    op.execute("DROP TRIGGER plant_partitions ON plants")
    op.execute("DROP FUNCTION jisflow_plant_loaded()")
    op.execute("DROP FUNCTION jisflow_plant_partitions(text)")
    for table in TABLES:
        op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY NONE")
        op.execute(f"CREATE TABLE {table}_plain (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        op.execute(f"INSERT INTO {table}_plain SELECT * FROM {table}")
        op.execute(f"DROP TABLE {table} CASCADE")
        op.execute(f"ALTER TABLE {table}_plain RENAME TO {table}")
        op.execute(f"ALTER TABLE {table} DROP COLUMN plant_code")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")
        for statement in EXTRAS[table]:
            op.execute(statement)
        op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
    op.execute(f"DROP SCHEMA {SCHEMA} CASCADE")

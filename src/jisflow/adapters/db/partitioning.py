"""Partitioning by plant on PostgreSQL: what the migrations that partition tables share.

A partitioned table keeps its name as the parent; its partitions live in the schema
``jisflow_partitions``: ``<table>_default`` for rows of no known plant and one
``<table>_<plant>_<hash>`` per plant. ``jisflow_plant_partitions(plant)`` creates a plant's
partitions of every partitioned table, moving rows of that plant written to the default partition
before; a trigger on ``plants`` calls it when a plant is loaded. Primary keys become
``(id, plant_code)``, as PostgreSQL requires of a partitioned table's unique keys; ids still come
from one sequence per table and stay unique.

The statements are written out here once and called by each migration with the tables it
partitions, so a migration keeps doing what it did when later ones add tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

SCHEMA = "jisflow_partitions"

Execute = Callable[[str], object]


def partitions_function(tables: Sequence[str]) -> str:
    """``jisflow_plant_partitions(plant)`` for ``tables``: creates the plant's partition of each
    that lacks one. Rows of the plant waiting in the default partition are moved to it; user
    triggers of the default partition (an append-only table's refusal of deletes) are off for
    that move only, which only the tables' owner can do (the function runs as its owner)."""
    return f"""
CREATE OR REPLACE FUNCTION jisflow_plant_partitions(plant text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    parent text;
    part text;
    waiting boolean;
BEGIN
    FOREACH parent IN ARRAY ARRAY{list(tables)!r}::text[] LOOP
        part := parent || '_' || left(lower(regexp_replace(plant, '[^A-Za-z0-9]+', '_', 'g')), 30) || '_' || left(md5(plant), 6);
        CONTINUE WHEN to_regclass(format('{SCHEMA}.%I', part)) IS NOT NULL;
        EXECUTE format('SELECT EXISTS (SELECT FROM {SCHEMA}.%I WHERE plant_code = %L)', parent || '_default', plant) INTO waiting;
        IF waiting THEN
            -- rows of the plant written before it had partitions wait in the default one: move them
            EXECUTE format('CREATE TEMP TABLE jisflow_moving ON COMMIT DROP AS SELECT * FROM {SCHEMA}.%I WHERE plant_code = %L', parent || '_default', plant);
            EXECUTE format('ALTER TABLE {SCHEMA}.%I DISABLE TRIGGER USER', parent || '_default');
            EXECUTE format('DELETE FROM {SCHEMA}.%I WHERE plant_code = %L', parent || '_default', plant);
            EXECUTE format('ALTER TABLE {SCHEMA}.%I ENABLE TRIGGER USER', parent || '_default');
        END IF;
        EXECUTE format('CREATE TABLE {SCHEMA}.%I PARTITION OF public.%I FOR VALUES IN (%L)', part, parent, plant);
        IF waiting THEN
            EXECUTE format('INSERT INTO public.%I SELECT * FROM jisflow_moving', parent);
            DROP TABLE jisflow_moving;
        END IF;
    END LOOP;
END $$
"""


def partition(execute: Execute, table: str, plant_of: str, extras: Sequence[str], foreign_keys: Sequence[str] = ()) -> None:
    """Replace ``table`` by a table of the same name and columns plus ``plant_code``, partitioned
    by it, with a default partition; ``plant_of`` is the SQL expression that finds the plant of
    a row already there. ``extras`` re-creates what the table had besides its columns and checks
    (its ``CREATE INDEX`` statements, foreign keys, triggers): the indexes and the
    ``foreign_keys`` (by name) are dropped from the old table first. The old rows stay in
    ``<table>_unpartitioned`` until ``fill`` moves them."""
    execute(f"ALTER TABLE {table} ADD COLUMN plant_code VARCHAR NOT NULL DEFAULT ''")
    execute(f"UPDATE {table} SET plant_code = {plant_of}")
    execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY NONE")
    execute(f"ALTER TABLE {table} RENAME TO {table}_unpartitioned")
    execute(f"ALTER TABLE {table}_unpartitioned DROP CONSTRAINT pk_{table}")
    for index in _indexes(extras):
        execute(f"DROP INDEX {index}")
    for constraint in foreign_keys:
        execute(f"ALTER TABLE {table}_unpartitioned DROP CONSTRAINT {constraint}")
    execute(
        f"CREATE TABLE {table} (LIKE {table}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
        f"CONSTRAINT pk_{table} PRIMARY KEY (id, plant_code)) PARTITION BY LIST (plant_code)"
    )
    for statement in extras:
        execute(statement)
    execute(f"CREATE TABLE {SCHEMA}.{table}_default PARTITION OF {table} DEFAULT")


def fill(execute: Execute, table: str) -> None:
    """The rows of before, through the parent, each to its plant's partition (which must exist:
    call ``jisflow_plant_partitions`` for the plants first)."""
    execute(f"INSERT INTO {table} SELECT * FROM {table}_unpartitioned")
    execute(f"DROP TABLE {table}_unpartitioned")
    execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")


def unpartition(execute: Execute, table: str, extras: Sequence[str]) -> None:
    """Back to a plain table without ``plant_code``, rows kept, ``extras`` re-created."""
    execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY NONE")
    execute(f"CREATE TABLE {table}_plain (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    execute(f"INSERT INTO {table}_plain SELECT * FROM {table}")
    execute(f"DROP TABLE {table} CASCADE")
    execute(f"ALTER TABLE {table}_plain RENAME TO {table}")
    execute(f"ALTER TABLE {table} DROP COLUMN plant_code")
    execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")
    for statement in extras:
        execute(statement)
    execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")


def _indexes(extras: Sequence[str]) -> list[str]:
    """The names of the indexes that ``extras`` create."""
    return [e.split()[2] for e in extras if e.startswith("CREATE INDEX")]


def add_plant_columns(op: Any, tables: Sequence[str]) -> None:
    """SQLite: the ``plant_code`` column alone (no partitions; one file holds one site)."""
    for table in tables:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("plant_code", sa.String(), server_default="", nullable=False))


def drop_plant_columns(op: Any, tables: Sequence[str]) -> None:
    for table in tables:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("plant_code")

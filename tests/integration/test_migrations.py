"""The Alembic migrations build exactly the schema ``tables.py`` describes, on SQLite and
PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from jisflow.adapters.db import migrate, tables
from jisflow.adapters.db.engine import make_engine


def differences(url: str, metadata: sa.MetaData) -> list:
    engine = make_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = make_engine(url, poolclass=sa.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrading_an_empty_database_creates_every_table_and_records_the_head(db_url):
    assert migrate.current(db_url) is None
    migrate.upgrade(db_url)
    assert table_names(db_url) == set(tables.metadata.tables) | {"alembic_version"}
    assert migrate.current(db_url) == migrate.head()


def test_the_migrated_schema_matches_the_tables_module(db_url):
    migrate.upgrade(db_url)
    assert differences(db_url, tables.metadata) == []


def test_the_schema_comparison_notices_a_column_the_migrations_lack(db_url):
    migrate.upgrade(db_url)
    changed = sa.MetaData()
    for table in tables.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["inbox"].append_column(sa.Column("source", sa.String, nullable=True))
    assert [d[:2] for d in differences(db_url, changed)] == [("add_column", None)]


def test_upgrading_twice_changes_nothing(db_url):
    migrate.upgrade(db_url)
    migrate.upgrade(db_url)
    assert migrate.current(db_url) == migrate.head()


def test_downgrading_to_base_removes_every_table(db_url):
    migrate.upgrade(db_url)
    engine = make_engine(db_url, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            command.downgrade(migrate.alembic_config(connection), "base")
    finally:
        engine.dispose()
    assert table_names(db_url) == {"alembic_version"}
    assert migrate.current(db_url) is None

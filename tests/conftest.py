"""Database fixtures shared by the test suites.

- ``sqlite_url``: a fresh SQLite file for the test.
- ``postgres_url``: one database of its own for the whole test session, on the server named by
  ``JISFLOW_TEST_POSTGRES_URL`` (tests that need it are skipped when the variable is unset);
  dropped at the end of the session.
- ``empty_postgres_url``: the session database, emptied for the test.
- ``db_url``: an empty database, SQLite and PostgreSQL in turn.
- ``uow_factory``: makes units of work on one store, migrated and empty: memory, SQLite and
  PostgreSQL in turn.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from jisflow.adapters.db import tables
from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.db.migrate import upgrade
from jisflow.adapters.db.uow import SqlUnitOfWork
from jisflow.adapters.memory import MemoryStore, MemoryUnitOfWork
from jisflow.services.unit_of_work import AbstractUnitOfWork

POSTGRES_ENV = "JISFLOW_TEST_POSTGRES_URL"

UowFactory = Callable[[], AbstractUnitOfWork]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'jisflow.db'}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV}, e.g. postgresql://postgres@127.0.0.1:5432/test")
    name = f"jisflow_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def empty_postgres_url(postgres_url: str) -> str:
    """The session database, emptied of everything earlier tests created (schema included)."""
    engine = make_engine(postgres_url, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()
    return postgres_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database (no schema yet)."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "empty_postgres_url")


def _truncate_all(engine: sa.Engine) -> None:
    names = ", ".join(f'"{table.name}"' for table in tables.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def uow_factory(request: pytest.FixtureRequest) -> Iterator[UowFactory]:
    """A zero-argument callable that returns a fresh unit of work on one empty store."""
    if request.param == "memory":
        store = MemoryStore()
        yield lambda: MemoryUnitOfWork(store)
        return
    url = request.getfixturevalue(f"{request.param}_url")
    upgrade(url)
    engine = make_engine(url)
    if request.param == "postgres":
        _truncate_all(engine)
    try:
        yield lambda: SqlUnitOfWork(engine)
    finally:
        engine.dispose()

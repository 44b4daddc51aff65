"""Create and upgrade the schema with Alembic, on SQLite and PostgreSQL alike.

The migrations ship inside the package (``migrations/`` next to this module), so this works
from any working directory and from an installed wheel.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from jisflow.adapters.db.engine import make_engine

MIGRATIONS = Path(__file__).resolve().with_name("migrations")


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic configuration for jisflow's migrations, running on ``connection`` if given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision the package ships."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return revision


def upgrade(url: str | sa.URL, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision`` (an empty database gets the whole schema)."""
    engine = make_engine(url, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def current(url: str | sa.URL) -> str | None:
    """The revision the database at ``url`` is at; None when it was never migrated."""
    engine = make_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()

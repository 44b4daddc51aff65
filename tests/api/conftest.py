"""Fixtures of the API tests (see ``api_support``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from api_support import Api, make_api

from jisflow.adapters.db.migrate import upgrade


@pytest.fixture(scope="session")
def migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database at the newest schema, copied by every test that needs one."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def api(tmp_path: Path, migrated_file: Path) -> Api:
    shutil.copyfile(migrated_file, tmp_path / "api.db")
    return make_api(f"sqlite:///{tmp_path / 'api.db'}", migrate=False)


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    """One jisflow for a whole module whose tests may share state."""
    return make_api(f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}")

"""Fixtures of the integration tests: a small plant definition, a migrated SQL engine, and the
database a worker process runs on."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.db.migrate import upgrade
from jisflow.adapters.plant_file import PlantDefinition, parse_plant_definition


def _definition(plant: str, lines: tuple[str, ...], name: str) -> dict[str, Any]:
    """A plant with a day shift, lines of two stations and one JIS seat family per line."""
    return {
        "plant": {"code": plant, "name": name, "timezone": "Europe/Berlin", "unloading_points": ["DOCK-A"]},
        "lines": [
            {
                "code": line,
                "name": f"Line {line}",
                "takt_seconds": 60,
                "frozen_zone": {"kind": "count", "size": 2},
                "calendar": {"shifts": [{"name": "day", "start": "06:00", "end": "22:00"}]},
                "stations": [
                    {"code": "S0", "name": "Trim entry", "offset_takts": 0},
                    {"code": "S90", "name": "Front seats", "offset_takts": 90},
                ],
            }
            for line in lines
        ],
        "suppliers": [{"code": "SEATCO", "name": "Seat supplier"}],
        "families": [
            {
                "code": f"SEAT-{line}",
                "name": "Front seat set",
                "line": line,
                "station": "S90",
                "route": {
                    "mode": "JIS",
                    "supplier": "SEATCO",
                    "lead_time_minutes": 60,
                    "unloading_point": "DOCK-A",
                    "line_side_location": "S90-L",
                    "rack_type": "RK-SEAT",
                },
                "rules": [{"name": "any", "part": "SEAT-1"}],
            }
            for line in lines
        ],
    }


PlantBuilder = Callable[..., PlantDefinition]


@pytest.fixture
def build_plant() -> PlantBuilder:
    """``build_plant("P1", ("L1", "L2"), name=...)``: a checked definition and its plant."""

    def build(plant: str = "P1", lines: tuple[str, ...] = ("L1",), name: str = "Test plant") -> PlantDefinition:
        return parse_plant_definition(_definition(plant, lines, name))

    return build


@pytest.fixture
def sql_engine(db_url: str) -> Iterator[sa.Engine]:
    """An engine on a database migrated to the newest schema: SQLite and PostgreSQL in turn."""
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def database(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of an empty database for worker processes: PostgreSQL when the tests have one
    (``JISFLOW_TEST_POSTGRES_URL``), else a SQLite file."""
    if os.environ.get("JISFLOW_TEST_POSTGRES_URL"):
        return request.getfixturevalue("empty_postgres_url")
    return f"sqlite:///{tmp_path / 'worker.db'}"

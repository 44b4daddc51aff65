"""Concurrency rules, checked with two real connections: commands on one line run one after
the other, and outbox relays never take the same message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.db.migrate import upgrade
from jisflow.adapters.db.uow import SqlUnitOfWork
from jisflow.domain.plant import Plant

T0 = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)


def load_plant(url: str, build_plant) -> Plant:
    """Migrate the database and load plant P1 with lines L1 and L2."""
    upgrade(url)
    definition = build_plant("P1", ("L1", "L2"))
    engine = make_engine(url)
    try:
        with SqlUnitOfWork(engine) as uow:
            uow.plants.put(definition.plant, definition.data, T0)
            uow.commit()
    finally:
        engine.dispose()
    return definition.plant


def impatient_engine(url: str) -> sa.Engine:
    """An engine whose connections give up waiting for a lock after a fifth of a second."""
    if url.startswith("sqlite"):
        return make_engine(url, connect_args={"timeout": 0.2})
    return make_engine(url, connect_args={"options": "-c lock_timeout=200"})


def test_a_command_on_a_line_waits_for_the_command_that_holds_it(db_url, build_plant):
    plant = load_plant(db_url, build_plant)
    engine, impatient = make_engine(db_url), impatient_engine(db_url)
    try:
        with SqlUnitOfWork(engine) as first, SqlUnitOfWork(impatient) as second:
            first.chains.get(plant.line("L1"))
            with pytest.raises(sa.exc.OperationalError, match="lock"):
                second.chains.get(plant.line("L1"))
    finally:
        engine.dispose()
        impatient.dispose()


@pytest.mark.postgres
def test_commands_on_different_lines_run_side_by_side_on_postgresql(empty_postgres_url, build_plant):
    plant = load_plant(empty_postgres_url, build_plant)
    engine, impatient = make_engine(empty_postgres_url), impatient_engine(empty_postgres_url)
    try:
        with SqlUnitOfWork(engine) as first, SqlUnitOfWork(impatient) as second:
            first.chains.get(plant.line("L1"))
            assert len(second.chains.get(plant.line("L2"))) == 0
    finally:
        engine.dispose()
        impatient.dispose()


@pytest.mark.postgres
def test_two_relays_claim_different_outbox_messages_on_postgresql(empty_postgres_url):
    upgrade(empty_postgres_url)
    engine = make_engine(empty_postgres_url)
    try:
        with SqlUnitOfWork(engine) as uow:
            for n in range(5):
                uow.outbox.add("topic", "L1", {"n": n}, T0)
            uow.commit()
        with SqlUnitOfWork(engine) as first, SqlUnitOfWork(engine) as second:
            taken_first = [m.payload["n"] for m in first.outbox.pending(limit=3)]
            taken_second = [m.payload["n"] for m in second.outbox.pending(limit=3)]
    finally:
        engine.dispose()
    assert taken_first == [0, 1, 2]
    assert taken_second == [3, 4]

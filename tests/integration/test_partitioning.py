"""Partitioning by plant (migration 0006): on PostgreSQL the outbox and the change log are
LIST-partitioned by plant, a plant gets its partitions when it is loaded, and rows land in
their plant's partition; rows of no plant wait in the default one. SQLite keeps plain tables
with the plant in a column."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.db.migrate import upgrade
from jisflow.adapters.db.uow import SqlUnitOfWork
from jisflow.bootstrap import bootstrap
from jisflow.domain.sequence import Vehicle
from jisflow.services import commands as c


def _fill(url: str, build_plant) -> None:
    """Two plants with a line each; vehicles imported, broadcast and one cancelled on each."""
    app = bootstrap(database_url=url)
    for plant, line in (("P1", "L1"), ("P-2", "L2")):
        definition = build_plant(plant, (line,))
        app.bus.handle(c.LoadPlant(definition.plant, definition.data))
        rows = tuple(c.SequenceRow(f"row {i}", Vehicle(f"{line}-V{i}", "CAR", {})) for i in range(1, 6))
        app.bus.handle(c.ImportSequence(line, rows))
        app.bus.handle(c.BroadcastNext(line, 2))
        app.bus.handle(c.CancelVehicle(line, order_id=f"{line}-V5", reason="withdrawn"))
    with app.uow:  # a message that names no plant nor line
        app.uow.outbox.add("system.note", "-", {"text": "no plant"}, app.clock.now())
        app.uow.commit()


@pytest.mark.postgres
def test_rows_land_in_the_partition_of_their_plant_on_postgresql(empty_postgres_url: str, build_plant):
    upgrade(empty_postgres_url)
    _fill(empty_postgres_url, build_plant)
    engine = make_engine(empty_postgres_url)
    with engine.connect() as connection:
        partitioned = connection.execute(sa.text(
            "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid ORDER BY 1"
        )).scalars().all()
        placed = {
            table: connection.execute(sa.text(f"SELECT tableoid::regclass::text AS part, plant_code, count(*) FROM {table} GROUP BY 1, 2")).all()
            for table in ("outbox", "sequence_changes")
        }
    engine.dispose()
    assert partitioned == ["outbox", "sequence_changes"]
    for table, rows in placed.items():
        by_plant = {plant: part for part, plant, _ in rows}
        assert by_plant["P1"].startswith(f"jisflow_partitions.{table}_p1_")
        assert by_plant["P-2"].startswith(f"jisflow_partitions.{table}_p_2_")
        assert len({part for part, _, _ in rows}) == len(rows)  # one partition per plant
    assert by_plant.keys() == {"P1", "P-2"}  # every change has its plant
    assert ("jisflow_partitions.outbox_default", "") in {(part, plant) for part, plant, _ in placed["outbox"]}


@pytest.mark.postgres
def test_rows_written_before_their_plant_was_loaded_move_to_its_partition_when_it_is(empty_postgres_url: str, build_plant):
    upgrade(empty_postgres_url)
    engine = make_engine(empty_postgres_url)
    uow = SqlUnitOfWork(engine)
    with uow:
        uow.outbox.add("forecast.received", "-", {"plant": "LATE"}, bootstrap(uow).clock.now())
        uow.commit()
    definition = build_plant("LATE", ("L9",))
    bootstrap(uow).bus.handle(c.LoadPlant(definition.plant, definition.data))
    with engine.connect() as connection:
        placed = connection.execute(sa.text("SELECT topic, tableoid::regclass::text FROM outbox WHERE plant_code = 'LATE' ORDER BY id")).all()
    engine.dispose()
    assert [topic for topic, _ in placed] == ["forecast.received", "plant.loaded"]
    assert all(part.startswith("jisflow_partitions.outbox_late_") for _, part in placed)


def test_sqlite_keeps_plain_tables_with_the_plant_in_a_column(sqlite_url: str, build_plant):
    upgrade(sqlite_url)
    _fill(sqlite_url, build_plant)
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        plants = connection.execute(sa.text("SELECT DISTINCT plant_code FROM sequence_changes ORDER BY 1")).scalars().all()
        outbox = connection.execute(sa.text("SELECT DISTINCT plant_code FROM outbox ORDER BY 1")).scalars().all()
    engine.dispose()
    assert plants == ["P-2", "P1"]
    assert outbox == ["", "P-2", "P1"]

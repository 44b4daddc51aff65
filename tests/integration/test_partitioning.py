"""Partitioning by plant (migrations 0006 and 0008): on PostgreSQL the outbox, the change log,
the audit log, the alerts and the execution records are LIST-partitioned by plant, a plant gets
its partitions when it is loaded, and rows land in their plant's partition; rows of no plant
wait in the default one. SQLite keeps plain tables with the plant in a column."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command

from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.db.migrate import alembic_config, upgrade
from jisflow.adapters.db.uow import SqlUnitOfWork
from jisflow.bootstrap import bootstrap
from jisflow.domain.alerts import Alert, AlertKind
from jisflow.domain.execution import ExecutionRecord, RecordKind
from jisflow.domain.sequence import Vehicle
from jisflow.services import commands as c
from jisflow.services.audit import SYSTEM, AuditEntry


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
        with app.uow:
            now = app.clock.now()
            app.uow.alerts.add(Alert(AlertKind.GAP, line, "a gap", now))
            app.uow.execution.add_records([ExecutionRecord(RecordKind.PICKED, now, line, order_id=f"{line}-V1")])
            app.uow.commit()
    with app.uow:  # a message and an audit entry that name no plant nor line
        app.uow.outbox.add("system.note", "-", {"text": "no plant"}, app.clock.now())
        app.uow.audit.append([AuditEntry(SYSTEM, app.clock.now(), "user.created", "user/someone", None, {"role": "viewer"})])
        app.uow.commit()


PARTITIONED = ["alerts", "audit_log", "exec_records", "outbox", "sequence_changes"]


@pytest.fixture
def filled(empty_postgres_url: str, build_plant) -> Iterator[sa.Engine]:
    """An engine on a PostgreSQL database at the newest schema, filled by ``_fill``."""
    upgrade(empty_postgres_url)
    _fill(empty_postgres_url, build_plant)
    engine = make_engine(empty_postgres_url)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_rows_land_in_the_partition_of_their_plant_on_postgresql(filled: sa.Engine):
    with filled.connect() as connection:
        partitioned = connection.execute(sa.text(
            "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid ORDER BY 1"
        )).scalars().all()
        placed = {
            table: connection.execute(sa.text(f"SELECT tableoid::regclass::text AS part, plant_code, count(*) FROM {table} GROUP BY 1, 2")).all()
            for table in PARTITIONED
        }
    assert partitioned == PARTITIONED
    for table, rows in placed.items():
        by_plant = {plant: part for part, plant, _ in rows}
        assert by_plant["P1"].startswith(f"jisflow_partitions.{table}_p1_")
        assert by_plant["P-2"].startswith(f"jisflow_partitions.{table}_p_2_")
        assert len({part for part, _, _ in rows}) == len(rows)  # one partition per plant
        if table in ("outbox", "audit_log"):
            assert (f"jisflow_partitions.{table}_default", "") in {(part, plant) for part, plant, _ in rows}
        else:  # every change, alert and record has its plant
            assert by_plant.keys() == {"P1", "P-2"}


@pytest.mark.postgres
def test_the_audit_entries_of_a_plant_are_those_of_its_lines_and_of_the_events_naming_it(filled: sa.Engine):
    with filled.connect() as connection:
        by_plant = dict(connection.execute(sa.text(
            "SELECT plant_code, array_agg(DISTINCT action ORDER BY action) FROM audit_log GROUP BY 1"
        )).all())
    assert by_plant[""] == ["user.created"]
    for plant in ("P1", "P-2"):
        assert {"plant.loaded", "vehicle.broadcast", "sequence.changed"} <= set(by_plant[plant])


@pytest.mark.postgres
def test_every_partition_of_the_audit_log_refuses_updates_and_deletes(filled: sa.Engine):
    with filled.connect() as connection:
        parts = connection.execute(sa.text(
            "SELECT DISTINCT tableoid::regclass::text FROM audit_log ORDER BY 1"
        )).scalars().all()
    for part in ["audit_log", *parts]:
        for statement in (f"UPDATE {part} SET actor = 'someone else'", f"DELETE FROM {part}"):
            with filled.connect() as connection, pytest.raises(sa.exc.DBAPIError, match="append-only"):
                connection.execute(sa.text(statement))
    assert len(parts) == 3


@pytest.mark.postgres
def test_rows_written_before_their_plant_was_loaded_move_to_its_partition_when_it_is(empty_postgres_url: str, build_plant):
    upgrade(empty_postgres_url)
    engine = make_engine(empty_postgres_url)
    uow = SqlUnitOfWork(engine)
    with uow:
        at = bootstrap(uow).clock.now()
        uow.outbox.add("forecast.received", "-", {"plant": "LATE"}, at)
        uow.audit.append([AuditEntry(SYSTEM, at, "forecast.received", "LATE", None, {"weeks": 4}, plant="LATE")])
        uow.commit()
    definition = build_plant("LATE", ("L9",))
    bootstrap(uow).bus.handle(c.LoadPlant(definition.plant, definition.data))
    with engine.connect() as connection:
        placed = {
            table: connection.execute(sa.text(f"SELECT {what}, tableoid::regclass::text FROM {table} WHERE plant_code = 'LATE' ORDER BY id")).all()
            for table, what in (("outbox", "topic"), ("audit_log", "action"))
        }
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):  # the move did not open the audit log
            connection.execute(sa.text("DELETE FROM audit_log WHERE plant_code = 'LATE'"))
    engine.dispose()
    for table, rows in placed.items():
        assert [name for name, _ in rows] == ["forecast.received", "plant.loaded"]
        assert all(part.startswith(f"jisflow_partitions.{table}_late_") for _, part in rows)


@pytest.mark.postgres
def test_upgrading_a_database_with_rows_files_each_under_its_plant(empty_postgres_url: str, build_plant):
    upgrade(empty_postgres_url)
    app = bootstrap(database_url=empty_postgres_url)
    definition = build_plant("P1", ("L1",))
    app.bus.handle(c.LoadPlant(definition.plant, definition.data))
    app.bus.handle(c.ImportSequence("L1", (c.SequenceRow("row 1", Vehicle("L1-V1", "CAR", {})),)))
    app.bus.handle(c.BroadcastNext("L1", 1))
    app.uow.engine.dispose()
    engine = make_engine(empty_postgres_url)
    with engine.begin() as connection:  # back to 0007, the rows kept
        command.downgrade(alembic_config(connection), "0007")
    with engine.begin() as connection:  # and more written as the code of 0007 wrote them
        connection.execute(sa.text(
            "INSERT INTO alerts (kind, severity, line_code, message, details, raised_at) "
            "VALUES ('gap', 'warning', 'L1', 'a gap', '{}', now())"
        ))
        connection.execute(sa.text(
            "INSERT INTO exec_records (kind, at, line, document) VALUES ('picked', now(), 'L1', '{}')"
        ))
        connection.execute(sa.text(
            "INSERT INTO audit_log (at, actor, action, subject, before, after) "
            "VALUES (now(), 'system', 'user.created', 'user/someone', NULL, '{}'), "
            "(now(), 'system', 'calloff.issued', 'CO-1', NULL, '{\"line\": \"L1\"}')"
        ))
        counts = {table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() for table in ("alerts", "exec_records", "audit_log")}
    engine.dispose()
    upgrade(empty_postgres_url)
    engine = make_engine(empty_postgres_url)
    with engine.connect() as connection:
        placed = {
            table: dict(connection.execute(sa.text(f"SELECT plant_code, count(*) FROM {table} GROUP BY 1")).all())
            for table in counts
        }
        left_behind = connection.execute(sa.text("SELECT count(*) FROM pg_tables WHERE tablename LIKE '%unpartitioned'")).scalar_one()
    engine.dispose()
    assert {table: sum(by_plant.values()) for table, by_plant in placed.items()} == counts  # nothing lost
    assert placed["alerts"] == {"P1": 1}
    assert placed["exec_records"] == {"P1": 1}
    assert placed["audit_log"][""] == 1  # the user
    assert placed["audit_log"]["P1"] == counts["audit_log"] - 1 > 1  # the plant's events and the call-off
    assert left_behind == 0


def test_sqlite_keeps_plain_tables_with_the_plant_in_a_column(sqlite_url: str, build_plant):
    upgrade(sqlite_url)
    _fill(sqlite_url, build_plant)
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        plants = connection.execute(sa.text("SELECT DISTINCT plant_code FROM sequence_changes ORDER BY 1")).scalars().all()
        outbox = connection.execute(sa.text("SELECT DISTINCT plant_code FROM outbox ORDER BY 1")).scalars().all()
        alerts = connection.execute(sa.text("SELECT DISTINCT plant_code FROM alerts ORDER BY 1")).scalars().all()
        records = connection.execute(sa.text("SELECT DISTINCT plant_code FROM exec_records ORDER BY 1")).scalars().all()
        audit = connection.execute(sa.text("SELECT DISTINCT plant_code FROM audit_log ORDER BY 1")).scalars().all()
    engine.dispose()
    assert plants == alerts == records == ["P-2", "P1"]
    assert outbox == audit == ["", "P-2", "P1"]

"""Writes a repository hands over (``connect.later``): on PostgreSQL they wait and travel in one
round trip with the next statement that needs them or with the COMMIT; SQLite runs them at once.
Either way, what every statement sees and what commits is the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from jisflow.adapters.db import tables as t
from jisflow.adapters.db import writes
from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.db.uow import SqlUnitOfWork
from jisflow.domain.alerts import Alert, AlertKind
from jisflow.domain.calloff import CallOff, CallOffLine, SummarizedCall
from jisflow.domain.errors import Contention
from jisflow.domain.inventory import Item
from jisflow.domain.sequence import Vehicle
from jisflow.services import commands as c
from jisflow.services.clock import SimulatedClock
from jisflow.services.messagebus import MessageBus, RetryPolicy

T0 = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)


def a_calloff(number: str, order_ids: list[str]) -> CallOff:
    lines = [
        CallOffLine(number=number, supplier="SEATCO", unloading_point="DOCK-A", line="L1", order_id=order_id, family="SEAT-L1",
                    seq_no=n, rolling_no=n, vin=None, part_number="SEAT-1", quantity=1, station="S90",
                    need_time=T0 + timedelta(minutes=90 + n), ship_by=T0 + timedelta(minutes=30 + n))
        for n, order_id in enumerate(order_ids, start=1)
    ]
    return CallOff(number=number, supplier="SEATCO", unloading_point="DOCK-A", line="L1", issued_at=T0, lines=lines)


def outbox_keys(engine: sa.Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(sa.select(t.outbox.c.key).order_by(t.outbox.c.id)).scalars())


def waiting(uow: SqlUnitOfWork) -> int:
    return uow._transaction.waiting


def test_handed_over_writes_wait_for_the_commit_on_postgresql_and_run_at_once_on_sqlite(sql_engine):
    with SqlUnitOfWork(sql_engine) as uow:
        uow.outbox.add("calloff.issued", "K1", {"line": "L1"}, T0)
        uow.audit.append([])
        assert waiting(uow) == (1 if sql_engine.dialect.name == "postgresql" else 0)  # an empty append hands nothing over
        if sql_engine.dialect.name == "postgresql":  # (SQLite's other transactions wait for the writer)
            assert outbox_keys(sql_engine) == []  # another transaction sees nothing before the commit
        uow.commit()
        assert waiting(uow) == 0
    assert outbox_keys(sql_engine) == ["K1"]


def test_a_statement_that_reads_what_waits_sends_it_first(sql_engine):
    with SqlUnitOfWork(sql_engine) as uow:
        uow.outbox.add("calloff.issued", "K1", {"line": "L1"}, T0)
        uow.inventory.items()  # reads only the item master: the message may keep waiting
        assert waiting(uow) == (1 if sql_engine.dialect.name == "postgresql" else 0)
        assert [m.key for m in uow.outbox.pending()] == ["K1"]  # reads the outbox: sent first
        assert waiting(uow) == 0


def test_writes_keep_their_order_with_the_statements_run_at_once(sql_engine):
    """A call-off line handed over is there, with its id, when an update run at once follows."""
    with SqlUnitOfWork(sql_engine) as uow:
        calloff = a_calloff("CO-1", ["O1", "O2"])
        uow.calloffs.add(calloff)
        first = calloff.lines[0]
        first.quantity = 2
        uow.calloffs.save_lines([first])  # needs the id the insert gives: the insert goes first
        assert first.id is not None
        uow.commit()
    with SqlUnitOfWork(sql_engine) as uow:
        assert [ln.quantity for ln in uow.calloffs.get("CO-1").lines] == [2, 1]


def test_ids_the_database_gives_reach_their_objects_by_the_end_of_the_commit(sql_engine):
    with SqlUnitOfWork(sql_engine) as uow:
        alerts = [Alert(AlertKind.GAP, "L1", f"gap {n}", T0) for n in range(3)]
        for alert in alerts:
            uow.alerts.add(alert)
        calloff = a_calloff("CO-1", ["O1", "O2", "O3"])
        uow.calloffs.add(calloff)
        uow.commit()
    with sql_engine.connect() as connection:
        stored_alerts = dict(connection.execute(sa.select(t.alerts.c.message, t.alerts.c.id)).all())
        stored_lines = dict(connection.execute(sa.select(t.calloff_lines.c.order_id, t.calloff_lines.c.id)).all())
    assert {a.message: a.id for a in alerts} == stored_alerts
    assert {ln.order_id: ln.id for ln in calloff.lines} == stored_lines


def test_a_waiting_write_the_database_refuses_fails_the_commit_and_nothing_of_the_transaction_stays(sql_engine):
    with SqlUnitOfWork(sql_engine) as uow:
        uow.calloffs.add(a_calloff("CO-1", ["O1"]))
        uow.commit()
    with pytest.raises(sa.exc.IntegrityError, match="calloff"), SqlUnitOfWork(sql_engine) as uow:
        uow.outbox.add("calloff.issued", "K-lost", {"line": "L1"}, T0)
        uow.calloffs.add(a_calloff("CO-1", ["O9"]))  # the same number again
        uow.commit()
    assert outbox_keys(sql_engine) == []
    with SqlUnitOfWork(sql_engine) as uow:  # the connection is fine for the next one
        uow.outbox.add("calloff.issued", "K2", {"line": "L1"}, T0)
        uow.commit()
    assert outbox_keys(sql_engine) == ["K2"]


def test_waiting_writes_of_a_rolled_back_transaction_are_never_sent(sql_engine):
    with SqlUnitOfWork(sql_engine) as uow:
        uow.outbox.add("calloff.issued", "K-rolled-back", {"line": "L1"}, T0)
    with SqlUnitOfWork(sql_engine) as uow:
        uow.outbox.add("calloff.issued", "K2", {"line": "L1"}, T0)
        uow.commit()
    assert outbox_keys(sql_engine) == ["K2"]


def test_a_value_of_the_wrong_kind_is_refused_where_it_is_handed_over(sql_engine):
    with SqlUnitOfWork(sql_engine) as uow, pytest.raises(sa.exc.StatementError, match="naive datetime"):
        uow.outbox.add("calloff.issued", "K1", {"line": "L1"}, datetime(2025, 3, 3, 7, 0))
        assert waiting(uow) == 0


def test_a_waiting_write_that_loses_a_race_is_a_contention_the_bus_may_retry(sql_engine):
    """Two transactions add the same inbox key; the second one's insert waits and fails once the
    first has committed: a lost race, rolled back whole."""
    if sql_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: there is no race to lose")
    with SqlUnitOfWork(sql_engine) as first:
        first.inbox.claim("MSG-1", T0)
        with pytest.raises(Contention), SqlUnitOfWork(sql_engine) as second:
            second._transaction.later(sa.insert(t.inbox), [{"key": "MSG-1", "received_at": T0}], "inbox")
            first.commit()
            second.commit()


def test_the_writes_and_the_commit_of_a_transaction_travel_in_one_round_trip_on_postgresql(sql_engine):
    if sql_engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs in the process: it has no round trips")
    before = (writes.SENT.statements, writes.SENT.commits, writes.SENT.round_trips)
    with SqlUnitOfWork(sql_engine) as uow:
        uow.outbox.add_all([("calloff.issued", "K1", {"line": "L1"}), ("calloff.issued", "K2", {"line": "L1"})], T0)
        uow.alerts.add(Alert(AlertKind.GAP, "L1", "gap", T0))
        uow.commit()
    assert (writes.SENT.statements - before[0], writes.SENT.commits - before[1], writes.SENT.round_trips - before[2]) == (2, 1, 1)


# ------------------------------------------------------------------------------ expectations
def rerun(engine: sa.Engine) -> SqlUnitOfWork:
    """A unit of work as the message bus runs a command the first time: assuming what the
    process kept."""
    uow = SqlUnitOfWork(engine)
    uow.assume_kept = True
    return uow


def two_processes(sql_engine: sa.Engine) -> sa.Engine:
    """A second engine on the same database: another process, with caches of its own."""
    if sql_engine.dialect.name != "postgresql":
        pytest.skip("on SQLite what the process keeps is read again, not assumed")
    return make_engine(sql_engine.url.render_as_string(hide_password=False))


def test_an_item_master_changed_by_another_process_is_a_lost_race_and_the_next_try_reads_it(sql_engine):
    other = two_processes(sql_engine)
    try:
        with SqlUnitOfWork(sql_engine) as uow:
            uow.inventory.add_items([Item("SEAT-1")])
            uow.commit()
        with rerun(sql_engine) as uow:
            assert set(uow.inventory.items()) == {"SEAT-1"}  # read, and kept
        with SqlUnitOfWork(other) as uow:
            uow.inventory.add_items([Item("SEAT-2")])
            uow.commit()
        with pytest.raises(Contention, match="item master"), rerun(sql_engine) as uow:
            assert set(uow.inventory.items()) == {"SEAT-1"}  # as kept: assumed, not yet checked
            uow.outbox.add("calloff.issued", "K-lost", {"line": "L1"}, T0)
            uow.commit()  # the check leaves before the COMMIT, and fails
        assert outbox_keys(sql_engine) == []
        with rerun(sql_engine) as uow:
            assert set(uow.inventory.items()) == {"SEAT-1", "SEAT-2"}
    finally:
        other.dispose()


def test_a_plant_loaded_again_by_another_process_is_a_lost_race_caught_by_the_next_round_trip(sql_engine, build_plant):
    other = two_processes(sql_engine)
    try:
        first = build_plant("P1", ("L1",))
        with SqlUnitOfWork(sql_engine) as uow:
            uow.plants.put(first.plant, first.data, T0)
            uow.commit()
        with rerun(sql_engine) as uow:
            assert uow.plants.of_line("L1").name == first.plant.name
        renamed = build_plant("P1", ("L1",), name="Renamed plant")
        with SqlUnitOfWork(other) as uow:
            uow.plants.put(renamed.plant, renamed.data, T0)
            uow.commit()
        with SqlUnitOfWork(sql_engine) as uow:  # a query, run once: it reads, and sees the new plant at once
            assert uow.plants.of_line("L1").name == "Renamed plant"
        again = build_plant("P1", ("L1",), name="Renamed again")
        with SqlUnitOfWork(other) as uow:
            uow.plants.put(again.plant, again.data, T0)
            uow.commit()
        with pytest.raises(Contention, match="plant of line L1"), rerun(sql_engine) as uow:
            line = uow.plants.of_line("L1").line("L1")  # as kept
            uow.chains.get(line)  # the next round trip carries the check
        with rerun(sql_engine) as uow:
            assert uow.plants.of_line("L1").name == "Renamed again"
    finally:
        other.dispose()


def test_what_this_process_kept_is_trusted_while_nothing_changed(sql_engine, build_plant):
    if sql_engine.dialect.name != "postgresql":
        pytest.skip("on SQLite what the process keeps is read again, not assumed")
    definition = build_plant("P1", ("L1",))
    with SqlUnitOfWork(sql_engine) as uow:
        uow.plants.put(definition.plant, definition.data, T0)
        uow.inventory.add_items([Item("SEAT-1")])
        uow.commit()
    with rerun(sql_engine) as uow:
        uow.plants.of_line("L1"), uow.inventory.items()
    before = writes.SENT.round_trips
    with rerun(sql_engine) as uow:
        plant, items = uow.plants.of_line("L1"), uow.inventory.items()
        uow.chains.get(plant.line("L1"))  # one round trip: the lock, the version, and both checks
        uow.commit()
    assert (plant.code, set(items), writes.SENT.round_trips - before) == ("P1", {"SEAT-1"}, 1)


def test_the_message_bus_runs_a_command_whose_assumption_failed_again_and_it_then_reads(sql_engine, build_plant):
    """A command through the bus on a plant another process loaded again meanwhile: its first
    run assumes the kept plant, loses, and the second run reads the new one."""
    other = two_processes(sql_engine)
    try:
        definition = build_plant("P1", ("L1",))
        uow = SqlUnitOfWork(sql_engine)
        bus = MessageBus(uow, SimulatedClock(T0), retry=RetryPolicy(attempts=3, sleep=lambda _: None))
        bus.handle(c.LoadPlant(definition.plant, definition.data))
        with rerun(sql_engine) as kept:
            kept.plants.of_line("L1")  # this process keeps L1's plant
        renamed = build_plant("P1", ("L1",), name="Renamed plant")
        with SqlUnitOfWork(other) as stranger:
            stranger.plants.put(renamed.plant, renamed.data, T0)
            stranger.commit()
        rows = (c.SequenceRow("row 1", Vehicle("O1", "A", {"trim": "cloth"})),)
        bus.handle(c.ImportSequence("L1", rows, source="test"))
        assert (bus.reread, bus.retried) == (1, 0)  # run again at once, not as a lost race with back-off
        with SqlUnitOfWork(sql_engine) as check:
            assert [e.order_id for e in check.chains.get(renamed.plant.line("L1")).entries()] == ["O1"]
    finally:
        other.dispose()


def test_a_replayed_message_is_reported_as_a_replay_and_changes_nothing(sql_engine, build_plant):
    """The first run assumes the message is new; the claim, checked with the next round trip,
    finds it applied before: run again, reading, the command reports the replay."""
    definition = build_plant("P1", ("L1",))
    bus = MessageBus(SqlUnitOfWork(sql_engine), SimulatedClock(T0), retry=RetryPolicy(attempts=3, sleep=lambda _: None))
    bus.handle(c.LoadPlant(definition.plant, definition.data))
    rows = (c.SequenceRow("row 1", Vehicle("O1", "A", {"trim": "cloth"})),)
    first = bus.handle(c.ImportSequence("L1", rows, source="test", message_id="SEQ-1"))
    again = bus.handle(c.ImportSequence("L1", rows, source="test", message_id="SEQ-1"))
    assert (first.applied, again.applied, again.duplicate) == (True, False, True)
    assert bus.reread == (1 if sql_engine.dialect.name == "postgresql" else 0)
    with SqlUnitOfWork(sql_engine) as check:
        assert [e.order_id for e in check.chains.get(definition.plant.line("L1")).entries()] == ["O1"]


def test_the_live_lines_and_the_summarized_calls_of_issuing_are_read_together_and_as_read_apart(sql_engine):
    start = T0 + timedelta(hours=1)
    with SqlUnitOfWork(sql_engine) as uow:
        uow.calloffs.add(a_calloff("CO-1", ["O1", "O2"]))
        call = SummarizedCall("L1", "WHEELS", "WHEELCO", "WHL-17", start, start + timedelta(hours=1))
        call.contributions["O1"] = 4
        uow.jit_calls.save([call])
        uow.commit()
    windows = {("WHEELS", "WHL-17", start), ("WHEELS", "WHL-18", start)}
    with SqlUnitOfWork(sql_engine) as uow:
        apart = uow.calloffs.live_lines_for("L1", ["O1", "O3"]), uow.jit_calls.gather("L1", ["O1", "O3"], windows)
    before = writes.SENT.round_trips
    with SqlUnitOfWork(sql_engine) as uow:
        lines, stored = uow.issuing_state("L1", ["O1", "O3"], windows)
    assert sorted(lines) == sorted(apart[0]) == [("O1", "SEAT-L1")]
    assert lines[("O1", "SEAT-L1")].id == apart[0][("O1", "SEAT-L1")].id
    assert ({o: [c.id for c in cs] for o, cs in stored.counting.items()}, sorted(stored.windows)) == (
        {o: [c.id for c in cs] for o, cs in apart[1].counting.items()}, sorted(apart[1].windows)) == ({"O1": [call.id]}, [("WHEELS", "WHL-17", start)])
    assert writes.SENT.round_trips - before == (1 if sql_engine.dialect.name == "postgresql" else 0)


def test_a_value_of_the_wrong_kind_in_a_read_is_refused_before_anything_is_sent(sql_engine):
    with SqlUnitOfWork(sql_engine) as uow, pytest.raises(sa.exc.StatementError, match="naive datetime"):
        uow.inbox.claim("MSG-1", datetime(2025, 3, 3, 7, 0))
    with SqlUnitOfWork(sql_engine) as uow:
        assert not uow.inbox.seen("MSG-1")

"""Writes a repository hands over (``connect.later``): on PostgreSQL they wait and travel in one
round trip with the next statement that needs them or with the COMMIT; SQLite runs them at once.
Either way, what every statement sees and what commits is the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from jisflow.adapters.db import tables as t
from jisflow.adapters.db import writes
from jisflow.adapters.db.uow import SqlUnitOfWork
from jisflow.domain.alerts import Alert, AlertKind
from jisflow.domain.calloff import CallOff, CallOffLine
from jisflow.domain.errors import Contention

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

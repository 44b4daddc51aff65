"""Two real connections fight over the same last units: nobody oversells. The first holds the
item's lock, the second waits and then finds the units gone (a typed error) or, for a
reservation, takes its place in need order. With the lock switched off, the database-side
increments and CHECK constraints still refuse the oversell."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from jisflow.adapters.db import locking
from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.db.migrate import upgrade
from jisflow.adapters.db.uow import SqlUnitOfWork
from jisflow.bootstrap import bootstrap
from jisflow.domain.inventory import InsufficientStock, Item, Location, LocationKind, Movement, ReasonCode, Reservation
from jisflow.services import inventory as inv
from jisflow.services.clock import SimulatedClock

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url):
    """A migrated database holding 3 units of X in BIN."""
    upgrade(db_url)
    engine = make_engine(db_url)
    app = bootstrap(SqlUnitOfWork(engine), clock=SimulatedClock(T0))
    app.bus.handle(inv.RegisterItems((Item("X"),)))
    app.bus.handle(inv.AddLocations((Location("BIN", LocationKind.BIN),)))
    app.bus.handle(inv.ReceiveStock("X", "BIN", 3))
    try:
        yield engine
    finally:
        engine.dispose()


def issue(uow: SqlUnitOfWork, quantity: int) -> None:
    stocks = uow.inventory.load(["X"])
    stocks["X"].post([Movement("X", "BIN", "", -quantity, ReasonCode.ISSUE_TO_LINE, "line", T0)])
    uow.inventory.save(stocks.values())


def reserve(uow: SqlUnitOfWork, order_id: str, need: datetime) -> None:
    stocks = uow.inventory.load(["X"])
    stocks["X"].upsert(Reservation("X", "L1", order_id, "F", int(order_id[1:]), need, 1))
    uow.inventory.save(stocks.values())


def balance(engine):
    with SqlUnitOfWork(engine) as uow:
        return uow.inventory.balances(["X"])["X"], {r.order_id: r.filled for r in uow.inventory.reservations(item="X")}


def run_second_while_first_holds(engine, first, second) -> list[BaseException]:
    """``first`` runs in a unit of work that stays open until ``second`` (in another thread,
    on another connection) has had time to block on it; then the first commits."""
    errors: list[BaseException] = []
    done = threading.Event()

    def contender() -> None:
        try:
            with SqlUnitOfWork(engine) as uow:
                second(uow)
                uow.commit()
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)
        finally:
            done.set()

    with SqlUnitOfWork(engine) as uow:
        first(uow)
        thread = threading.Thread(target=contender)
        thread.start()
        assert not done.wait(0.5), "the second connection did not wait for the first"
        uow.commit()
    thread.join(30)
    return errors


def test_two_connections_issuing_the_last_units_do_not_oversell(engine):
    errors = run_second_while_first_holds(engine, lambda uow: issue(uow, 2), lambda uow: issue(uow, 2))
    assert len(errors) == 1 and isinstance(errors[0], InsufficientStock)
    assert "holds 1, cannot give 2" in str(errors[0])
    assert balance(engine)[0].on_hand == 1


@pytest.mark.postgres
def test_a_waiting_reservation_with_an_earlier_need_takes_the_last_unit_on_postgresql(empty_postgres_url):
    upgrade(empty_postgres_url)
    engine = make_engine(empty_postgres_url)
    try:
        app = bootstrap(SqlUnitOfWork(engine), clock=SimulatedClock(T0))
        app.bus.handle(inv.RegisterItems((Item("X"),)))
        app.bus.handle(inv.AddLocations((Location("BIN", LocationKind.BIN),)))
        app.bus.handle(inv.ReceiveStock("X", "BIN", 1))
        errors = run_second_while_first_holds(
            engine,
            lambda uow: reserve(uow, "V2", T0 + timedelta(hours=2)),
            lambda uow: reserve(uow, "V1", T0 + timedelta(hours=1)),
        )
        assert errors == []
        b, filled = balance(engine)
    finally:
        engine.dispose()
    assert (b.on_hand, b.reserved) == (1, 1)
    assert filled == {"V1": 1, "V2": 0}


@pytest.mark.postgres
def test_without_the_lock_the_database_still_refuses_the_oversell_on_postgresql(empty_postgres_url, monkeypatch):
    upgrade(empty_postgres_url)
    engine = make_engine(empty_postgres_url)
    try:
        app = bootstrap(SqlUnitOfWork(engine), clock=SimulatedClock(T0))
        app.bus.handle(inv.RegisterItems((Item("X"),)))
        app.bus.handle(inv.AddLocations((Location("BIN", LocationKind.BIN),)))
        app.bus.handle(inv.ReceiveStock("X", "BIN", 3))
        monkeypatch.setattr(locking, "lock_items", lambda connection, codes: None)
        with SqlUnitOfWork(engine) as first, SqlUnitOfWork(engine) as second:
            stale_first, stale_second = first.inventory.load(["X"]), second.inventory.load(["X"])
            for stocks in (stale_first, stale_second):  # both believe 3 are there
                stocks["X"].post([Movement("X", "BIN", "", -2, ReasonCode.ISSUE_TO_LINE, "line", T0)])
            first.inventory.save(stale_first.values())
            first.commit()
            with pytest.raises(InsufficientStock, match="refused"):
                second.inventory.save(stale_second.values())
        b, _ = balance(engine)
    finally:
        engine.dispose()
    assert b.on_hand == 1

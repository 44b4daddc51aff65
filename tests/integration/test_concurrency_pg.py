"""Concurrency on PostgreSQL: worker processes, each on its own connections, apply the same
broadcasts and take the same stock at once; lost races (serialization failures, deadlocks,
lock timeouts, one message applied twice at once) are retried by the message bus with
bounded back-off, and the API answers a race it could not win with 503, never 500.

The retry policy itself is checked without a database first."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jisflow.adapters.db import locking, tables
from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.db.migrate import upgrade
from jisflow.adapters.db.uow import SqlUnitOfWork
from jisflow.adapters.memory import MemoryStore, MemoryUnitOfWork
from jisflow.adapters.plant_file import load_plant_file
from jisflow.bootstrap import bootstrap
from jisflow.domain.auth import Role
from jisflow.domain.calloff import CallOffState
from jisflow.domain.errors import Contention, StaleAssumption
from jisflow.domain.inventory import InsufficientStock, Item, Location, LocationKind, ReasonCode
from jisflow.domain.sequence import Vehicle, VehicleStatus
from jisflow.entrypoints.api import create_app
from jisflow.services import auth
from jisflow.services import commands as c
from jisflow.services import inventory as inv
from jisflow.services.clock import SimulatedClock
from jisflow.services.handlers import Outcome
from jisflow.services.messagebus import MessageBus, RetryPolicy
from jisflow.services.unit_of_work import CallOffLineFilter

PLANT = Path(__file__).resolve().parent.parent / "data" / "plants" / "small_plant.yaml"
T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
VEHICLES = 12
WORKERS = 4
OPENING = 60


# --------------------------------------------------------------------------- the bus's retries
class Flaky(c.Command):
    pass


def flaky_bus(losses: int, commit_first: bool = False, attempts: int = 4) -> tuple[MessageBus, list[float], list[int]]:
    """A bus whose one handler loses ``losses`` races before it succeeds."""
    uow = MemoryUnitOfWork(MemoryStore())
    runs: list[int] = []
    pauses: list[float] = []

    def handler(cmd, uow, clock) -> Outcome:
        runs.append(1)
        if commit_first:
            with uow:
                uow.commit()
        if len(runs) <= losses:
            raise Contention("lost")
        return Outcome(details={"runs": len(runs)})

    policy = RetryPolicy(attempts=attempts, base=0.01, cap=0.03, sleep=pauses.append, jitter=lambda low, high: high)
    return MessageBus(uow, SimulatedClock(T0), command_handlers={Flaky: handler}, retry=policy), pauses, runs


def test_a_command_that_lost_races_is_run_again_after_growing_capped_pauses():
    bus, pauses, runs = flaky_bus(losses=3)
    assert bus.handle(Flaky()).details == {"runs": 4}
    assert pauses == [0.01, 0.02, 0.03] and bus.retried == 3


def test_the_retries_are_bounded_and_then_the_contention_reaches_the_caller():
    bus, pauses, runs = flaky_bus(losses=10, attempts=4)
    with pytest.raises(Contention, match="lost 4 race"):
        bus.handle(Flaky())
    assert len(runs) == 4 and len(pauses) == 3


def test_a_command_that_committed_part_of_its_work_is_not_run_again():
    bus, pauses, runs = flaky_bus(losses=1, commit_first=True)
    with pytest.raises(Contention):
        bus.handle(Flaky())
    assert len(runs) == 1 and pauses == []


def test_a_command_whose_assumption_was_stale_runs_again_at_once_and_no_longer_assumes():
    uow = MemoryUnitOfWork(MemoryStore())
    assumed: list[bool] = []

    def handler(cmd, uow, clock) -> Outcome:
        assumed.append(uow.assume_kept)
        if len(assumed) == 1:
            raise StaleAssumption("the plant was loaded again")
        return Outcome()

    pauses: list[float] = []
    bus = MessageBus(uow, SimulatedClock(T0), command_handlers={Flaky: handler}, retry=RetryPolicy(sleep=pauses.append))
    bus.handle(Flaky())
    assert (assumed, pauses, bus.reread, bus.retried, uow.assume_kept) == ([True, False], [], 1, 0, False)


def test_the_jitter_stays_between_zero_and_the_capped_exponential():
    policy = RetryPolicy(base=0.01, cap=0.1)
    for attempt in range(8):
        assert all(0 <= policy.pause(attempt) <= min(0.1, 0.01 * 2**attempt) for _ in range(50))


@pytest.mark.parametrize("error", [psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable])
def test_serialization_failures_deadlocks_and_lock_timeouts_count_as_lost_races(error):
    assert isinstance(locking.contention(sa.exc.OperationalError("UPDATE ...", {}, error("lost"))), Contention)


def test_other_database_errors_are_no_lost_race():
    assert locking.contention(sa.exc.IntegrityError("INSERT ...", {}, psycopg.errors.CheckViolation("ck_inv_on_hand"))) is None
    assert locking.contention(ValueError("not a database error")) is None


# --------------------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="module")
def migrated_pg(postgres_url: str) -> str:
    """The session's PostgreSQL database, emptied and migrated once for this module."""
    engine = make_engine(postgres_url, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()
    upgrade(postgres_url)
    return postgres_url


@pytest.fixture
def pg(migrated_pg: str) -> str:
    """The migrated database, emptied, with the small plant, the seat, bolt and nut items, 60
    bolts and 60 nuts at the line and 12 planned vehicles (leather seats, 12 bolts each; nuts
    are no vehicle's part, so nothing reserves them)."""
    engine = make_engine(migrated_pg, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {', '.join(table.name for table in tables.metadata.sorted_tables)} RESTART IDENTITY CASCADE")
        app = bootstrap(SqlUnitOfWork(engine), clock=SimulatedClock(T0))
        definition = load_plant_file(PLANT)
        app.bus.handle(c.LoadPlant(definition.plant, definition.data))
        app.bus.handle(inv.AddLocations((Location("S10-KLT", LocationKind.SUPERMARKET), Location("WH", LocationKind.WAREHOUSE))))
        app.bus.handle(inv.RegisterItems((Item("BOLT-6"), Item("SEAT-L"), Item("NUT-8"))))
        app.bus.handle(inv.ReceiveStock("BOLT-6", "S10-KLT", OPENING))
        app.bus.handle(inv.ReceiveStock("NUT-8", "S10-KLT", OPENING))
        rows = tuple(c.SequenceRow(f"row {n}", Vehicle(f"V{n:04d}", "TOURER", {"trim": "LUX", "roof": "CLOSED"})) for n in range(1, VEHICLES + 1))
        app.bus.handle(c.ImportSequence("L1", rows))
    finally:
        engine.dispose()
    return migrated_pg


def worker(url: str, number: int, start: multiprocessing.synchronize.Event, results: multiprocessing.Queue) -> None:
    """One process, on its own connections: every broadcast of the feed (each message may
    reach every worker), and after each either an issue of 5 nuts, or receipts of 3 bolts
    (which the reservations of the broadcast vehicles take) and 2 nuts."""
    engine = make_engine(url)
    app = bootstrap(SqlUnitOfWork(engine), clock=SimulatedClock(T0))
    app.bus.retry = RetryPolicy(attempts=12, base=0.005, cap=0.1)
    done: Counter[str] = Counter()
    errors: list[str] = []

    class Failures(logging.Handler):  # event handlers' failures are logged, not raised: count them too
        def emit(self, record: logging.LogRecord) -> None:
            errors.append(record.getMessage() + (f" ({record.exc_info[1]!r})" if record.exc_info else ""))

    logging.getLogger("jisflow").addHandler(Failures(logging.ERROR))
    start.wait(30)
    for n in range(1, VEHICLES + 1):
        try:
            outcome = app.bus.handle(c.BroadcastVehicle("L1", f"V{n:04d}", T0, message_id=f"broadcast-{n}"))
            done["duplicate" if outcome.duplicate else "applied" if outcome.applied else "not applied"] += 1
            if n % 2 == number % 2:
                app.bus.handle(inv.AdjustStock("NUT-8", "S10-KLT", -5, ReasonCode.ISSUE_TO_LINE, actor=f"w{number}"))
                done["nuts issued"] += 5
            else:
                app.bus.handle(inv.ReceiveStock("BOLT-6", "WH", 3, actor=f"w{number}"))
                done["bolts received"] += 3
                app.bus.handle(inv.ReceiveStock("NUT-8", "S10-KLT", 2, actor=f"w{number}"))
                done["nuts received"] += 2
        except InsufficientStock:
            done["refused"] += 1
        except Exception as exc:  # handed to the test
            errors.append(f"{type(exc).__name__}: {exc}")
    done["retried"] = app.bus.retried
    engine.dispose()
    results.put((dict(done), errors))


@pytest.mark.postgres
def test_workers_racing_on_one_line_and_one_item_lose_nothing_oversell_nothing_and_call_off_once(pg):
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    processes = [context.Process(target=worker, args=(pg, n, start, results)) for n in range(WORKERS)]
    for p in processes:
        p.start()
    start.set()
    reports = [results.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(30)
    done: Counter[str] = Counter()
    for counts, errors in reports:
        assert errors == [], errors
        done.update(counts)
    assert (done["applied"], done["duplicate"]) == (VEHICLES, VEHICLES * (WORKERS - 1)), "each broadcast applied exactly once"

    engine = make_engine(pg, poolclass=sa.NullPool)
    try:
        app = bootstrap(SqlUnitOfWork(engine), clock=SimulatedClock(T0))
        app.bus.handle(inv.SyncReservations("L1"))  # settle the reservations to the final chain
        with app.uow:
            uow = app.uow
            chain = uow.chains.get(uow.plants.of_line("L1").line("L1"))
            lines = uow.calloffs.lines(CallOffLineFilter(line="L1"))
            balances = uow.inventory.balances(["BOLT-6", "NUT-8"])
            moved = Counter()
            for m in uow.inventory.movements():
                moved[m.item] += m.quantity
            rows = uow.inventory.stock()
            reservations = uow.inventory.reservations(item="BOLT-6")
            demand = sum(r.quantity for r in reservations)
    finally:
        engine.dispose()
    assert [e.status for e in chain.entries()] == [VehicleStatus.BROADCAST] * VEHICLES
    seats = Counter(ln.order_id for ln in lines if ln.family == "SEAT" and ln.state is not CallOffState.CANCELLED)
    assert seats == {f"V{n:04d}": 1 for n in range(1, VEHICLES + 1)}, "one live seat call-off line per vehicle, no duplicate"
    bolts, nuts = balances["BOLT-6"], balances["NUT-8"]
    assert bolts.on_hand == OPENING + done["bolts received"] == moved["BOLT-6"], "no lost update"
    assert nuts.on_hand == OPENING + done["nuts received"] - done["nuts issued"] == moved["NUT-8"], "no lost update"
    assert all(r.on_hand > 0 for r in rows), "no location below zero"
    assert bolts.reserved == min(bolts.on_hand, demand) == sum(r.filled for r in reservations), "reserved as far as the stock goes"
    assert done["refused"] > 0 and done["nuts issued"] > 0, "the workers asked for more nuts than there were"


def deadlocking_bus(url: str, first: str, second: str, meet: threading.Barrier) -> MessageBus:
    """A bus whose one command locks two items' balance rows, ``first`` then ``second``,
    meeting the other thread in between the first time round."""

    class LockTwo(c.Command):
        pass

    def handler(cmd, uow: SqlUnitOfWork, clock) -> Outcome:
        with uow:
            connection = uow._active_connection()  # noqa: SLF001 - the raw locks are the point
            locking.lock_items(connection, [first])
            if not meet.broken:
                try:
                    meet.wait(5)
                except threading.BrokenBarrierError:
                    pass
                meet.abort()  # the next time round nobody waits
            locking.lock_items(connection, [second])
            uow.commit()
        return Outcome()

    bus = MessageBus(SqlUnitOfWork(make_engine(url)), SimulatedClock(T0), command_handlers={LockTwo: handler}, retry=RetryPolicy(attempts=3, base=0.01))
    bus.command = LockTwo()  # type: ignore[attr-defined]
    return bus


@pytest.mark.postgres
def test_a_real_deadlock_is_retried_and_both_commands_succeed(pg):
    meet = threading.Barrier(2)
    buses = [deadlocking_bus(pg, "BOLT-6", "SEAT-L", meet), deadlocking_bus(pg, "SEAT-L", "BOLT-6", meet)]
    outcomes: list[object] = []
    threads = [threading.Thread(target=lambda b=b: outcomes.append(b.handle(b.command))) for b in buses]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for b in buses:
        b.uow.engine.dispose()
    assert len(outcomes) == 2 and all(isinstance(o, Outcome) for o in outcomes)
    assert sum(b.retried for b in buses) == 1, "PostgreSQL broke the deadlock; its victim ran again"


def _api(url: str, **engine_options):
    """The API on a jisflow on ``url``, and a planner."""
    engine = make_engine(url, **engine_options)
    clock = SimulatedClock(T0)
    app = bootstrap(SqlUnitOfWork(engine), clock=clock)
    auth.create_user(app.uow, clock, "planner", Role.PLANNER)
    token = auth.issue_key(app.uow, clock, "planner", cost=2**8).token
    client = TestClient(create_app(app), raise_server_exceptions=False)
    try:
        yield app, client, {"Authorization": f"Bearer {token}"}
    finally:
        engine.dispose()


@pytest.fixture
def impatient_api(pg):
    """The API on a jisflow whose connections wait at most 100 ms for a lock, and a planner."""
    yield from _api(pg, connect_args={"options": "-c lock_timeout=100"})


@pytest.fixture
def api_on_pg(pg):
    """The API on a jisflow on PostgreSQL (it serves four requests at once), and a planner."""
    yield from _api(pg)


def hold_line(url: str, held: threading.Event, release: Callable[[], bool]) -> None:
    """Lock line L1 from another connection until ``release()`` (at most 20 s)."""
    engine = make_engine(url, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("SELECT code FROM lines WHERE code = 'L1' FOR UPDATE"))
            held.set()
            deadline = time.monotonic() + 20
            while not release() and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_api_answers_a_conflict_it_won_on_retry_with_success(impatient_api, pg):
    app, client, headers = impatient_api
    app.bus.retry = RetryPolicy(attempts=10, base=0.05, cap=0.2)
    held = threading.Event()
    holder = threading.Thread(target=hold_line, args=(pg, held, lambda: app.bus.retried >= 1))  # free after the first lost race
    holder.start()
    assert held.wait(10)
    response = client.post("/lines/L1/broadcast-next", json={"count": 1}, headers=headers)
    holder.join(10)
    assert response.status_code == 200, response.text
    assert app.bus.retried >= 1, "the first attempts timed out on the held line and were run again"


@pytest.mark.postgres
def test_the_api_answers_a_race_it_could_not_win_with_503_and_retry_after(impatient_api, pg):
    app, client, headers = impatient_api
    app.bus.retry = RetryPolicy(attempts=3, base=0.01, cap=0.02)
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_line, args=(pg, held, release.is_set))
    holder.start()
    try:
        assert held.wait(10)
        response = client.post("/lines/L1/broadcast-next", json={"count": 1}, headers=headers)
    finally:
        release.set()
        holder.join(10)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["Retry-After"] == "1"
    body = response.json()
    assert body["code"] == "contention" and "lost 3 race" in body["detail"]
    with app.uow:
        chain = app.uow.chains.get(app.uow.plants.of_line("L1").line("L1"))
    assert chain.feed.last_broadcast_seq_no is None, "nothing was applied"


@pytest.mark.postgres
def test_a_request_waiting_for_a_held_line_does_not_hold_up_the_others(api_on_pg, pg):
    _, client, headers = api_on_pg
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_line, args=(pg, held, release.is_set))
    holder.start()
    try:
        assert held.wait(10)
        with ThreadPoolExecutor(2) as pool:
            slow = pool.submit(client.post, "/lines/L1/broadcast-next", json={"count": 1}, headers=headers)
            quick = pool.submit(client.get, "/inventory/items", headers=headers).result(10)
            assert quick.status_code == 200, quick.text
            assert not slow.done(), "the broadcast waits for the line until it is released"
            release.set()
            assert slow.result(20).status_code == 200
    finally:
        release.set()
        holder.join(10)


@pytest.mark.postgres
def test_concurrent_receipts_through_the_api_all_land_and_a_repeated_key_lands_once(api_on_pg):
    app, client, _ = api_on_pg
    auth.create_user(app.uow, app.clock, "store", Role.WAREHOUSE)
    headers = {"Authorization": f"Bearer {auth.issue_key(app.uow, app.clock, 'store', cost=2**8).token}"}
    body = {"item": "NUT-8", "location": "S10-KLT", "quantity": 1}

    def receive(n: int):
        key = "same" if n % 4 == 0 else f"key-{n}"
        return client.post("/inventory/receipts", json={**body, "reference": key}, headers={**headers, "Idempotency-Key": key})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(receive, range(24)))
    assert [a.status_code for a in answers] == [201] * 24
    replayed = [a for a in answers if a.headers.get("Idempotent-Replayed") == "true"]
    assert len(replayed) == 5  # six requests share one key: one applies, five get its answer back
    with app.uow:
        on_hand = app.uow.inventory.balances(["NUT-8"])["NUT-8"].on_hand
    assert on_hand == OPENING + 24 - 5

"""Broadcast ingest benchmark on PostgreSQL: jisflow's end-to-end broadcast path against
PostgreSQL's own COPY of the same rows, side by side in one run.

The run makes a database of its own on the server of ``--url`` (default: the
``JISFLOW_TEST_POSTGRES_URL`` environment variable), migrates it, loads the demo plant, puts
its stock-fed parts in the ledger with opening stock and imports a day of vehicles. Then:

1. **Throughput**: ``--vehicles`` broadcasts, one after the other, through the real message bus
   (``BroadcastVehicle`` with a telegram id): inbox check, pearl chain, explosion, call-offs,
   the reservation sync the broadcast triggers, outbox, commit (one transaction), and the
   projection of the items whose reservations changed (a follow-up transaction, when any).
2. **Physical reference**: every row version those broadcasts wrote (found by transaction id)
   is copied with ``COPY ... FROM STDIN`` into copies of the same tables (same columns,
   defaults, constraints and indexes), once grouped in the same transactions as the ingest
   wrote them (as many commits) and once in bulk (one transaction).
3. **Latency**: broadcasts offered at a steady ``--rate`` per second for ``--seconds``; the
   latency of one broadcast runs from its scheduled time to the end of its handling (a late
   start counts).

Broadcasts come exactly on their takt unless ``--jitter SECONDS`` delays each by up to that
much (a line that runs a little late moves the expected time of every planned vehicle: the
reservation sync then re-times the line's demand).

It prints the statements and transactions per broadcast, both COPY figures, and one line::

    RESULT ingest vehicles_per_s=<n> vs_copy=<ratio> p50_ms=<x> p99_ms=<y>

``vs_copy`` is jisflow's broadcasts per second divided by COPY's, COPY writing the same rows in
the same transactions (the bulk ratio is printed beside it). The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import random
import secrets
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from jisflow.adapters.db import writes
from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.db.tables import metadata
from jisflow.adapters.plant_file import demo_plant_path, load_plant_file
from jisflow.bootstrap import bootstrap
from jisflow.domain.sequence import Vehicle
from jisflow.domain.vehicle_mix import generate_vehicles
from jisflow.entrypoints.process import freeze_startup_objects
from jisflow.services import commands as c
from jisflow.services.clock import SimulatedClock
from jisflow.simulation.floor import FloorRun
from jisflow.simulation.shift_run import first_shift_start

START = datetime(2026, 12, 7, tzinfo=timezone.utc)  # a Monday
COPY_SCHEMA = "copy_reference"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Counter:
    """Statements, commits and round trips to the server: through the engine, and in the
    pipelines that carry the writes sent later (``jisflow.adapters.db.writes``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.executed = 0
        self.committed = 0
        self.sent = replace(writes.SENT)
        sa.event.listen(engine, "before_cursor_execute", self._statement)
        sa.event.listen(engine, "commit", self._commit)

    @property
    def statements(self) -> int:
        return self.executed + writes.SENT.statements - self.sent.statements

    @property
    def commits(self) -> int:
        return self.committed

    @property
    def round_trips(self) -> int:
        pipelined_commits = writes.SENT.commits - self.sent.commits
        return self.executed + (writes.SENT.round_trips - self.sent.round_trips) + (self.committed - pipelined_commits)

    def _statement(self, *args) -> None:
        self.executed += 1

    def _commit(self, *args) -> None:
        self.committed += 1


def written_since(engine: sa.Engine, first_xid: int, last_xid: int) -> dict[str, dict[int, bytes]]:
    """Per table, the row versions written by transactions first_xid..last_xid, as COPY
    text, grouped by transaction id."""
    found: dict[str, dict[int, bytes]] = {}
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table in metadata.sorted_tables:
            cursor.execute(f'SELECT count(*) FROM "{table.name}" WHERE xmin::text::bigint BETWEEN %s AND %s', (first_xid, last_xid))
            if not cursor.fetchone()[0]:
                continue
            columns = ", ".join(f'"{col.name}"' for col in table.columns)
            by_xid: dict[int, list[bytes]] = defaultdict(list)
            cursor.execute(
                f'SELECT xmin::text::bigint, {columns} FROM "{table.name}" WHERE xmin::text::bigint BETWEEN %s AND %s', (first_xid, last_xid)
            )
            rows = cursor.fetchall()
            # the COPY text of the same rows: let the server render them
            query = f'COPY (SELECT xmin::text::bigint, {columns} FROM "{table.name}" WHERE xmin::text::bigint BETWEEN {first_xid} AND {last_xid}) TO STDOUT'
            text = bytearray()
            with cursor.copy(query) as copy:
                for block in copy:
                    text += block
            for line in bytes(text).splitlines(keepends=True):
                xid, rest = line.split(b"\t", 1)
                by_xid[int(xid)].append(rest)
            assert sum(map(len, by_xid.values())) == len(rows)
            found[table.name] = {xid: b"".join(lines) for xid, lines in by_xid.items()}
        raw.commit()
    finally:
        raw.close()
    return found


def copy_reference(engine: sa.Engine, written: dict[str, dict[int, bytes]]) -> tuple[float, float, int, int]:
    """Seconds COPY takes to write the same rows into copies of the same tables: in the
    ingest's own transactions, and in bulk; with the rows and transactions counted."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"DROP SCHEMA IF EXISTS {COPY_SCHEMA} CASCADE")
        cursor.execute(f"CREATE SCHEMA {COPY_SCHEMA}")
        for name in written:
            cursor.execute(f'CREATE TABLE {COPY_SCHEMA}."{name}" (LIKE public."{name}" INCLUDING ALL)')
        raw.commit()
        columns = {t.name: ", ".join(f'"{col.name}"' for col in t.columns) for t in metadata.sorted_tables}
        transactions = sorted({xid for by_xid in written.values() for xid in by_xid})
        rows = sum(block.count(b"\n") for by_xid in written.values() for block in by_xid.values())

        def run(groups: list[list[tuple[str, bytes]]]) -> float:
            for name in written:
                cursor.execute(f'TRUNCATE {COPY_SCHEMA}."{name}"')
            raw.commit()
            t0 = time.perf_counter()
            for group in groups:
                for name, block in group:
                    with cursor.copy(f'COPY {COPY_SCHEMA}."{name}" ({columns[name]}) FROM STDIN') as copy:
                        copy.write(block)
                raw.commit()
            return time.perf_counter() - t0

        same = [[(name, written[name][xid]) for name in written if xid in written[name]] for xid in transactions]
        bulk = [[(name, b"".join(written[name][xid] for xid in sorted(written[name]))) for name in written]]
        same_s, bulk_s = run(same), run(bulk)
        cursor.execute(f"DROP SCHEMA {COPY_SCHEMA} CASCADE")
        raw.commit()
        return same_s, bulk_s, rows, len(transactions)
    finally:
        raw.close()


def current_xid(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT pg_current_xact_id()::text::bigint %% 4294967296").scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("JISFLOW_TEST_POSTGRES_URL"), help="PostgreSQL server (a database of its own is made there)")
    parser.add_argument("--vehicles", type=int, default=300, help="broadcasts of the throughput run")
    parser.add_argument("--rate", type=float, default=10.0, help="broadcasts per second offered in the latency run")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the latency run")
    parser.add_argument("--chain", type=int, default=1200, help="vehicles imported before the runs (about a day of the demo line)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jitter", type=float, default=0.0, metavar="SECONDS",
                        help="broadcast each vehicle up to this many seconds after its takt (uniformly drawn): a line that runs a little late")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the throughput run to FILE")
    args = parser.parse_args()
    if not args.url:
        sys.exit("give a PostgreSQL server with --url or JISFLOW_TEST_POSTGRES_URL")
    paced = int(args.rate * args.seconds)
    if args.vehicles + paced > args.chain:
        sys.exit(f"--chain {args.chain} is too short for {args.vehicles} + {paced} broadcasts")

    name = f"jisflow_ingest_{os.getpid()}_{secrets.token_hex(3)}"
    admin = make_engine(args.url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(args.url).set(database=name).render_as_string(hide_password=False)
    try:
        run(args, url, paced)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def run(args: argparse.Namespace, url: str, paced: int) -> None:
    definition = load_plant_file(demo_plant_path())
    plant, line = definition.plant, definition.plant.lines[0]
    cal = line.calendar
    _, shift_start, shift_end = first_shift_start(line, START)
    clock = SimulatedClock(shift_start - timedelta(hours=1))
    app = bootstrap(database_url=url, clock=clock, migrate=True)
    engine = app.uow.engine  # type: ignore[attr-defined]
    app.bus.handle(c.LoadPlant(plant, definition.data))
    assert definition.mix is not None
    generated = generate_vehicles(definition.mix, args.chain, args.seed)
    rows = tuple(c.SequenceRow(f"vehicle {i + 1}", Vehicle(g.order_id, g.model, dict(g.options), g.vin)) for i, g in enumerate(generated))
    app.bus.handle(c.ImportSequence(line.code, rows, source="benchmark"))
    FloorRun(app, plant, line).stock_line(shift_start, shift_end)
    with engine.connect() as connection:  # statistics of the loaded day, as autovacuum keeps them on a running site
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    order = [g.order_id for g in generated]
    with app.uow:
        items, reservations = len(app.uow.inventory.items()), len(app.uow.inventory.reservations(line=line.code))
    print(f"demo plant {plant.code}, line {line.code}: {args.chain} vehicles in the pearl chain, {items} items in the ledger, {reservations} reservations")

    at = shift_start
    sent = 0
    late = random.Random(args.seed)

    def broadcast() -> None:
        nonlocal at, sent
        when = at + timedelta(seconds=late.uniform(0, args.jitter)) if args.jitter else at
        clock.set(when)
        outcome = app.bus.handle(c.BroadcastVehicle(line.code, order[sent], at=when, message_id=f"TEL-{sent + 1}"))
        if not outcome.applied:
            raise SystemExit(f"broadcast of {order[sent]} was not applied")
        sent += 1
        at = cal.next_working_time(cal.add_working_time(at, line.takt))

    for _ in range(5):  # warm up (plant parsed, caches filled)
        broadcast()
    freeze_startup_objects()  # as `jisflow worker` does once started

    # 1. throughput
    counter = Counter(engine)
    first_xid = current_xid(engine)
    profiler = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    for _ in range(args.vehicles):
        broadcast()
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    ingest_s = time.perf_counter() - t0
    last_xid = current_xid(engine) - 1
    statements, commits, round_trips = counter.statements, counter.commits, counter.round_trips
    vehicles_per_s = args.vehicles / ingest_s

    # 2. the same rows with COPY
    written = written_since(engine, first_xid, last_xid)
    same_s, bulk_s, copied_rows, transactions = copy_reference(engine, written)
    copy_per_s, bulk_per_s = args.vehicles / same_s, args.vehicles / bulk_s

    # 3. latency at a steady offered load
    latencies: list[float] = []
    begin = time.perf_counter()
    for k in range(paced):
        due = begin + k / args.rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        broadcast()
        latencies.append((time.perf_counter() - due) * 1000)

    print(f"throughput: {args.vehicles} broadcasts in {ingest_s:.2f} s; per broadcast {statements / args.vehicles:.1f} statements, "
          f"{commits / args.vehicles:.1f} commits, {round_trips / args.vehicles:.1f} round trips")
    print(f"rows written: {copied_rows} in {transactions} transactions ({copied_rows / args.vehicles:.1f} per broadcast) over "
          + ", ".join(f"{name} {sum(b.count(chr(10).encode()) for b in by_xid.values())}" for name, by_xid in sorted(written.items())))
    print(f"COPY of the same rows: {same_s:.2f} s in the same {transactions} transactions ({copy_per_s:.0f} broadcasts/s), "
          f"{bulk_s:.3f} s in one ({bulk_per_s:.0f} broadcasts/s); jisflow vs bulk COPY {vehicles_per_s / bulk_per_s:.3f}")
    print(f"latency at {args.rate:g} broadcasts/s for {args.seconds:g} s ({paced} broadcasts): p50 {percentile(latencies, 0.5):.1f} ms, "
          f"p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms, mean {statistics.fmean(latencies):.1f} ms")
    print(f"RESULT ingest vehicles_per_s={vehicles_per_s:.1f} vs_copy={vehicles_per_s / copy_per_s:.2f} "
          f"p50_ms={percentile(latencies, 0.5):.1f} p99_ms={percentile(latencies, 0.99):.1f}")
    engine.dispose()


if __name__ == "__main__":
    main()

"""Scale-out benchmark on PostgreSQL: broadcasts per second applied by one `jisflow worker`
process and by two, over the same four lines, side by side in one run.

For each run the benchmark makes a database of its own on the server of ``--url``
(default: ``JISFLOW_TEST_POSTGRES_URL``), migrates it, loads the demo plant with four identical
lines (TF1..TF4, every family of TF1 on each) and imports ``--vehicles`` vehicles per line. It
publishes the same broadcast feed for every line to a JetStream stream of its own (NATS at
``--nats``), the lines interleaved, then starts the workers (``--workers 2 --worker-index i``
share the lines two and two; each worker also relays the outbox). The clock runs from the
moment the workers have applied ``--warm-up`` broadcasts (process start-up left out) to the
last one; throughput = broadcasts applied in that span / its length. The runs alternate (one
worker, two workers, ``--rounds`` times) and the best of each counts. Prints::

    RESULT scale workers1_vehicles_per_s=<n> workers2_vehicles_per_s=<n> speedup=<ratio>

Databases and streams are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from jisflow.adapters.broker.feed import broadcast_subject
from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.plant_file import PlantDefinition, demo_plant_with_lines
from jisflow.bootstrap import bootstrap
from jisflow.domain.sequence import Vehicle
from jisflow.domain.vehicle_mix import generate_vehicles
from jisflow.services import commands as c
from jisflow.services.clock import SimulatedClock

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)
LINES = ["TF1", "TF2", "TF3", "TF4"]
JISFLOW = str(Path(sys.executable).parent / "jisflow")


def prepare(url: str, definition: PlantDefinition, vehicles: int, seed: int) -> list[tuple[str, str, dict]]:
    """Load the plant and the vehicles; return the feed: (line, message id, payload)."""
    app = bootstrap(database_url=url, migrate=True, clock=SimulatedClock(T0))
    app.bus.handle(c.LoadPlant(definition.plant, definition.data))
    generated = generate_vehicles(definition.mix, vehicles, seed)
    messages = []
    for line in LINES:
        rows = tuple(c.SequenceRow(f"vehicle {i + 1}", Vehicle(f"{line}-{v.order_id}", v.model, dict(v.options), None)) for i, v in enumerate(generated))
        app.bus.handle(c.ImportSequence(line, rows, source="scale benchmark"))
    for i, v in enumerate(generated):
        for line in LINES:
            payload = {"order_id": f"{line}-{v.order_id}", "at": (T0 + timedelta(minutes=i)).isoformat(), "rolling_no": i + 1}
            messages.append((line, f"mes-{line}-{i + 1}", payload))
    app.relay()
    return messages


async def _publish(nats_url: str, stream: str, prefix: str, plant: str, messages: list[tuple[str, str, dict]]) -> None:
    import nats
    from nats.js.api import StreamConfig

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=stream, subjects=[f"{prefix}.>"], duplicate_window=600))
    acks = [await js.publish_async(broadcast_subject(plant, line, prefix), json.dumps(p).encode(), headers={"Nats-Msg-Id": id_}) for line, id_, p in messages]
    await asyncio.gather(*acks)
    await nc.close()


async def _delete(nats_url: str, stream: str) -> None:
    import nats

    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


def applied(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT count(*) FROM inbox WHERE key LIKE 'broadcast:%'")).scalar_one()


def run(url: str, nats_url: str, workers: int, messages: list[tuple[str, str, dict]], plant: str, warm_up: int) -> float:
    token = secrets.token_hex(4)
    stream, prefix = f"JISFLOWSCALE{token.upper()}", f"jisflowscale{token}"
    asyncio.run(_publish(nats_url, stream, prefix, plant, messages))
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    command = [JISFLOW, "worker", "--db", url, "--nats", nats_url, "--stream", stream, "--prefix", prefix, "--workers", str(workers), "--until-idle", "3"]
    processes = [subprocess.Popen([*command, "--worker-index", str(i)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for i in range(workers)]
    try:
        total = len(messages)
        while (done := applied(engine)) < warm_up:
            time.sleep(0.02)
        start, first = time.perf_counter(), done
        while (done := applied(engine)) < total:
            if any(p.poll() not in (None, 0) for p in processes) or all(p.poll() is not None for p in processes):
                raise SystemExit("a worker failed: " + b"".join(p.stderr.read() for p in processes if p.stderr).decode()[-2000:])
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        for p in processes:
            p.wait(timeout=120)
        return (done - first) / elapsed
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
        engine.dispose()
        asyncio.run(_delete(nats_url, stream))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("JISFLOW_TEST_POSTGRES_URL"), help="PostgreSQL server (a database of its own is made per run)")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--vehicles", type=int, default=400, help="broadcasts per line (four lines)")
    parser.add_argument("--warm-up", type=int, default=200, help="broadcasts applied before the clock starts (every worker running)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--rounds", type=int, default=2, help="1 then 2 workers, this many times; the best of each counts")
    args = parser.parse_args()
    if not args.url:
        raise SystemExit("give --url or set JISFLOW_TEST_POSTGRES_URL (PostgreSQL: several workers need concurrent writers)")
    definition = demo_plant_with_lines(len(LINES))
    admin = make_engine(args.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    rates: dict[int, list[float]] = {1: [], 2: []}
    for round_ in range(args.rounds):  # alternating, so a change in the machine's load hits both
        for workers in (1, 2):
            name = f"jisflow_scale_{os.getpid()}_{round_}_{workers}"
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            url = sa.make_url(args.url).set(database=name).render_as_string(hide_password=False)
            try:
                messages = prepare(url, definition, args.vehicles, args.seed)
                rates[workers].append(run(url, args.nats, workers, messages, definition.plant.code, args.warm_up))
                print(f"round {round_ + 1}, {workers} worker(s): {rates[workers][-1]:.1f} broadcasts/s over {len(LINES)} lines ({len(messages)} broadcasts)")
            finally:
                with admin.connect() as connection:
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()
    one, two = max(rates[1]), max(rates[2])
    print(f"RESULT scale workers1_vehicles_per_s={one:.1f} workers2_vehicles_per_s={two:.1f} speedup={two / one:.2f}")


if __name__ == "__main__":
    main()

"""HTTP API load benchmark: ``jisflow serve`` under concurrent clients on loopback.

The run prepares a SQLite database (or a database of its own on the PostgreSQL server of
``--url``): the demo plant, a day of vehicles in the pearl chain (a few already broadcast),
the stock-fed parts in the ledger with opening stock, and one user with an API key (default
key cost). It starts ``jisflow serve`` in a subprocess and lets ``--clients`` asyncio clients
(one httpx connection pool) send requests for ``--seconds``, each picking, by weight, one of
the main read and write routes:

* reads: plants, the pearl chain, call-off lines, alerts, inventory items, the shortage
  projection, execution KPIs, a line's sequenced demand;
* writes: a stock receipt, a broadcast of the next planned vehicle.

Every answer must be a 2xx. It prints the requests per route and one line::

    RESULT api_load rps=<n> p99_ms=<x> errors=<n>

where ``p99_ms`` is the 99th percentile of all request latencies. On PostgreSQL,
``--side-by-side`` then runs the same load on a copy of the same prepared database against a
server that handles one request at a time (``JISFLOW_API_CONCURRENCY=1``), and the line ends
with ``vs_one_at_a_time=<ratio of requests per second>``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import sqlalchemy as sa

from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.plant_file import demo_plant_path, load_plant_file
from jisflow.bootstrap import bootstrap
from jisflow.domain.auth import Role
from jisflow.domain.sequence import Vehicle
from jisflow.domain.vehicle_mix import generate_vehicles
from jisflow.services import auth
from jisflow.services import commands as c
from jisflow.services.clock import SimulatedClock
from jisflow.simulation.floor import FloorRun
from jisflow.simulation.shift_run import first_shift_start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def prepare(url: str, chain: int, seed: int) -> tuple[str, list[str]]:
    """Fill the database; returns an API key and the stock-fed items."""
    definition = load_plant_file(demo_plant_path())
    plant, line = definition.plant, definition.plant.lines[0]
    now = datetime.now(timezone.utc)
    _, shift_start, shift_end = first_shift_start(line, now - timedelta(days=1))
    clock = SimulatedClock(min(now, shift_start))
    app = bootstrap(database_url=url, clock=clock, migrate=True)
    app.bus.handle(c.LoadPlant(plant, definition.data))
    assert definition.mix is not None
    generated = generate_vehicles(definition.mix, chain, seed)
    rows = tuple(c.SequenceRow(f"vehicle {i + 1}", Vehicle(g.order_id, g.model, dict(g.options), g.vin)) for i, g in enumerate(generated))
    app.bus.handle(c.ImportSequence(line.code, rows, source="benchmark"))
    app.bus.handle(c.BroadcastNext(line.code, 5, at=clock.now()))
    FloorRun(app, plant, line).stock_line(clock.now(), clock.now() + (shift_end - shift_start))
    auth.create_user(app.uow, clock, "loadtest", Role.ADMIN)
    token = auth.issue_key(app.uow, clock, "loadtest").token
    with app.uow:
        items = sorted(app.uow.inventory.items())
    app.uow.engine.dispose()  # type: ignore[attr-defined]
    return token, items


def routes(items: list[str], locations: dict[str, str]):
    """(name, weight, request maker) of the routes the clients call."""
    line = "TF1"
    reads = [
        ("GET /plants", 10, lambda rng: ("GET", "/plants", None)),
        ("GET /lines/{line}/chain", 15, lambda rng: ("GET", f"/lines/{line}/chain?limit=50", None)),
        ("GET /calloff-lines", 15, lambda rng: ("GET", "/calloff-lines?limit=50", None)),
        ("GET /alerts", 10, lambda rng: ("GET", "/alerts?limit=20", None)),
        ("GET /inventory/items", 10, lambda rng: ("GET", "/inventory/items", None)),
        ("GET /inventory/projection", 5, lambda rng: ("GET", f"/inventory/projection?item={rng.choice(items)}", None)),
        ("GET /kpis", 5, lambda rng: ("GET", f"/kpis?line={line}", None)),
        ("GET /lines/{line}/demand", 10, lambda rng: ("GET", f"/lines/{line}/demand?limit=50", None)),
    ]
    writes = [
        ("POST /inventory/receipts", 15, lambda rng: ("POST", "/inventory/receipts", _receipt(rng, items, locations))),
        ("POST /lines/{line}/broadcast-next", 5, lambda rng: ("POST", f"/lines/{line}/broadcast-next", {"count": 1})),
    ]
    return reads + writes


def _receipt(rng: random.Random, items: list[str], locations: dict[str, str]) -> dict:
    item = rng.choice(items)
    return {"item": item, "location": locations[item], "quantity": rng.randint(1, 20), "reference": f"ASN-{rng.randrange(10**6)}"}


async def load(base: str, token: str, clients: int, seconds: float, chosen, seed: int):
    latencies: list[float] = []
    per_route: dict[str, list[float]] = defaultdict(list)
    errors: Counter = Counter()
    names, weights = [r[0] for r in chosen], [r[1] for r in chosen]
    makers = {r[0]: r[2] for r in chosen}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=120) as client:
        deadline = time.perf_counter() + seconds

        async def worker(k: int) -> None:
            rng = random.Random(seed * 1000 + k)
            while time.perf_counter() < deadline:
                name = rng.choices(names, weights)[0]
                method, path, body = makers[name](rng)
                t0 = time.perf_counter()
                try:
                    answer = await client.request(method, path, json=body)
                    ok = 200 <= answer.status_code < 300
                    if not ok:
                        errors[f"{name}: {answer.status_code} {answer.text[:120]}"] += 1
                except httpx.HTTPError as exc:
                    ok = False
                    errors[f"{name}: {type(exc).__name__}"] += 1
                elapsed = (time.perf_counter() - t0) * 1000
                latencies.append(elapsed)
                per_route[name].append(elapsed)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(clients)))
        wall = time.perf_counter() - t0
    return latencies, per_route, errors, wall


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_and_load(url: str, token: str, items: list[str], args: argparse.Namespace, workdir: Path, concurrency: int | None):
    """Start ``jisflow serve`` on ``url`` (``concurrency``: requests at once, None for its
    default) and run the load against it."""
    definition = load_plant_file(demo_plant_path())
    locations = {r.part_number: f.route.line_side_location for f in definition.plant.families for r in f.rules if r.part_number}
    port = free_port()
    env = dict(os.environ)
    if concurrency is not None:
        env["JISFLOW_API_CONCURRENCY"] = str(concurrency)
    log = open(workdir / f"serve-{port}.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-c", "from jisflow.entrypoints.cli.main import app; app()", "serve", "--port", str(port), "--no-tower", "--db", url],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/plants", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                sys.exit(f"jisflow serve stopped; see {log.name}")
            time.sleep(0.2)
        else:
            sys.exit("jisflow serve did not answer within a minute")
        return asyncio.run(load(base, token, args.clients, args.seconds, routes(items, locations), args.seed))
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def report(title: str, clients: int, latencies, per_route, errors, wall: float) -> None:
    print(f"{title}, {clients} clients for {wall:.1f} s: {len(latencies)} requests, {len(latencies) / wall:.1f}/s, "
          f"p99 {percentile(latencies, 0.99):.1f} ms")
    for route, values in sorted(per_route.items()):
        print(f"  {route:36s} {len(values):6d} requests, p50 {percentile(values, 0.5):7.1f} ms, p99 {percentile(values, 0.99):7.1f} ms")
    for what, count in errors.most_common(5):
        print(f"  error x{count}: {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a PostgreSQL server to run on (a database of its own is made there); default: a SQLite file")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--chain", type=int, default=600, help="vehicles in the pearl chain")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, help="requests the server handles at once (JISFLOW_API_CONCURRENCY; default: its own)")
    parser.add_argument("--side-by-side", action="store_true",
                        help="PostgreSQL: run the same load, on a copy of the same database, against a server that handles one request at a time too")
    args = parser.parse_args()
    if args.side_by_side and not args.url:
        parser.error("--side-by-side needs --url (SQLite serves one request at a time anyway)")

    workdir = Path(tempfile.mkdtemp(prefix="jisflow-api-load-"))
    admin = None
    made: list[str] = []
    if args.url:
        name = f"jisflow_api_load_{os.getpid()}_{secrets.token_hex(3)}"
        admin = make_engine(args.url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        made.append(name)
        url = sa.make_url(args.url).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{workdir / 'jisflow.db'}"
    try:
        token, items = prepare(url, args.chain, args.seed)
        one_url = None
        if args.side_by_side:  # the same prepared database for the second server
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}_one" TEMPLATE "{name}"')
            made.append(f"{name}_one")
            one_url = sa.make_url(args.url).set(database=f"{name}_one").render_as_string(hide_password=False)
        measured = serve_and_load(url, token, items, args, workdir, args.concurrency)
        one = serve_and_load(one_url, token, items, args, workdir, 1) if one_url else None
    finally:
        if admin is not None:
            with admin.connect() as connection:
                for database in made:
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.dispose()

    database = "PostgreSQL" if args.url else "SQLite"
    at_once = f", {args.concurrency} requests at once" if args.concurrency else ""
    report(f"jisflow serve on {database}{at_once}", args.clients, *measured)
    latencies, _, errors, wall = measured
    result = f"RESULT api_load rps={len(latencies) / wall:.1f} p99_ms={percentile(latencies, 0.99):.1f} errors={sum(errors.values())}"
    if one is not None:
        report("the same load, one request at a time", args.clients, *one)
        result += f" vs_one_at_a_time={(len(latencies) / wall) / (len(one[0]) / one[3]):.2f}"
    print(result)


if __name__ == "__main__":
    main()

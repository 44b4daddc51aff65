"""Long run of the model-based test of the whole flow (``tests/integration/flow_machine.py``):
many random runs of broadcasts, sequence changes, picks, racks, shipments, receipts,
consumptions, stock movements and cancellations on SQLite or PostgreSQL, with every invariant
checked after every step. The last line printed is::

    RESULT stateful_flow examples=<n> steps=<n> failures=0

A failure stops the run with Hypothesis's shrunk example (and a non-zero exit status).

    python benchmarks/stateful_flow.py --examples 200 --steps 60
    python benchmarks/stateful_flow.py --database postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))

from flow_machine import Databases, flow_machine  # noqa: E402

from jisflow.adapters.db.engine import make_engine  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="random runs (default 100)")
    parser.add_argument("--steps", type=int, default=50, help="at most this many steps a run (default 50)")
    parser.add_argument("--database", default="sqlite", help="'sqlite' (default) or a PostgreSQL server URL")
    args = parser.parse_args(argv)

    kind = "sqlite" if args.database == "sqlite" else "postgres"
    scratch = None
    if kind == "postgres":  # a database of its own on that server, dropped at the end
        admin = make_engine(args.database, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        scratch = f"jisflow_stateful_flow_{os.getpid()}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{scratch}"')
    databases = Databases(kind, None if scratch is None else sa.make_url(args.database).set(database=scratch).render_as_string(hide_password=False))
    runs: list[int] = []
    applied: Counter[str] = Counter()

    def seen(steps: int, done: Counter[str]) -> None:
        runs.append(steps)
        applied.update(done)

    machine = flow_machine(databases, seen)
    config = settings(
        max_examples=args.examples, stateful_step_count=args.steps, deadline=None, database=None,
        suppress_health_check=list(HealthCheck),
    )
    started = time.perf_counter()
    failures = 0
    try:
        run_state_machine_as_test(machine, settings=config)
    except Exception:
        failures = 1
        raise
    finally:
        databases.close()
        if scratch is not None:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            admin.dispose()
        elapsed = time.perf_counter() - started
        print(f"database: {kind}; {elapsed:.1f} s; commands applied: " + ", ".join(f"{k} {v}" for k, v in sorted(applied.items())))
        print(f"RESULT stateful_flow examples={len(runs)} steps={sum(runs)} failures={failures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

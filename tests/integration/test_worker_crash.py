"""Crash safety of `jisflow worker`: killed with SIGKILL at random points while it applies a
feed of 1,000 broadcasts from NATS JetStream and relays the outbox, restarted each time, it
ends in the same state as an uninterrupted run of the same feed through the same message bus.

Runs on PostgreSQL when JISFLOW_TEST_POSTGRES_URL names one, on SQLite otherwise; needs the
NATS server at 127.0.0.1:4222.
"""

from __future__ import annotations

import json
import random
import re
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from feed_support import T0, Stream, applied_count, feed, load, nats_answers, publish, start_worker, stream_message_ids

from jisflow.adapters.broker.nats import message_id
from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.memory import MemoryStore, MemoryUnitOfWork
from jisflow.adapters.plant_file import demo_plant_path, load_plant_file
from jisflow.bootstrap import bootstrap
from jisflow.domain.sequence import VehicleStatus
from jisflow.services.clock import SimulatedClock
from jisflow.services.feed import apply_broadcast
from jisflow.services.outbox import MemoryPublisher
from jisflow.services.unit_of_work import AbstractUnitOfWork, AlertFilter, CallOffLineFilter

pytestmark = [
    pytest.mark.skipif(not nats_answers(), reason="no NATS server answers at 127.0.0.1:4222"),
    pytest.mark.slow,
]

BROADCASTS = 1_000
KILLS = 4
SEED = 20261204
LINE = "TF1"
DEADLINE_S = 600


CALLOFF_NUMBER = re.compile(r"CO-[0-9A-F]{16}")


def _state(uow: AbstractUnitOfWork, outbox: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """What a run leaves behind, without ids, the wall-clock times of the worker and the
    call-off numbers (random); a call-off is named by the vehicles and families it calls."""
    with uow:
        plant = uow.plants.of_line(LINE)
        chain = uow.chains.get(plant.line(LINE))
        lines = uow.calloffs.lines(CallOffLineFilter(line=LINE))
        alerts = uow.alerts.list(AlertFilter(line=LINE))
    contents: dict[str, list[str]] = {}
    for ln in lines:
        contents.setdefault(ln.number, []).append(f"{ln.order_id}/{ln.family}")
    name = {number: "+".join(sorted(keys)) for number, keys in contents.items()}

    def named(text: str) -> str:
        return CALLOFF_NUMBER.sub(lambda m: name.get(m.group(0), "?"), text)

    return {
        "chain": [(e.order_id, e.seq_no, e.status.value, e.broadcast_at) for e in chain.entries()],
        "feed": (chain.feed.last_broadcast_seq_no, chain.feed.last_broadcast_at),
        "calloff lines": sorted(
            (name[ln.number], ln.order_id, ln.family, ln.part_number, ln.quantity, ln.seq_no, ln.state.value, ln.amendments, ln.need_time, ln.ship_by)
            for ln in lines
        ),
        "alerts": sorted((a.kind.value, a.order_id or "", named(a.message)) for a in alerts),
        "outbox": Counter(named(json.dumps([topic, key, payload], sort_keys=True, default=str)) for topic, key, payload in outbox),
    }


def _uninterrupted(definition, messages) -> dict[str, Any]:
    """The same feed applied in one go through the bus on the in-memory store, then relayed."""
    store = MemoryStore()
    app = bootstrap(MemoryUnitOfWork(store), clock=SimulatedClock(T0), publisher=MemoryPublisher())
    load(app, definition, [LINE], BROADCASTS, SEED)
    for id_, payload in messages:
        apply_broadcast(app.bus, LINE, id_, payload)
    app.relay()
    return _state(app.uow, [(m.topic, m.key, m.payload) for m in store.outbox])


def _kill_points(rng: random.Random) -> list[int]:
    """Numbers of applied broadcasts after which the worker is killed, spread over the run."""
    return sorted(rng.sample(range(40, BROADCASTS - 40), KILLS))


def test_a_worker_killed_at_random_points_ends_as_an_uninterrupted_run_with_nothing_lost_or_applied_twice(database: str, tmp_path: Path):
    definition = load_plant_file(demo_plant_path())
    messages = feed(definition, LINE, BROADCASTS, SEED)
    app = bootstrap(database_url=database, migrate=True, clock=SimulatedClock(T0))
    load(app, definition, [LINE], BROADCASTS, SEED)
    stream = Stream.fresh()
    publish(stream, definition.plant.code, {LINE: messages})

    reference: dict[str, Any] = {}
    computing = threading.Thread(target=lambda: reference.update(_uninterrupted(definition, messages)))
    engine = make_engine(database)
    rng = random.Random(SEED)
    log = tmp_path / "worker.log"
    deadline = time.monotonic() + DEADLINE_S
    try:
        worker = start_worker(database, stream, log, "--until-idle", "2")
        computing.start()
        killed_at = []
        for point in _kill_points(rng):
            while applied_count(engine, LINE) < point:
                assert worker.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the worker did not get through the feed in time"
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 0.3))  # inside a transaction, a relay round or an acknowledgement
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            killed_at.append(applied_count(engine, LINE))
            worker = start_worker(database, stream, log, "--until-idle", "2")
        assert worker.wait(timeout=max(1.0, deadline - time.monotonic())) == 0, log.read_text()
        computing.join(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if worker.poll() is None:
            worker.kill()
        stream_ids = stream_message_ids(stream)
        stream.delete()

    assert len(killed_at) == KILLS and killed_at[-1] < BROADCASTS, killed_at  # every kill interrupted the feed
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, topic, key, payload, published_at FROM outbox ORDER BY id")).all()
        inbox = connection.execute(sa.text("SELECT key FROM inbox WHERE key LIKE :k"), {"k": f"broadcast:{LINE}:%"}).scalars().all()
    engine.dispose()
    outbox = [(r.topic, r.key, r.payload if isinstance(r.payload, dict) else json.loads(r.payload)) for r in rows]
    crashed = _state(bootstrap(database_url=database).uow, outbox)

    assert sorted(inbox) == sorted(f"broadcast:{LINE}:{id_}" for id_, _ in messages)  # each applied once
    assert sum(status == VehicleStatus.BROADCAST.value for _, _, status, _ in crashed["chain"]) == BROADCASTS
    for part in ("chain", "feed", "calloff lines", "alerts", "outbox"):
        assert crashed[part] == reference[part], part
    assert all(r.published_at is not None for r in rows)
    published = Counter(i for i in stream_ids if i.startswith("jisflow-outbox-"))
    assert set(published) == {message_id(r.id) for r in rows}  # every outbox message reached the stream
    assert max(published.values()) == 1  # a re-publication after a kill was dropped as a duplicate

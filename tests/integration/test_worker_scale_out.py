"""Two `jisflow worker` processes share two lines of a plant from NATS JetStream: each line
has one owner, both workers apply broadcasts, and every line's vehicles are broadcast in the
order of its feed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from feed_support import T0, Stream, feed, load, nats_answers, publish, start_worker

from jisflow.adapters.plant_file import demo_plant_with_lines

from jisflow.bootstrap import bootstrap
from jisflow.services.clock import SimulatedClock

pytestmark = pytest.mark.skipif(not nats_answers(), reason="no NATS server answers at 127.0.0.1:4222")

PER_LINE = 40
LINES = ["TF1", "TF2"]


def test_two_workers_share_two_lines_each_applying_its_own_line_in_feed_order(database: str, tmp_path: Path):
    definition = demo_plant_with_lines(2)
    app = bootstrap(database_url=database, migrate=True, clock=SimulatedClock(T0))
    load(app, definition, LINES, PER_LINE, seed=5)
    feeds = {}
    for line in LINES:  # each feed broadcasts its line against the planned order: the log must follow the feed
        planned = feed(definition, line, PER_LINE, seed=5)
        feeds[line] = [(id_, {**payload, "order_id": planned[-1 - i][1]["order_id"], "rolling_no": None}) for i, (id_, payload) in enumerate(planned)]
    stream = Stream.fresh()
    publish(stream, definition.plant.code, feeds)
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    try:
        workers = [start_worker(database, stream, logs[i], "--workers", "2", "--worker-index", str(i), "--until-idle", "3") for i in range(2)]
        codes = [w.wait(timeout=240) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        stream.delete()
    texts = [log.read_text() for log in logs]
    assert codes == [0, 0], texts
    owned = [re.search(r"lines (\S+),", text).group(1) for text in texts]
    assert sorted(owned) == LINES  # each line has exactly one owner
    for line, text in zip(owned, texts):
        assert f"applied {PER_LINE} broadcast(s) ({line} {PER_LINE})" in text, text  # both did work

    with app.uow:
        outbox = app.uow.webhooks.outbox_after("scale-out-test", 1_000_000)
    for line in LINES:  # outbox ids follow the commits: the order in which the line was applied
        applied = [m.payload["order_id"] for m in outbox if m.topic == "vehicle.broadcast" and m.payload["line"] == line]
        assert applied == [p["order_id"] for _, p in feeds[line]]

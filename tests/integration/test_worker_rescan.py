"""A running worker looks at the loaded plants again (`--rescan`): a line loaded after it
started is consumed without a restart, and a line that leaves its share goes to its new owner
after the message in hand, the line's order kept and every broadcast applied once."""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

import pytest
from feed_support import (
    T0, Stream, another_plant, applied_count, feed, load, nats_answers, publish, start_worker, wait_until,
)

from jisflow.adapters.broker.feed import FeedLine, FeedWorker, owned_lines
from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.plant_file import demo_plant_with_lines
from jisflow.bootstrap import bootstrap
from jisflow.services.clock import SimulatedClock

needs_nats = pytest.mark.skipif(not nats_answers(), reason="no NATS server answers at 127.0.0.1:4222")

PER_LINE = 20


def test_a_newly_loaded_line_is_dealt_into_the_sorted_split_and_named_lines_stay_fixed():
    before = {"TF1": "DEMO", "TF3": "DEMO"}
    after = {**before, "TF2": "NORD"}
    assert [owned_lines(before, i, 2) for i in range(2)] == [[FeedLine("DEMO", "TF1")], [FeedLine("DEMO", "TF3")]]
    split = [owned_lines(after, i, 2) for i in range(2)]
    assert split == [[FeedLine("DEMO", "TF1"), FeedLine("DEMO", "TF3")], [FeedLine("NORD", "TF2")]]  # TF3 changes owner
    assert sorted(feed.line for owned in split for feed in owned) == ["TF1", "TF2", "TF3"]  # each line one owner
    assert owned_lines(after, 0, 1, named=["TF3"]) == [FeedLine("DEMO", "TF3")]  # a new plant does not widen --lines
    assert owned_lines(after, 1, 2, named=["TF1", "TF3"]) == [FeedLine("DEMO", "TF3")]


@needs_nats
def test_a_line_that_leaves_a_workers_share_is_handed_over_after_the_message_in_hand_and_keeps_its_order(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="jisflow.adapters.broker.feed")
    stream = Stream.fresh()
    feeds = {
        "L1": [(f"a{i}", {"order_id": f"A{i}"}) for i in range(5)],
        "L3": [(f"c{i}", {"order_id": f"C{i}"}) for i in range(100)],
    }
    publish(stream, "P1", feeds)
    plants = [{"L1": "P1", "L3": "P1"}]  # replaced whole when a plant is loaded
    applied: list[tuple[int, str, str]] = []  # worker, line, order, in the order of the commits
    lock = threading.Lock()

    def worker(index: int) -> FeedWorker:
        def handle(line: str, message_id: str, payload: dict) -> bool:
            time.sleep(0.02)  # a transaction's length: the rescan comes between two messages
            with lock:
                applied.append((index, line, payload["order_id"]))
            return True

        return FeedWorker(
            "nats://127.0.0.1:4222", owned_lines(plants[0], index, 2), handle, stream=stream.name, prefix=stream.prefix,
            poll=0.2, discover=lambda: owned_lines(plants[0], index, 2), rescan=0.1,
        )

    def of_line(line: str) -> list[tuple[int, str]]:
        with lock:
            return [(index, order) for index, line_, order in applied if line_ == line]

    workers = [worker(0), worker(1)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(of_line("L3")) >= 5, "worker 1 to apply some of L3", timeout=30)
        plants[0] = {**plants[0], "L2": "P1"}  # sorted L1, L2, L3: L3 goes to worker 0, L2 to worker 1
        publish(stream, "P1", {"L2": [(f"b{i}", {"order_id": f"B{i}"}) for i in range(5)]})
        wait_until(lambda: len(of_line("L3")) == 100 and len(of_line("L2")) == 5 and len(of_line("L1")) == 5, "every broadcast applied", timeout=30)
    finally:
        for w in workers:
            w.stop()
        for t in threads:
            t.join(timeout=30)
        stream.delete()
    l3 = of_line("L3")
    assert [order for _, order in l3] == [f"C{i}" for i in range(100)]  # in feed order, each once
    owners = [index for index, _ in l3]
    handover = owners.index(0)
    assert 5 <= handover < 100 and set(owners[:handover]) == {1} and set(owners[handover:]) == {0}, owners  # one handover, no back and forth
    assert {index for index, _ in of_line("L2")} == {1} and {index for index, _ in of_line("L1")} == {0}
    assert [w.lines for w in workers] == [[FeedLine("P1", "L1"), FeedLine("P1", "L3")], [FeedLine("P1", "L2")]]
    assert workers[0].stats.applied == {"L1": 5, "L3": 100 - handover} and workers[1].stats.applied == {"L3": handover, "L2": 5}
    for said in ("line L3 (plant P1) left this worker's share", "line L3 (plant P1) dropped", "line L3 (plant P1) added", "line L2 (plant P1) added"):
        assert said in caplog.text


@needs_nats
def test_a_running_worker_applies_the_line_of_a_plant_loaded_after_it_started_in_feed_order_once_without_a_restart(database: str, tmp_path: Path):
    first = demo_plant_with_lines(1)
    app = bootstrap(database_url=database, migrate=True, clock=SimulatedClock(T0))
    load(app, first, ["TF1"], PER_LINE, seed=5)
    stream = Stream.fresh()
    publish(stream, first.plant.code, {"TF1": feed(first, "TF1", PER_LINE, seed=5)})
    engine = make_engine(database)
    log = tmp_path / "worker.log"
    worker = start_worker(database, stream, log, "--rescan", "0.3")
    try:
        wait_until(lambda: applied_count(engine, "TF1") == PER_LINE, "the first plant's line applied", process=worker, log=log)
        second = another_plant("NORD", "NF1")
        load(app, second, ["NF1"], PER_LINE, seed=7)
        planned = feed(second, "NF1", PER_LINE, seed=7)  # broadcast against the planned order: the log must follow the feed
        messages = [(id_, {**payload, "order_id": planned[-1 - i][1]["order_id"], "rolling_no": None}) for i, (id_, payload) in enumerate(planned)]
        publish(stream, "NORD", {"NF1": messages})
        wait_until(lambda: applied_count(engine, "NF1") == PER_LINE, "the new plant's line applied", process=worker, log=log)
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
        stream.delete()
        engine.dispose()
    text = " ".join(log.read_text().split())
    assert code == 0, text
    assert "line NF1 (plant NORD) added: consuming" in text
    assert f"applied {2 * PER_LINE} broadcast(s) (TF1 {PER_LINE}, NF1 {PER_LINE}), 0 redelivered duplicate(s)" in text  # one run
    with app.uow:
        outbox = app.uow.webhooks.outbox_after("rescan-test", 1_000_000)
    applied = [m.payload["order_id"] for m in outbox if m.topic == "vehicle.broadcast" and m.payload["line"] == "NF1"]
    assert applied == [p["order_id"] for _, p in messages]  # once each, in the order of the feed

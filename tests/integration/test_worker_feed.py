"""The feed worker against the local NATS JetStream, in one process: a malformed broadcast is
kept on its line's dead-letter subject without holding up its line, a broadcast whose
application failed comes again before the next one, and the lines are kept apart."""

from __future__ import annotations

import json

import pytest
from feed_support import Stream, nats_answers, publish

from jisflow.adapters.broker.feed import FeedLine, FeedWorker, Rejected, rejected_subject

pytestmark = pytest.mark.skipif(not nats_answers(), reason="no NATS server answers at 127.0.0.1:4222")


def test_a_malformed_broadcast_is_set_aside_with_its_reason_and_a_failed_one_comes_again_before_the_next_of_its_line():
    stream = Stream.fresh()
    feeds = {
        "L1": [("m1", {"order_id": "A1"}), ("m2", {"order_id": "BAD"}), ("m3", {"order_id": "A3"}), ("m4", {"order_id": "A4"})],
        "L2": [("n1", {"order_id": "B1"}), ("n2", {"order_id": "B2"})],
    }
    publish(stream, "P1", feeds)
    applied: list[tuple[str, str]] = []
    attempts: dict[str, int] = {}

    def handle(line: str, message_id: str, payload: dict) -> bool:
        attempts[message_id] = attempts.get(message_id, 0) + 1
        if payload["order_id"] == "BAD":
            raise Rejected("no such vehicle format")
        if message_id == "m3" and attempts[message_id] == 1:
            raise ConnectionError("database away")
        applied.append((line, payload["order_id"]))
        return True

    worker = FeedWorker(
        "nats://127.0.0.1:4222", [FeedLine("P1", "L1"), FeedLine("P1", "L2")], handle,
        stream=stream.name, prefix=stream.prefix, idle_stop=4.0, poll=0.2,
    )
    try:
        stats = worker.run()
        body, headers = stream.last_message(rejected_subject("P1", "L1", stream.prefix))
    finally:
        stream.delete()
    assert json.loads(body) == {"order_id": "BAD"}
    assert headers["Jisflow-Original-Id"] == "m2"
    assert headers["Jisflow-Rejected-Reason"] == "no such vehicle format"
    assert [order for line, order in applied if line == "L1"] == ["A1", "A3", "A4"]
    assert [order for line, order in applied if line == "L2"] == ["B1", "B2"]
    assert (stats.rejected, stats.retried, stats.applied) == (1, 1, {"L1": 3, "L2": 2})
    assert attempts["m2"] == 1  # set aside, not handed out again

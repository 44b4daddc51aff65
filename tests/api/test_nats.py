"""The outbox relayed to NATS JetStream and consumed again, against the local server
(127.0.0.1:4222): subjects per plant and line, no duplicates on re-publication, order per
line, and no double application when a message is redelivered."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import pytest
from api_support import Api, make_api

NATS_URL = "nats://127.0.0.1:4222"


def _nats_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=1):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _nats_answers(), reason=f"no NATS server answers at {NATS_URL}")


@pytest.fixture
def broker(tmp_path: Path):
    from jisflow.adapters.broker.nats import JetStreamConsumer, JetStreamPublisher, plant_of_line_from

    api = make_api(f"sqlite:///{tmp_path / 'api.db'}")
    name = secrets.token_hex(4)
    prefix, stream = f"jisflowtest{name}", f"JISFLOWTEST{name.upper()}"
    applied: list[tuple[str, str]] = []

    def apply(uow, subject: str, payload: dict) -> None:
        applied.append((subject, payload.get("order_id", "")))

    api.app.publisher = JetStreamPublisher.connect(NATS_URL, plant_of_line_from(api.app.uow), stream=stream, prefix=prefix)
    consumer = JetStreamConsumer.connect(
        NATS_URL, "worker", api.app.uow, api.clock, apply, subject=f"{prefix}.SMALL.L1.vehicle.>", stream=stream, prefix=prefix, ack_wait=1.0,
    )
    try:
        yield api, consumer, applied, prefix
    finally:
        consumer.delete_stream()
        consumer.close()
        api.app.publisher.close()


def test_events_reach_jetstream_on_their_line_subject_in_order_and_are_applied_once(broker):
    api, consumer, applied, prefix = broker
    for _ in range(3):
        api.post("planner", "/lines/L1/broadcast-next", {"count": 1})
    api.app.relay()
    with api.app.uow:  # a relay that crashed before marking its messages publishes them again
        [last] = [m for m in _all_outbox(api) if m.topic == "vehicle.broadcast"][-1:]
    api.app.publisher.publish(last.topic, last.key, last.id, last.payload)
    assert consumer.consume_available(timeout=0.5) == 3
    assert applied == [(f"{prefix}.SMALL.L1.vehicle.broadcast", f"V{n:04d}") for n in range(3, 6)]


def test_a_message_redelivered_after_a_lost_acknowledgement_is_not_applied_twice(broker):
    api, consumer, applied, prefix = broker
    api.post("planner", "/lines/L1/broadcast-next", {"count": 1})
    api.app.relay()
    [message] = consumer.fetch()
    assert consumer.process(message)  # applied, then the worker dies before acknowledging
    api.post("planner", "/lines/L1/broadcast-next", {"count": 1})
    api.app.relay()
    # V0004 waits behind the unacknowledged V0003: it comes only after V0003 is redelivered
    assert consumer.consume_available(timeout=3.0) == 1
    assert [order for _, order in applied] == ["V0003", "V0004"]


def _all_outbox(api: Api):
    return api.app.uow.webhooks.outbox_after("nats-test", 10_000)

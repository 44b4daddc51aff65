"""NATS JetStream: publishes outbox events and consumes them again, in order per line and once.

Subjects are ``jisflow.<plant>.<line>.<event topic>`` (``_`` for the line of a plant-wide
event), so a consumer can follow one plant or one line. Every message carries its outbox id
as ``Nats-Msg-Id``: JetStream drops a re-publication within its duplicate window (the relay
publishes at least once). A consumer applies each message in one transaction together with
the message id in the inbox, and acknowledges it afterwards: a message redelivered because its
acknowledgement was lost is recognised and not applied twice. One pull consumer with a single
message in flight keeps the stream's order, which holds per subject and so per line.

nats-py is asynchronous; these classes keep an event loop of their own, so the relay and the
worker stay plain synchronous code.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import NotFoundError

from jisflow.services.clock import Clock
from jisflow.services.unit_of_work import AbstractUnitOfWork

PREFIX = "jisflow"
STREAM = "JISFLOW"
DUPLICATE_WINDOW = timedelta(minutes=10)
_NOT_A_TOKEN = re.compile(r"[\s.*>]")


def token(text: str) -> str:
    """A code as one subject token (no dots, spaces or wildcards)."""
    return _NOT_A_TOKEN.sub("_", text) or "_"


def subject_for(topic: str, payload: dict[str, Any], plant_of_line: Callable[[str], str], prefix: str = PREFIX) -> str:
    line = payload.get("line")
    plant = payload.get("plant") or (plant_of_line(line) if line else "_")
    return f"{prefix}.{token(plant)}.{token(line or '_')}.{topic}"


def message_id(outbox_id: int) -> str:
    return f"jisflow-outbox-{outbox_id}"


class _Connection:
    """A NATS connection with its own event loop, and the stream that holds ``prefix.>``."""

    def __init__(self, url: str, connect_timeout: float, stream: str = STREAM, prefix: str = PREFIX) -> None:
        self.stream = stream
        self.prefix = prefix
        self.loop = asyncio.new_event_loop()
        self.nc = self.run(nats.connect(url, connect_timeout=connect_timeout, max_reconnect_attempts=3, allow_reconnect=True))
        self.js = self.nc.jetstream()

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    def ensure_stream(self) -> None:
        try:
            self.run(self.js.stream_info(self.stream))
        except NotFoundError:
            config = StreamConfig(name=self.stream, subjects=[f"{self.prefix}.>"], duplicate_window=DUPLICATE_WINDOW.total_seconds())
            self.run(self.js.add_stream(config))

    def close(self) -> None:
        try:
            self.run(self.nc.close())
        finally:
            self.loop.close()


class JetStreamPublisher:
    """The outbox relay's publisher for JetStream (``Publisher`` protocol)."""

    def __init__(self, connection: _Connection, plant_of_line: Callable[[str], str]) -> None:
        self._connection = connection
        self._plant_of_line = plant_of_line

    @classmethod
    def connect(cls, url: str, plant_of_line: Callable[[str], str], *, stream: str = STREAM, prefix: str = PREFIX, connect_timeout: float = 5.0) -> JetStreamPublisher:
        connection = _Connection(url, connect_timeout, stream, prefix)
        connection.ensure_stream()
        return cls(connection, plant_of_line)

    def publish(self, topic: str, key: str, message_id_: int, payload: dict[str, Any]) -> None:
        subject = subject_for(topic, payload, self._plant_of_line, self._connection.prefix)
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._connection.run(self._connection.js.publish(subject, body, headers={"Nats-Msg-Id": message_id(message_id_)}))

    def close(self) -> None:
        self._connection.close()


def plant_of_line_from(uow: AbstractUnitOfWork) -> Callable[[str], str]:
    """Looks a line's plant up once, then remembers it. Called inside the relay's transaction,
    so it reads through the same unit of work without opening another."""
    known: dict[str, str] = {}

    def plant_of_line(line: str) -> str:
        if line not in known:
            known[line] = uow.plants.of_line(line).code
        return known[line]

    return plant_of_line


Apply = Callable[[AbstractUnitOfWork, str, dict[str, Any]], None]
"""Applies one event (subject, payload) inside the consumer's open unit of work."""


class JetStreamConsumer:
    """A durable pull consumer that applies each message once, in stream order."""

    def __init__(self, connection: _Connection, durable: str, subject: str, uow: AbstractUnitOfWork, clock: Clock, apply: Apply, ack_wait: float = 30.0) -> None:
        self._connection = connection
        self._uow = uow
        self._clock = clock
        self._apply = apply
        self._durable = durable
        config = ConsumerConfig(
            durable_name=durable, deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT,
            max_ack_pending=1, ack_wait=ack_wait, filter_subject=subject,
        )
        self._subscription = connection.run(connection.js.pull_subscribe(subject, durable=durable, stream=connection.stream, config=config))

    @classmethod
    def connect(
        cls, url: str, durable: str, uow: AbstractUnitOfWork, clock: Clock, apply: Apply, *,
        subject: str | None = None, stream: str = STREAM, prefix: str = PREFIX, ack_wait: float = 30.0,
    ) -> JetStreamConsumer:
        """Consume ``subject`` (default: every subject of the prefix, e.g. ``jisflow.P1.>``)."""
        connection = _Connection(url, 5.0, stream, prefix)
        connection.ensure_stream()
        return cls(connection, durable, subject or f"{prefix}.>", uow, clock, apply, ack_wait)

    def delete_stream(self) -> None:
        """Remove the stream with everything in it (tests and resets)."""
        self._connection.run(self._connection.js.delete_stream(self._connection.stream))

    def fetch(self, timeout: float = 1.0) -> list[Any]:
        """The next message (one in flight at a time keeps the order), or none."""
        try:
            return self._connection.run(self._subscription.fetch(1, timeout=timeout))
        except (TimeoutError, nats.errors.TimeoutError):
            return []

    def process(self, message: Any) -> bool:
        """Apply one message unless it was applied before; True when it was applied now."""
        key = f"nats:{self._durable}:{message.headers.get('Nats-Msg-Id') if message.headers else message.metadata.sequence.stream}"
        with self._uow:
            if not self._uow.inbox.claim(key, self._clock.now()):
                return False
            self._apply(self._uow, message.subject, json.loads(message.data))
            self._uow.commit()
        return True

    def ack(self, message: Any) -> None:
        self._connection.run(message.ack())

    def consume_available(self, timeout: float = 1.0) -> int:
        """Apply and acknowledge messages until none is waiting; returns how many were applied."""
        applied = 0
        while batch := self.fetch(timeout):
            for message in batch:
                applied += self.process(message)
                self.ack(message)
        return applied

    def close(self) -> None:
        self._connection.close()

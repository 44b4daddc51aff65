"""The outbox relay: publishes what the transactions wrote to the outbox, in order, and
records the transmission of call-offs (their lines go to SENT once their message is out).

A message is marked published only after the publisher accepted it, so a crash between the
two re-publishes it (at least once); consumers are idempotent by the message id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from jisflow.domain.calloff import CallOffState
from jisflow.services.clock import Clock
from jisflow.services.unit_of_work import AbstractUnitOfWork

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """Delivers messages. A publisher may also have ``flush()``: then ``publish`` may only
    queue, and the relay calls ``flush`` (which returns once all were delivered, or raises)
    before it marks any message of the batch published."""

    def publish(self, topic: str, key: str, message_id: int, payload: dict[str, Any]) -> None:
        """Deliver one message or raise."""


class MemoryPublisher:
    """Keeps what it was given: for tests, the demo and the simulation."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, int, dict[str, Any]]] = []

    def publish(self, topic: str, key: str, message_id: int, payload: dict[str, Any]) -> None:
        self.messages.append((topic, key, message_id, payload))

    def topics(self) -> list[str]:
        return [m[0] for m in self.messages]


@dataclass
class RelayReport:
    published: int = 0
    failed: int = 0
    calloffs_sent: int = 0


SENDS_CALLOFF = {"calloff.issued", "calloff.line_changed"}


def relay(uow: AbstractUnitOfWork, publisher: Publisher, clock: Clock, batch_size: int = 100) -> RelayReport:
    """Publish one batch of pending messages, stopping at the first failure to keep order."""
    report = RelayReport()
    with uow:
        pending = uow.outbox.pending(batch_size)
        done: list[int] = []
        to_send: set[str] = set()
        for message in pending:
            try:
                publisher.publish(message.topic, message.key, message.id, message.payload)
            except Exception:
                log.exception("publishing outbox message %s (%s) failed", message.id, message.topic)
                uow.outbox.mark_failed([message.id])
                report.failed += 1
                break
            done.append(message.id)
            if message.topic == "calloff.issued" or (
                message.topic == "calloff.line_changed" and message.payload.get("new_state") == CallOffState.AMENDED.value
            ):
                to_send.add(message.payload["number"])
        flush = getattr(publisher, "flush", None)
        if flush is not None and done:
            try:
                flush()
            except Exception:
                log.exception("publishing outbox messages %s to %s failed", done[0], done[-1])
                uow.outbox.mark_failed(done)
                report.failed += len(done)
                done, to_send = [], set()
        now = clock.now()
        uow.outbox.mark_published(done, now)
        events = []
        for number in sorted(to_send):
            calloff = uow.calloffs.get(number)
            lines = [ln for ln in calloff.lines if ln.state in (CallOffState.CREATED, CallOffState.AMENDED)]
            for ln in lines:
                ln.transition(CallOffState.SENT, now, "message transmitted")
                events.extend(ln.events)
                ln.events.clear()
            if lines:
                uow.calloffs.save_lines(lines)
                report.calloffs_sent += 1
        uow.publish(events, now)
        report.published = len(done)
        uow.commit()
    return report


def relay_all(uow: AbstractUnitOfWork, publisher: Publisher, clock: Clock, batch_size: int = 100) -> RelayReport:
    """Relay until the outbox is empty (or a publish fails)."""
    total = RelayReport()
    while True:
        report = relay(uow, publisher, clock, batch_size)
        total.published += report.published
        total.failed += report.failed
        total.calloffs_sent += report.calloffs_sent
        if report.failed or not report.published:
            return total

"""Webhooks: other systems subscribe to event types and receive each event by HTTP POST.

Deliveries come from the outbox: ``fan_out`` reads the outbox messages written since its cursor
and makes one delivery per matching subscription (in one transaction, so a message is fanned
out once). ``deliver_due`` sends the deliveries that are due; a failed one is retried with
back-off (``BACKOFF``) and gives up after the last step. Every delivery keeps its status,
attempts and last error, for the API to show.

Requests are signed as Standard Webhooks does: headers ``webhook-id``, ``webhook-timestamp``
and ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, keyed with the
subscription's secret (``whsec_`` + base64 key). A receiver checks the signature and rejects
old timestamps (replays).
"""

from __future__ import annotations

import abc
import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from jisflow.domain.errors import NotFound, ProblemCollector
from jisflow.services.audit import AuditEntry
from jisflow.services.clock import Clock
from jisflow.services.unit_of_work import AbstractUnitOfWork, OutboxMessage

BACKOFF = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5), timedelta(hours=10),
)
"""Wait before each retry; after the last one a delivery is failed for good."""

ANY_EVENT = "*"
CURSOR = "webhooks"


@dataclass(frozen=True)
class Subscription:
    url: str
    event_types: tuple[str, ...]
    secret: str
    created_by: str
    created_at: datetime
    after_outbox_id: int = 0  # the newest outbox message when it was made: only later ones are sent
    active: bool = True
    id: int | None = None

    def wants(self, message: OutboxMessage) -> bool:
        return self.active and message.id > self.after_outbox_id and (ANY_EVENT in self.event_types or message.topic in self.event_types)


@dataclass(frozen=True)
class Delivery:
    subscription_id: int
    message_id: str
    topic: str
    payload: dict[str, Any]
    created_at: datetime
    status: str = "pending"  # pending, delivered, failed
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    id: int | None = None


class WebhookRepository(abc.ABC):
    @abc.abstractmethod
    def add_subscription(self, subscription: Subscription) -> Subscription: ...

    @abc.abstractmethod
    def subscriptions(self) -> list[Subscription]: ...

    @abc.abstractmethod
    def set_active(self, subscription_id: int, active: bool) -> None: ...

    @abc.abstractmethod
    def newest_outbox_id(self) -> int:
        """The id of the newest outbox message (0 for an empty outbox)."""

    @abc.abstractmethod
    def outbox_after(self, cursor_name: str, limit: int) -> list[OutboxMessage]:
        """Outbox messages (published or not) after the cursor, oldest first."""

    @abc.abstractmethod
    def move_cursor(self, cursor_name: str, last_outbox_id: int) -> None: ...

    @abc.abstractmethod
    def add_deliveries(self, deliveries: Iterable[Delivery]) -> None: ...

    @abc.abstractmethod
    def due(self, now: datetime, limit: int) -> list[Delivery]: ...

    @abc.abstractmethod
    def save_delivery(self, delivery: Delivery) -> None: ...

    @abc.abstractmethod
    def deliveries(self, after_id: int, limit: int, subscription_id: int | None = None, status: str | None = None) -> list[Delivery]: ...


class Sender(Protocol):
    def send(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """POST and return the status code; raise on a network error."""


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one request."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def subscribe(uow: AbstractUnitOfWork, clock: Clock, url: str, event_types: Sequence[str]) -> Subscription:
    found = ProblemCollector()
    if not url.startswith(("http://", "https://")):
        found.add("url", f"{url!r} is not an http(s) URL")
    if not event_types:
        found.add("event_types", f"name at least one event type, or {ANY_EVENT!r} for every event")
    found.raise_if_any("webhook subscription refused")
    now = clock.now()
    with uow:
        newest = uow.webhooks.newest_outbox_id()
        subscription = uow.webhooks.add_subscription(Subscription(url, tuple(event_types), new_secret(), uow.actor, now, newest))
        uow.audit.append([AuditEntry(uow.actor, now, "webhook.subscribed", f"webhook/{subscription.id}", None, {"url": url, "event_types": list(event_types)})])
        uow.commit()
    return subscription


def set_active(uow: AbstractUnitOfWork, clock: Clock, subscription_id: int, active: bool) -> Subscription:
    """Pause (or resume) a subscription: a paused one gets no new deliveries."""
    now = clock.now()
    with uow:
        found = [s for s in uow.webhooks.subscriptions() if s.id == subscription_id]
        if not found:
            raise NotFound(f"no webhook subscription {subscription_id}")
        if found[0].active != active:
            uow.webhooks.set_active(subscription_id, active)
            uow.audit.append([AuditEntry(uow.actor, now, "webhook.activated" if active else "webhook.deactivated", f"webhook/{subscription_id}", {"active": not active}, {"active": active})])
        uow.commit()
    return replace(found[0], active=active)


def fan_out(uow: AbstractUnitOfWork, clock: Clock, batch_size: int = 500) -> int:
    """Make the deliveries of the outbox messages written since the last fan-out."""
    now = clock.now()
    with uow:
        messages = uow.webhooks.outbox_after(CURSOR, batch_size)
        if not messages:
            return 0
        subscriptions = uow.webhooks.subscriptions()
        deliveries = [
            Delivery(s.id, f"msg_{m.id}", m.topic, m.payload, now, next_attempt_at=now)
            for m in messages for s in subscriptions if s.wants(m)
        ]
        uow.webhooks.add_deliveries(deliveries)
        uow.webhooks.move_cursor(CURSOR, messages[-1].id)
        uow.commit()
    return len(deliveries)


def request_for(subscription: Subscription, delivery: Delivery, timestamp: int) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"type": delivery.topic, "timestamp": delivery.created_at.isoformat(), "data": delivery.payload}, separators=(",", ":")).encode()
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(subscription.secret, delivery.message_id, timestamp, body),
    }
    return headers, body


def deliver_due(uow: AbstractUnitOfWork, clock: Clock, sender: Sender, limit: int = 100) -> list[Delivery]:
    """Send the due deliveries, one at a time, recording each outcome; returns them updated."""
    with uow:
        due = uow.webhooks.due(clock.now(), limit)
        subscriptions = {s.id: s for s in uow.webhooks.subscriptions()}
    done = []
    for delivery in due:
        subscription = subscriptions[delivery.subscription_id]
        now = clock.now()
        headers, body = request_for(subscription, delivery, int(now.timestamp()))
        code: int | None = None
        try:
            code = sender.send(subscription.url, headers, body)
            error = None if 200 <= code < 300 else f"HTTP {code}"
        except Exception as exc:  # a network failure is an outcome to record, not a crash
            error = f"{type(exc).__name__}: {exc}"
        attempts = delivery.attempts + 1
        if error is None:
            updated = replace(delivery, status="delivered", attempts=attempts, last_status_code=code, last_error=None, delivered_at=now, next_attempt_at=None)
        elif attempts > len(BACKOFF):
            updated = replace(delivery, status="failed", attempts=attempts, last_status_code=code, last_error=error, next_attempt_at=None)
        else:
            updated = replace(delivery, attempts=attempts, last_status_code=code, last_error=error, next_attempt_at=now + BACKOFF[attempts - 1])
        with uow:
            uow.webhooks.save_delivery(updated)
            uow.commit()
        done.append(updated)
    return done

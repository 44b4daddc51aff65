"""SQL repositories of the HTTP side: accounts, the audit log, idempotency keys, webhooks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from jisflow.adapters.db import tables as t
from jisflow.adapters.db import tables_api as ta
from jisflow.adapters.db.repositories import Connect
from jisflow.adapters.db.statements import plant_code_for
from jisflow.domain.auth import ApiKey, Role, Scope, User
from jisflow.domain.errors import NotFound
from jisflow.services.audit import AuditEntry, AuditLog, AuditPage
from jisflow.services.auth import AccountRepository
from jisflow.services.idempotency import IdempotencyStore, StoredResponse
from jisflow.services.unit_of_work import OutboxMessage
from jisflow.services.webhooks import Delivery, Subscription, WebhookRepository


def _user(row: Any) -> User:
    return User(row.name, Role(row.role), row.partner, row.created_at, row.active)


def _key(row: Any) -> ApiKey:
    return ApiKey(row.key_id, row.user_name, frozenset(Scope(s) for s in row.scopes), row.secret_hash, row.created_at, row.revoked_at)


class SqlAccountRepository(AccountRepository):
    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    def add_user(self, user: User) -> None:
        self._connect().execute(
            sa.insert(ta.users).values(name=user.name, role=user.role.value, partner=user.partner, active=user.active, created_at=user.created_at)
        )

    def user(self, name: str) -> User:
        row = self._connect().execute(sa.select(ta.users).where(ta.users.c.name == name)).first()
        if row is None:
            raise NotFound(f"no user {name!r}")
        return _user(row)

    def users(self) -> list[User]:
        return [_user(r) for r in self._connect().execute(sa.select(ta.users).order_by(ta.users.c.name))]

    def add_key(self, key: ApiKey) -> None:
        self._connect().execute(
            sa.insert(ta.api_keys).values(
                key_id=key.key_id, user_name=key.user, scopes=sorted(s.value for s in key.scopes),
                secret_hash=key.secret_hash, created_at=key.created_at, revoked_at=key.revoked_at,
            )
        )

    def key(self, key_id: str) -> ApiKey | None:
        row = self._connect().execute(sa.select(ta.api_keys).where(ta.api_keys.c.key_id == key_id)).first()
        return _key(row) if row is not None else None

    def keys_of(self, user: str) -> list[ApiKey]:
        query = sa.select(ta.api_keys).where(ta.api_keys.c.user_name == user).order_by(ta.api_keys.c.created_at)
        return [_key(r) for r in self._connect().execute(query)]

    def revoke_key(self, key_id: str, at: datetime) -> None:
        self._connect().execute(sa.update(ta.api_keys).where(ta.api_keys.c.key_id == key_id).values(revoked_at=at))


_au = ta.audit_log


_AUDIT_INSERT = sa.insert(_au).values(plant_code=plant_code_for("line", plant="plant"))


class SqlAuditLog(AuditLog):
    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    def append(self, entries: Iterable[AuditEntry]) -> None:
        """One statement, sent later."""
        rows = [
            {"at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject, "before": e.before, "after": e.after,
             "plant": e.plant, "line": e.line}
            for e in entries
        ]
        self._connect.later(_AUDIT_INSERT, rows, "audit_log")

    def read(self, after_id: int = 0, limit: int = 100, actor: str | None = None, subject: str | None = None) -> AuditPage:
        query = sa.select(_au).where(_au.c.id > after_id).order_by(_au.c.id).limit(limit + 1)
        if actor is not None:
            query = query.where(_au.c.actor == actor)
        if subject is not None:
            query = query.where(_au.c.subject.startswith(subject, autoescape=True))
        rows = self._connect().execute(query).all()
        entries = [AuditEntry(r.actor, r.at, r.action, r.subject, r.before, r.after, r.id) for r in rows[:limit]]
        return AuditPage(entries, entries[-1].id if len(rows) > limit else None)


class SqlIdempotencyStore(IdempotencyStore):
    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    def get(self, scope: str) -> StoredResponse | None:
        row = self._connect().execute(sa.select(ta.idempotency_keys).where(ta.idempotency_keys.c.scope == scope)).first()
        return StoredResponse(row.fingerprint, row.status_code, row.body) if row is not None else None

    def put(self, scope: str, response: StoredResponse, at: datetime) -> None:
        self._connect().execute(
            sa.insert(ta.idempotency_keys).values(
                scope=scope, fingerprint=response.fingerprint, status_code=response.status_code, body=response.body, created_at=at
            )
        )


_ws, _wd = ta.webhook_subscriptions, ta.webhook_deliveries


def _subscription(row: Any) -> Subscription:
    return Subscription(row.url, tuple(row.event_types), row.secret, row.created_by, row.created_at, row.after_outbox_id, row.active, row.id)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        row.subscription_id, row.message_id, row.topic, row.payload, row.created_at, row.status, row.attempts,
        row.next_attempt_at, row.last_status_code, row.last_error, row.delivered_at, row.id,
    )


class SqlWebhookRepository(WebhookRepository):
    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    def add_subscription(self, subscription: Subscription) -> Subscription:
        new_id = self._connect().execute(
            sa.insert(_ws).values(
                url=subscription.url, event_types=list(subscription.event_types), secret=subscription.secret,
                after_outbox_id=subscription.after_outbox_id,
                active=subscription.active, created_by=subscription.created_by, created_at=subscription.created_at,
            ).returning(_ws.c.id)
        ).scalar_one()
        return Subscription(**{**subscription.__dict__, "id": new_id})

    def subscriptions(self) -> list[Subscription]:
        return [_subscription(r) for r in self._connect().execute(sa.select(_ws).order_by(_ws.c.id))]

    def set_active(self, subscription_id: int, active: bool) -> None:
        self._connect().execute(sa.update(_ws).where(_ws.c.id == subscription_id).values(active=active))

    def newest_outbox_id(self) -> int:
        return self._connect().execute(sa.select(sa.func.max(t.outbox.c.id))).scalar() or 0

    def outbox_after(self, cursor_name: str, limit: int) -> list[OutboxMessage]:
        connection = self._connect()
        cursor = connection.execute(
            sa.select(ta.relay_cursors.c.last_outbox_id).where(ta.relay_cursors.c.name == cursor_name)
        ).scalar() or 0
        rows = connection.execute(sa.select(t.outbox).where(t.outbox.c.id > cursor).order_by(t.outbox.c.id).limit(limit))
        return [OutboxMessage(r.id, r.topic, r.key, r.payload, r.created_at, r.published_at, r.attempts) for r in rows]

    def move_cursor(self, cursor_name: str, last_outbox_id: int) -> None:
        connection = self._connect()
        moved = connection.execute(
            sa.update(ta.relay_cursors).where(ta.relay_cursors.c.name == cursor_name).values(last_outbox_id=last_outbox_id)
        ).rowcount
        if not moved:
            connection.execute(sa.insert(ta.relay_cursors).values(name=cursor_name, last_outbox_id=last_outbox_id))

    def add_deliveries(self, deliveries: Iterable[Delivery]) -> None:
        rows = [
            {
                "subscription_id": d.subscription_id, "message_id": d.message_id, "topic": d.topic, "payload": d.payload,
                "status": d.status, "attempts": d.attempts, "next_attempt_at": d.next_attempt_at, "last_status_code": None,
                "last_error": None, "created_at": d.created_at, "delivered_at": None,
            }
            for d in deliveries
        ]
        if rows:
            self._connect().execute(sa.insert(_wd), rows)

    def due(self, now: datetime, limit: int) -> list[Delivery]:
        query = sa.select(_wd).where(_wd.c.status == "pending", _wd.c.next_attempt_at <= now).order_by(_wd.c.id).limit(limit)
        return [_delivery(r) for r in self._connect().execute(query)]

    def save_delivery(self, delivery: Delivery) -> None:
        self._connect().execute(
            sa.update(_wd).where(_wd.c.id == delivery.id).values(
                status=delivery.status, attempts=delivery.attempts, next_attempt_at=delivery.next_attempt_at,
                last_status_code=delivery.last_status_code, last_error=delivery.last_error, delivered_at=delivery.delivered_at,
            )
        )

    def deliveries(self, after_id: int, limit: int, subscription_id: int | None = None, status: str | None = None) -> list[Delivery]:
        query = sa.select(_wd).where(_wd.c.id > after_id).order_by(_wd.c.id).limit(limit)
        if subscription_id is not None:
            query = query.where(_wd.c.subscription_id == subscription_id)
        if status is not None:
            query = query.where(_wd.c.status == status)
        return [_delivery(r) for r in self._connect().execute(query)]

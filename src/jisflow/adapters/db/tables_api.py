"""Tables of the HTTP side of jisflow: users and API keys, the audit log, idempotency keys of
requests, webhook subscriptions and their deliveries. Same ``metadata`` and rules as
``tables.py``; migration ``0003``."""

from __future__ import annotations

import sqlalchemy as sa

from jisflow.adapters.db.tables import JSON, UtcDateTime, _in, metadata
from jisflow.domain.auth import Role

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("partner", sa.String, nullable=True),  # supplier or carrier code of a partner role
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.CheckConstraint(_in("role", [r.value for r in Role]), name="role"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String, primary_key=True),
    sa.Column("user_name", sa.String, sa.ForeignKey("users.name"), nullable=False, index=True),
    sa.Column("scopes", JSON, nullable=False),  # list of scope names
    sa.Column("secret_hash", sa.String, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("before", JSON, nullable=True),
    sa.Column("after", JSON, nullable=True),
    # the partition key on PostgreSQL (migration 0008): the plant of the change, '' for none
    sa.Column("plant_code", sa.String, nullable=False, server_default=""),
    sa.Index(None, "actor", "id"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.String, primary_key=True),  # caller and key
    sa.Column("fingerprint", sa.String(64), nullable=False),  # hash of method, path and body
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("body", JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

webhook_subscriptions = sa.Table(
    "webhook_subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.String, nullable=False),
    sa.Column("event_types", JSON, nullable=False),  # list of topics; ["*"] for every event
    sa.Column("secret", sa.String, nullable=False),  # whsec_... : the signing key the receiver holds too
    sa.Column("after_outbox_id", sa.Integer, nullable=False),  # events written before the subscription are not sent
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.String, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subscription_id", sa.Integer, sa.ForeignKey("webhook_subscriptions.id"), nullable=False),
    sa.Column("message_id", sa.String, nullable=False),
    sa.Column("topic", sa.String, nullable=False),
    sa.Column("payload", JSON, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("delivered_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("subscription_id", "message_id"),
    sa.CheckConstraint(_in("status", ["pending", "delivered", "failed"]), name="status"),
    sa.Index(None, "status", "next_attempt_at"),
)

relay_cursors = sa.Table(
    "relay_cursors",
    metadata,
    sa.Column("name", sa.String, primary_key=True),  # e.g. "webhooks"
    sa.Column("last_outbox_id", sa.Integer, nullable=False),
)

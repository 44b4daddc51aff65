"""A plant's broadcast feed arriving as messages: each one a ``BroadcastVehicle`` for its line,
applied once by its message id (the inbox remembers it in the same transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jisflow.domain.errors import Problem, ValidationError
from jisflow.services import commands as c
from jisflow.services.messagebus import MessageBus

FIELDS = {"order_id", "at", "rolling_no", "message_id"}


def broadcast_command(line: str, message_id: str, payload: dict[str, Any]) -> c.BroadcastVehicle:
    """The command a feed message asks for: ``{"order_id": ..., "at": ISO time with offset,
    "rolling_no": ...}`` (``at`` and ``rolling_no`` optional). Every problem is named at once."""
    where = f"broadcast message {message_id} for line {line}"
    problems: list[Problem] = []
    order_id = payload.get("order_id")
    if not isinstance(order_id, str) or not order_id.strip():
        problems.append(Problem(f"{where}.order_id", "is required: the order id of the vehicle that passed the broadcast point"))
    at: datetime | None = None
    if payload.get("at") is not None:
        try:
            at = datetime.fromisoformat(str(payload["at"]))
            if at.tzinfo is None:
                problems.append(Problem(f"{where}.at", f"{payload['at']!r} has no time zone: add Z or an offset"))
        except ValueError:
            problems.append(Problem(f"{where}.at", f"{payload['at']!r} is not an ISO 8601 time"))
    rolling_no = payload.get("rolling_no")
    if rolling_no is not None and (isinstance(rolling_no, bool) or not isinstance(rolling_no, int) or rolling_no < 0):
        problems.append(Problem(f"{where}.rolling_no", f"{rolling_no!r} is not a whole number of at least 0"))
    for unknown in sorted(set(payload) - FIELDS):
        problems.append(Problem(f"{where}.{unknown}", "is not a field of a broadcast"))
    if problems:
        raise ValidationError(f"{where} rejected: {len(problems)} problem(s), nothing applied", problems=problems)
    assert isinstance(order_id, str)
    return c.BroadcastVehicle(line, order_id, at=at, rolling_no=rolling_no, message_id=message_id)


def apply_broadcast(bus: MessageBus, line: str, message_id: str, payload: dict[str, Any]) -> bool:
    """Apply one feed message through the bus; False when this message id was applied before."""
    outcome = bus.handle(broadcast_command(line, message_id, payload))
    return not outcome.duplicate

"""The audit log: every state change, with who made it, when, what it was, and the state before
and after. It is append-only: entries are added and read, never changed or removed.

Entries are written by the unit of work in the same transaction as the change they record
(``AbstractUnitOfWork.publish``): each domain event becomes one entry, its actor the one the
unit of work acts for. Changes that raise no domain event (users, keys, webhook subscriptions,
stock movements, every change of a rack, shipments planned, reservations synced) are recorded
by their services directly; ``changes`` makes the entries of objects whose state a
service took before and after its change.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SYSTEM = "system"
"""The actor of changes no person asked for (relay, timers, simulation)."""


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    at: datetime
    action: str  # the event topic or service action, e.g. "calloff.line_changed", "user.created"
    subject: str  # the object changed, e.g. "CO-1A2B/ORD000001/SEAT"
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    id: int | None = None
    # where the change happened, when it belongs to a plant: the plant, or a line of it (the
    # store files the entry by plant, its partition on PostgreSQL); not part of the entry's value
    plant: str | None = field(default=None, compare=False, repr=False)
    line: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: int | None  # the id to continue after, None at the end


class AuditLog(abc.ABC):
    @abc.abstractmethod
    def append(self, entries: Iterable[AuditEntry]) -> None: ...

    @abc.abstractmethod
    def read(self, after_id: int = 0, limit: int = 100, actor: str | None = None, subject: str | None = None) -> AuditPage:
        """Entries in the order they were written, from the one after ``after_id``."""


def _calloff_line(p: dict[str, Any]) -> tuple[str, dict | None, dict | None]:
    return f"{p['number']}/{p['order_id']}/{p['family']}", {"state": p["old_state"]}, {"state": p["new_state"], "seq_no": p["seq_no"], "part_number": p["part_number"], "reason": p["reason"]}


def _sequence_change(p: dict[str, Any]) -> tuple[str, dict | None, dict | None]:
    return (
        f"{p['line']}/{p['order_id']}",
        None if p["old_seq_no"] is None else {"seq_no": p["old_seq_no"]},
        {"seq_no": p["new_seq_no"], "kind": p["kind"], "in_frozen_zone": p["in_frozen_zone"], "overridden": p["overridden"]},
    )


def _broadcast(p: dict[str, Any]) -> tuple[str, dict | None, dict | None]:
    return f"{p['line']}/{p['order_id']}", {"status": "planned"}, {"status": "broadcast", "seq_no": p["seq_no"], "broadcast_at": p["broadcast_at"]}


def _calloff_issued(p: dict[str, Any]) -> tuple[str, dict | None, dict | None]:
    return p["number"], None, {"supplier": p["supplier"], "line": p["line"], "lines": len(p["lines"])}


def _alert_acknowledged(p: dict[str, Any]) -> tuple[str, dict | None, dict | None]:
    return f"alert/{p['alert_id']}", {"acknowledged_by": None}, {"acknowledged_by": p["by"]}


def _generic(p: dict[str, Any]) -> tuple[str, dict | None, dict | None]:
    subject = "/".join(str(p[k]) for k in ("plant", "line", "order_id", "number") if p.get(k) not in (None, "", []))
    return subject, None, p


DESCRIBE: dict[str, Callable[[dict[str, Any]], tuple[str, dict | None, dict | None]]] = {
    "calloff.line_changed": _calloff_line,
    "sequence.changed": _sequence_change,
    "vehicle.broadcast": _broadcast,
    "calloff.issued": _calloff_issued,
    "alert.acknowledged": _alert_acknowledged,
}
"""How an event names its subject and its before and after; other events: their payload."""


def entry_for(topic: str, payload: dict[str, Any], actor: str, at: datetime) -> AuditEntry:
    subject, before, after = DESCRIBE.get(topic, _generic)(payload)
    return AuditEntry(
        actor=actor, at=at, action=topic, subject=subject, before=before, after=after,
        plant=_text(payload.get("plant")), line=_text(payload.get("line")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def changes(
    actor: str, at: datetime, action: str, kind: str, before: Mapping[str, dict[str, Any] | None], after: Mapping[str, dict[str, Any]],
    *, line: str | None = None,
) -> list[AuditEntry]:
    """One entry for each object of ``kind`` in ``after`` whose state differs from its state in
    ``before`` (absent or None there: the object is new), its subject ``<kind>/<id>``; ``line``:
    the line the objects belong to."""
    return [
        AuditEntry(actor, at, action, f"{kind}/{key}", before.get(key), state, line=line)
        for key, state in after.items() if before.get(key) != state
    ]

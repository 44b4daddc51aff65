"""Domain events: past-tense facts recorded by the aggregates and delivered after commit.

Every event is a frozen dataclass; ``to_payload`` gives the JSON-ready body written to the
outbox in the same transaction as the change.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base of every domain event; ``topic`` is the outbox / broker subject suffix."""

    topic: ClassVar[str] = "event"

    def to_payload(self) -> dict[str, Any]:
        return _fields(self)


_PLAIN = frozenset({str, int, float, bool})


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass as a JSON-ready dict, built in one walk (no intermediate deep copy)."""
    return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}


def _jsonable(value: Any) -> Any:
    if value is None or type(value) in _PLAIN:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    return value


@dataclass(frozen=True)
class PlantLoaded(Event):
    topic: ClassVar[str] = "plant.loaded"
    plant: str
    lines: tuple[str, ...]
    families: int


@dataclass(frozen=True)
class SequenceImported(Event):
    topic: ClassVar[str] = "sequence.imported"
    line: str
    vehicles: int
    first_seq_no: int
    last_seq_no: int


@dataclass(frozen=True)
class VehicleBroadcast(Event):
    topic: ClassVar[str] = "vehicle.broadcast"
    line: str
    order_id: str
    seq_no: int
    rolling_no: int
    broadcast_at: datetime


@dataclass(frozen=True)
class SequenceChanged(Event):
    """Any change to the pearl chain: insert, cancel, move, swap or spec change."""

    topic: ClassVar[str] = "sequence.changed"
    line: str
    kind: str
    order_id: str
    old_seq_no: int | None
    new_seq_no: int | None
    in_frozen_zone: bool
    overridden: bool
    renumbered: int  # how many other vehicles got a new sequence number


@dataclass(frozen=True)
class AlertRaised(Event):
    topic: ClassVar[str] = "alert.raised"
    kind: str
    severity: str
    line: str
    message: str
    order_id: str | None = None
    seq_no: int | None = None


@dataclass(frozen=True)
class CallOffIssued(Event):
    topic: ClassVar[str] = "calloff.issued"
    number: str
    supplier: str
    unloading_point: str
    line: str
    lines: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class CallOffLineChanged(Event):
    """A call-off line moved to a new state (AMENDED and CANCELLED included)."""

    topic: ClassVar[str] = "calloff.line_changed"
    number: str
    supplier: str
    line: str
    order_id: str
    family: str
    old_state: str
    new_state: str
    seq_no: int | None
    part_number: str | None
    reason: str = ""


@dataclass(frozen=True)
class SummarizedCallChanged(Event):
    topic: ClassVar[str] = "jitcall.changed"
    line: str
    supplier: str
    family: str
    part_number: str
    window_start: datetime
    window_end: datetime
    quantity: int


@dataclass(frozen=True)
class AlertAcknowledged(Event):
    topic: ClassVar[str] = "alert.acknowledged"
    alert_id: int
    line: str
    by: str

"""Commands: imperative requests to the system. Each is handled in one unit of work."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jisflow.domain.calloff import CallOffState
from jisflow.domain.plant import Plant
from jisflow.domain.sequence import Vehicle


@dataclass(frozen=True)
class Command:
    pass


@dataclass(frozen=True)
class LoadPlant(Command):
    plant: Plant
    definition: dict[str, Any]  # the validated definition, stored as it is


@dataclass(frozen=True)
class SequenceRow:
    """One vehicle of an imported sequence; ``where`` names its origin (file, row)."""

    where: str
    vehicle: Vehicle
    seq_no: int | None = None
    rolling_no: int | None = None


@dataclass(frozen=True)
class ImportSequence(Command):
    line: str
    rows: tuple[SequenceRow, ...]
    message_id: str | None = None
    source: str = ""


@dataclass(frozen=True)
class BroadcastVehicle(Command):
    line: str
    order_id: str
    at: datetime | None = None  # None: now
    rolling_no: int | None = None  # the feed's rolling number, checked against the chain
    message_id: str | None = None


@dataclass(frozen=True)
class BroadcastNext(Command):
    """Broadcast the next planned vehicles in chain order (a feed in step with the plan)."""

    line: str
    count: int = 1
    at: datetime | None = None


@dataclass(frozen=True)
class ChangeCommand(Command):
    line: str
    override: bool = field(default=False, kw_only=True)
    actor: str = field(default="system", kw_only=True)
    reason: str = field(default="", kw_only=True)
    message_id: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class InsertVehicle(ChangeCommand):
    vehicle: Vehicle = field(kw_only=True)
    before: str | None = field(default=None, kw_only=True)
    after: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class CancelVehicle(ChangeCommand):
    order_id: str = field(kw_only=True)


@dataclass(frozen=True)
class MoveVehicle(ChangeCommand):
    order_id: str = field(kw_only=True)
    before: str | None = field(default=None, kw_only=True)
    after: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class SwapVehicles(ChangeCommand):
    first: str = field(kw_only=True)
    second: str = field(kw_only=True)


@dataclass(frozen=True)
class ChangeVehicleSpec(ChangeCommand):
    order_id: str = field(kw_only=True)
    model: str | None = field(default=None, kw_only=True)
    options: dict[str, str | None] = field(default_factory=dict, kw_only=True)
    vin: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Tick(Command):
    """Time passed: look for silent feeds and for call-offs whose issue point has come (or
    comes within ``issue_ahead``: the time until the next tick)."""

    at: datetime | None = None
    issue_ahead: timedelta = timedelta(0)


@dataclass(frozen=True)
class ConfirmCallOffSent(Command):
    """The call-off's message (or its amendments) left through the outbox."""

    number: str
    at: datetime | None = None


@dataclass(frozen=True)
class TransitionCallOffLines(Command):
    """Move call-off lines to a new state (acknowledge, pick, pack, ship, deliver, consume)."""

    number: str
    to: CallOffState
    order_ids: tuple[str, ...] = ()  # only the lines of these vehicles
    keys: tuple[tuple[str, str], ...] = ()  # only these (order id, family) lines
    actor: str = "system"
    at: datetime | None = None


@dataclass(frozen=True)
class AcknowledgeAlert(Command):
    alert_id: int
    by: str

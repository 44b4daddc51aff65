"""Request and response bodies of the HTTP API: one schema per use."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from jisflow.domain.alerts import AlertKind, Severity
from jisflow.domain.auth import Role, Scope
from jisflow.domain.calloff import CallOffState
from jisflow.domain.sequence import ChangeKind, VehicleStatus

T = TypeVar("T")

Code = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(max_length=500)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last page.")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    problems: list[dict[str, str]] = Field(default_factory=list, description="Each problem: where and what.")


# --------------------------------------------------------------------------- plants
class StationOut(BaseModel):
    code: str
    name: str
    offset_takts: int


class LineOut(BaseModel):
    code: str
    name: str
    takt_seconds: int
    frozen_zone: dict[str, Any]
    stations: list[StationOut]


class SupplierOut(BaseModel):
    code: str
    name: str


class PlantOut(BaseModel):
    code: str
    name: str
    timezone: str
    lines: list[LineOut]
    suppliers: list[SupplierOut]


# --------------------------------------------------------------------------- pearl chain
class SequenceChangeOut(BaseModel):
    """One entry of a line's change log: what changed in the pearl chain, when, by whom."""

    id: int
    kind: ChangeKind
    order_id: str
    at: datetime
    old_seq_no: int | None
    new_seq_no: int | None
    in_frozen_zone: bool
    overridden: bool
    renumbered: dict[str, list[int]] = Field(description="Other vehicles renumbered by the change: order id -> [old, new].")
    actor: str
    reason: str
    details: dict[str, Any]


class ChainEntryOut(BaseModel):
    order_id: str
    seq_no: int
    rolling_no: int
    status: VehicleStatus
    model: str
    options: dict[str, str]
    vin: str | None
    broadcast_at: datetime | None
    flagged: bool


class VehicleIn(Body):
    order_id: Code
    model: Code
    options: dict[Code, Code] = Field(default_factory=dict)
    vin: Annotated[str, Field(max_length=17)] | None = None


class SequenceRowIn(VehicleIn):
    seq_no: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    rolling_no: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None


class ImportIn(Body):
    rows: list[SequenceRowIn] = Field(min_length=1, max_length=5000)
    message_id: Code | None = None


class BroadcastIn(Body):
    order_id: Code
    at: AwareDatetime | None = None
    rolling_no: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    message_id: Code | None = None


class BroadcastNextIn(Body):
    count: Annotated[int, Field(ge=1, le=1000)] = 1
    at: AwareDatetime | None = None


class _ChangeIn(Body):
    override: bool = False
    reason: Text = ""
    message_id: Code | None = None


class InsertIn(_ChangeIn):
    kind: Literal["insert"]
    vehicle: VehicleIn
    before: Code | None = None
    after: Code | None = None


class CancelIn(_ChangeIn):
    kind: Literal["cancel"]
    order_id: Code


class MoveIn(_ChangeIn):
    kind: Literal["move"]
    order_id: Code
    before: Code | None = None
    after: Code | None = None


class SwapIn(_ChangeIn):
    kind: Literal["swap"]
    first: Code
    second: Code


class SpecIn(_ChangeIn):
    kind: Literal["spec"]
    order_id: Code
    model: Code | None = None
    options: dict[Code, Code | None] = Field(default_factory=dict)
    vin: Annotated[str, Field(max_length=17)] | None = None


ChangeIn = Annotated[InsertIn | CancelIn | MoveIn | SwapIn | SpecIn, Field(discriminator="kind")]


class ChangeOut(BaseModel):
    kind: str
    order_id: str
    old_seq_no: int | None
    new_seq_no: int | None
    in_frozen_zone: bool
    overridden: bool
    renumbered: int


class AlertBrief(BaseModel):
    kind: AlertKind
    message: str


class OutcomeOut(BaseModel):
    """What a command did."""

    applied: bool
    duplicate: bool
    change: ChangeOut | None = None
    alerts: list[AlertBrief] = Field(default_factory=list)
    calloffs: list[str] = Field(default_factory=list)
    lines_issued: int = 0
    lines_changed: int = 0
    details: dict[str, Any] = Field(default_factory=dict)


# --------------------------------------------------------------------------- call-offs
class CallOffLineOut(BaseModel):
    number: str
    supplier: str
    unloading_point: str
    line: str
    order_id: str
    family: str
    seq_no: int
    rolling_no: int
    vin: str | None
    part_number: str
    quantity: int
    station: str
    need_time: datetime
    ship_by: datetime
    state: CallOffState
    amendments: int


class CallOffOut(BaseModel):
    number: str
    supplier: str
    unloading_point: str
    line: str
    issued_at: datetime
    lines: list[CallOffLineOut]


class LineKey(Body):
    order_id: Code
    family: Code


class TransitionIn(Body):
    to: CallOffState
    order_ids: list[Code] = Field(default_factory=list, max_length=1000)
    keys: list[LineKey] = Field(default_factory=list, max_length=1000)


# --------------------------------------------------------------------------- alerts
class AlertOut(BaseModel):
    id: int
    kind: AlertKind
    severity: Severity
    line: str
    message: str
    raised_at: datetime
    order_id: str | None
    seq_no: int | None
    details: dict[str, Any]
    acknowledged_at: datetime | None
    acknowledged_by: str | None


# --------------------------------------------------------------------------- audit, accounts
class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class MeOut(BaseModel):
    name: str
    role: Role
    partner: str | None
    scopes: list[Scope]


# --------------------------------------------------------------------------- webhooks
class SubscriptionIn(Body):
    url: Annotated[str, Field(min_length=8, max_length=2000, pattern=r"^https?://")]
    event_types: list[Code] = Field(min_length=1, max_length=100, description='Event topics, or "*" for every event.')


class ActiveIn(Body):
    active: bool


class SubscriptionOut(BaseModel):
    id: int
    url: str
    event_types: list[str]
    active: bool
    created_by: str
    created_at: datetime


class NewSubscriptionOut(SubscriptionOut):
    secret: str = Field(description="The signing secret (whsec_...): shown once, keep it.")


class DeliveryOut(BaseModel):
    id: int
    subscription_id: int
    message_id: str
    topic: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

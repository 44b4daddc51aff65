"""Request and response bodies of the floor: line master data, sequenced demand, inventory,
purchasing and execution (picks, racks, shipments, receipts, line-side checks, KPIs)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field

from jisflow.domain.execution import RecordKind
from jisflow.domain.inventory import LotKind, ReasonCode
from jisflow.domain.plant import SupplyMode
from jisflow.domain.purchasing import OrderState
from jisflow.domain.racks import RackState
from jisflow.domain.transport import ShipmentState
from jisflow.entrypoints.api.schemas import Body, Code, Text

Quantity = Annotated[int, Field(ge=1, le=10**9)]
SignedQuantity = Annotated[int, Field(ge=-(10**9), le=10**9)]
Slot = Annotated[int, Field(ge=1, le=10_000)]


# --------------------------------------------------------------------------- line master data
class StationDetailOut(BaseModel):
    code: str
    name: str
    offset_takts: int
    offset_seconds: int


class BreakOut(BaseModel):
    name: str
    start: time
    end: time


class ShiftOut(BaseModel):
    name: str
    start: time
    end: time
    weekdays: list[int] = Field(description="0 = Monday")
    breaks: list[BreakOut]


class CalendarOut(BaseModel):
    line: str
    timezone: str
    shifts: list[ShiftOut]
    non_working_days: list[date]


class DemandLineOut(BaseModel):
    line: str
    order_id: str
    seq_no: int
    family: str
    station: str
    part_number: str
    quantity: int
    need_time: datetime
    mode: SupplyMode
    supplier: str | None
    broadcast: bool = Field(description="True when the need time follows an actual broadcast, false when it is planned.")


# --------------------------------------------------------------------------- inventory
class ItemOut(BaseModel):
    code: str
    description: str
    unit: str
    coverage_threshold_minutes: int
    on_hand: int
    in_transit: int
    reserved: int


class StockRowOut(BaseModel):
    item: str
    location: str
    lot: str
    on_hand: int


class JitCallIn(Body):
    """The summarized call a JIT delivery answers (its part is the receipt's item)."""

    line: Code
    family: Code
    window_start: AwareDatetime


class ReceiptIn(Body):
    item: Code
    location: Code
    quantity: Quantity
    lot: Annotated[str, Field(max_length=64)] = ""
    lot_kind: LotKind = LotKind.LOT
    purchase_order: Code | None = None
    reference: Text = ""
    jit_call: JitCallIn | None = Field(None, description="A JIT delivery: the summarized call it answers; it counts against the call")


class MoveIn(Body):
    item: Code
    from_location: Code
    to_location: Code
    quantity: Quantity
    lot: Annotated[str, Field(max_length=64)] = ""
    reference: Text = ""


class AdjustmentIn(Body):
    item: Code
    location: Code
    quantity: SignedQuantity = Field(description="Signed: added (positive) or removed (negative).")
    reason: ReasonCode = ReasonCode.ADJUSTMENT
    lot: Annotated[str, Field(max_length=64)] = ""
    note: Text = ""


class CountIn(Body):
    item: Code
    location: Code
    counted: Annotated[int, Field(ge=0, le=10**9)]
    lot: Annotated[str, Field(max_length=64)] = ""


class ProjectionOut(BaseModel):
    item: str
    on_hand: int
    expected: int
    demand: int
    end_balance: int
    first_shortage_at: datetime | None
    first_shortage_line: str | None
    first_shortage_order_id: str | None
    first_shortage_seq_no: int | None
    short_quantity: int
    coverage_minutes: int | None
    line_stop_risk_minutes: Decimal


class ProposalOut(BaseModel):
    item: str
    supplier: str
    quantity: int
    due_at: datetime
    source: str = Field(description="the policy that proposes it: reorder_point, kanban or schedule")
    reason: str
    demand: str | None = Field(None, description="where the demand it answers comes from: chain, forecast or both (null: none, the stock alone is low)")


class PurchaseOrderIn(Body):
    item: Code
    supplier: Code
    quantity: Quantity
    due_at: AwareDatetime
    confirmed_at: AwareDatetime | None = None


class PurchaseOrderOut(BaseModel):
    number: str
    item: str
    supplier: str
    quantity: int
    due_at: datetime
    created_at: datetime
    source: str
    confirmed_at: datetime | None
    received: int
    state: OrderState



class ForecastOut(BaseModel):
    """One period of a customer's forecast (DELFOR, VDA 4905, X12 830/862)."""

    partner: str
    supplier: str
    item: str
    supplier_item: str | None
    unloading_point: str
    due: date
    quantity: int
    cumulative: int
    unit: str
    commitment: str = Field(description="firm (may be shipped against) or planning")
    message: str
    reference: str
    issued: date | None
    received_at: datetime


# --------------------------------------------------------------------------- execution
class PickListIn(Body):
    supplier: Code | None = Field(None, description="Only this supplier's call-off lines; a supplier always gets its own.")


class PickKey(Body):
    order_id: Code
    family: Code


class ConfirmPickIn(Body):
    keys: list[PickKey] = Field(min_length=1, max_length=1000)


class ScanIn(Body):
    rack_id: Code
    slot: Slot
    part_number: Code
    serial: Code


class ScansIn(Body):
    scans: list[ScanIn] = Field(min_length=1, max_length=1000)


class CloseRacksIn(Body):
    rack_ids: list[Code] = Field(default_factory=list, max_length=1000, description="Empty: every rack past its cut-off.")


class PlanLoadsIn(Body):
    until: AwareDatetime | None = None


class RackSlotOut(BaseModel):
    position: int
    order_id: str
    family: str
    seq_no: int
    part_number: str
    number: str
    need_time: datetime
    vin: str | None
    serial: str | None
    filled_at: datetime | None


class RackOut(BaseModel):
    id: str
    rack_type: str
    capacity: int
    supplier: str
    line: str
    unloading_point: str
    family: str
    opened_at: datetime
    cut_off: datetime
    state: RackState
    closed_at: datetime | None
    partial: bool
    shipment: str | None
    slots: list[RackSlotOut]


class ShipmentOut(BaseModel):
    id: str
    lane: str
    carrier: str
    supplier: str
    line: str
    unloading_point: str
    racks: list[str]
    capacity: int
    departure: datetime
    latest_arrival: datetime
    eta: datetime
    emergency: bool
    state: ShipmentState
    departed_at: datetime | None
    received_at: datetime | None


class AsnOut(BaseModel):
    """The despatch advice of a shipment: its racks, slots, sequence numbers and parts."""

    shipment_id: str
    supplier: str
    unloading_point: str
    racks: list[dict[str, Any]]


class EtaIn(Body):
    eta: AwareDatetime


class ReceivedSlotIn(Body):
    position: Slot
    part_number: Code
    serial: Code | None = None


class ReceiptOfShipmentIn(Body):
    racks: dict[Code, list[ReceivedSlotIn]] | None = Field(
        None, description="What was found in each rack; null: everything as announced in the ASN."
    )


class EmergencyIn(Body):
    line: Code
    order_id: Code
    family: Code
    reason: Text = ""


class LineSideScanIn(Body):
    order_id: Code
    part_number: Code
    serial: Code


class LineSideCheckIn(Body):
    station: Code
    scans: list[LineSideScanIn] = Field(min_length=1, max_length=1000)


class ConsumptionIn(Body):
    order_ids: list[Code] = Field(min_length=1, max_length=1000)
    station: Code | None = None


class RecordOut(BaseModel):
    id: int | None
    kind: RecordKind
    at: datetime
    line: str
    order_id: str | None
    family: str | None
    seq_no: int | None
    part_number: str | None
    serial: str | None
    vin: str | None
    rack_id: str | None
    shipment_id: str | None
    data: dict[str, Any]


class KpisOut(BaseModel):
    line: str | None
    on_time_in_sequence: Decimal | None
    sequence_accuracy: Decimal | None
    rack_fill_rate: Decimal | None
    truck_utilisation: Decimal | None
    emergency_deliveries: int
    mean_calloff_to_despatch_seconds: int | None
    wrong_parts_fitted: int
    parts_received: int
    parts_consumed: int

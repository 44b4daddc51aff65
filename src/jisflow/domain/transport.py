"""Transport: lanes, trucks, load plans in reverse unloading order, departure times, shipments.

A lane runs from one supplier to one unloading point; its transit time is a distribution
(``transit`` typical, ``transit_p95`` the 95th percentile used for the safe plan). A truck
carries up to ``truck_racks`` racks. At the dock the rack needed first must come off first, so
it is loaded last: a load plan lists racks in loading order, the reverse of unloading order.

Departure time = earliest need time of the load - unloading buffer (working time of the line:
the dock works the line's shifts) - transit time (clock time: trucks drive through breaks).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jisflow.domain.calendar import LineCalendar
from jisflow.domain.errors import ValidationError
from jisflow.domain.projection import Supply
from jisflow.domain.racks import Rack


@dataclass(frozen=True)
class Lane:
    code: str
    supplier: str
    unloading_point: str
    transit: timedelta
    transit_p95: timedelta
    unloading_buffer: timedelta
    carrier: str = ""
    truck_racks: int = 8

    def __post_init__(self) -> None:
        if self.truck_racks < 1:
            raise ValidationError(f"lane {self.code}: a truck carries at least one rack, not {self.truck_racks}")
        if self.transit_p95 < self.transit:
            raise ValidationError(f"lane {self.code}: the 95th percentile transit time is shorter than the typical one")


def departure_time(lane: Lane, calendar: LineCalendar, earliest_need: datetime) -> datetime:
    """The latest safe departure for a load whose first part is needed at ``earliest_need``."""
    latest_arrival = latest_safe_arrival(lane, calendar, earliest_need)
    return latest_arrival - lane.transit_p95


def latest_safe_arrival(lane: Lane, calendar: LineCalendar, earliest_need: datetime) -> datetime:
    """The latest arrival that still leaves the unloading buffer, counted in working time."""
    return calendar.subtract_working_time(earliest_need, lane.unloading_buffer)


def unloading_order(racks: Sequence[Rack]) -> list[Rack]:
    """Racks in the order the dock takes them off: first needed first."""
    return sorted(racks, key=lambda r: (r.first_need, r.first_seq or 0, r.family))


def load_plan(racks: Sequence[Rack], truck_racks: int) -> list[list[Rack]]:
    """Trucks, first departing first, each listing its racks in loading order (the reverse of
    their unloading order: the rack needed first goes in last)."""
    ordered = unloading_order(racks)
    trucks = [ordered[i : i + truck_racks] for i in range(0, len(ordered), truck_racks)]
    return [list(reversed(truck)) for truck in trucks]


class ShipmentState(str, enum.Enum):
    PLANNED = "PLANNED"
    DEPARTED = "DEPARTED"
    RECEIVED = "RECEIVED"


@dataclass
class Shipment:
    """One truck on one lane: its racks in loading order and its despatch advice (ASN)."""

    id: str
    lane: str
    supplier: str
    line: str
    unloading_point: str
    racks: list[str]  # loading order
    capacity: int
    departure: datetime  # planned (latest safe) departure
    latest_arrival: datetime
    eta: datetime
    emergency: bool = False
    state: ShipmentState = ShipmentState.PLANNED
    departed_at: datetime | None = None
    received_at: datetime | None = None
    asn: list[dict] = field(default_factory=list)  # per rack: id, slots (position, seq, order, part, serial)

    @property
    def late_risk(self) -> bool:
        return self.eta > self.latest_arrival

    @property
    def unloading_sequence(self) -> list[str]:
        return list(reversed(self.racks))


def shipment_parts(shipment: Shipment) -> list[tuple[str, str, str]]:
    """(part number, order id, family) of every slot of the shipment's despatch advice."""
    return [(s["part_number"], s["order_id"], s["family"]) for rack in shipment.asn for s in rack["slots"]]


def expected_receipts(shipment: Shipment, items: Set[str], quantities: Mapping[tuple[str, str], int]) -> list[Supply]:
    """What a despatched truck brings of ``items``: one expected receipt per part number at the
    truck's ETA, counting each slot with its call-off quantity (``quantities`` by order id and
    family; one when unknown). A truck not yet on the road, or received, brings nothing more."""
    if shipment.state is not ShipmentState.DEPARTED:
        return []
    totals: dict[str, int] = {}
    for part, order_id, family in shipment_parts(shipment):
        if part in items:
            totals[part] = totals.get(part, 0) + quantities.get((order_id, family), 1)
    return [Supply(part, shipment.eta, quantity, shipment.id) for part, quantity in sorted(totals.items())]


def new_shipment_id() -> str:
    return "SH-" + uuid.uuid4().hex[:12].upper()

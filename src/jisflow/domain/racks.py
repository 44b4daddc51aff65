"""Sequence racks: containers whose numbered slots hold the parts of consecutive vehicles.

A rack type has ``cells`` x ``layers`` slots and carries some part families. A rack is planned
when a pick list is made: its slots are assigned, in sequence order, to the call-off lines of
one supplier, unloading point and family, so each rack holds one contiguous range of that
family's sequence. The picker then fills the slots in order (slot 1 first); a rack closes when
it is full, or at its cut-off time with what it holds (a *partial* rack, flagged). The life of
a rack::

    OPEN -> CLOSED -> LOADED -> SHIPPED -> RECEIVED -> EMPTIED
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from jisflow.domain.errors import ConflictError


class RackState(str, enum.Enum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    LOADED = "LOADED"
    SHIPPED = "SHIPPED"
    RECEIVED = "RECEIVED"
    EMPTIED = "EMPTIED"


@dataclass(frozen=True)
class RackType:
    code: str
    cells: int
    layers: int = 1
    families: frozenset[str] = frozenset()  # empty: any family whose route names this type

    @property
    def capacity(self) -> int:
        return self.cells * self.layers


@dataclass
class RackSlot:
    """Slot ``position`` (1-based, in sequence order) planned for one call-off line."""

    position: int
    order_id: str
    family: str
    seq_no: int
    part_number: str
    number: str  # the call-off the line belongs to
    need_time: datetime
    vin: str | None = None
    serial: str | None = None
    filled_at: datetime | None = None

    @property
    def filled(self) -> bool:
        return self.filled_at is not None

    @property
    def key(self) -> tuple[str, str]:
        return (self.order_id, self.family)


def new_rack_id() -> str:
    return "RK-" + uuid.uuid4().hex[:12].upper()


@dataclass
class Rack:
    id: str
    rack_type: str
    capacity: int
    supplier: str
    line: str
    unloading_point: str
    family: str
    opened_at: datetime
    cut_off: datetime  # the latest time it may close: the despatch time of its first slot
    slots: list[RackSlot] = field(default_factory=list)
    state: RackState = RackState.OPEN
    closed_at: datetime | None = None
    partial: bool = False
    shipment: str | None = None

    @property
    def first_seq(self) -> int | None:
        return min((s.seq_no for s in self.slots), default=None)

    @property
    def last_seq(self) -> int | None:
        return max((s.seq_no for s in self.slots), default=None)

    @property
    def first_need(self) -> datetime:
        return min(s.need_time for s in self.slots)

    @property
    def filled(self) -> list[RackSlot]:
        return [s for s in self.slots if s.filled]

    @property
    def free(self) -> int:
        return self.capacity - len(self.slots)

    def next_open_slot(self) -> RackSlot | None:
        """The slot to fill next: racks are filled in sequence, slot 1 first."""
        return next((s for s in self.slots if not s.filled), None)

    def slot(self, position: int) -> RackSlot | None:
        return next((s for s in self.slots if s.position == position), None)

    def slot_of(self, order_id: str, family: str) -> RackSlot | None:
        return next((s for s in self.slots if s.key == (order_id, family)), None)

    def plan(self, slot: RackSlot) -> None:
        if self.state is not RackState.OPEN or self.free <= 0:
            raise ConflictError(f"rack {self.id} is {self.state.value} with {self.free} free slot(s): slot for {slot.order_id} cannot be planned")
        if self.last_seq is not None and slot.seq_no <= self.last_seq:
            raise ConflictError(f"rack {self.id} holds up to seq {self.last_seq}: seq {slot.seq_no} would break its sequence range")
        slot.position = len(self.slots) + 1
        self.slots.append(slot)

    def fill(self, position: int, serial: str, at: datetime) -> RackSlot:
        slot = self.next_open_slot()
        if slot is None or slot.position != position:
            raise ConflictError(f"rack {self.id} is filled in sequence: slot {position} is not the next slot to fill")
        slot.serial, slot.filled_at = serial, at
        if len(self.filled) == self.capacity:
            self.close(at)
        return slot

    def close(self, at: datetime) -> list[RackSlot]:
        """Close the rack with what it holds; slots planned but not filled are released (their
        lines go into a later rack). Returns the released slots."""
        released = [s for s in self.slots if not s.filled]
        self.slots = self.filled
        self.state = RackState.CLOSED
        self.closed_at = at
        self.partial = len(self.slots) < self.capacity
        return released

    def reslot(self) -> None:
        """Renumber the slots by sequence number (after vehicles moved inside the range)."""
        self.slots.sort(key=lambda s: s.seq_no)
        for i, s in enumerate(self.slots, start=1):
            s.position = i

    @property
    def fill_rate(self) -> tuple[int, int]:
        return len(self.filled), self.capacity

"""JIS call-offs and JIT summarized calls.

A JIS call-off is the sequenced call sent to one supplier for one unloading point; it has one
line per vehicle and family. The life of a call-off line, in one place::

    CREATED -> SENT -> ACKNOWLEDGED -> PICKED -> PACKED -> SHIPPED -> DELIVERED -> CONSUMED
       |        |          |             |         |
       |        +----------+-------------+---------+--> AMENDED --> SENT (re-sent)
       |        |          |             |         |    AMENDED --> AMENDED (amended again)
       +--------+----------+-------------+---------+--> CANCELLED   (AMENDED -> CANCELLED too)

A line not yet sent (CREATED) is amended in place, since nobody has seen it: it stays CREATED
and ``amendments`` counts only the amendments a supplier was told of. Once a part is
SHIPPED, a sequence change can no longer be settled by a message: it is refused with
``IllegalTransition`` and the caller raises an alert for a physical action.

A JIT route gets summarized calls instead: one quantity of a part per time window, the sum of
the vehicles whose need time falls in that window.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from jisflow.domain.errors import IllegalTransition
from jisflow.domain.events import CallOffLineChanged, Event, SummarizedCallChanged


class CallOffState(str, enum.Enum):
    CREATED = "CREATED"
    SENT = "SENT"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    PICKED = "PICKED"
    PACKED = "PACKED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CONSUMED = "CONSUMED"
    AMENDED = "AMENDED"
    CANCELLED = "CANCELLED"


S = CallOffState
_BEFORE_SHIPMENT = (S.CREATED, S.SENT, S.ACKNOWLEDGED, S.PICKED, S.PACKED)

TRANSITIONS: dict[CallOffState, frozenset[CallOffState]] = {
    S.CREATED: frozenset({S.SENT, S.CANCELLED}),
    S.SENT: frozenset({S.ACKNOWLEDGED, S.AMENDED, S.CANCELLED}),
    S.ACKNOWLEDGED: frozenset({S.PICKED, S.AMENDED, S.CANCELLED}),
    S.PICKED: frozenset({S.PACKED, S.AMENDED, S.CANCELLED}),
    S.PACKED: frozenset({S.SHIPPED, S.AMENDED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.CONSUMED}),
    S.CONSUMED: frozenset(),
    S.AMENDED: frozenset({S.SENT, S.AMENDED, S.CANCELLED}),
    S.CANCELLED: frozenset(),
}

AMENDABLE = frozenset(_BEFORE_SHIPMENT) | {S.AMENDED}


def new_calloff_number() -> str:
    """A call-off number unique across processes and plants, e.g. ``CO-7F3A9C0D12E4B5A6``."""
    return "CO-" + uuid.uuid4().hex[:16].upper()


@dataclass
class CallOffLine:
    number: str  # the call-off this line belongs to
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
    ship_by: datetime  # latest despatch: need time minus the route's lead time
    state: CallOffState = CallOffState.CREATED
    amendments: int = 0
    updated_at: datetime | None = None
    id: int | None = None
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.line, self.order_id, self.family)

    @property
    def live(self) -> bool:
        return self.state is not CallOffState.CANCELLED

    def transition(self, to: CallOffState, at: datetime, reason: str = "") -> None:
        if to not in TRANSITIONS[self.state]:
            raise IllegalTransition(
                f"call-off line {self.number} {self.order_id}/{self.family} cannot go from {self.state.value} to {to.value}"
                + (f" ({reason})" if reason else "")
            )
        old = self.state
        self.state = to
        self.updated_at = at
        self.events.append(
            CallOffLineChanged(self.number, self.supplier, self.line, self.order_id, self.family, old.value, to.value, self.seq_no, self.part_number, reason)
        )

    def amend(
        self,
        at: datetime,
        *,
        seq_no: int,
        rolling_no: int,
        part_number: str,
        quantity: int,
        need_time: datetime,
        ship_by: datetime,
        vin: str | None,
        reason: str,
        order_kept: bool = False,
    ) -> bool:
        """Bring the line in line with the vehicle's new place or spec. Returns whether
        anything changed. A new number, part, quantity or VIN is an amendment (the supplier
        must hear of it); a new need time alone is only refreshed.

        ``order_kept`` says the vehicle only took a new number because others were inserted or
        moved around it, its order among its neighbours unchanged: a part already shipped is
        then still in the right place, and its line just takes the new number. Any other change
        to a shipped line raises IllegalTransition (a physical action is needed)."""
        new = (seq_no, rolling_no, part_number, quantity, vin)
        old = (self.seq_no, self.rolling_no, self.part_number, self.quantity, self.vin)
        if new == old:
            if (need_time, ship_by) == (self.need_time, self.ship_by):
                return False
            self.need_time, self.ship_by, self.updated_at = need_time, ship_by, at
            return True
        if self.state not in AMENDABLE and order_kept and new[2:] == old[2:]:
            self.seq_no, self.rolling_no = seq_no, rolling_no
            self.need_time, self.ship_by, self.updated_at = need_time, ship_by, at
            return True
        if self.state not in AMENDABLE:
            raise IllegalTransition(
                f"call-off line {self.number} {self.order_id}/{self.family} is {self.state.value}: "
                f"it can no longer be amended ({reason})"
            )
        self.seq_no, self.rolling_no, self.part_number, self.quantity, self.vin = new
        self.need_time, self.ship_by = need_time, ship_by
        if self.state is CallOffState.CREATED:
            self.updated_at = at
        else:
            self.amendments += 1
            self.transition(CallOffState.AMENDED, at, reason)
        return True


@dataclass
class CallOff:
    """A sequenced call to one supplier for one unloading point."""

    number: str
    supplier: str
    unloading_point: str
    line: str
    issued_at: datetime
    lines: list[CallOffLine] = field(default_factory=list)


def window_of(t: datetime, length: timedelta) -> tuple[datetime, datetime]:
    """The window of ``length`` (aligned on UTC midnight) that holds ``t``."""
    day = t.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    n = (t - day) // length
    start = day + n * length
    return start, start + length


@dataclass
class SummarizedCall:
    """A JIT call: a quantity of one part for one window, summed over vehicles."""

    line: str
    family: str
    supplier: str
    part_number: str
    window_start: datetime
    window_end: datetime
    contributions: dict[str, int] = field(default_factory=dict)  # order id -> quantity
    updated_at: datetime | None = None
    delivered: int = 0  # pieces received against it (a receipt that names the call)
    id: int | None = None
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str, str, datetime]:
        return (self.line, self.family, self.part_number, self.window_start)

    @property
    def quantity(self) -> int:
        return sum(self.contributions.values())

    @property
    def open_quantity(self) -> int:
        """Pieces still to come: an expected receipt of the part at the window's start."""
        return max(0, self.quantity - self.delivered)

    def set_contribution(self, order_id: str, quantity: int, at: datetime) -> bool:
        """Count (or, with 0, uncount) one vehicle; returns whether the call changed."""
        if self.contributions.get(order_id, 0) == quantity:
            return False
        if quantity:
            self.contributions[order_id] = quantity
        else:
            self.contributions.pop(order_id, None)
        self.updated_at = at
        self.events.append(
            SummarizedCallChanged(self.line, self.supplier, self.family, self.part_number, self.window_start, self.window_end, self.quantity)
        )
        return True


CallWindow = tuple[str, str, datetime]
"""Where a line's summarized call is kept: (family, part number, window start)."""


@dataclass(frozen=True)
class StoredCalls:
    """Summarized calls of one line as the store holds them, read for one reconcile."""

    counting: dict[str, list[SummarizedCall]] = field(default_factory=dict)
    """Order id -> the calls that count the vehicle."""
    windows: dict[CallWindow, SummarizedCall] = field(default_factory=dict)
    """The stored calls of the windows asked for (a window without a call is left out)."""

"""Time-phased projection of an item's stock over the sequence horizon.

projected stock(t) = on hand now + expected receipts due by t - sequenced demand needed by t

Receipts (open purchase orders at their confirmed time, despatched shipments at their ETA)
count before a demand at the same instant: a truck that arrives at 08:00 serves the 08:00 need.
Demand lines are taken in reservation order (need time, then sequence number). For each item
the projection gives:

- the **first shortage**: the first demand line that the stock cannot cover, its need time,
  line, vehicle and sequence number;
- **coverage**: working time from now to that first shortage (None: covered over the horizon);
- **line-stop risk**: the production time of every vehicle left short, in minutes (each short
  vehicle is one takt of its line that cannot be built).

``Projector`` keeps the demand of every item in rank order, so an event (a broadcast, a
change, a receipt, a consumption) re-projects only the items it touched.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from operator import attrgetter
from typing import ClassVar

from jisflow.domain.alerts import Alert, AlertKind
from jisflow.domain.errors import NotFound
from jisflow.domain.events import Event


@dataclass(frozen=True, slots=True)
class Demand:
    """One sequenced demand line of an item."""

    item: str
    need_time: datetime
    seq_no: int
    line: str
    order_id: str
    quantity: int
    takt_seconds: int = 60

    @property
    def rank(self) -> tuple[datetime, int, str, str]:
        return (self.need_time, self.seq_no, self.line, self.order_id)


@dataclass(frozen=True, slots=True)
class Supply:
    """An expected receipt: an open purchase order or a despatched shipment."""

    item: str
    at: datetime
    quantity: int
    reference: str = ""


WorkingTime = Callable[[str, datetime, datetime], timedelta]
"""(line, start, end) -> working time of that line between the two instants."""


def wall_clock(_line: str, start: datetime, end: datetime) -> timedelta:
    return max(end - start, timedelta(0))


@dataclass(frozen=True)
class ItemProjection:
    item: str
    on_hand: int
    expected: int  # receipts expected over the horizon
    demand: int  # demand over the horizon
    end_balance: int  # projected stock once every receipt and demand is counted
    first_shortage_at: datetime | None
    first_shortage_line: str | None
    first_shortage_order_id: str | None
    first_shortage_seq_no: int | None
    short_quantity: int  # units the demand misses over the horizon
    coverage: timedelta | None  # None: no shortage over the horizon
    line_stop_risk_minutes: Decimal
    steps: tuple[tuple[datetime, int], ...] = ()  # (time, projected stock after it), when asked

    @property
    def coverage_hours(self) -> Decimal | None:
        if self.coverage is None:
            return None
        return (Decimal(int(self.coverage.total_seconds())) / 3600).quantize(Decimal("0.01"))

    def below(self, threshold_minutes: int) -> bool:
        """True when a shortage comes sooner than ``threshold_minutes`` of production."""
        return self.coverage is not None and self.coverage < timedelta(minutes=threshold_minutes)


NEED_TIME = attrgetter("need_time")
RANK = attrgetter("need_time", "seq_no", "line", "order_id")
_QUANTITY = attrgetter("quantity")
_VEHICLE = attrgetter("line", "order_id")
_TAKT = attrgetter("takt_seconds")
_ORDER_ID = attrgetter("order_id")
_AT = attrgetter("at")


def project_item(
    item: str,
    on_hand: int,
    supplies: Iterable[Supply],
    demands: Iterable[Demand],
    now: datetime,
    working_time: WorkingTime = wall_clock,
    with_steps: bool = False,
) -> ItemProjection:
    """Project one item. ``demands`` must be in rank order; ``supplies`` in any order.

    The receipts cut the demand into segments; within a segment the stock left before the
    i-th demand is ``base - cumulative demand``, so the first shortage of a segment is found by
    bisection on the cumulative demand, and the units it misses are the cumulative demand at
    the segment's end less what was there (``base``, or the running total when a backlog was
    carried into the segment).
    """
    lines = demands if isinstance(demands, list) else list(demands)
    incoming = sorted(supplies, key=_AT)
    if with_steps:
        return _project_stepwise(item, on_hand, incoming, lines, now, working_time)
    cumulative = list(accumulate(map(_QUANTITY, lines)))
    first: Demand | None = None
    short_units = 0
    short: list[Demand] = []
    base, lo = on_hand, 0
    cuts = [(bisect.bisect_left(lines, s.at, key=NEED_TIME), s.quantity) for s in incoming]
    for hi, quantity in [*cuts, (len(lines), 0)]:
        if lo < hi:
            k = bisect.bisect_right(cumulative, base, lo, hi)
            if k < hi:
                short_units += cumulative[hi - 1] - max(base, cumulative[lo - 1] if lo else 0)
                if first is None:
                    first = lines[k]
                short += lines[k:hi]
            lo = hi
        base += quantity
    expected = sum(map(_QUANTITY, incoming))
    total = cumulative[-1] if cumulative else 0
    return _result(item, on_hand, expected, total, on_hand + expected - total, first, short_units, _risk_seconds(short), now, working_time, ())


def _risk_seconds(short: list[Demand]) -> int:
    """One takt per vehicle left short. A vehicle usually needs an item once (its order ids
    are then all different, and each line counts); otherwise each vehicle counts once."""
    if len(set(map(_ORDER_ID, short))) == len(short):
        return sum(map(_TAKT, short))
    return sum(dict(zip(map(_VEHICLE, short), map(_TAKT, short))).values())


def _project_stepwise(item: str, on_hand: int, incoming: list[Supply], demands: list[Demand], now: datetime, working_time: WorkingTime) -> ItemProjection:
    """The same projection walked event by event, recording the stock after each event."""
    balance, next_supply, expected, total = on_hand, 0, 0, 0
    first: Demand | None = None
    short_units, risk_seconds = 0, 0
    short_vehicles: set[tuple[str, str]] = set()
    steps: list[tuple[datetime, int]] = [(now, on_hand)]
    for d in demands:
        while next_supply < len(incoming) and incoming[next_supply].at <= d.need_time:
            s = incoming[next_supply]
            balance += s.quantity
            expected += s.quantity
            next_supply += 1
            steps.append((s.at, balance))
        before = balance
        balance -= d.quantity
        total += d.quantity
        steps.append((d.need_time, balance))
        if balance < 0:
            short_units += d.quantity - max(before, 0)
            if first is None:
                first = d
            if (d.line, d.order_id) not in short_vehicles:
                short_vehicles.add((d.line, d.order_id))
                risk_seconds += d.takt_seconds
    for s in incoming[next_supply:]:
        balance += s.quantity
        expected += s.quantity
        steps.append((s.at, balance))
    return _result(item, on_hand, expected, total, balance, first, short_units, risk_seconds, now, working_time, tuple(steps))


def _result(
    item: str, on_hand: int, expected: int, total: int, end_balance: int, first: Demand | None, short_units: int,
    risk_seconds: int, now: datetime, working_time: WorkingTime, steps: tuple[tuple[datetime, int], ...],
) -> ItemProjection:
    return ItemProjection(
        item=item,
        on_hand=on_hand,
        expected=expected,
        demand=total,
        end_balance=end_balance,
        first_shortage_at=first.need_time if first else None,
        first_shortage_line=first.line if first else None,
        first_shortage_order_id=first.order_id if first else None,
        first_shortage_seq_no=first.seq_no if first else None,
        short_quantity=short_units,
        coverage=working_time(first.line, now, first.need_time) if first else None,
        line_stop_risk_minutes=Decimal(risk_seconds) / 60,
        steps=steps,
    )


class Projector:
    """Projections of many items, kept current event by event.

    ``demands`` come in rank order, as the reservation store hands them out; each item keeps
    its own list in that order. An event gives the demand lines it removed and added (a
    broadcast, a resequence or a spec change: the vehicle's old and new lines; a cancellation
    or a consumption: old lines only); only the items concerned are projected again.
    """

    def __init__(
        self,
        now: datetime,
        on_hand: Mapping[str, int],
        supplies: Iterable[Supply],
        demands: Iterable[Demand],
        working_time: WorkingTime = wall_clock,
    ) -> None:
        self.now = now
        self.working_time = working_time
        self.on_hand: dict[str, int] = dict(on_hand)
        self.supplies: dict[str, list[Supply]] = defaultdict(list)
        for s in supplies:
            self.supplies[s.item].append(s)
        by_item: dict[str, list[Demand]] = defaultdict(list)
        for d in demands:
            by_item[d.item].append(d)
        self.demands = by_item
        self.projections: dict[str, ItemProjection] = {}

    def items(self) -> set[str]:
        return set(self.on_hand) | set(self.demands) | set(self.supplies)

    def project(self, item: str) -> ItemProjection:
        result = project_item(
            item, self.on_hand.get(item, 0), self.supplies.get(item, ()), self.demands.get(item, []), self.now, self.working_time
        )
        self.projections[item] = result
        return result

    def project_all(self) -> dict[str, ItemProjection]:
        for item in sorted(self.items()):
            self.project(item)
        return self.projections

    def apply(self, removed: Iterable[Demand], added: Iterable[Demand]) -> dict[str, ItemProjection]:
        """Take out the ``removed`` demand lines, put the ``added`` ones in their places;
        returns the new projections of the items touched."""
        touched: set[str] = set()
        for old in removed:
            lines = self.demands[old.item]
            index = bisect.bisect_left(lines, old.rank, key=RANK)
            while index < len(lines) and lines[index] != old:
                index += 1
            if index == len(lines):
                raise NotFound(f"no demand line {old.line}/{old.order_id} of {old.item} to remove")
            del lines[index]
            touched.add(old.item)
        for d in added:
            lines = self.demands[d.item]
            lines.insert(bisect.bisect_right(lines, d.rank, key=RANK), d)
            touched.add(d.item)
        return {item: self.project(item) for item in sorted(touched)}

    def set_on_hand(self, item: str, quantity: int) -> ItemProjection:
        self.on_hand[item] = quantity
        return self.project(item)

    def set_supplies(self, item: str, supplies: Iterable[Supply]) -> ItemProjection:
        self.supplies[item] = list(supplies)
        return self.project(item)


@dataclass(frozen=True)
class ShortageProjected(Event):
    """An item's projected coverage dropped below its threshold."""

    topic: ClassVar[str] = "inventory.shortage_projected"
    item: str
    line: str
    order_id: str
    seq_no: int
    first_shortage_at: datetime
    coverage_minutes: int
    threshold_minutes: int
    line_stop_risk_seconds: int


def shortage_alert(projection: ItemProjection, threshold_minutes: int, at: datetime) -> tuple[Alert, ShortageProjected] | None:
    """The alert and event to raise when the projection falls under the item's threshold."""
    if not projection.below(threshold_minutes):
        return None
    assert projection.coverage is not None and projection.first_shortage_at is not None
    line, order_id, seq_no = projection.first_shortage_line or "", projection.first_shortage_order_id or "", projection.first_shortage_seq_no or 0
    coverage_minutes = int(projection.coverage.total_seconds() // 60)
    risk_seconds = int(projection.line_stop_risk_minutes * 60)
    message = (
        f"{projection.item} runs short at {projection.first_shortage_at:%Y-%m-%d %H:%M}Z for vehicle {order_id} (seq {seq_no}) "
        f"on line {line}: coverage {coverage_minutes} min, threshold {threshold_minutes} min, "
        f"line-stop risk {projection.line_stop_risk_minutes.normalize()} min"
    )
    alert = Alert(
        kind=AlertKind.SHORTAGE_PROJECTED, line=line, message=message, raised_at=at, order_id=order_id, seq_no=seq_no,
        details={"item": projection.item, "coverage_minutes": coverage_minutes, "short_quantity": projection.short_quantity},
    )
    event = ShortageProjected(projection.item, line, order_id, seq_no, projection.first_shortage_at, coverage_minutes, threshold_minutes, risk_seconds)
    return alert, event

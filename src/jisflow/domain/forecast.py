"""Customer forecasts as the receiving side keeps them: per partner, supplier, item, unloading
point and period, with the quantity, the cumulative quantity and the message it came from.

A forecast message (EDIFACT DELFOR, VDA 4905, X12 830 or 862) carries, per part, a run of
periods. Stored, each period is one ``ForecastLine``. A newer message from the same partner
supersedes the older one for the same item within its own horizon (its first to its last
period): the older lines inside that window are replaced, those outside it stay. A message
older than what is stored for that window (by its issue date) changes nothing for it and is
reported as stale.

::

    plan = supersede(stored, [received], interchange="edifact:OEM:SUP:42", at=now)
    plan.remove   # keys of the stored lines to drop
    plan.add      # the new lines

Planning reads the stored lines as periods (``periods_of``): each quantity is demand of the
part due at its period's start (see there why not spread over the period).
"""

from __future__ import annotations

import enum
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from jisflow.domain.errors import ProblemCollector


class Commitment(str, enum.Enum):
    FIRM = "firm"  # may be shipped against
    PLANNING = "planning"  # a forecast only


Scope = tuple[str, str, str, str]  # partner, supplier, item, unloading point
Key = tuple[str, str, str, str, date]  # the scope and the period's date


@dataclass(frozen=True)
class ForecastLine:
    partner: str  # who sent the forecast (the customer)
    supplier: str  # to whom
    item: str  # the customer's part number
    unloading_point: str
    due: date
    supplier_item: str | None
    unit: str
    quantity: int
    cumulative: int  # the cumulative quantity up to and including this period
    commitment: Commitment
    message: str  # DELFOR, VDA4905, 830, 862
    reference: str  # the schedule (call-off) number of the message
    issued: date | None
    interchange: str
    received_at: datetime

    @property
    def scope(self) -> Scope:
        return (self.partner, self.supplier, self.item, self.unloading_point)

    @property
    def key(self) -> Key:
        return (*self.scope, self.due)


@dataclass(frozen=True)
class ReceivedPeriod:
    due: date
    quantity: int
    commitment: Commitment


@dataclass(frozen=True)
class ReceivedForecast:
    """One part's schedule out of one message, before it is stored."""

    where: str  # position in the message, for problems
    partner: str
    supplier: str
    item: str
    supplier_item: str | None
    unloading_point: str
    unit: str
    message: str
    reference: str
    issued: date | None
    periods: tuple[ReceivedPeriod, ...]
    base_cumulative: int = 0  # what the partner counts as received before the first period (VDA 4905)

    @property
    def scope(self) -> Scope:
        return (self.partner, self.supplier, self.item, self.unloading_point)


@dataclass
class SupersedePlan:
    remove: list[Key] = field(default_factory=list)
    add: list[ForecastLine] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # where: the parts older than what is stored

    @property
    def periods(self) -> int:
        return len(self.add)


def check(received: Iterable[ReceivedForecast]) -> None:
    """A ValidationError naming every part that cannot be stored (nothing is stored then)."""
    found = ProblemCollector()
    for rf in received:
        if not rf.partner:
            found.add(rf.where, "the message names no sender (buyer) of the forecast")
        if not rf.supplier:
            found.add(rf.where, "the message names no supplier (seller) of the forecast")
        if not rf.item:
            found.add(rf.where, "the part has no part number")
        if rf.base_cumulative < 0:
            found.add(rf.where, f"cumulative quantity {rf.base_cumulative} is negative")
        for p in rf.periods:
            if p.quantity < 0:
                found.add(rf.where, f"quantity {p.quantity} due {p.due.isoformat()} is negative")
    found.raise_if_any(f"forecast refused: {len(found.problems)} problem(s), nothing stored")


def lines_of(rf: ReceivedForecast, interchange: str, at: datetime) -> list[ForecastLine]:
    """The stored form of one part's schedule: periods of the same date merged (firm if any
    is firm), in date order, with cumulative quantities from the part's base."""
    merged: dict[date, tuple[int, Commitment]] = {}
    for p in rf.periods:
        quantity, commitment = merged.get(p.due, (0, Commitment.PLANNING))
        firm = Commitment.FIRM in (commitment, p.commitment)
        merged[p.due] = (quantity + p.quantity, Commitment.FIRM if firm else Commitment.PLANNING)
    out, cumulative = [], rf.base_cumulative
    for due in sorted(merged):
        quantity, commitment = merged[due]
        cumulative += quantity
        out.append(ForecastLine(
            rf.partner, rf.supplier, rf.item, rf.unloading_point, due, rf.supplier_item, rf.unit, quantity, cumulative,
            commitment, rf.message, rf.reference, rf.issued, interchange, at,
        ))
    return out


def _newer(stored: date | None, incoming: date | None) -> bool:
    """Whether a stored line was issued after the incoming message (undated ones never are)."""
    return stored is not None and incoming is not None and stored > incoming


def supersede(stored: Iterable[ForecastLine], received: Iterable[ReceivedForecast], interchange: str, at: datetime) -> SupersedePlan:
    """What to remove and add so the received forecasts replace the older ones in their horizon.

    The received parts are applied in order, so a later part of the same interchange for the
    same scope wins over an earlier one."""
    before: dict[Key, ForecastLine] = {ln.key: ln for ln in stored}
    current = dict(before)
    plan = SupersedePlan()
    for rf in received:
        new = lines_of(rf, interchange, at)
        if not new:
            continue
        first, last = new[0].due, new[-1].due
        inside = [ln for ln in current.values() if ln.scope == rf.scope and first <= ln.due <= last]
        if any(_newer(ln.issued, rf.issued) for ln in inside):
            plan.stale.append(rf.where)
            continue
        for ln in inside:
            del current[ln.key]
        for ln in new:
            current[ln.key] = ln
    plan.remove = sorted(k for k, ln in before.items() if current.get(k) != ln)
    plan.add = sorted((ln for k, ln in current.items() if before.get(k) != ln), key=lambda ln: ln.key)
    return plan


@dataclass(frozen=True)
class ForecastPeriod:
    """One period of a part's forecast as planning reads it: ``quantity`` is due at ``start``;
    the period runs until ``end``."""

    item: str
    start: datetime
    end: datetime
    quantity: int
    commitment: Commitment
    partner: str = ""


def part_of(line: ForecastLine, known: Container[str]) -> str:
    """The part a forecast line is demand of: the customer's part number (the number the
    call-offs and the pearl chain carry) when it is known here, else the supplier's part number
    the message gives when that one is known, else the customer's."""
    if line.item in known or not line.supplier_item or line.supplier_item not in known:
        return line.item
    return line.supplier_item


def periods_of(lines: Iterable[ForecastLine], known: Container[str] = ()) -> list[ForecastPeriod]:
    """The stored lines as periods of their parts (``part_of``), by part, start and partner.

    A message dates each quantity (DELFOR's delivery date, the 830/862 FST date, the VDA 4905
    call-off date) and the stored line keeps only that date, so a period runs from that date
    (midnight UTC) to the next date of the same customer, part and unloading point; the last
    one is as long as the one before it, a day when it stands alone.

    The whole quantity of a period is due at its start rather than spread over it: the
    customer may call any of it off from the period's first day, and spreading it would need
    the customer's working calendar, which no forecast message carries. Planning therefore has
    a period's quantity in hand (or on order) by the period's start."""
    by_scope: dict[Scope, list[ForecastLine]] = {}
    for ln in lines:
        by_scope.setdefault(ln.scope, []).append(ln)
    out: list[ForecastPeriod] = []
    for scope in sorted(by_scope):
        run = sorted(by_scope[scope], key=lambda ln: ln.due)
        starts = [datetime.combine(ln.due, time(), tzinfo=UTC) for ln in run]
        for n, ln in enumerate(run):
            if n + 1 < len(starts):
                end = starts[n + 1]
            else:
                end = starts[n] + (starts[n] - starts[n - 1] if n else timedelta(days=1))
            out.append(ForecastPeriod(part_of(ln, known), starts[n], end, ln.quantity, ln.commitment, ln.partner))
    return sorted(out, key=lambda p: (p.item, p.start, p.end, p.partner))

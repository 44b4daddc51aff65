"""The inventory ledger: items, the location tree, lots, stock and the movements that change it,
and the reservations that promise stock to sequenced demand.

Every quantity change is an append-only ``Movement`` with a reason code, an actor and a time;
the stock of an item in a location and lot, and the item's balances, are always the sum of its
movements. The commitment levels are kept apart:

- **on hand**: in every location except in-transit ones;
- **in transit**: in locations of kind ``in_transit`` (despatched, not yet received);
- **reserved**: the part of on hand promised to demand lines (``filled`` of the reservations);
- **available** = on hand - reserved, never negative.

Reservations follow the pearl chain, never document dates: they are ranked by need time, then
sequence number, and on-hand stock fills them like a waterfall in that order (``allocate``).
A resequence changes the ranks and so re-allocates, a cancellation removes the reservation, a
late receipt fills the earliest open need first. A stock decrease whose reason takes only free
stock (an issue, scrap, a transfer into transit) is refused with ``InsufficientStock`` when it
would eat promised stock; a count correction or an adjustment states a physical fact, and the
reservations with the latest needs give their units back.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from jisflow.domain.errors import ConflictError, Problem, ProblemCollector, ValidationError


class InsufficientStock(ConflictError):
    """A request needs more stock than there is; ``problems`` names every shortfall."""

    code = "insufficient_stock"


class LocationKind(str, enum.Enum):
    WAREHOUSE = "warehouse"
    ZONE = "zone"
    AISLE = "aisle"
    BIN = "bin"
    SUPERMARKET = "supermarket"  # line-side supermarket
    IN_TRANSIT = "in_transit"
    RACK_SLOT = "rack_slot"


class LotKind(str, enum.Enum):
    LOT = "lot"
    SERIAL = "serial"  # one unit at most


class ReasonCode(str, enum.Enum):
    """Every reason a quantity may change."""

    RECEIPT = "receipt"
    ISSUE_TO_LINE = "issue_to_line"
    BACKFLUSH = "backflush"
    TRANSFER = "transfer"
    ADJUSTMENT = "adjustment"
    SCRAP = "scrap"
    COUNT_CORRECTION = "count_correction"


# Which reasons may take back stock already promised to demand (physical facts), and which may
# only take free stock. A table, so a new reason states its rule in one place.
TAKES_PROMISED_STOCK: dict[ReasonCode, bool] = {
    ReasonCode.RECEIPT: False,
    ReasonCode.ISSUE_TO_LINE: False,
    ReasonCode.BACKFLUSH: True,  # consumes the vehicle's own reservation
    ReasonCode.TRANSFER: False,
    ReasonCode.ADJUSTMENT: True,
    ReasonCode.SCRAP: False,
    ReasonCode.COUNT_CORRECTION: True,
}

# Removal strategy: where a backflush takes stock from first (line side before the warehouse).
REMOVAL_ORDER: dict[LocationKind, int] = {
    LocationKind.RACK_SLOT: 0,
    LocationKind.SUPERMARKET: 1,
    LocationKind.BIN: 2,
    LocationKind.AISLE: 3,
    LocationKind.ZONE: 4,
    LocationKind.WAREHOUSE: 5,
}


@dataclass(frozen=True)
class Item:
    code: str
    description: str = ""
    unit: str = "pcs"
    coverage_threshold_minutes: int = 0  # ShortageProjected when coverage drops below this

    def problems(self, where: str = "") -> list[Problem]:
        found = ProblemCollector()
        if not self.code.strip():
            found.add(where or "item", "code is empty")
        if self.coverage_threshold_minutes < 0:
            found.add(where or self.code, "coverage threshold must not be negative")
        return found.problems


@dataclass(frozen=True)
class Location:
    """A place that holds stock; locations form a tree (warehouse > zone > aisle > bin)."""

    code: str
    kind: LocationKind
    name: str = ""
    parent: str | None = None


def check_locations(new: Iterable[Location], existing: Mapping[str, Location]) -> None:
    """Every problem of locations to add: duplicates, unknown parents. Parents may come earlier
    in the same batch; a tree cannot gain a cycle since a new location is nobody's parent yet."""
    found = ProblemCollector()
    known = dict(existing)
    for loc in new:
        where = f"location {loc.code}"
        if not loc.code.strip():
            found.add("location", "code is empty")
        elif loc.code in known:
            found.add(where, "already exists")
        if loc.parent is not None and loc.parent not in known:
            found.add(where, f"parent {loc.parent} does not exist")
        if loc.parent == loc.code:
            found.add(where, "cannot be its own parent")
        known[loc.code] = loc
    found.raise_if_any("locations rejected")


@dataclass(frozen=True)
class Movement:
    """One append-only line of the ledger: a signed quantity of an item in a location and lot."""

    item: str
    location: str
    lot: str
    quantity: int
    reason: ReasonCode
    actor: str
    at: datetime
    reference: str = ""
    note: str = ""
    id: int | None = None


@dataclass
class Balance:
    item: str
    on_hand: int = 0
    in_transit: int = 0
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass
class Reservation:
    """Stock promised to one demand line (one vehicle's part of one family)."""

    item: str
    line: str
    order_id: str
    family: str
    seq_no: int
    need_time: datetime
    quantity: int
    filled: int = 0
    consumed_at: datetime | None = None
    id: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.line, self.order_id, self.family)

    @property
    def rank(self) -> tuple[datetime, int, str, str, str]:
        """Earlier need first, then lower sequence number (ties broken by the key)."""
        return (self.need_time, self.seq_no, self.line, self.order_id, self.family)

    @property
    def open(self) -> int:
        return self.quantity - self.filled

    def copy(self) -> Reservation:
        """A reservation of its own (its fields are plain values), made without the generic
        machinery of ``copy.copy``: stores hand out tens of thousands at a time."""
        new = object.__new__(Reservation)
        new.__dict__.update(self.__dict__)
        return new


def allocate(on_hand: int, reservations: Iterable[Reservation]) -> dict[tuple[str, str, str], int]:
    """How much each live reservation gets: on-hand stock poured over them in rank order.

    >>> from datetime import datetime, UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> a = Reservation("X", "L", "A", "F", 2, t, 3)
    >>> b = Reservation("X", "L", "B", "F", 1, t, 3)
    >>> allocate(4, [a, b])
    {('L', 'B', 'F'): 3, ('L', 'A', 'F'): 1}
    """
    left = max(on_hand, 0)
    filled: dict[tuple[str, str, str], int] = {}
    for r in sorted((r for r in reservations if r.consumed_at is None), key=lambda r: r.rank):
        take = min(r.quantity, left)
        filled[r.key] = take
        left -= take
    return filled


@dataclass
class ItemStock:
    """Aggregate: one item's stock by location and lot, its balance and its reservations.

    Changes are recorded (movements, stock deltas, balance deltas, changed reservations) for
    the repository to write as database-side increments.
    """

    item: Item
    balance: Balance
    stock: dict[tuple[str, str], int]  # (location, lot) -> on hand
    location_kinds: Mapping[str, LocationKind]
    reservations: list[Reservation] = field(default_factory=list)
    serial_lots: frozenset[str] = frozenset()
    movements: list[Movement] = field(default_factory=list)
    stock_deltas: dict[tuple[str, str], int] = field(default_factory=dict)
    balance_delta: Balance = field(init=False)
    changed: dict[tuple[str, str, str], Reservation] = field(default_factory=dict)
    removed: dict[tuple[str, str, str], Reservation] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.balance_delta = Balance(self.item.code)

    # ------------------------------------------------------------------ ledger
    def post(self, movements: Iterable[Movement]) -> None:
        """Apply movements of this item; every problem of the batch is found before one
        error is raised, and nothing changes then."""
        batch = list(movements)
        stock = dict(self.stock)
        on_hand, in_transit = self.balance.on_hand, self.balance.in_transit
        takes_promised = False
        bad, short = ProblemCollector(), ProblemCollector()
        for m in batch:
            where = f"{m.item} at {m.location}" + (f" lot {m.lot}" if m.lot else "")
            if m.item != self.item.code:
                bad.add(where, f"movement of another item than {self.item.code}")
                continue
            if m.location not in self.location_kinds:
                bad.add(where, f"location {m.location} does not exist")
                continue
            if m.quantity == 0:
                bad.add(where, "quantity is zero")
                continue
            key = (m.location, m.lot)
            stock[key] = stock.get(key, 0) + m.quantity
            if stock[key] < 0:
                short.add(where, f"holds {stock[key] - m.quantity}, cannot give {-m.quantity}")
            if m.lot in self.serial_lots and stock[key] > 1:
                bad.add(where, f"serial number {m.lot} would be there {stock[key]} times")
            if self.location_kinds[m.location] is LocationKind.IN_TRANSIT:
                in_transit += m.quantity
            else:
                on_hand += m.quantity
                takes_promised = takes_promised or (m.quantity < 0 and TAKES_PROMISED_STOCK[m.reason])
        if not short and not takes_promised and on_hand < self.balance.reserved:
            short.add(
                self.item.code,
                f"only {self.balance.available} available (on hand {self.balance.on_hand}, reserved {self.balance.reserved}); "
                f"{self.balance.on_hand - on_hand} asked",
            )
        bad.raise_if_any(f"stock of {self.item.code} cannot change: {len(bad.problems)} problem(s), nothing changed")
        short.raise_if_any(f"not enough {self.item.code}: nothing changed", InsufficientStock)
        for m in batch:
            key = (m.location, m.lot)
            self.stock_deltas[key] = self.stock_deltas.get(key, 0) + m.quantity
        self.stock = stock
        self.balance_delta.on_hand += on_hand - self.balance.on_hand
        self.balance_delta.in_transit += in_transit - self.balance.in_transit
        self.balance.on_hand, self.balance.in_transit = on_hand, in_transit
        self.movements.extend(batch)
        self.reallocate()

    # ------------------------------------------------------------------ reservations
    def live_reservations(self) -> list[Reservation]:
        return sorted((r for r in self.reservations if r.consumed_at is None), key=lambda r: r.rank)

    def reallocate(self) -> None:
        """Pour on-hand stock over the live reservations in rank order."""
        shares = allocate(self.balance.on_hand, self.reservations)
        for r in self.reservations:
            if r.consumed_at is None and shares[r.key] != r.filled:
                self._set_filled(r, shares[r.key])

    def upsert(self, *demands: Reservation) -> None:
        """Add demand lines, or update their rank or quantity; then re-allocate once."""
        known: dict[tuple[str, str, str], Reservation] = {}
        for r in self.reservations:
            known.setdefault(r.key, r)
        for demand in demands:
            r = known.get(demand.key)
            if r is None:
                new = Reservation(demand.item, demand.line, demand.order_id, demand.family, demand.seq_no, demand.need_time, demand.quantity)
                self.reservations.append(new)
                self.changed[new.key] = known[new.key] = new
            elif (r.seq_no, r.need_time, r.quantity) != (demand.seq_no, demand.need_time, demand.quantity):
                r.seq_no, r.need_time, r.quantity = demand.seq_no, demand.need_time, demand.quantity
                if r.filled > r.quantity:
                    self._set_filled(r, r.quantity)
                self.changed[r.key] = r
        self.reallocate()

    def release(self, key: tuple[str, str, str]) -> None:
        """Drop a demand line (its vehicle was cancelled or no longer needs the part)."""
        for r in list(self.reservations):
            if r.key == key and r.consumed_at is None:
                self._set_filled(r, 0)
                self.reservations.remove(r)
                self.changed.pop(key, None)
                self.removed[key] = r
        self.reallocate()

    def consume(self, key: tuple[str, str, str], actor: str, at: datetime, reference: str) -> list[Movement]:
        """Backflush a demand line: its quantity leaves stock (line side first) and its
        reservation is marked consumed."""
        target = next((r for r in self.reservations if r.key == key and r.consumed_at is None), None)
        if target is None:
            raise ValidationError(f"{self.item.code}: no open demand line {'/'.join(key)} to backflush")
        taken = self._take(target.quantity, f"backflush of {target.order_id}", actor, at, reference)
        self._set_filled(target, 0)
        target.consumed_at = at
        self.changed[key] = target
        self.post(taken)
        return taken

    def backflush(self, key: tuple[str, str, str], quantity: int, actor: str, at: datetime, reference: str) -> list[Movement]:
        """A part of this item was fitted to the vehicle of demand line ``key``: the line's
        reservation is consumed when there is one, otherwise ``quantity`` leaves stock (line
        side first) without one."""
        if any(r.key == key and r.consumed_at is None for r in self.reservations):
            return self.consume(key, actor, at, reference)
        taken = self._take(quantity, f"backflush of {key[1]}", actor, at, reference)
        self.post(taken)
        return taken

    def _take(self, quantity: int, what: str, actor: str, at: datetime, reference: str) -> list[Movement]:
        """The backflush movements that take ``quantity`` by the removal order."""
        places = sorted(
            ((loc, lot) for (loc, lot), qty in self.stock.items() if qty > 0 and self.location_kinds[loc] in REMOVAL_ORDER),
            key=lambda k: (REMOVAL_ORDER[self.location_kinds[k[0]]], k[0], k[1]),
        )
        need, taken = quantity, []
        for loc, lot in places:
            if need == 0:
                break
            take = min(need, self.stock[(loc, lot)])
            taken.append(Movement(self.item.code, loc, lot, -take, ReasonCode.BACKFLUSH, actor, at, reference))
            need -= take
        if need:
            raise InsufficientStock(
                f"{what} needs {quantity} {self.item.code}",
                problems=[Problem(self.item.code, f"{quantity - need} in stock, {need} missing")],
            )
        return taken

    def _set_filled(self, r: Reservation, filled: int) -> None:
        self.balance_delta.reserved += filled - r.filled
        self.balance.reserved += filled - r.filled
        r.filled = filled
        self.changed[r.key] = r


def count_correction(stock: Mapping[tuple[str, str], int], item: str, location: str, lot: str, counted: int, actor: str, at: datetime, reference: str = "") -> list[Movement]:
    """The movement that brings the book quantity to a physical count (none when they agree)."""
    if counted < 0:
        raise ValidationError(f"a count of {item} at {location} cannot be negative ({counted})")
    difference = counted - stock.get((location, lot), 0)
    if not difference:
        return []
    return [Movement(item, location, lot, difference, ReasonCode.COUNT_CORRECTION, actor, at, reference, f"counted {counted}")]

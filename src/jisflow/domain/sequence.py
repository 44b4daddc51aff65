"""The pearl chain: the planned, ordered sequence of vehicles of one line.

Each vehicle in the chain has a line-unique, increasing internal sequence number ``seq_no`` and
an external rolling number (``seq_no`` modulo 10**digits, as EDI feeds carry it). Vehicles are
PLANNED until they pass the broadcast point, then BROADCAST; a cancelled vehicle keeps its last
number for history and leaves a hole that later inserts may fill.

Changes keep as many numbers as they can, because every renumbered vehicle whose call-off was
already issued costs its supplier an amendment:

- insert takes the free number after its predecessor when it lies before its successor, else
  moves the following vehicles up one number each, as far as the first hole;
- cancel leaves a hole (nobody else is renumbered);
- move rotates only the vehicles between the old and the new position;
- swap exchanges two numbers;
- a spec change keeps the number.

The frozen zone is every broadcast vehicle plus the head of the planned part (the next N
vehicles, or those planned to be broadcast within N minutes). A change that touches it is
refused with ``FrozenZoneViolation`` unless explicitly overridden; an overridden change is
flagged on the vehicle and raises an alert.

Integrity checks on each broadcast raise alerts: unknown vehicle, duplicate, out-of-order,
gap (planned vehicles skipped) and a rolling number that disagrees with the chain; a silent
feed (no broadcast for N takts of working time) is found by ``check_silence``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jisflow.domain import vin as vinlib
from jisflow.domain.alerts import Alert, AlertKind
from jisflow.domain.errors import (
    ConflictError,
    DuplicateVehicle,
    FrozenZoneViolation,
    NotFound,
    Problem,
    ProblemCollector,
    ValidationError,
    at,
)
from jisflow.domain.events import AlertRaised, Event, SequenceChanged, VehicleBroadcast
from jisflow.domain.plant import FrozenZoneKind, Line


class VehicleStatus(str, enum.Enum):
    PLANNED = "planned"
    BROADCAST = "broadcast"
    CANCELLED = "cancelled"


class ChangeKind(str, enum.Enum):
    INSERT = "insert"
    CANCEL = "cancel"
    MOVE = "move"
    SWAP = "swap"
    SPEC_CHANGE = "spec_change"
    RESEQUENCE = "resequence"  # a re-planned tail: many vehicles reordered at once


@dataclass
class Vehicle:
    """A production order: order id, optional VIN, model and option codes."""

    order_id: str
    model: str
    options: dict[str, str] = field(default_factory=dict)
    vin: str | None = None

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValidationError(f"vehicle {self.order_id!r} is invalid", problems=problems)
        if self.vin:
            self.vin = vinlib.compact(self.vin)
        else:
            self.vin = None

    @classmethod
    def restore(cls, order_id: str, model: str, options: dict[str, str], vin: str | None) -> Vehicle:
        """Rebuild a vehicle that was validated when it was stored (no checks again)."""
        vehicle = object.__new__(cls)
        vehicle.order_id, vehicle.model, vehicle.options, vehicle.vin = order_id, model, options, vin
        return vehicle

    def problems(self, where: str = "") -> list:
        """Every problem with this vehicle's fields (empty when it is valid)."""
        found = ProblemCollector()
        if not isinstance(self.order_id, str) or not self.order_id.strip():
            found.add(at(where, "order_id"), "is empty")
        if not isinstance(self.model, str) or not self.model.strip():
            found.add(at(where, "model"), "is empty")
        for key, value in self.options.items():
            if not key or not isinstance(value, str) or not value.strip():
                found.add(at(where, key or "options"), "option has no value")
        if self.vin:
            try:  # the check digit is the plant's rule: ``vin_problems``
                vinlib.validate(self.vin, check_digit=False)
            except ValidationError as exc:
                found.add(at(where, "vin"), exc.message)
        return found.problems

    def vin_problems(self, check_digit: bool, where: str = "") -> list:
        """The problems of this vehicle's VIN under a plant's rule: with ``check_digit``, a
        VIN whose position 9 is not its ISO 3779 check digit is one (its form is checked when
        the vehicle is made)."""
        if not (check_digit and self.vin):
            return []
        try:
            vinlib.validate(self.vin)
        except ValidationError as exc:
            return [Problem(at(where, "vin"), exc.message)]
        return []


@dataclass
class ChainEntry:
    vehicle: Vehicle
    seq_no: int
    status: VehicleStatus = VehicleStatus.PLANNED
    broadcast_at: datetime | None = None
    flagged: bool = False  # changed inside the frozen zone under an override
    id: int | None = None  # persistence identity, set by the repository

    @property
    def order_id(self) -> str:
        return self.vehicle.order_id


@dataclass(frozen=True)
class SequenceChange:
    """One recorded change of the pearl chain, for the change log."""

    kind: ChangeKind
    line: str
    order_id: str
    at: datetime
    old_seq_no: int | None
    new_seq_no: int | None
    in_frozen_zone: bool
    overridden: bool
    renumbered: Mapping[str, tuple[int, int]]  # other vehicles: order id -> (old, new)
    actor: str = "system"
    reason: str = ""
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass
class LineFeedState:
    """What the chain remembers about the broadcast feed of its line."""

    last_broadcast_seq_no: int | None = None
    last_broadcast_at: datetime | None = None
    silence_alerted: bool = False
    issued_until: datetime | None = None  # lead-time calls were issued for issue points up to here


@dataclass(frozen=True, slots=True)
class PlannedBasis:
    """What the expected broadcast times of a chain's planned vehicles follow from: the
    expected time of the first one (None when nothing is planned) and the planned vehicles,
    their objects and numbers, in chain order. The vehicle ``i`` places behind the first is
    expected ``i`` takts of working time after it."""

    first: datetime | None
    vehicles: tuple[Vehicle, ...]
    seq_nos: tuple[int, ...]


def unroll(rolling_no: int, reference_seq_no: int, modulus: int) -> int:
    """The smallest internal number above ``reference_seq_no`` whose rolling number is
    ``rolling_no``.

    >>> unroll(3, 9998, 10000)
    10003
    >>> unroll(9999, 9998, 10000)
    9999
    """
    if not 0 <= rolling_no < modulus:
        raise ValidationError(f"rolling number {rolling_no} is outside 0..{modulus - 1}")
    base = reference_seq_no - reference_seq_no % modulus + rolling_no
    return base if base > reference_seq_no else base + modulus


class PearlChain:
    """Aggregate: the pearl chain of one line, with its broadcast feed state."""

    def __init__(
        self,
        line: Line,
        entries: Iterable[ChainEntry] = (),
        feed: LineFeedState | None = None,
    ) -> None:
        self.line = line
        self.feed = feed or LineFeedState()
        self._by_order: dict[str, ChainEntry] = {}
        self._planned: list[ChainEntry] = []
        for entry in entries:
            self._by_order[entry.order_id] = entry
            if entry.status is VehicleStatus.PLANNED:
                self._planned.append(entry)
        self._planned.sort(key=lambda e: e.seq_no)
        self.events: list[Event] = []
        self.alerts: list[Alert] = []
        self.changes: list[SequenceChange] = []
        self.dirty: dict[str, ChainEntry] = {}  # entries to write back, by order id
        self.feed_dirty = False

    @classmethod
    def restore(cls, line: Line, by_order: dict[str, ChainEntry], planned: list[ChainEntry], feed: LineFeedState | None = None) -> PearlChain:
        """Rebuild a stored chain from its entries by order id and its planned entries in
        sequence order, as the repository keeps them (no pass over every entry). The chain
        takes both containers over."""
        chain = cls(line, (), feed)
        chain._by_order = by_order
        chain._planned = planned
        return chain

    # ------------------------------------------------------------------ queries
    @property
    def line_code(self) -> str:
        return self.line.code

    def __len__(self) -> int:
        return len(self._by_order)

    def get(self, order_id: str) -> ChainEntry:
        try:
            return self._by_order[order_id]
        except KeyError:
            raise NotFound(f"line {self.line_code} has no vehicle {order_id!r}") from None

    def find(self, order_id: str) -> ChainEntry | None:
        return self._by_order.get(order_id)

    def entries(self) -> list[ChainEntry]:
        """Every entry, broadcast and planned, in sequence order (cancelled ones excluded)."""
        live = [e for e in self._by_order.values() if e.status is not VehicleStatus.CANCELLED]
        return sorted(live, key=lambda e: e.seq_no)

    def all_entries(self) -> Iterable[ChainEntry]:
        """Every entry, cancelled ones too, in no particular order (not to be changed)."""
        return self._by_order.values()

    def planned(self) -> list[ChainEntry]:
        return list(self._planned)

    def rolling_no(self, seq_no: int) -> int:
        return seq_no % self.line.rolling_modulus

    def last_seq_no(self) -> int:
        """The highest number ever given on this line (0 for an empty chain)."""
        return max((e.seq_no for e in self._by_order.values()), default=0)

    def next_broadcast_time(self, now: datetime) -> datetime:
        """When the next planned vehicle is expected at the broadcast point."""
        cal = self.line.calendar
        base = now
        if self.feed.last_broadcast_at is not None:
            base = max(now, cal.add_working_time(self.feed.last_broadcast_at, self.line.takt))
        return cal.next_working_time(base)

    def planned_broadcast_times(self, now: datetime) -> dict[str, datetime]:
        """Expected broadcast time of every planned vehicle, one takt of working time apart.
        Every expected time is a working instant: a takt that ends as a break begins puts the
        next vehicle at the end of the break."""
        if not self._planned:
            return {}
        times = self.line.calendar.takt_times(self.next_broadcast_time(now), self.line.takt, len(self._planned))
        return dict(zip([e.vehicle.order_id for e in self._planned], times))

    def iter_planned_broadcast_times(self, now: datetime) -> Iterator[tuple[str, datetime]]:
        """The same, lazily, in chain order (for scans that stop early)."""
        if not self._planned:
            return
        next_takt, takt = self.line.calendar.next_takt, self.line.takt
        t = self.next_broadcast_time(now)
        for index, entry in enumerate(self._planned):
            if index:
                t = next_takt(t, takt)
            yield entry.vehicle.order_id, t

    def planned_between(self, now: datetime, after: datetime | None, until: datetime) -> list[tuple[ChainEntry, datetime]]:
        """Planned vehicles expected at the broadcast point in (after, until], with their
        expected time; found by bisection (expected times grow along the chain)."""
        if not self._planned:
            return []
        cal, takt = self.line.calendar, self.line.takt
        t0 = self.next_broadcast_time(now)

        def time_at(index: int) -> datetime:
            return cal.add_working_time(t0, takt * index) if index else t0

        def first_above(limit: datetime) -> int:
            lo, hi = 0, len(self._planned)
            while lo < hi:
                mid = (lo + hi) // 2
                if time_at(mid) > limit:
                    hi = mid
                else:
                    lo = mid + 1
            return lo

        start = first_above(after) if after is not None else 0
        stop = first_above(until)
        return [(self._planned[i], time_at(i)) for i in range(start, stop)]

    def planned_basis(self, now: datetime) -> PlannedBasis:
        """The basis of the planned vehicles' expected times at ``now``."""
        planned = self._planned
        first = self.next_broadcast_time(now) if planned else None
        return PlannedBasis(first, tuple([e.vehicle for e in planned]), tuple([e.seq_no for e in planned]))

    def planned_basis_after(self, before: PlannedBasis, gone: int, now: datetime) -> PlannedBasis | None:
        """The basis of the planned vehicles at ``now`` when they are those of ``before`` but
        its first ``gone`` (equal vehicles under the same numbers, in the same order) and each
        is expected when ``before`` expected it: the first now is expected ``gone`` takts after
        ``before``'s first. None when anything differs (cheap checks first)."""
        planned = self._planned
        count = len(before.vehicles) - gone
        if gone < 0 or count < 0 or len(planned) != count:
            return None
        if not planned:
            return PlannedBasis(None, (), ())
        assert before.first is not None
        first = self.next_broadcast_time(now)
        expected = before.first
        next_takt, takt = self.line.calendar.next_takt, self.line.takt
        for _ in range(gone):
            expected = next_takt(expected, takt)
        if first != expected:
            return None
        seq_nos = tuple([e.seq_no for e in planned])
        if seq_nos != before.seq_nos[gone:]:
            return None
        vehicles = tuple([e.vehicle for e in planned])
        if vehicles != before.vehicles[gone:]:  # the same objects, mostly: compared by identity first
            return None
        return PlannedBasis(first, vehicles, seq_nos)

    def broadcast_time_of(self, entry: ChainEntry, now: datetime) -> datetime:
        """Actual broadcast time, or the expected one for a planned vehicle."""
        if entry.broadcast_at is not None:
            return entry.broadcast_at
        index = self._planned_index(entry.order_id)
        t = self.next_broadcast_time(now)
        cal = self.line.calendar
        return cal.next_working_time(cal.add_working_time(t, self.line.takt * index)) if index else t

    def frozen_count(self, now: datetime) -> int:
        """How many planned vehicles, from the head, lie inside the frozen zone."""
        zone = self.line.frozen_zone
        if zone.kind is FrozenZoneKind.COUNT:
            return min(zone.size, len(self._planned))
        limit = now + timedelta(minutes=zone.size)
        count = 0
        for t in self.planned_broadcast_times(now).values():
            if t > limit:
                break
            count += 1
        return count

    def is_frozen(self, order_id: str, now: datetime) -> bool:
        entry = self.get(order_id)
        if entry.status is not VehicleStatus.PLANNED:
            return True
        return self._planned_index(order_id) < self.frozen_count(now)

    # ------------------------------------------------------------------ changes
    def append(self, rows: list[tuple[str, Vehicle, int | None]]) -> list[ChainEntry]:
        """Append vehicles at the tail. ``rows`` are (where, vehicle, seq_no or None); every row
        is checked first and one ValidationError names every bad row; nothing is applied then."""
        found = ProblemCollector()
        last = self.last_seq_no()
        seen: dict[str, str] = {}
        numbers: list[int] = []
        for where, vehicle, seq_no in rows:
            if vehicle.order_id in self._by_order:
                found.add(at(where, "order_id"), f"vehicle {vehicle.order_id} is already in the pearl chain of line {self.line_code}")
            elif vehicle.order_id in seen:
                found.add(at(where, "order_id"), f"vehicle {vehicle.order_id} appears twice (first at {seen[vehicle.order_id]})")
            seen.setdefault(vehicle.order_id, where)
            if seq_no is None:
                seq_no = max([last, *numbers]) + 1
            elif seq_no <= max([last, *numbers]):
                found.add(at(where, "seq_no"), f"{seq_no} is not above the previous number {max([last, *numbers])}")
            numbers.append(seq_no)
        found.raise_if_any(f"{len(found.problems)} problem(s) in the vehicles to append to line {self.line_code}")
        added = []
        for (_, vehicle, _), seq_no in zip(rows, numbers, strict=True):
            entry = ChainEntry(vehicle=vehicle, seq_no=seq_no)
            self._by_order[vehicle.order_id] = entry
            self._planned.append(entry)
            self._touch(entry)
            added.append(entry)
        return added

    def insert(
        self,
        vehicle: Vehicle,
        *,
        now: datetime,
        before: str | None = None,
        after: str | None = None,
        override: bool = False,
        actor: str = "system",
        reason: str = "",
    ) -> SequenceChange:
        """Insert a new vehicle before or after a planned one (neither: at the tail)."""
        if vehicle.order_id in self._by_order:
            raise DuplicateVehicle(f"vehicle {vehicle.order_id} is already in the pearl chain of line {self.line_code}")
        index = self._target_index(before, after)
        frozen = index < self.frozen_count(now)
        self._guard(frozen, override, ChangeKind.INSERT, vehicle.order_id)
        old_numbers = {e.order_id: e.seq_no for e in self._planned}
        new_no = self._make_room(index)
        entry = ChainEntry(vehicle=vehicle, seq_no=new_no, flagged=frozen)
        self._planned.insert(index, entry)
        self._by_order[vehicle.order_id] = entry
        self._touch(entry)
        return self._record(ChangeKind.INSERT, entry, None, now, frozen, override, old_numbers, actor, reason)

    def cancel(self, order_id: str, *, now: datetime, override: bool = False, actor: str = "system", reason: str = "") -> SequenceChange:
        """Cancel a vehicle; its number becomes a hole. A broadcast vehicle (pulled off the
        line) is always inside the frozen zone."""
        entry = self.get(order_id)
        if entry.status is VehicleStatus.CANCELLED:
            raise ConflictError(f"vehicle {order_id} on line {self.line_code} is already cancelled")
        frozen = self.is_frozen(order_id, now)
        self._guard(frozen, override, ChangeKind.CANCEL, order_id)
        if entry.status is VehicleStatus.PLANNED:
            self._planned.remove(entry)
        entry.status = VehicleStatus.CANCELLED
        entry.flagged = entry.flagged or frozen
        self._touch(entry)
        return self._record(ChangeKind.CANCEL, entry, entry.seq_no, now, frozen, override, {}, actor, reason)

    def move(
        self,
        order_id: str,
        *,
        now: datetime,
        before: str | None = None,
        after: str | None = None,
        override: bool = False,
        actor: str = "system",
        reason: str = "",
    ) -> SequenceChange:
        """Resequence a planned vehicle before or after another planned one (neither: to the
        tail). Only the vehicles between the old and new position are renumbered."""
        entry = self.get(order_id)
        self._require_planned(entry, "moved")
        if order_id in (before, after):
            raise ValidationError(f"vehicle {order_id} cannot be moved relative to itself")
        old_index = self._planned_index(order_id)
        target = self._target_index(before, after)
        new_index = target - 1 if target > old_index else target
        if new_index == old_index:
            raise ValidationError(f"moving vehicle {order_id} there changes nothing: it is already in that place")
        frozen_count = self.frozen_count(now)
        frozen = old_index < frozen_count or new_index < frozen_count
        self._guard(frozen, override, ChangeKind.MOVE, order_id)
        old_numbers = {e.order_id: e.seq_no for e in self._planned}
        old_no = entry.seq_no
        lo, hi = min(old_index, new_index), max(old_index, new_index)
        segment = self._planned[lo : hi + 1]
        numbers = [e.seq_no for e in segment]
        segment.remove(entry)
        segment.insert(new_index - lo, entry)
        for e, number in zip(segment, numbers, strict=True):
            if e.seq_no != number:
                e.seq_no = number
                self._touch(e)
        self._planned[lo : hi + 1] = segment
        entry.flagged = entry.flagged or frozen
        self._touch(entry)
        return self._record(ChangeKind.MOVE, entry, old_no, now, frozen, override, old_numbers, actor, reason)

    def swap(self, first: str, second: str, *, now: datetime, override: bool = False, actor: str = "system", reason: str = "") -> SequenceChange:
        """Exchange the positions (and numbers) of two planned vehicles."""
        if first == second:
            raise ValidationError(f"vehicle {first} cannot be swapped with itself")
        a, b = self.get(first), self.get(second)
        self._require_planned(a, "swapped")
        self._require_planned(b, "swapped")
        frozen = self.is_frozen(first, now) or self.is_frozen(second, now)
        self._guard(frozen, override, ChangeKind.SWAP, first)
        old_a, old_b = a.seq_no, b.seq_no
        ia, ib = self._planned_index(first), self._planned_index(second)
        a.seq_no, b.seq_no = b.seq_no, a.seq_no
        self._planned[ia], self._planned[ib] = b, a
        for e in (a, b):
            e.flagged = e.flagged or frozen
            self._touch(e)
        return self._record(
            ChangeKind.SWAP, a, old_a, now, frozen, override, {second: old_b}, actor, reason, {"with": second}
        )

    def change_spec(
        self,
        order_id: str,
        *,
        now: datetime,
        model: str | None = None,
        options: Mapping[str, str | None] | None = None,
        vin: str | None = None,
        override: bool = False,
        actor: str = "system",
        reason: str = "",
    ) -> SequenceChange:
        """Change a vehicle's model, options (a value of None removes the option) or VIN."""
        entry = self.get(order_id)
        if entry.status is VehicleStatus.CANCELLED:
            raise ConflictError(f"vehicle {order_id} on line {self.line_code} is cancelled")
        new_options = dict(entry.vehicle.options)
        for key, value in (options or {}).items():
            if value is None:
                new_options.pop(key, None)
            else:
                new_options[key] = value
        updated = Vehicle(
            order_id=order_id,
            model=model if model is not None else entry.vehicle.model,
            options=new_options,
            vin=vin if vin is not None else entry.vehicle.vin,
        )
        if updated == entry.vehicle:
            raise ValidationError(f"spec change of vehicle {order_id} changes nothing")
        frozen = self.is_frozen(order_id, now)
        self._guard(frozen, override, ChangeKind.SPEC_CHANGE, order_id)
        before = {"model": entry.vehicle.model, "options": dict(entry.vehicle.options), "vin": entry.vehicle.vin}
        entry.vehicle = updated
        entry.flagged = entry.flagged or frozen
        self._touch(entry)
        after = {"model": updated.model, "options": dict(updated.options), "vin": updated.vin}
        return self._record(
            ChangeKind.SPEC_CHANGE, entry, entry.seq_no, now, frozen, override, {}, actor, reason, {"before": before, "after": after}
        )

    def resequence(self, order: list[str], *, now: datetime, actor: str = "system", reason: str = "") -> SequenceChange | None:
        """Reorder the planned vehicles behind the frozen zone into ``order``, reusing their
        numbers (sorted) so only vehicles that really change place are renumbered. ``order``
        must hold exactly the unfrozen planned vehicles (else the chain changed meanwhile: a
        ConflictError says so). Returns None when nothing moves."""
        frozen = self.frozen_count(now)
        tail = self._planned[frozen:]
        if sorted(order) != sorted(e.order_id for e in tail) or len(set(order)) != len(order):
            raise ConflictError(
                f"the new order for line {self.line_code} does not hold exactly the {len(tail)} planned vehicles "
                "behind the frozen zone (the chain changed meanwhile?): plan again"
            )
        numbers = [e.seq_no for e in tail]
        by_id = {e.order_id: e for e in tail}
        old = {e.order_id: e.seq_no for e in tail}
        new_tail = [by_id[o] for o in order]
        moved = [e.order_id for e, n in zip(new_tail, numbers, strict=True) if e.seq_no != n]
        if not moved:
            return None
        for entry, number in zip(new_tail, numbers, strict=True):
            if entry.seq_no != number:
                entry.seq_no = number
                self._touch(entry)
        self._planned[frozen:] = new_tail
        first = self._by_order[moved[0]]
        old_numbers = {o: n for o, n in old.items() if o != first.order_id}
        return self._record(ChangeKind.RESEQUENCE, first, old[first.order_id], now, False, False, old_numbers, actor, reason, {"moved": len(moved)})

    # ------------------------------------------------------------------ broadcast feed
    def broadcast(self, order_id: str, at: datetime, *, rolling_no: int | None = None) -> ChainEntry | None:
        """A vehicle passed the broadcast point. Returns the entry when it was applied, None
        when the broadcast was refused (unknown, cancelled or duplicate: an alert says why)."""
        entry = self._by_order.get(order_id)
        if entry is None:
            self._alert(AlertKind.UNKNOWN_VEHICLE, at, f"broadcast of vehicle {order_id}, which is not in the pearl chain of line {self.line_code}", order_id=order_id, details={"rolling_no": rolling_no})
            return None
        if entry.status is VehicleStatus.CANCELLED:
            self._alert(AlertKind.UNKNOWN_VEHICLE, at, f"broadcast of vehicle {order_id} (seq {entry.seq_no}), which was cancelled", order_id=order_id, seq_no=entry.seq_no)
            return None
        if entry.status is VehicleStatus.BROADCAST:
            self._alert(AlertKind.DUPLICATE, at, f"vehicle {order_id} (seq {entry.seq_no}) was already broadcast at {entry.broadcast_at:%Y-%m-%d %H:%M:%S}Z", order_id=order_id, seq_no=entry.seq_no)
            return None
        last = self.feed.last_broadcast_seq_no
        if rolling_no is not None and rolling_no != self.rolling_no(entry.seq_no):
            self._alert(
                AlertKind.NUMBER_MISMATCH, at,
                f"the feed says rolling number {rolling_no:0{self.line.rolling_digits}d} for vehicle {order_id}, the chain says {self.rolling_no(entry.seq_no):0{self.line.rolling_digits}d}",
                order_id=order_id, seq_no=entry.seq_no, details={"feed": rolling_no, "chain": self.rolling_no(entry.seq_no)},
            )
        if last is not None and entry.seq_no < last:
            self._alert(AlertKind.OUT_OF_ORDER, at, f"vehicle {order_id} (seq {entry.seq_no}) was broadcast after seq {last}", order_id=order_id, seq_no=entry.seq_no, details={"after": last})
        else:
            skipped = []  # planned vehicles numbered before it: a head of the planned list (kept in number order)
            for e in self._planned:
                if e.seq_no >= entry.seq_no:
                    break
                if last is None or e.seq_no > last:
                    skipped.append(e)
            if skipped:
                numbers = [e.seq_no for e in skipped]
                self._alert(
                    AlertKind.GAP, at,
                    f"broadcast of seq {entry.seq_no} skipped {len(skipped)} planned vehicle(s): {_ranges(numbers)}",
                    order_id=order_id, seq_no=entry.seq_no,
                    details={"skipped": [e.order_id for e in skipped], "skipped_seq_nos": numbers},
                )
        self._planned.remove(entry)
        entry.status = VehicleStatus.BROADCAST
        entry.broadcast_at = at
        self._touch(entry)
        self.feed.last_broadcast_seq_no = entry.seq_no if last is None else max(last, entry.seq_no)
        self.feed.last_broadcast_at = at
        self.feed.silence_alerted = False
        self.feed_dirty = True
        self.events.append(VehicleBroadcast(self.line_code, order_id, entry.seq_no, self.rolling_no(entry.seq_no), at))
        return entry

    def check_silence(self, now: datetime) -> Alert | None:
        """Raise SILENT_FEED once when no broadcast came for ``silent_feed_takts`` takts of
        working time; the next broadcast re-arms it."""
        last_at = self.feed.last_broadcast_at
        if last_at is None or self.feed.silence_alerted or not self._planned:
            return None
        silent = self.line.calendar.working_time_between(last_at, now)
        limit = self.line.takt * self.line.silent_feed_takts
        if silent < limit:
            return None
        self.feed.silence_alerted = True
        self.feed_dirty = True
        minutes = silent.total_seconds() / 60
        return self._alert(
            AlertKind.SILENT_FEED, now,
            f"no broadcast on line {self.line_code} for {minutes:.0f} min of working time (limit {self.line.silent_feed_takts} takts); last was seq {self.feed.last_broadcast_seq_no}",
            seq_no=self.feed.last_broadcast_seq_no, details={"silent_seconds": int(silent.total_seconds())},
        )

    # ------------------------------------------------------------------ internals
    def _make_room(self, index: int) -> int:
        """The number for a vehicle inserted at planned position ``index``.

        It is the first free number after the predecessor (at the head: after the highest
        broadcast number below the successor). When that number is not below the successor,
        the successors move up one free number each, as far as the first hole. Numbers of
        broadcast vehicles (and the last number the feed announced) are never given again,
        even when planned vehicles skipped by a gap lie between them.
        """
        if index == len(self._planned):
            return self.last_seq_no() + 1
        taken = {e.seq_no for e in self._by_order.values() if e.status is VehicleStatus.BROADCAST}
        if self.feed.last_broadcast_seq_no is not None:
            taken.add(self.feed.last_broadcast_seq_no)
        tail = self._planned[index:]
        floor = self._planned[index - 1].seq_no if index else max((n for n in taken if n < tail[0].seq_no), default=0)
        new_no = number = _next_free(floor, taken)
        for entry in tail:
            if entry.seq_no > number:
                break
            number = _next_free(number, taken)
            entry.seq_no = number
        return new_no

    def _planned_index(self, order_id: str) -> int:
        for index, entry in enumerate(self._planned):
            if entry.order_id == order_id:
                return index
        raise NotFound(f"vehicle {order_id} is not planned on line {self.line_code}")

    def _target_index(self, before: str | None, after: str | None) -> int:
        if before is not None and after is not None:
            raise ValidationError("give either before or after, not both")
        if before is not None:
            self._require_planned(self.get(before), "used as a position")
            return self._planned_index(before)
        if after is not None:
            anchor = self.get(after)
            if anchor.status is VehicleStatus.BROADCAST and anchor.seq_no == self.feed.last_broadcast_seq_no:
                return 0
            self._require_planned(anchor, "used as a position")
            return self._planned_index(after) + 1
        return len(self._planned)

    def _require_planned(self, entry: ChainEntry, what: str) -> None:
        if entry.status is not VehicleStatus.PLANNED:
            raise ConflictError(
                f"vehicle {entry.order_id} on line {self.line_code} is {entry.status.value} and cannot be {what}"
                + (" (it passed the broadcast point: cancel it instead)" if entry.status is VehicleStatus.BROADCAST else "")
            )

    def _guard(self, frozen: bool, override: bool, kind: ChangeKind, order_id: str) -> None:
        if frozen and not override:
            raise FrozenZoneViolation(
                f"{kind.value} of vehicle {order_id} touches the frozen zone of line {self.line_code}; "
                "repeat it with an explicit override to force it"
            )

    def _touch(self, entry: ChainEntry) -> None:
        self.dirty[entry.order_id] = entry

    def _record(
        self,
        kind: ChangeKind,
        entry: ChainEntry,
        old_no: int | None,
        now: datetime,
        frozen: bool,
        override: bool,
        old_numbers: Mapping[str, int],
        actor: str,
        reason: str,
        details: Mapping[str, object] | None = None,
    ) -> SequenceChange:
        renumbered = {
            e.order_id: (old_numbers[e.order_id], e.seq_no)
            for e in self._planned
            if e.order_id != entry.order_id and e.order_id in old_numbers and old_numbers[e.order_id] != e.seq_no
        }
        for order_id in renumbered:
            self._touch(self._by_order[order_id])
        change = SequenceChange(
            kind=kind, line=self.line_code, order_id=entry.order_id, at=now, old_seq_no=old_no,
            new_seq_no=None if entry.status is VehicleStatus.CANCELLED else entry.seq_no,
            in_frozen_zone=frozen, overridden=frozen and override, renumbered=renumbered,
            actor=actor, reason=reason, details=dict(details or {}),
        )
        self.changes.append(change)
        self.events.append(
            SequenceChanged(self.line_code, kind.value, entry.order_id, old_no, change.new_seq_no, frozen, change.overridden, len(renumbered))
        )
        if frozen:
            self._alert(
                AlertKind.FROZEN_ZONE_OVERRIDE, now,
                f"{kind.value} of vehicle {entry.order_id} inside the frozen zone of line {self.line_code} forced by {actor}"
                + (f": {reason}" if reason else ""),
                order_id=entry.order_id, seq_no=entry.seq_no, details={"renumbered": len(renumbered)},
            )
        return change

    def _alert(self, kind: AlertKind, at: datetime, message: str, *, order_id: str | None = None, seq_no: int | None = None, details: dict | None = None) -> Alert:
        alert = Alert(kind=kind, line=self.line_code, message=message, raised_at=at, order_id=order_id, seq_no=seq_no, details=dict(details or {}))
        self.alerts.append(alert)
        self.events.append(AlertRaised(kind.value, alert.severity.value, self.line_code, message, order_id, seq_no))
        return alert


def _next_free(number: int, taken: set[int]) -> int:
    """The first number above ``number`` that is not taken."""
    number += 1
    while number in taken:
        number += 1
    return number


def _ranges(numbers: list[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"``."""
    parts: list[str] = []
    start = prev = None
    for n in sorted(numbers):
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            parts.append(f"{start}-{prev}" if start != prev else f"{start}")
            start = prev = n
    if start is not None:
        parts.append(f"{start}-{prev}" if start != prev else f"{start}")
    return ", ".join(parts)

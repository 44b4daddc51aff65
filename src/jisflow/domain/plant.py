"""Master data of a plant: lines, stations, part families, variant rules, suppliers and routes.

All objects here are immutable values; a plant is replaced as a whole when its definition file
is loaded again.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from jisflow.domain.calendar import LineCalendar
from jisflow.domain.errors import NotFound


class SupplyMode(str, enum.Enum):
    """How a part family reaches its station."""

    JIS = "JIS"  # one call-off line per vehicle, in sequence
    JIT = "JIT"  # summarized calls: a quantity per time window
    KANBAN = "KANBAN"  # replenished by kanban signals from the line side
    STOCK = "STOCK"  # issued from the plant's own warehouse


class CallOffTrigger(str, enum.Enum):
    """When a JIS call-off line is issued for a vehicle."""

    BROADCAST = "broadcast"  # when the vehicle passes the broadcast point
    LEAD_TIME = "lead_time"  # when its need time minus the route's lead time is reached


class FrozenZoneKind(str, enum.Enum):
    COUNT = "count"  # the next N vehicles not yet broadcast (plus every broadcast one)
    TIME = "time"  # vehicles whose planned broadcast is within N minutes (plus every broadcast one)


@dataclass(frozen=True)
class Station:
    code: str
    name: str
    offset_takts: int  # takts after the broadcast point


@dataclass(frozen=True)
class FrozenZone:
    kind: FrozenZoneKind
    size: int  # vehicles (COUNT) or minutes (TIME)


@dataclass(frozen=True)
class RatioRule:
    """A sequencing rule: at most ``p`` of any ``q`` consecutive vehicles whose option ``key``
    is one of ``values`` (a station that cannot build such vehicles back to back)."""

    key: str
    values: frozenset[str]
    p: int
    q: int
    high_priority: bool = True


@dataclass(frozen=True)
class SequencingRules:
    """What a good pearl chain of the line respects, for re-planning its unfrozen tail."""

    ratio_rules: tuple[RatioRule, ...] = ()
    colour_key: str | None = None  # the option holding the paint colour (fewer changes are better)
    paint_batch_limit: int | None = None  # hard: at most this many cars of one colour in a row
    smoothing_keys: tuple[str, ...] = ()  # options whose values are JIS variants to level


@dataclass(frozen=True)
class Line:
    code: str
    name: str
    takt_seconds: int
    stations: tuple[Station, ...]
    calendar: LineCalendar
    frozen_zone: FrozenZone = FrozenZone(FrozenZoneKind.COUNT, 20)
    rolling_digits: int = 4  # the external rolling sequence number wraps at 10**digits
    silent_feed_takts: int = 5  # alert when no broadcast came for this many takts of working time
    sequencing: SequencingRules | None = None

    @property
    def takt(self) -> timedelta:
        return timedelta(seconds=self.takt_seconds)

    @property
    def rolling_modulus(self) -> int:
        return 10**self.rolling_digits

    def station(self, code: str) -> Station:
        for station in self.stations:
            if station.code == code:
                return station
        raise NotFound(f"line {self.code} has no station {code!r}")


@dataclass(frozen=True)
class Supplier:
    code: str
    name: str
    location: str = ""
    distance_km: int = 0
    duns: str = ""


@dataclass(frozen=True)
class OptionCondition:
    """One condition of a variant rule: the vehicle's option ``key`` is one of ``values``
    (or, when ``negate`` is set, none of them). The key ``model`` means the vehicle's model."""

    key: str
    values: frozenset[str]
    negate: bool = False

    def matches(self, model: str, options: Mapping[str, str]) -> bool:
        actual = model if self.key == "model" else options.get(self.key)
        inside = actual is not None and actual in self.values
        return not inside if self.negate else inside

    def __str__(self) -> str:
        op = "not in" if self.negate else "in"
        return f"{self.key} {op} {{{', '.join(sorted(self.values))}}}"


@dataclass(frozen=True)
class VariantRule:
    """A conjunction of option conditions that selects one part number of a family.

    ``part_number`` None means the family has no part for such a vehicle (e.g. no sunroof
    frame on a vehicle without a sunroof); the rule must still be the only one that matches.
    """

    name: str
    conditions: tuple[OptionCondition, ...]
    part_number: str | None
    quantity: int = 1
    description: str = ""

    def matches(self, model: str, options: Mapping[str, str]) -> bool:
        return all(c.matches(model, options) for c in self.conditions)


@dataclass(frozen=True)
class SupplyRoute:
    mode: SupplyMode
    supplier: str | None  # supplier code; None for STOCK from the plant's own warehouse
    lead_time: timedelta  # from call-off to need time at the station
    unloading_point: str
    line_side_location: str
    rack_type: str | None = None
    trigger: CallOffTrigger = CallOffTrigger.BROADCAST
    jit_window: timedelta = timedelta(hours=1)  # JIT: length of a summarized call's window


@dataclass(frozen=True)
class PartFamily:
    code: str
    name: str
    line: str
    station: str
    rules: tuple[VariantRule, ...]
    route: SupplyRoute


@dataclass(frozen=True)
class Plant:
    code: str
    name: str
    timezone: str
    lines: tuple[Line, ...]
    suppliers: tuple[Supplier, ...]
    families: tuple[PartFamily, ...]
    unloading_points: tuple[str, ...] = field(default_factory=tuple)
    # VINs of its vehicles carry the ISO 3779 check digit in position 9 (mandatory in North
    # America); False where makers use position 9 freely, as many in Europe do
    vin_check_digit: bool = True

    def line(self, code: str) -> Line:
        for line in self.lines:
            if line.code == code:
                return line
        raise NotFound(f"plant {self.code} has no line {code!r}")

    def supplier(self, code: str) -> Supplier:
        for supplier in self.suppliers:
            if supplier.code == code:
                return supplier
        raise NotFound(f"plant {self.code} has no supplier {code!r}")

    def family(self, code: str) -> PartFamily:
        for family in self.families:
            if family.code == code:
                return family
        raise NotFound(f"plant {self.code} has no part family {code!r}")

    def families_of_line(self, line_code: str) -> tuple[PartFamily, ...]:
        return tuple(f for f in self.families if f.line == line_code)

"""Small builders of a test plant, built in code.

The plant works two shifts, Monday to Friday, on a UTC clock (so times read as they are
written): early 06:00-14:00 with a coffee break 10:00-10:30, late 14:00-22:00 with a break
18:00-18:30. Line ``L1`` runs a takt of 60 s. Its stations lie some takts after the broadcast
point, so with a broadcast at 07:00 the cockpit is needed at 07:10, the roof at 07:20, the
seats at 07:30 and the wheels at 07:40.

Families of line ``L1`` and their routes:

============ ======== ======== ======== ===================================================
family       mode     supplier point    parts
============ ======== ======== ======== ===================================================
SEATS        JIS      SEATCO   DOCK-A   trim cloth -> SEAT-CLOTH, trim leather -> SEAT-LEATHER
COCKPIT      JIS      COCKCO   DOCK-B   market EU -> CP-LHD, market UK -> CP-RHD
ROOF         JIS      SEATCO   DOCK-B   roof sun -> ROOF-SUN, any other roof -> no part
WHEELS       JIT      WHEELCO  DOCK-C   model A -> 4 x WHL-17, model B -> 4 x WHL-18
============ ======== ======== ======== ===================================================
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from jisflow.domain.calendar import Break, LineCalendar, Shift
from jisflow.domain.plant import (
    CallOffTrigger,
    FrozenZone,
    FrozenZoneKind,
    Line,
    OptionCondition,
    PartFamily,
    Plant,
    Station,
    Supplier,
    SupplyMode,
    SupplyRoute,
    VariantRule,
)
from jisflow.domain.sequence import PearlChain, Vehicle

MINUTE = timedelta(minutes=1)
WEEKDAYS = frozenset(range(5))

STATIONS = (
    Station("BP", "broadcast point", 0),
    Station("COCKPIT", "cockpit marriage", 10),
    Station("ROOF", "roof frame", 20),
    Station("SEATS", "seat installation", 30),
    Station("WHEELS", "wheel mounting", 40),
)


def at(hour: int, minute: int = 0, second: int = 0, *, day: int = 4) -> datetime:
    """An instant in March 2024, UTC; day 4 is a Monday, day 8 a Friday."""
    return datetime(2024, 3, day, hour, minute, second, tzinfo=UTC)


def calendar() -> LineCalendar:
    return LineCalendar(
        "UTC",
        (
            Shift("early", time(6), time(14), WEEKDAYS, (Break(time(10), time(10, 30), "coffee"),)),
            Shift("late", time(14), time(22), WEEKDAYS, (Break(time(18), time(18, 30), "dinner"),)),
        ),
    )


def line(
    *,
    frozen: FrozenZone = FrozenZone(FrozenZoneKind.COUNT, 3),
    takt_seconds: int = 60,
    rolling_digits: int = 4,
    silent_feed_takts: int = 5,
) -> Line:
    return Line(
        code="L1",
        name="final assembly 1",
        takt_seconds=takt_seconds,
        stations=STATIONS,
        calendar=calendar(),
        frozen_zone=frozen,
        rolling_digits=rolling_digits,
        silent_feed_takts=silent_feed_takts,
    )


def rule(name: str, part_number: str | None, *conditions: OptionCondition, quantity: int = 1) -> VariantRule:
    return VariantRule(name=name, conditions=conditions, part_number=part_number, quantity=quantity)


def when(key: str, *values: str, negate: bool = False) -> OptionCondition:
    return OptionCondition(key, frozenset(values), negate)


def route(
    supplier: str,
    unloading_point: str,
    *,
    mode: SupplyMode = SupplyMode.JIS,
    lead_minutes: int = 5,
    trigger: CallOffTrigger = CallOffTrigger.BROADCAST,
    jit_window: timedelta = timedelta(hours=1),
) -> SupplyRoute:
    return SupplyRoute(
        mode=mode,
        supplier=supplier,
        lead_time=lead_minutes * MINUTE,
        unloading_point=unloading_point,
        line_side_location=f"LS-{unloading_point}",
        trigger=trigger,
        jit_window=jit_window,
    )


def seats(**route_args) -> PartFamily:
    args = {"lead_minutes": 20, **route_args}
    return PartFamily(
        "SEATS", "front seat set", "L1", "SEATS",
        (rule("cloth", "SEAT-CLOTH", when("trim", "cloth")), rule("leather", "SEAT-LEATHER", when("trim", "leather"))),
        route("SEATCO", "DOCK-A", **args),
    )


def cockpit(**route_args) -> PartFamily:
    args = {"lead_minutes": 5, **route_args}
    return PartFamily(
        "COCKPIT", "cockpit", "L1", "COCKPIT",
        (rule("left-hand", "CP-LHD", when("market", "EU")), rule("right-hand", "CP-RHD", when("market", "UK"))),
        route("COCKCO", "DOCK-B", **args),
    )


def roof(**route_args) -> PartFamily:
    args = {"lead_minutes": 15, **route_args}
    return PartFamily(
        "ROOF", "sunroof frame", "L1", "ROOF",
        (rule("sunroof", "ROOF-SUN", when("roof", "sun")), rule("closed roof", None, when("roof", "sun", negate=True))),
        route("SEATCO", "DOCK-B", **args),
    )


def wheels(**route_args) -> PartFamily:
    args = {"mode": SupplyMode.JIT, "lead_minutes": 30, **route_args}
    return PartFamily(
        "WHEELS", "wheel set", "L1", "WHEELS",
        (rule("17 inch", "WHL-17", when("model", "A"), quantity=4), rule("18 inch", "WHL-18", when("model", "B"), quantity=4)),
        route("WHEELCO", "DOCK-C", **args),
    )


def plant(the_line: Line | None = None, families: tuple[PartFamily, ...] | None = None) -> Plant:
    return Plant(
        code="P1",
        name="test plant",
        timezone="UTC",
        lines=(the_line or line(),),
        suppliers=(Supplier("SEATCO", "Seat Co"), Supplier("COCKCO", "Cockpit Co"), Supplier("WHEELCO", "Wheel Co")),
        families=families if families is not None else (seats(), cockpit(), roof(), wheels()),
        unloading_points=("DOCK-A", "DOCK-B", "DOCK-C"),
    )


def order_id(number: int) -> str:
    return f"V{number:02d}"


def vehicle(order: str, model: str = "A", *, vin: str | None = None, **options: str) -> Vehicle:
    """A vehicle with cloth trim, EU market and a closed roof unless told otherwise."""
    return Vehicle(order, model, {"trim": "cloth", "market": "EU", "roof": "closed", **options}, vin)


def chain(count: int = 8, *, the_line: Line | None = None, first_seq_no: int = 1) -> PearlChain:
    """A chain of ``count`` planned vehicles V01, V02... numbered from ``first_seq_no`` on."""
    pearl_chain = PearlChain(the_line or line())
    pearl_chain.append(
        [(f"row {n}", vehicle(order_id(n)), first_seq_no + n - 1 if n == 1 else None) for n in range(1, count + 1)]
    )
    return pearl_chain


def numbers(pearl_chain: PearlChain) -> dict[str, int]:
    """Order id -> sequence number of every live vehicle, in chain order."""
    return {e.order_id: e.seq_no for e in pearl_chain.entries()}


def planned_ids(pearl_chain: PearlChain) -> list[str]:
    return [e.order_id for e in pearl_chain.planned()]

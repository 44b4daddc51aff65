"""Explosion: vehicles x part families -> sequenced demand lines with need times.

For each family of the vehicle's line exactly one variant rule must match; none or several is
an ``ExplosionError`` that names the vehicle, the family and the rules. A rule whose part is
None means the family has no part for that vehicle: no demand line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from jisflow.domain.errors import ExplosionError, Problem
from jisflow.domain.plant import Line, PartFamily, Station, SupplyMode, VariantRule
from jisflow.domain.sequence import Vehicle


@dataclass(frozen=True)
class DemandLine:
    """One part that one vehicle needs at one station, by a need time."""

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

    @property
    def key(self) -> tuple[str, str]:
        return (self.order_id, self.family)


def need_time(line: Line, broadcast_time: datetime, station: Station) -> datetime:
    """Broadcast time + offset x takt, counting only the line's working time."""
    return line.calendar.add_working_time(broadcast_time, line.takt * station.offset_takts)


def rule_problem(family: PartFamily, vehicle: Vehicle, where: str = "") -> tuple[VariantRule | None, Problem | None]:
    """The one rule of ``family`` that matches ``vehicle``, or the problem why there is none."""
    matches = [r for r in family.rules if r.matches(vehicle.model, vehicle.options)]
    if len(matches) == 1:
        return matches[0], None
    spec = ", ".join([f"model={vehicle.model}"] + [f"{k}={v}" for k, v in sorted(vehicle.options.items())])
    place = where or f"vehicle {vehicle.order_id}"
    if not matches:
        return None, Problem(place, f"no variant rule of family {family.code} matches ({spec})")
    names = ", ".join(r.name for r in matches)
    return None, Problem(place, f"{len(matches)} variant rules of family {family.code} match ({spec}): {names}")


def check_vehicle(families: Iterable[PartFamily], vehicle: Vehicle, where: str = "") -> list[Problem]:
    """Every family whose rules do not select exactly one part for ``vehicle``."""
    return [p for f in families if (p := rule_problem(f, vehicle, where)[1]) is not None]


def explode_vehicle(
    line: Line,
    families: Iterable[PartFamily],
    vehicle: Vehicle,
    seq_no: int,
    broadcast_time: datetime,
) -> list[DemandLine]:
    """The demand lines of one vehicle; raises ExplosionError listing every family at fault."""
    lines: list[DemandLine] = []
    problems: list[Problem] = []
    stations = {s.code: s for s in line.stations}
    need_times: dict[str, datetime] = {}
    for family in families:
        rule, problem = rule_problem(family, vehicle)
        if problem is not None:
            problems.append(problem)
            continue
        assert rule is not None
        if rule.part_number is None:
            continue
        if family.station not in need_times:
            need_times[family.station] = need_time(line, broadcast_time, stations[family.station])
        lines.append(
            DemandLine(
                line=line.code, order_id=vehicle.order_id, seq_no=seq_no, family=family.code,
                station=family.station, part_number=rule.part_number, quantity=rule.quantity,
                need_time=need_times[family.station], mode=family.route.mode, supplier=family.route.supplier,
            )
        )
    if problems:
        raise ExplosionError(f"the parts of vehicle {vehicle.order_id} on line {line.code} cannot be determined", problems=problems)
    return lines

"""Forecasts and shipping schedules as the purchasing side reads them, whatever the syntax.

EDIFACT DELFOR and X12 830 (planning schedule) and 862 (shipping schedule) all say: for this
part, delivered to this unloading point, these quantities are due on these days, some firm
(commitment to ship or fabricate) and some only planned. They parse into the same objects.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date


class Commitment(str, enum.Enum):
    FIRM = "firm"  # may be shipped against (DELFOR SCC 1, X12 FST02 C)
    PLANNING = "planning"  # a forecast only (DELFOR SCC 4, X12 FST02 D)


@dataclass(frozen=True)
class ForecastPeriod:
    where: str
    due: date
    quantity: int
    commitment: Commitment


@dataclass(frozen=True)
class PartForecast:
    where: str
    part_number: str  # the buyer's
    supplier_part_number: str | None
    unloading_point: str
    unit: str
    periods: tuple[ForecastPeriod, ...]


@dataclass(frozen=True)
class Forecast:
    """One schedule message: DELFOR, 830 or 862."""

    message: str
    reference: str
    number: str
    issued: date | None
    buyer: str
    seller: str
    parts: tuple[PartForecast, ...]

"""A line's working calendar: shifts, breaks, non-working days, in the plant's time zone.

Time only flows in working windows: a need time is the broadcast time plus offset x takt of
*working* time. All datetimes going in and out are timezone-aware UTC; the plant time zone is
used only to lay the shifts onto the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time


@dataclass(frozen=True)
class Break:
    """A pause inside a shift, in local wall-clock time (may cross midnight in a night shift)."""

    start: time
    end: time
    name: str = ""


@dataclass(frozen=True)
class Shift:
    """A working window repeated on some weekdays, in local time.

    ``end <= start`` means the shift crosses midnight and ends on the next day; it belongs to
    the weekday (0 = Monday) on which it starts.
    """

    name: str
    start: time
    end: time
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    breaks: tuple[Break, ...] = ()


@dataclass(frozen=True)
class LineCalendar:
    timezone: str
    shifts: tuple[Shift, ...]
    non_working_days: frozenset[date] = field(default_factory=frozenset)

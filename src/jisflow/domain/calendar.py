"""A line's working calendar: shifts, breaks, non-working days, in the plant's time zone.

Time only flows in working windows: a need time is the broadcast time plus offset x takt of
*working* time. All datetimes going in must be timezone-aware (any zone) and all datetimes
coming out are UTC; the plant time zone is used only to lay the shifts onto the clock.

How the windows are laid:

* Each local date gets the shifts whose weekday includes that date's weekday, unless the date
  is a non-working day. A shift with ``end <= start`` crosses midnight and belongs to the date
  it starts on, so a non-working day removes the night shift that starts that evening, not the
  one that ends that morning.
* Shifts and breaks are wall-clock times, converted to UTC on their own date. Daylight saving
  changes are therefore honoured: a 22:00-06:00 night shift lasts 7 hours in the night the
  clocks go forward and 9 hours in the night they go back.
* A wall-clock time that occurs twice (the repeated hour in autumn) means its first
  occurrence. A wall-clock time the clock skips (the lost hour in spring) means the moment of
  the jump, the first instant at which the clock shows that time or later; a break lying
  wholly in the skipped hour is therefore not taken.
* Windows are half-open ``[start, end)``: the first instant of a shift is working time, the
  instant a break begins is not.

Day layouts are cached per ``(calendar, date)``, so counting working time over many takts costs
a handful of window steps, not one step per second.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jisflow.domain.errors import CalendarError, Problem, ProblemCollector

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
SEARCH_HORIZON_DAYS = 400
"""A search for working time gives up after this many days in a row without any."""
MEMO_SIZE = 50_000
"""Answers of ``add_working_time`` and ``next_working_time`` a calendar remembers (then it
starts afresh): planned broadcast times and need times fall on the same takt grid again and
again, so most questions have been asked before."""

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Window = tuple[datetime, datetime]


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
    the weekday (0 = Monday) on which it starts. ``end == start`` is a 24-hour shift.
    """

    name: str
    start: time
    end: time
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    breaks: tuple[Break, ...] = ()

    def __post_init__(self) -> None:
        # Loaders often hand in lists; the calendar must stay hashable to be cached.
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        object.__setattr__(self, "breaks", tuple(self.breaks))

    @property
    def length(self) -> timedelta:
        """Wall-clock length of the shift, breaks included (24 hours when end == start)."""
        return (_since_midnight(self.end) - _since_midnight(self.start)) % DAY or DAY

    def break_offsets(self, pause: Break) -> tuple[timedelta, timedelta]:
        """Start and end of a break as wall-clock offsets from the start of this shift."""
        start = (_since_midnight(pause.start) - _since_midnight(self.start)) % DAY
        return start, start + (_since_midnight(pause.end) - _since_midnight(pause.start)) % DAY


@dataclass(frozen=True)
class LineCalendar:
    """The working windows of a line: shifts on weekdays, minus breaks and non-working days.

    ``timezone`` is an IANA name such as ``"Europe/Berlin"``; shifts, breaks and non-working
    days are read in that zone. The calendar checks itself on creation and raises one
    :class:`CalendarError` listing every problem found.
    """

    timezone: str
    shifts: tuple[Shift, ...]
    non_working_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shifts", tuple(self.shifts))
        object.__setattr__(self, "non_working_days", frozenset(self.non_working_days))
        problems = ProblemCollector()
        _check_timezone(self.timezone, problems)
        if not self.shifts:
            problems.add("shifts", "a line calendar needs at least one shift")
        for index, shift in enumerate(self.shifts):
            _check_shift(index, shift, problems)
        _check_overlaps(self.shifts, problems)
        for day in sorted(self.non_working_days, key=repr):
            if not isinstance(day, date) or isinstance(day, datetime):
                problems.add("non_working_days", f"{day!r} is not a date")
        problems.raise_if_any(f"line calendar ({self.timezone}) is invalid", CalendarError)
        object.__setattr__(self, "_hash", hash((self.timezone, self.shifts, self.non_working_days)))
        object.__setattr__(self, "_memo", {})

    def __hash__(self) -> int:
        # computed once: the calendar keys the per-day window cache on every time calculation
        return self._hash  # type: ignore[attr-defined]

    # -- the plant's clock ------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        """The plant's time zone."""
        return ZoneInfo(self.timezone)

    def local_date(self, t: datetime) -> date:
        """The plant's local date at the instant ``t``."""
        return _aware(t, "t").astimezone(self.zone).date()

    # -- shifts -----------------------------------------------------------------------------

    def shift_windows(self, day: date) -> list[tuple[Shift, datetime, datetime]]:
        """Each shift starting on the local date ``day``, with its UTC start and end.

        Breaks are not removed: this is the span "of the shift" that shift KPIs refer to. A
        non-working day has none.
        """
        if not isinstance(day, date) or isinstance(day, datetime):
            raise CalendarError(
                f"day must be a date, got {day!r}", problems=[Problem("day", "is not a date")]
            )
        return [(laid.shift, laid.start, laid.end) for laid in _lay_day(self, day).shifts]

    def shift_at(self, t: datetime) -> Shift | None:
        """The shift running at ``t`` (a break belongs to its shift), or None."""
        t = _aware(t, "t")
        today = self.local_date(t)
        for day in (today - DAY, today):
            for laid in _lay_day(self, day).shifts:
                if laid.start <= t < laid.end:
                    return laid.shift
        return None

    # -- working time -----------------------------------------------------------------------

    def working_windows(self, start: datetime, end: datetime) -> Iterator[Window]:
        """The UTC working windows intersecting ``[start, end)``: clipped, sorted, merged."""
        return _merge(self._clipped_windows(_aware(start, "start"), _aware(end, "end")))

    def is_working(self, t: datetime) -> bool:
        """Whether the line works at the instant ``t``."""
        t = _aware(t, "t")
        today = self.local_date(t)
        return any(
            start <= t < end for day in (today - DAY, today) for start, end in _lay_day(self, day).windows
        )

    def next_working_time(self, t: datetime) -> datetime:
        """``t`` itself if the line works then, else the start of the next working window.

        Raises CalendarError when no working time follows within the search horizon.
        """
        if type(t) is datetime:
            found = self._memo.get((t, None))  # type: ignore[attr-defined]
            if found is not None:
                return found
        start, _ = next(self._windows_after(_aware(t, "t")))
        self._remember((t, None), start)
        return start

    def _remember(self, key: tuple, answer: datetime) -> None:
        """Keep an answer (only answers, so bad arguments are refused every time)."""
        memo = self._memo  # type: ignore[attr-defined]
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[key] = answer

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The instant reached after ``duration`` of working time counted from ``start``.

        Counting begins at ``next_working_time(start)``; a zero duration returns exactly that.
        A positive duration returns the earliest instant that completes it: when the count
        runs out exactly at the end of a window (a break, the end of a shift), that end is
        returned, not the start of the next window.
        """
        if type(start) is datetime and type(duration) is timedelta:
            found = self._memo.get((start, duration))  # type: ignore[attr-defined]
            if found is not None:
                return found
        start, duration = _aware(start, "start"), _duration(duration)
        answer = self._ruler(start).add(start, duration, at_end=True) if duration else self.next_working_time(start)
        self._remember((start, duration), answer)
        return answer

    def next_takt(self, t: datetime, takt: timedelta) -> datetime:
        """The working instant one ``takt`` of working time after ``t``:
        ``next_working_time(add_working_time(t, takt))``, the step from one vehicle to the next
        at the broadcast point (remembered as one answer: a chain walks it once per vehicle)."""
        if type(t) is datetime and type(takt) is timedelta:
            found = self._memo.get((t, takt, True))  # type: ignore[attr-defined]
            if found is not None:
                return found
        t, takt = _aware(t, "t"), _duration(takt)
        answer = self._ruler(t).add(t, takt, at_end=False) if takt else self.next_working_time(t)
        self._remember((t, takt, True), answer)  # type: ignore[arg-type]
        return answer

    def need_times(self, at: datetime, offsets: Iterable[timedelta]) -> list[datetime]:
        """``add_working_time(at, offset)`` for each offset, in one go (the stations of one
        vehicle)."""
        at = _aware(at, "at")
        ruler = self._ruler(at)
        position = ruler.position(at)
        return [ruler.at(position + _duration(offset), at_end=True) if offset else self.next_working_time(at) for offset in offsets]

    def _ruler(self, t: datetime) -> _Ruler:
        """The working-time ruler of this calendar, reaching back to ``t`` at least."""
        memo = self._memo  # type: ignore[attr-defined]
        ruler = memo.get("ruler")
        if ruler is None or t < ruler.origin:
            ruler = memo["ruler"] = _Ruler(self, t - WEEK)  # a week back: earlier questions follow
        return ruler

    def takt_times(self, first: datetime, takt: timedelta, count: int) -> list[datetime]:
        """``count`` working instants one ``takt`` apart, from ``first`` (a working instant):
        ``first``, ``next_takt(first, takt)``, and so on. The last walk is remembered, so a
        walk that starts on one of its instants (the line moved on by some takts) is mostly a
        slice of it."""
        if count <= 0:
            return []
        memo = self._memo  # type: ignore[attr-defined]
        walk = memo.get(("takts", takt))
        if walk is not None and (start := walk[1].get(first)) is not None:
            times = walk[0]
            if start + count <= len(times):
                return times[start : start + count]
            times, index = times[start:], {}
        else:
            times, index = [first], {}
        if len(times) < count:
            if not takt:
                times.extend([times[-1]] * (count - len(times)))
            else:
                last = _aware(times[-1], "first")
                ruler = self._ruler(last)
                position = ruler.position(last)
                at = ruler.at
                times.extend(at(position + takt * k, at_end=False) for k in range(1, count - len(times) + 1))
        index = {t: i for i, t in enumerate(times)}
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[("takts", takt)] = (times, index)
        return list(times)

    def _add_working_time(self, start: datetime, remaining: timedelta) -> datetime:
        """``add_working_time`` by walking the windows (the ruler's reference)."""
        if not remaining:
            return self.next_working_time(start)
        windows = self._windows_after(start)
        while True:
            window_start, window_end = next(windows)
            if remaining <= window_end - window_start:
                return window_start + remaining
            remaining -= window_end - window_start

    def subtract_working_time(self, end: datetime, duration: timedelta) -> datetime:
        """The latest instant from which ``duration`` of working time ends at ``end``.

        A zero duration returns ``end``. When the count runs out exactly at the start of a
        window, that start is returned, not the end of the window before it. This inverts
        :meth:`add_working_time`: ``subtract_working_time(add_working_time(t, d), d)`` is
        ``next_working_time(t)``, and ``add_working_time(subtract_working_time(e, d), d)`` is
        ``e`` whenever working time runs right up to ``e`` (inside a window or at its end).
        """
        end = _aware(end, "end")
        remaining = _duration(duration)
        if not remaining:
            return end
        windows = self._windows_before(end)
        while True:
            window_start, window_end = next(windows)
            if remaining <= window_end - window_start:
                return window_end - remaining
            remaining -= window_end - window_start

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time from ``a`` to ``b``; negative when ``b`` is before ``a``."""
        a, b = _aware(a, "a"), _aware(b, "b")
        if b < a:
            return -self.working_time_between(b, a)
        return sum((end - start for start, end in self._clipped_windows(a, b)), timedelta())

    # -- window streams ---------------------------------------------------------------------

    def _clipped_windows(self, start: datetime, end: datetime) -> Iterator[Window]:
        """Working windows of the days that can reach into ``[start, end)``, clipped to it."""
        day, last = self.local_date(start) - DAY, self.local_date(end)
        while day <= last:
            for window_start, window_end in _lay_day(self, day).windows:
                window_start, window_end = max(window_start, start), min(window_end, end)
                if window_start < window_end:
                    yield window_start, window_end
            day += DAY

    def _windows_after(self, t: datetime) -> Iterator[Window]:
        """Working windows from ``t`` on, the first one clipped to start at ``t``."""
        day, idle = self.local_date(t) - DAY, 0
        while idle <= SEARCH_HORIZON_DAYS:
            windows = _lay_day(self, day).windows
            idle = 0 if windows else idle + 1
            for start, end in windows:
                if end > t:
                    yield max(start, t), end
            day += DAY
        raise CalendarError(f"no working time within {SEARCH_HORIZON_DAYS} days after {t.isoformat()}")

    def _windows_before(self, t: datetime) -> Iterator[Window]:
        """Working windows before ``t``, latest first, the first one clipped to end at ``t``."""
        day, idle = self.local_date(t), 0
        while idle <= SEARCH_HORIZON_DAYS:
            windows = _lay_day(self, day).windows
            idle = 0 if windows else idle + 1
            for start, end in reversed(windows):
                if start < t:
                    yield start, min(end, t)
            day -= DAY
        raise CalendarError(f"no working time within {SEARCH_HORIZON_DAYS} days before {t.isoformat()}")


# -- laying one local date onto the UTC time line ---------------------------------------------


@dataclass(frozen=True)
class _LaidShift:
    shift: Shift
    start: datetime
    end: datetime
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class _LaidDay:
    shifts: tuple[_LaidShift, ...]
    windows: tuple[Window, ...]


@functools.lru_cache(maxsize=8192)
def _lay_day(calendar: LineCalendar, day: date) -> _LaidDay:
    """The shifts starting on local date ``day`` and their working windows, in UTC, sorted."""
    if day in calendar.non_working_days:
        return _LaidDay((), ())
    zone = calendar.zone
    laid: list[_LaidShift] = []
    for shift in calendar.shifts:
        if day.weekday() not in shift.weekdays:
            continue
        wall_start = datetime.combine(day, shift.start)
        start, end = _to_utc(wall_start, zone), _to_utc(wall_start + shift.length, zone)
        pauses = sorted(
            (_to_utc(wall_start + offset_start, zone), _to_utc(wall_start + offset_end, zone))
            for offset_start, offset_end in map(shift.break_offsets, shift.breaks)
        )
        if start < end:
            laid.append(_LaidShift(shift, start, end, _without(start, end, pauses)))
    laid.sort(key=lambda item: item.start)
    return _LaidDay(tuple(laid), tuple(window for item in laid for window in item.windows))


def _without(start: datetime, end: datetime, pauses: list[Window]) -> tuple[Window, ...]:
    """``[start, end)`` minus the sorted pauses."""
    windows: list[Window] = []
    cursor = start
    for pause_start, pause_end in pauses:
        if pause_start > cursor:
            windows.append((cursor, min(pause_start, end)))
        cursor = max(cursor, pause_end)
        if cursor >= end:
            break
    if cursor < end:
        windows.append((cursor, end))
    return tuple(windows)


def _to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the plant clock shows the naive local time ``wall``.

    A repeated wall-clock time is its first occurrence; a skipped one is the instant of the
    jump. Both rules keep the mapping monotonic, so shifts that do not overlap on the wall
    clock do not overlap in UTC either.
    """
    first = wall.replace(tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # ``wall`` lies in a gap: fold=1 reads it with the offset after the jump (an instant
    # before the jump), fold=0 with the offset before it (an instant after the jump).
    before, after = wall.replace(tzinfo=zone, fold=1).astimezone(UTC), first
    offset_after = after.astimezone(zone).utcoffset()
    while after - before > timedelta(microseconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(zone).utcoffset() == offset_after:
            after = middle
        else:
            before = middle
    return after


def _merge(windows: Iterable[Window]) -> Iterator[Window]:
    """Sorted windows with touching or overlapping neighbours joined."""
    pending: Window | None = None
    for start, end in windows:
        if pending is not None and start <= pending[1]:
            pending = (pending[0], max(pending[1], end))
            continue
        if pending is not None:
            yield pending
        pending = (start, end)
    if pending is not None:
        yield pending


# -- argument checks ---------------------------------------------------------------------------


def _aware(value: datetime, name: str) -> datetime:
    """``value`` as a UTC datetime; a naive or non-datetime value is a CalendarError."""
    if not isinstance(value, datetime):
        raise CalendarError(
            f"{name} must be a timezone-aware datetime, got {value!r}",
            problems=[Problem(name, "is not a datetime")],
        )
    if value.tzinfo is UTC:
        return value
    if value.utcoffset() is None:
        raise CalendarError(
            f"{name} must be a timezone-aware datetime, got the naive {value.isoformat()}",
            problems=[Problem(name, "is naive (no time zone)")],
        )
    return value.astimezone(UTC)


def _duration(value: timedelta) -> timedelta:
    if not isinstance(value, timedelta):
        raise CalendarError(
            f"duration must be a timedelta, got {value!r}",
            problems=[Problem("duration", "is not a timedelta")],
        )
    if value < timedelta():
        raise CalendarError(
            f"duration must not be negative, got {value}",
            problems=[Problem("duration", "is negative")],
        )
    return value


# -- calendar checks ---------------------------------------------------------------------------


def _check_timezone(name: str, problems: ProblemCollector) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        problems.add("timezone", f"{name!r} is not a known IANA time zone")


def _check_shift(index: int, shift: Shift, problems: ProblemCollector) -> None:
    where = f"shifts[{index}] {shift.name!r}"
    for label, value in (("start", shift.start), ("end", shift.end)):
        if not _is_wall_clock(value):
            problems.add(where, f"{label} {value!r} is not a wall-clock time without time zone")
    if not shift.weekdays:
        problems.add(where, "works on no weekday")
    for weekday in sorted(shift.weekdays, key=repr):
        if not _is_weekday(weekday):
            problems.add(where, f"weekday {weekday!r} is outside 0 (Monday) to 6 (Sunday)")
    for number, pause in enumerate(shift.breaks):
        label = f"{where} break {pause.name or number}"
        if not isinstance(pause.start, time) or not isinstance(pause.end, time):
            problems.add(label, "start and end must be wall-clock times")
            continue
        if pause.start == pause.end:
            problems.add(label, f"is empty: it starts and ends at {_clock(pause.start)}")
        elif _has_wall_clock(shift) and shift.break_offsets(pause)[1] > shift.length:
            problems.add(
                label,
                f"{_clock(pause.start)}-{_clock(pause.end)} is not inside the shift "
                f"{_clock(shift.start)}-{_clock(shift.end)}",
            )


def _check_overlaps(shifts: tuple[Shift, ...], problems: ProblemCollector) -> None:
    """Report shifts whose wall-clock spans overlap anywhere in the week."""
    spans = [
        (index, start, end)
        for index, shift in enumerate(shifts)
        if _has_wall_clock(shift)
        for start, end in _week_spans(shift)
    ]
    overlaps: dict[tuple[int, int, timedelta], set[int]] = {}
    for first, (index_a, start_a, end_a) in enumerate(spans):
        for index_b, start_b, end_b in spans[first + 1 :]:
            if index_a != index_b and start_a < end_b and start_b < end_a:
                weekday, clock = divmod(max(start_a, start_b), DAY)
                key = (min(index_a, index_b), max(index_a, index_b), clock)
                overlaps.setdefault(key, set()).add(weekday)
    for (index_a, index_b, clock), weekdays in sorted(overlaps.items()):
        days = ", ".join(WEEKDAY_NAMES[weekday] for weekday in sorted(weekdays))
        problems.add(
            f"shifts[{index_a}] {shifts[index_a].name!r}",
            f"overlaps shift {shifts[index_b].name!r} from {_clock((datetime.min + clock).time())} on {days}",
        )


def _week_spans(shift: Shift) -> Iterator[tuple[timedelta, timedelta]]:
    """The shift's spans as offsets from Monday 00:00, wrapped at the end of the week."""
    for weekday in sorted(filter(_is_weekday, shift.weekdays)):
        start = weekday * DAY + _since_midnight(shift.start)
        end = start + shift.length
        if end <= WEEK:
            yield start, end
        else:
            yield start, WEEK
            yield timedelta(), end - WEEK


def _is_wall_clock(value: object) -> bool:
    return isinstance(value, time) and value.tzinfo is None


def _has_wall_clock(shift: Shift) -> bool:
    return _is_wall_clock(shift.start) and _is_wall_clock(shift.end)


def _is_weekday(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6


def _since_midnight(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


def _clock(t: time) -> str:
    return t.isoformat("minutes" if not (t.second or t.microsecond) else "auto")


class _Ruler:
    """Working time as a ruler: the calendar's working windows from ``origin`` on, each with
    the working time that lies before it, so adding working time to an instant is two
    bisections instead of a walk over the windows (a chain whose broadcasts run a little early
    or late asks for thousands of new instants at once). Windows are laid on demand, further
    as positions further out are asked for. Half-open windows as everywhere: ``at_end`` says
    whether a count that runs out exactly at a window's end stays there (``add_working_time``)
    or moves to the start of the next window (``next_takt``)."""

    __slots__ = ("calendar", "origin", "starts", "ends", "before")

    def __init__(self, calendar: LineCalendar, origin: datetime) -> None:
        self.calendar, self.origin = calendar, origin
        self.starts: list[datetime] = []
        self.ends: list[datetime] = []
        self.before: list[timedelta] = []  # working time from the first window's start to each window's start
        self._lay(origin)

    def _lay(self, t: datetime, windows: int = 64) -> None:
        """Lay the next ``windows`` working windows from ``t`` on."""
        stream = self.calendar._windows_after(t)
        for _ in range(windows):
            start, end = next(stream)
            if self.ends:
                if start < self.ends[-1]:
                    start = self.ends[-1]
                    if start >= end:
                        continue
                self.before.append(self.before[-1] + (self.ends[-1] - self.starts[-1]))
            else:
                self.before.append(timedelta(0))
            self.starts.append(start)
            self.ends.append(end)

    def position(self, t: datetime) -> timedelta:
        """The working time from the first window's start to ``t`` (an instant outside working
        time counts from the next window's start)."""
        while t >= self.ends[-1]:
            self._lay(self.ends[-1])
        index = bisect.bisect_right(self.starts, t) - 1
        if index < 0:
            return self.before[0]
        if t < self.ends[index]:
            return self.before[index] + (t - self.starts[index])
        return self.before[index + 1]

    def add(self, t: datetime, duration: timedelta, at_end: bool) -> datetime:
        return self.at(self.position(t) + duration, at_end)

    def at(self, position: timedelta, at_end: bool) -> datetime:
        """The instant at ``position`` of working time (see the class)."""
        while position >= self.before[-1] + (self.ends[-1] - self.starts[-1]):
            self._lay(self.ends[-1])
        if at_end:  # the window with before < position <= before + length
            index = bisect.bisect_left(self.before, position) - 1
        else:  # the window with before <= position < before + length
            index = bisect.bisect_right(self.before, position) - 1
        return self.starts[index] + (position - self.before[index])

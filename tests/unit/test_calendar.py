from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jisflow.domain.calendar import Break, LineCalendar, Shift
from jisflow.domain.errors import CalendarError

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))

EARLY = Shift("early", time(6), time(14), WEEKDAYS, (Break(time(12), time(12, 30), "lunch"),))
LATE = Shift("late", time(14), time(22), WEEKDAYS, (Break(time(18), time(18, 30)),))
NIGHT = Shift("night", time(22), time(6), frozenset({6, 0, 1, 2, 3}), (Break(time(2), time(2, 30)),))

GOOD_FRIDAY, EASTER_MONDAY = date(2024, 3, 29), date(2024, 4, 1)
TWO_SHIFTS = LineCalendar("Europe/Berlin", (EARLY, LATE), frozenset({GOOD_FRIDAY, EASTER_MONDAY}))
EARLY_ONLY = LineCalendar("Europe/Berlin", (EARLY,))
NIGHTS = LineCalendar(
    "Europe/Berlin", (Shift("night", time(22), time(6), WEEKDAYS, (Break(time(2), time(2, 30)),)),)
)
NIGHTS_ALL_WEEK = LineCalendar(
    "Europe/Berlin", (Shift("night", time(22), time(6), EVERY_DAY, (Break(time(4), time(4, 30)),)),)
)
THREE_SHIFTS = LineCalendar(
    "Europe/Berlin",
    (EARLY, LATE, NIGHT),
    frozenset({date(2024, 12, 25), date(2024, 12, 26), date(2025, 1, 1), GOOD_FRIDAY, EASTER_MONDAY}),
)


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


MINUTES = timedelta(minutes=1)
HOURS = timedelta(hours=1)


# -- counting working time ---------------------------------------------------------------------


def test_need_time_skips_the_lunch_break():
    assert TWO_SHIFTS.add_working_time(berlin(2024, 3, 4, 11, 50), 20 * MINUTES) == berlin(2024, 3, 4, 12, 40)


def test_time_runs_from_the_end_of_one_shift_straight_into_the_next():
    assert TWO_SHIFTS.add_working_time(berlin(2024, 3, 4, 13, 50), 20 * MINUTES) == berlin(2024, 3, 4, 14, 10)


def test_time_left_at_the_end_of_the_shift_continues_in_the_next_days_shift():
    assert EARLY_ONLY.add_working_time(berlin(2024, 3, 4, 13, 50), 20 * MINUTES) == berlin(2024, 3, 5, 6, 10)


def test_need_time_skips_the_weekend():
    assert TWO_SHIFTS.add_working_time(berlin(2024, 3, 8, 21, 50), 20 * MINUTES) == berlin(2024, 3, 11, 6, 10)


def test_need_time_skips_non_working_holidays():
    # Thursday evening before Easter: Good Friday, the weekend and Easter Monday are off.
    assert TWO_SHIFTS.add_working_time(berlin(2024, 3, 28, 21, 50), 20 * MINUTES) == berlin(2024, 4, 2, 6, 10)


def test_a_night_shift_crosses_midnight_and_takes_its_break_after_midnight():
    # 23:50 -> 02:00 is 2 h 10 min, the break ends at 02:30, 50 more minutes reach 03:20.
    assert NIGHTS.add_working_time(berlin(2024, 3, 4, 23, 50), 3 * HOURS) == berlin(2024, 3, 5, 3, 20)
    assert not NIGHTS.is_working(berlin(2024, 3, 5, 2, 10))
    assert NIGHTS.shift_at(berlin(2024, 3, 5, 2, 10)).name == "night"


def test_a_night_shift_belongs_to_the_day_it_starts_on():
    [(shift, start, end)] = NIGHTS.shift_windows(date(2024, 3, 4))
    assert (shift.name, start, end) == ("night", berlin(2024, 3, 4, 22), berlin(2024, 3, 5, 6))
    # Friday's night shift ends on Saturday morning; none starts on Saturday.
    assert NIGHTS.shift_windows(date(2024, 3, 9)) == []
    assert NIGHTS.is_working(berlin(2024, 3, 9, 5))


def test_a_non_working_day_removes_the_shift_starting_on_it_not_the_one_ending_on_it():
    calendar = LineCalendar("Europe/Berlin", NIGHTS.shifts, frozenset({date(2024, 3, 5)}))
    assert calendar.is_working(berlin(2024, 3, 5, 5))
    assert not calendar.is_working(berlin(2024, 3, 5, 23))
    assert calendar.shift_windows(date(2024, 3, 5)) == []


def test_the_night_the_clocks_go_forward_is_an_hour_shorter():
    [(_, start, end)] = NIGHTS_ALL_WEEK.shift_windows(date(2024, 3, 30))
    assert (start, end) == (utc(2024, 3, 30, 21), utc(2024, 3, 31, 4))
    assert NIGHTS_ALL_WEEK.working_time_between(start, end) == 6 * HOURS + 30 * MINUTES
    # Five hours until the 04:00 CEST break (02:00 UTC), then one more after it.
    assert NIGHTS_ALL_WEEK.add_working_time(start, 6 * HOURS) == berlin(2024, 3, 31, 5, 30)


def test_the_night_the_clocks_go_back_is_an_hour_longer():
    [(_, start, end)] = NIGHTS_ALL_WEEK.shift_windows(date(2024, 10, 26))
    assert (start, end) == (utc(2024, 10, 26, 20), utc(2024, 10, 27, 5))
    assert NIGHTS_ALL_WEEK.working_time_between(start, end) == 8 * HOURS + 30 * MINUTES
    assert NIGHTS_ALL_WEEK.add_working_time(start, 8 * HOURS) == berlin(2024, 10, 27, 5, 30)


def test_a_shift_starting_in_the_skipped_hour_starts_at_the_jump():
    calendar = LineCalendar("Europe/Berlin", (Shift("sunday", time(2, 30), time(10), frozenset({6})),))
    [(_, start, end)] = calendar.shift_windows(date(2024, 3, 31))
    assert (start, end) == (berlin(2024, 3, 31, 3), berlin(2024, 3, 31, 10))


def test_counting_from_outside_working_time_starts_at_the_next_window():
    saturday = berlin(2024, 3, 9, 10)
    assert TWO_SHIFTS.next_working_time(saturday) == berlin(2024, 3, 11, 6)
    assert TWO_SHIFTS.add_working_time(saturday, 30 * MINUTES) == berlin(2024, 3, 11, 6, 30)
    assert TWO_SHIFTS.add_working_time(berlin(2024, 3, 4, 12, 10), timedelta()) == berlin(2024, 3, 4, 12, 30)


def test_a_working_instant_is_its_own_next_working_time():
    t = berlin(2024, 3, 4, 9, 17)
    assert TWO_SHIFTS.next_working_time(t) == t
    assert TWO_SHIFTS.add_working_time(t, timedelta()) == t


def test_a_count_ending_at_a_break_gives_the_break_start_and_back_counting_gives_the_window_start():
    assert TWO_SHIFTS.add_working_time(berlin(2024, 3, 4, 11, 30), 30 * MINUTES) == berlin(2024, 3, 4, 12)
    assert TWO_SHIFTS.subtract_working_time(berlin(2024, 3, 4, 13), 30 * MINUTES) == berlin(2024, 3, 4, 12, 30)
    assert TWO_SHIFTS.subtract_working_time(berlin(2024, 3, 4, 13), 40 * MINUTES) == berlin(2024, 3, 4, 11, 50)


def test_subtracting_skips_the_weekend_backwards():
    assert TWO_SHIFTS.subtract_working_time(berlin(2024, 3, 11, 6, 10), 20 * MINUTES) == berlin(2024, 3, 8, 21, 50)


def test_working_time_between_counts_only_working_windows_and_is_negative_backwards():
    monday, tuesday = berlin(2024, 3, 4, 6), berlin(2024, 3, 5, 6)
    assert TWO_SHIFTS.working_time_between(monday, tuesday) == 15 * HOURS
    assert TWO_SHIFTS.working_time_between(tuesday, monday) == -15 * HOURS


def test_working_windows_are_clipped_sorted_and_merged():
    windows = list(TWO_SHIFTS.working_windows(berlin(2024, 3, 4, 10), berlin(2024, 3, 5, 7)))
    assert windows == [
        (berlin(2024, 3, 4, 10), berlin(2024, 3, 4, 12)),
        (berlin(2024, 3, 4, 12, 30), berlin(2024, 3, 4, 18)),
        (berlin(2024, 3, 4, 18, 30), berlin(2024, 3, 4, 22)),
        (berlin(2024, 3, 5, 6), berlin(2024, 3, 5, 7)),
    ]
    assert all(start.tzinfo is UTC and end.tzinfo is UTC for start, end in windows)


def test_working_windows_join_a_night_shift_to_the_shifts_around_it():
    windows = list(THREE_SHIFTS.working_windows(berlin(2024, 3, 5, 20), berlin(2024, 3, 6, 8)))
    assert windows == [
        (berlin(2024, 3, 5, 20), berlin(2024, 3, 6, 2)),
        (berlin(2024, 3, 6, 2, 30), berlin(2024, 3, 6, 8)),
    ]


def test_working_windows_of_an_empty_range_are_empty():
    assert list(TWO_SHIFTS.working_windows(berlin(2024, 3, 4, 10), berlin(2024, 3, 4, 10))) == []


def test_windows_are_half_open_at_shift_and_break_boundaries():
    assert TWO_SHIFTS.is_working(berlin(2024, 3, 4, 6))
    assert not TWO_SHIFTS.is_working(berlin(2024, 3, 4, 12))
    assert TWO_SHIFTS.is_working(berlin(2024, 3, 4, 12, 30))
    assert not TWO_SHIFTS.is_working(berlin(2024, 3, 4, 22))


def test_shift_at_includes_breaks_and_is_none_between_shifts():
    assert TWO_SHIFTS.shift_at(berlin(2024, 3, 4, 12, 10)) == EARLY
    assert TWO_SHIFTS.shift_at(berlin(2024, 3, 4, 14)) == LATE
    assert TWO_SHIFTS.shift_at(berlin(2024, 3, 4, 23)) is None


def test_any_time_zone_goes_in_and_utc_comes_out():
    new_york = datetime(2024, 3, 4, 5, 50, tzinfo=ZoneInfo("America/New_York"))  # 11:50 in Berlin
    result = TWO_SHIFTS.add_working_time(new_york, 20 * MINUTES)
    assert result.tzinfo is UTC
    assert result == berlin(2024, 3, 4, 12, 40)


def test_a_calendar_built_from_lists_and_sets_works_like_one_built_from_frozen_values():
    calendar = LineCalendar(
        "Europe/Berlin",
        [Shift("early", time(6), time(14), [0, 1, 2, 3, 4], [Break(time(12), time(12, 30))])],  # type: ignore[arg-type]
        {EASTER_MONDAY},  # type: ignore[arg-type]
    )
    start = berlin(2024, 3, 28, 13, 50)
    assert calendar.add_working_time(start, 20 * MINUTES) == EARLY_ONLY.add_working_time(start, 20 * MINUTES)
    assert not calendar.is_working(berlin(2024, 4, 1, 8))


# -- bad input ---------------------------------------------------------------------------------

NAIVE = datetime(2024, 3, 4, 10)
AWARE = berlin(2024, 3, 4, 10)


@pytest.mark.parametrize(
    ("argument", "call"),
    [
        ("start", lambda c: c.working_windows(NAIVE, AWARE)),
        ("end", lambda c: c.working_windows(AWARE, NAIVE)),
        ("t", lambda c: c.is_working(NAIVE)),
        ("t", lambda c: c.next_working_time(NAIVE)),
        ("start", lambda c: c.add_working_time(NAIVE, MINUTES)),
        ("end", lambda c: c.subtract_working_time(NAIVE, MINUTES)),
        ("b", lambda c: c.working_time_between(AWARE, NAIVE)),
        ("t", lambda c: c.shift_at(NAIVE)),
    ],
)
def test_a_naive_datetime_is_refused_naming_the_argument(argument, call):
    with pytest.raises(CalendarError, match=f"^{argument} must be a timezone-aware datetime") as caught:
        call(TWO_SHIFTS)
    assert [p.where for p in caught.value.problems] == [argument]


def test_a_negative_duration_is_refused():
    with pytest.raises(CalendarError, match="duration must not be negative"):
        TWO_SHIFTS.add_working_time(AWARE, -MINUTES)
    with pytest.raises(CalendarError, match="duration must not be negative"):
        TWO_SHIFTS.subtract_working_time(AWARE, -MINUTES)


def test_a_calendar_without_working_time_for_400_days_gives_up():
    off = frozenset(date(2024, 1, 1) + timedelta(days=n) for n in range(450))
    calendar = LineCalendar("Europe/Berlin", (EARLY,), off)
    with pytest.raises(CalendarError, match="no working time within 400 days after"):
        calendar.next_working_time(berlin(2024, 1, 2, 8))
    with pytest.raises(CalendarError, match="no working time within 400 days before"):
        calendar.subtract_working_time(berlin(2025, 3, 20, 8), MINUTES)


def test_an_invalid_calendar_is_refused_with_every_problem_listed():
    with pytest.raises(CalendarError) as caught:
        LineCalendar(
            "Mars/Olympus_Mons",
            (
                Shift("early", time(6), time(14), frozenset({0, 7}), (Break(time(14), time(14, 30), "late lunch"),)),
                Shift("late", time(13), time(22), WEEKDAYS, (Break(time(18), time(18)),)),
                Shift("spare", time(6), time(7), frozenset({0, 1})),
                Shift("idle", time(3), time(4), frozenset()),
            ),
        )
    assert [str(problem) for problem in caught.value.problems] == [
        "timezone: 'Mars/Olympus_Mons' is not a known IANA time zone",
        "shifts[0] 'early': weekday 7 is outside 0 (Monday) to 6 (Sunday)",
        "shifts[0] 'early' break late lunch: 14:00-14:30 is not inside the shift 06:00-14:00",
        "shifts[1] 'late' break 0: is empty: it starts and ends at 18:00",
        "shifts[3] 'idle': works on no weekday",
        "shifts[0] 'early': overlaps shift 'late' from 13:00 on Monday",
        "shifts[0] 'early': overlaps shift 'spare' from 06:00 on Monday",
    ]


def test_a_night_shift_running_into_the_next_mornings_shift_is_an_overlap():
    with pytest.raises(CalendarError, match="overlaps shift 'early' from 06:00 on Tuesday"):
        LineCalendar("Europe/Berlin", (Shift("night", time(22), time(7), frozenset({0})), EARLY))


def test_a_sunday_night_shift_running_into_monday_is_an_overlap():
    with pytest.raises(CalendarError, match="overlaps shift 'early' from 06:00 on Monday"):
        LineCalendar("Europe/Berlin", (Shift("night", time(22), time(7), frozenset({6})), EARLY))


def test_a_calendar_without_shifts_is_refused():
    with pytest.raises(CalendarError, match="needs at least one shift"):
        LineCalendar("Europe/Berlin", ())


def test_a_night_break_after_midnight_is_inside_its_shift():
    assert NIGHTS.shifts[0].break_offsets(NIGHTS.shifts[0].breaks[0]) == (4 * HOURS, 4 * HOURS + 30 * MINUTES)


# -- properties --------------------------------------------------------------------------------

calendars = st.sampled_from([TWO_SHIFTS, EARLY_ONLY, NIGHTS, NIGHTS_ALL_WEEK, THREE_SHIFTS])
instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2025, 12, 31), timezones=st.just(UTC)
)
durations = st.integers(min_value=0, max_value=200 * 3600).map(lambda s: timedelta(seconds=s))


@settings(deadline=None)
@given(calendars, instants, durations)
def test_subtract_undoes_add(calendar, start, duration):
    end = calendar.add_working_time(start, duration)
    assert calendar.subtract_working_time(end, duration) == calendar.next_working_time(start)


@settings(deadline=None)
@given(calendars, instants, durations)
def test_add_undoes_subtract_when_working_time_runs_up_to_the_end(calendar, instant, duration):
    end = calendar.add_working_time(instant, MINUTES)
    start = calendar.subtract_working_time(end, duration)
    assert calendar.add_working_time(start, duration) == end


@settings(deadline=None)
@given(calendars, instants, durations)
def test_working_time_between_agrees_with_add(calendar, start, duration):
    end = calendar.add_working_time(start, duration)
    assert calendar.working_time_between(start, end) == duration
    assert sum((b - a for a, b in calendar.working_windows(start, end)), timedelta()) == duration
    assert not duration or calendar.is_working(end - timedelta(microseconds=1))


@settings(max_examples=50, deadline=None)
@given(
    st.datetimes(min_value=datetime(2026, 3, 20), max_value=datetime(2026, 11, 10), timezones=st.just(BERLIN)),
    st.integers(min_value=0, max_value=3 * 24 * 3600),
)
def test_a_working_time_question_asked_again_gets_the_answer_a_fresh_calendar_gives(start: datetime, seconds: int):
    remembering = LineCalendar("Europe/Berlin", (EARLY, LATE), frozenset({GOOD_FRIDAY, EASTER_MONDAY}))
    duration = timedelta(seconds=seconds)
    first = remembering.add_working_time(start, duration)
    again = remembering.add_working_time(start.astimezone(UTC), duration)  # the same instant, another zone
    fresh = LineCalendar("Europe/Berlin", (EARLY, LATE), frozenset({GOOD_FRIDAY, EASTER_MONDAY}))
    assert first == again == fresh.add_working_time(start, duration)
    assert again.tzinfo is UTC
    assert remembering.next_working_time(start) == fresh.next_working_time(start)


def test_a_naive_time_is_refused_even_when_the_same_wall_clock_was_asked_with_a_zone():
    aware = utc(2026, 6, 1, 8)
    TWO_SHIFTS.add_working_time(aware, timedelta(minutes=5))
    TWO_SHIFTS.next_working_time(aware)
    with pytest.raises(CalendarError):
        TWO_SHIFTS.add_working_time(aware.replace(tzinfo=None), timedelta(minutes=5))
    with pytest.raises(CalendarError):
        TWO_SHIFTS.next_working_time(aware.replace(tzinfo=None))


@settings(max_examples=60, deadline=None)
@given(
    start_minute=st.integers(0, 7 * 24 * 60),
    takt_seconds=st.sampled_from([45, 60, 90, 137, 600]),
    counts=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 300)), min_size=1, max_size=6),
)
def test_a_walk_of_takts_gives_the_instants_of_stepping_one_takt_at_a_time(start_minute, takt_seconds, counts):
    calendar = LineCalendar("Europe/Berlin", (EARLY, LATE), frozenset({GOOD_FRIDAY}))  # a memory of its own
    takt = timedelta(seconds=takt_seconds)
    first = calendar.next_working_time(datetime(2026, 3, 30, tzinfo=UTC) + start_minute * MINUTES)
    for skip, count in counts:  # the line moves on by some takts, then asks for the next ones
        for _ in range(skip):
            first = calendar.next_working_time(calendar.add_working_time(first, takt))
        expected, t = [], first
        for _ in range(count):
            expected.append(t)
            t = calendar.next_working_time(calendar.add_working_time(t, takt))
        assert calendar.takt_times(first, takt, count) == expected


@settings(max_examples=300, deadline=None)
@given(
    calendar=st.sampled_from([TWO_SHIFTS, EARLY_ONLY, NIGHTS, NIGHTS_ALL_WEEK, THREE_SHIFTS]),
    start_second=st.integers(0, 400 * 24 * 3600),
    seconds=st.one_of(st.integers(0, 120), st.integers(0, 10 * 24 * 3600)),
    order=st.randoms(use_true_random=False),
)
def test_adding_working_time_by_the_ruler_gives_what_walking_the_windows_gives(calendar, start_second, seconds, order):
    """Across breaks, weekends, holidays, nights and both clock changes, asked in any order."""
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=start_second)
    duration = timedelta(seconds=seconds)
    fresh = LineCalendar(calendar.timezone, calendar.shifts, calendar.non_working_days)  # a ruler of its own
    asks = [(start, duration), (start + timedelta(hours=order.randint(-200, 200)), duration)]
    order.shuffle(asks)
    for t, d in asks:
        walked = fresh._add_working_time(t, d)
        assert fresh.add_working_time(t, d) == walked
        assert fresh.next_takt(t, d) == fresh.next_working_time(walked)


@settings(max_examples=200, deadline=None)
@given(
    calendar=st.sampled_from([TWO_SHIFTS, NIGHTS, THREE_SHIFTS]),
    start_second=st.integers(0, 400 * 24 * 3600),
    offsets=st.lists(st.integers(0, 3 * 3600), min_size=1, max_size=5),
)
def test_need_times_of_several_stations_are_each_the_working_time_added(calendar, start_second, offsets):
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=start_second)
    fresh = LineCalendar(calendar.timezone, calendar.shifts, calendar.non_working_days)
    durations = [timedelta(seconds=o) for o in offsets]
    assert fresh.need_times(at, durations) == [fresh._add_working_time(at, d) for d in durations]

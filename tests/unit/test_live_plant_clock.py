"""The demo plant's clock is shared with the control tower through one number."""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timedelta, timezone

import pytest

from jisflow.simulation.live_plant import SharedClock, SharedClockReader

START = datetime(2026, 12, 7, 5, 0, 0, 250000, tzinfo=timezone.utc)


def test_the_reader_shows_the_time_the_plant_clock_was_set_to() -> None:
    shared = multiprocessing.get_context("spawn").Value("d", 0.0, lock=False)
    clock, reader = SharedClock(START, shared), SharedClockReader(shared)
    assert reader.now() == START
    clock.set(START + timedelta(minutes=90))
    assert reader.now() == START + timedelta(minutes=90)
    clock.advance(timedelta(seconds=61))
    assert reader.now() == clock.now() == START + timedelta(minutes=91, seconds=1)


def test_the_shared_clock_still_refuses_to_go_back() -> None:
    shared = multiprocessing.get_context("spawn").Value("d", 0.0, lock=False)
    clock = SharedClock(START, shared)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(START - timedelta(seconds=1))
    assert SharedClockReader(shared).now() == START

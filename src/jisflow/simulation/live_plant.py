"""A simulated plant playing one shift in a process of its own, paced to the wall clock, while
other processes (the control tower) read the same database and the same simulated time.

The plant runs in its own process so that its busy Python work does not hold up a web
server's event loop; its simulated clock is a shared number that the other side reads::

    plant = LivePlant(PlantPlay(...))
    plant.start()                                   # the child plays; its SharedClock writes the time
    web = bootstrap(database_url=url, clock=plant.clock)
    ...
    plant.stop()
"""

from __future__ import annotations

import time as walltime
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from jisflow.services.clock import SimulatedClock


class SharedClock(SimulatedClock):
    """A simulated clock whose time other processes can read (seconds since the epoch in a
    shared double)."""

    def __init__(self, start: datetime, shared: Any) -> None:
        super().__init__(start)
        self._shared = shared
        self._shared.value = self.now().timestamp()

    def set(self, t: datetime) -> datetime:
        now = super().set(t)
        self._shared.value = now.timestamp()
        return now

    def advance(self, delta: timedelta) -> datetime:
        return self.set(self.now() + delta)


class SharedClockReader:
    """The time a SharedClock of another process shows."""

    def __init__(self, shared: Any) -> None:
        self._shared = shared

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._shared.value, timezone.utc)


@dataclass(frozen=True)
class PlantPlay:
    """One shift to play: the database (its plant loaded), the plant file, the line, the seed,
    the shift's window, the clock's start and the pace (simulated seconds per real second)."""

    database_url: str
    plant_file: Path
    line: str
    seed: int
    shift: str
    start: datetime
    end: datetime
    clock_start: datetime
    speed: float


class _Stopped(Exception):
    pass


def play(spec: PlantPlay, shared_now: Any, stop: Any) -> None:
    """Plan the day, stock the line, let the lead-in pass and play the shift through the real
    services, one takt per ``takt / speed`` real seconds; stop when ``stop`` is set. Before each
    broadcast the feed reads the pearl chain again, so a change made elsewhere (the control
    tower) is followed."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which sets `stop`
    from jisflow.adapters.plant_file import load_plant_file
    from jisflow.bootstrap import bootstrap
    from jisflow.simulation.shift_run import ShiftRun

    try:
        definition = load_plant_file(spec.plant_file)
        clock = SharedClock(spec.clock_start, shared_now)
        app = bootstrap(database_url=spec.database_url, clock=clock)
        run = ShiftRun(app, clock, definition.plant, definition.mix, line=spec.line, seed=spec.seed)
        run.plan_day(spec.start)
        run.floor.stock_line(spec.start, spec.end)
        run.lead_in(spec.start)
        if stop.is_set():
            return
        t0 = walltime.perf_counter()

        def on_takt(snap: Any) -> None:
            run.replan()
            while not stop.is_set():
                ahead = (snap.now - spec.start).total_seconds() / spec.speed - (walltime.perf_counter() - t0)
                if ahead <= 0:
                    return
                stop.wait(min(ahead, 0.5))
            raise _Stopped

        summary = run.run(spec.shift, spec.start, spec.end, on_takt=on_takt)
        print(f"the shift is over: {summary.vehicles_broadcast} vehicles broadcast", flush=True)
    except _Stopped:
        return


class LivePlant:
    """``play`` in a process of its own (spawned: it inherits nothing of this one); ``clock``
    shows its simulated time here."""

    def __init__(self, spec: PlantPlay) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._now = context.Value("d", spec.clock_start.timestamp(), lock=False)
        self._stop = context.Event()
        self.clock = SharedClockReader(self._now)
        self.process = context.Process(target=play, args=(spec, self._now, self._stop), name="jisflow-plant", daemon=True)

    def start(self) -> None:
        self.process.start()

    def stop(self, timeout: float = 1.5) -> None:
        """Ask the plant to stop; end its process if it has not within ``timeout`` seconds."""
        self._stop.set()
        if self.process.is_alive():
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)

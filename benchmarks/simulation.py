"""Digital twin benchmark: the twin driving the real services against a plain SimPy model
with the same number of events, side by side in one run.

The twin plays the demo scenario (JIS, JIT, KANBAN and STOCK families; floor, ledger and
purchasing commands) for ``--vehicles`` vehicles: as many shifts of the demo line as that
takes (the demo line broadcasts about 410 vehicles an eight-hour shift, so 7,000 vehicles are
17 shifts, the output of a plant running three shifts a week). ``--shifts`` sets the shifts
instead. The reference is a bare SimPy environment that schedules as many timeouts as the
twin's environment scheduled events. The last line printed is::

    RESULT simulation vehicles_per_s=<n> events_vs_simpy=<ratio>

where ``events_vs_simpy`` is the twin's wall time per event divided by plain SimPy's.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import simpy

from jisflow.simulation.scenario import demo_scenario_path, load_scenario
from jisflow.simulation.twin import Twin

VEHICLES_PER_SHIFT = 411  # the demo line: 420 working takts of 60 s a shift, less its random stoppages


def plain_simpy(events: int) -> float:
    """Seconds plain SimPy takes to schedule and process ``events`` timeouts."""
    env = simpy.Environment()

    def ticker(n: int):
        for _ in range(n):
            yield env.timeout(1)

    t0 = time.perf_counter()
    env.process(ticker(events))
    env.run()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=7000, help="vehicles to broadcast (default: a plant-week of 7,000)")
    parser.add_argument("--shifts", type=int, default=None, help="shifts of the demo scenario to simulate instead")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    shifts = args.shifts or math.ceil(args.vehicles / VEHICLES_PER_SHIFT)
    scenario = dataclasses.replace(load_scenario(demo_scenario_path()).with_seed(args.seed), shifts=shifts, hours=None)
    twin = Twin(scenario)
    t0 = time.perf_counter()
    result = twin.run()
    twin_seconds = time.perf_counter() - t0
    events = next(twin.env._eid)  # events the twin's environment scheduled
    reference = plain_simpy(events)
    kpis = result.kpis()
    commands = sum(result.handler_calls.values())
    print(f"twin: {shifts} shift(s), {kpis['vehicles_broadcast']} vehicles broadcast, {kpis['vehicles_built']} built, "
          f"{kpis['calloff_lines']} call-off lines, {commands} commands through the real handlers, {events} SimPy events in {twin_seconds:.1f} s")
    print("commands: " + ", ".join(f"{k} {v}" for k, v in sorted(result.handler_calls.items(), key=lambda kv: -kv[1])[:8]))
    print(f"plain SimPy: {events} events in {reference:.3f} s")
    print(f"RESULT simulation vehicles_per_s={kpis['vehicles_broadcast'] / twin_seconds:.1f} events_vs_simpy={twin_seconds / max(reference, 1e-9):.0f}")


if __name__ == "__main__":
    main()

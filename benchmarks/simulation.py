"""Digital twin benchmark: the twin driving the real services against a plain SimPy model
with the same number of events, side by side in one run.

The twin plays the demo scenario for ``--shifts`` shifts (a plant-week is ten shifts, about
4,500 vehicles on the demo line; fewer by default to keep the run short). The reference is a
bare SimPy environment that schedules as many timeouts as the twin's environment scheduled
events. The last line printed is::

    RESULT simulation vehicles_per_s=<n> events_vs_simpy=<ratio>

where ``events_vs_simpy`` is the twin's wall time per event divided by plain SimPy's.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import simpy

from jisflow.simulation.scenario import demo_scenario_path, load_scenario
from jisflow.simulation.twin import Twin


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
    parser.add_argument("--shifts", type=int, default=1, help="shifts of the demo scenario to simulate (10: a plant-week)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    scenario = dataclasses.replace(load_scenario(demo_scenario_path()).with_seed(args.seed), shifts=args.shifts, hours=None)
    twin = Twin(scenario)
    t0 = time.perf_counter()
    result = twin.run()
    twin_seconds = time.perf_counter() - t0
    events = next(twin.env._eid)  # events the twin's environment scheduled
    reference = plain_simpy(events)
    kpis = result.kpis()
    print(f"twin: {args.shifts} shift(s), {kpis['vehicles_broadcast']} vehicles broadcast, {kpis['calloff_lines']} call-off lines, "
          f"{events} SimPy events in {twin_seconds:.1f} s")
    print(f"plain SimPy: {events} events in {reference:.3f} s")
    print(f"RESULT simulation vehicles_per_s={kpis['vehicles_broadcast'] / twin_seconds:.1f} events_vs_simpy={twin_seconds / max(reference, 1e-9):.0f}")


if __name__ == "__main__":
    main()

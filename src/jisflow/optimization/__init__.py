"""Sequence planning: data in, data out (no database, no services).

* :mod:`.instance` -- the neutral problem description (cars, ratio constraints p/q, colours,
  paint batch limit, previous day's tail, lexicographic objective);
* :mod:`.csplib`, :mod:`.roadef` -- readers of the CSPLib prob001 and ROADEF 2005 formats;
* :mod:`.objective` -- the plain reference evaluator that checks every solution;
* :mod:`.search` -- the anytime local search (greedy start, incremental moves);
* :mod:`.cpsat` -- the plain CP-SAT model used as the benchmark's reference (needs OR-Tools);
* :mod:`.smoothing` -- supplier smoothing (Monden goal chasing);
* :mod:`.replan` -- minimal-change re-planning of the plant's pearl chain.
"""

from jisflow.optimization.csplib import read_csplib
from jisflow.optimization.instance import CarClass, Component, Instance, Priority, RatioConstraint, Smoothing
from jisflow.optimization.objective import Evaluation, evaluate
from jisflow.optimization.replan import RatioRule, ReplanResult, replan
from jisflow.optimization.roadef import read_roadef
from jisflow.optimization.search import Solution, solve

__all__ = [
    "CarClass",
    "Component",
    "Evaluation",
    "Instance",
    "Priority",
    "RatioConstraint",
    "RatioRule",
    "ReplanResult",
    "Smoothing",
    "Solution",
    "evaluate",
    "read_csplib",
    "read_roadef",
    "replan",
    "solve",
]

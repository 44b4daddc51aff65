from itertools import permutations

import pytest

from jisflow.domain.errors import ValidationError
from jisflow.optimization.replan import RatioRule, replan
from jisflow.optimization.smoothing import deviation

SUNROOF = RatioRule("sunroof", frozenset({"yes"}), 1, 2)


def chain(*kinds):
    return [(f"V{i}", {"sunroof": "yes" if k == "S" else "no", "colour": "red"}) for i, k in enumerate(kinds)]


def test_an_optimal_chain_comes_back_unchanged():
    vehicles = chain("S", "N", "S", "N", "N", "S")
    result = replan(vehicles, 0, [SUNROOF], colour_key="colour", time_limit=0.5)
    assert result.order == tuple(v for v, _ in vehicles)
    assert result.moved == ()
    assert result.evaluation.high_ratio == 0


def test_only_the_vehicles_needed_to_fix_the_chain_move():
    result = replan(chain("S", "S", "N", "N"), 0, [SUNROOF], time_limit=0.3)
    assert result.evaluation.high_ratio == 0
    assert len(result.moved) == 2


def test_the_frozen_head_is_kept_even_when_it_costs():
    vehicles = chain("S", "S", "N", "S", "N", "N")
    result = replan(vehicles, 2, [SUNROOF], time_limit=0.3)
    assert result.order[:2] == ("V0", "V1")
    assert sorted(result.order) == sorted(v for v, _ in vehicles)
    assert result.evaluation.high_ratio == 1  # the frozen pair S S stays


def test_the_vehicles_built_before_the_chain_are_taken_into_account():
    result = replan(chain("S", "N"), 0, [SUNROOF], history=[{"sunroof": "yes"}], time_limit=0.3)
    assert result.order == ("V1", "V0")


def test_supplier_smoothing_levels_the_part_variants_behind_the_main_rules():
    seats = "LLLCCS"
    sunroofs = "SNSNNN"
    vehicles = [(f"V{i}", {"seat": s, "sunroof": "yes" if r == "S" else "no"}) for i, (s, r) in enumerate(zip(seats, sunroofs))]
    result = replan(vehicles, 0, [SUNROOF], smoothing_keys=["seat"], time_limit=0.5)
    options = dict(vehicles)
    feasible = [p for p in set(permutations(range(6))) if not any(sunroofs[a] == sunroofs[b] == "S" for a, b in zip(p, p[1:]))]
    variant = {"L": 0, "C": 1, "S": 2}
    best = min(deviation([(variant[seats[i]],) for i in p], 3) for p in feasible)
    assert result.evaluation.high_ratio == 0
    assert result.evaluation.smoothing == best
    assert deviation([(variant[options[v]["seat"]],) for v in result.order], 3) == best


def test_inconsistent_input_reports_every_problem():
    with pytest.raises(ValidationError) as caught:
        replan(chain("S", "S") + chain("N"), 5, [RatioRule("x", frozenset({"y"}), 3, 2)], paint_batch_limit=2)
    where = {p.where for p in caught.value.problems}
    assert {"vehicles", "frozen_count", "constraints[0]", "paint_batch_limit"} <= where

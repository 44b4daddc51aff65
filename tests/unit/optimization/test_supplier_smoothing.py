from itertools import permutations

from jisflow.optimization.instance import CarClass, Component, Instance, Smoothing
from jisflow.optimization.search import solve
from jisflow.optimization.smoothing import deviation, goal_chasing


def test_a_level_sequence_deviates_less_than_a_bunched_one():
    # variants 0 and 1, two cars each: k=1..4 gives 4+0+4+0 for ABAB, 4+8+4+0 for AABB
    assert deviation([(0,), (1,), (0,), (1,)], 2) == 8
    assert deviation([(0,), (0,), (1,), (1,)], 2) == 16


def test_cars_without_a_part_of_the_family_are_ignored():
    assert deviation([(-1,), (-1,)], 1) == 0


def test_goal_chasing_alternates_two_equal_variants():
    assert goal_chasing([(0,), (1,)], [2, 2], 2) == [0, 1, 0, 1]


def test_goal_chasing_spreads_a_rare_variant():
    order = goal_chasing([(0,), (1,)], [6, 2], 2)
    rare = [i for i, c in enumerate(order) if c == 1]
    assert len(rare) == 2 and rare[1] - rare[0] >= 3


def test_the_solver_levels_the_variants_when_smoothing_is_the_objective():
    classes = (CarClass((), None, (0,)), CarClass((), None, (1,)), CarClass((), None, (2,)))
    cars = (0, 0, 0, 1, 1, 2)
    instance = Instance(
        name="level",
        constraints=(),
        classes=classes,
        cars=cars,
        car_ids=tuple("abcdef"),
        objective=((Component.SMOOTHING, 1),),
        smoothing=Smoothing(("seat",), ("s0", "s1", "s2")),
    )
    best = min(deviation([(c,) for c in p], 3) for p in set(permutations(cars)))
    assert solve(instance, time_limit=0.3, seed=0).evaluation.smoothing == best

from pathlib import Path

from jisflow.optimization.csplib import read_csplib
from jisflow.optimization.instance import CarClass, Component, Instance, Priority, RatioConstraint
from jisflow.optimization.objective import evaluate
from jisflow.optimization.search import solve

DATA = Path(__file__).resolve().parents[2] / "data" / "car_sequencing"


def test_the_solver_finds_a_sequence_without_violation_for_a_satisfiable_instance():
    instance = read_csplib(DATA / "two.txt", instance="60-01")
    solution = solve(instance, time_limit=20, seed=1)
    assert solution.evaluation.high_ratio == 0
    assert evaluate(instance, solution.sequence) == solution.evaluation


def test_the_small_csplib_example_is_solved():
    instance = read_csplib(DATA / "dincbas.txt")
    assert solve(instance, time_limit=5, seed=0).evaluation.high_ratio == 0


def paint_instance(limit):
    red, blue = CarClass((1,), "red"), CarClass((0,), "blue")
    cars = (0,) * 7 + (1,) * 3
    return Instance(
        name="paint",
        constraints=(RatioConstraint("o", 1, 2, Priority.LOW),),
        classes=(red, blue),
        cars=cars,
        car_ids=tuple(str(i) for i in range(len(cars))),
        objective=((Component.COLOUR_CHANGES, 1_000), (Component.LOW_RATIO, 1)),
        paint_batch_limit=limit,
        end_windows=True,
    )


def test_the_paint_batch_limit_is_never_exceeded_even_against_the_other_goals():
    instance = paint_instance(limit=2)
    solution = solve(instance, time_limit=0.3, seed=0)
    assert solution.evaluation.feasible
    colours = [instance.classes[c].colour for c in solution.sequence]
    runs, run = [], 1
    for before, after in zip(colours, colours[1:]):
        run = run + 1 if before == after else 1
        runs.append(run)
    assert max(runs) <= 2
    # 7 red cars in batches of at most 2 need 4 red batches, so at least 3 blue separators
    assert solution.evaluation.colour_changes == 6


def test_without_the_limit_the_colours_come_in_one_batch_each():
    assert solve(paint_instance(limit=None), time_limit=0.3, seed=0).evaluation.colour_changes == 1


def test_a_frozen_head_stays_in_place():
    instance = read_csplib(DATA / "dincbas.txt")
    reference = list(instance.cars)
    solution = solve(instance, time_limit=0.3, seed=0, reference=reference, frozen=4)
    assert list(solution.sequence[:4]) == reference[:4]
    assert sorted(solution.sequence) == sorted(reference)

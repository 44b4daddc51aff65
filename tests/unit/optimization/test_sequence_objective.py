import pytest

from jisflow.domain.errors import ValidationError
from jisflow.optimization.instance import CarClass, Component, Instance, Priority, RatioConstraint
from jisflow.optimization.objective import evaluate

A = CarClass((1,), "red")  # carries the option
B = CarClass((0,), "blue")


def make(p, q, cars, *, tail=(), end_windows=False, limit=None, objective=((Component.HIGH_RATIO, 1),), classes=(A, B)):
    return Instance(
        name="hand",
        constraints=(RatioConstraint("o", p, q, Priority.HIGH),),
        classes=classes,
        cars=tuple(cars),
        car_ids=tuple(str(i) for i in range(len(cars))),
        objective=objective,
        tail=tuple(tail),
        paint_batch_limit=limit,
        end_windows=end_windows,
    )


def test_each_car_over_p_in_a_window_counts_once():
    # windows of 2: [A A] has one car too many, [A B] is fine
    result = evaluate(make(1, 2, [0, 0, 1]), [0, 0, 1])
    assert result.excess == (1,)
    assert result.violated_windows == (1,)


def test_the_short_windows_at_the_end_count_under_the_roadef_rule():
    # 1/3 on B A A: the full window B A A has one too many; the end windows A A (+1) and A (0)
    assert evaluate(make(1, 3, [1, 0, 0]), [1, 0, 0]).excess == (1,)
    assert evaluate(make(1, 3, [1, 0, 0], end_windows=True), [1, 0, 0]).excess == (2,)


def test_windows_overlapping_the_previous_day_count():
    # tail A, then A B: the window (tail A, A) has one too many
    assert evaluate(make(1, 2, [0, 1], tail=[A], end_windows=True), [0, 1]).excess == (1,)
    assert evaluate(make(1, 2, [0, 1], end_windows=True), [0, 1]).excess == (0,)
    assert evaluate(make(1, 2, [0, 1], tail=[A], end_windows=True), [1, 0]).excess == (0,)


def test_a_colour_change_is_counted_from_the_last_car_of_the_previous_day():
    red, blue = CarClass((0,), "red"), CarClass((0,), "blue")
    instance = make(1, 2, [1, 1, 0], tail=[blue, red], classes=(red, blue))
    assert evaluate(instance, [1, 1, 0]).colour_changes == 2  # red|blue, blue|red
    assert evaluate(instance, [0, 1, 1]).colour_changes == 1  # red continues, then blue


def test_the_paint_batch_limit_continues_the_run_of_the_previous_day():
    red, blue = CarClass((0,), "red"), CarClass((0,), "blue")
    instance = make(1, 2, [0, 0, 1], tail=[red], limit=2, classes=(red, blue))
    assert evaluate(instance, [0, 0, 1]).paint_excess == 1  # red red red
    assert not evaluate(instance, [0, 0, 1]).feasible
    assert evaluate(instance, [0, 1, 0]).feasible


def test_the_total_weights_each_component():
    objective = ((Component.COLOUR_CHANGES, 1_000_000), (Component.HIGH_RATIO, 1_000))
    result = evaluate(make(1, 2, [0, 0, 1], objective=objective), [0, 0, 1])
    assert (result.high_ratio, result.colour_changes) == (1, 1)
    assert result.total == 1_000_000 * 1 + 1_000 * 1


def test_a_sequence_that_does_not_build_the_cars_is_rejected():
    with pytest.raises(ValidationError, match="wrong counts"):
        evaluate(make(1, 2, [0, 0, 1]), [0, 1, 1])
    with pytest.raises(ValidationError, match="has 2 cars"):
        evaluate(make(1, 2, [0, 0, 1]), [0, 1])


def test_the_csplib_example_solution_has_no_violation():
    from pathlib import Path

    from jisflow.optimization.csplib import read_csplib

    instance = read_csplib(Path(__file__).resolve().parents[2] / "data" / "car_sequencing" / "dincbas.txt")
    assert evaluate(instance, [0, 1, 5, 2, 4, 3, 3, 4, 2, 5]).high_ratio == 0

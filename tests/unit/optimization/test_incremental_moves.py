"""The kernel's incremental deltas must agree with the plain evaluator after any move."""

from hypothesis import given, settings
from hypothesis import strategies as st

from jisflow.optimization import _kernel as kernel
from jisflow.optimization import search
from jisflow.optimization.instance import CarClass, Component, Instance, Priority, RatioConstraint, Smoothing
from jisflow.optimization.objective import evaluate


@st.composite
def problems(draw):
    k = draw(st.integers(1, 3))
    rules = []
    for i in range(k):
        q = draw(st.integers(1, 5))
        rules.append(RatioConstraint(f"o{i}", draw(st.integers(0, q)), q, draw(st.sampled_from(list(Priority)))))
    colours = draw(st.sampled_from([None, ["r"], ["r", "b"], ["r", "b", "g"]]))
    smooth = draw(st.booleans())

    def car():
        return CarClass(
            tuple(draw(st.integers(0, 1)) for _ in range(k)),
            draw(st.sampled_from(colours)) if colours else None,
            (draw(st.integers(-1, 2)),) if smooth else (),
        )

    classes = tuple(car() for _ in range(draw(st.integers(2, 5))))
    cars = draw(st.lists(st.integers(0, len(classes) - 1), min_size=3, max_size=14))
    tail = tuple(CarClass(c.options, c.colour, ()) for c in [car() for _ in range(draw(st.integers(0, 4)))])
    objective = ((Component.HIGH_RATIO, 10_000), (Component.COLOUR_CHANGES, 100), (Component.LOW_RATIO, 10))
    instance = Instance(
        name="random",
        constraints=tuple(rules),
        classes=classes,
        cars=tuple(cars),
        car_ids=tuple(str(i) for i in range(len(cars))),
        objective=objective + (((Component.SMOOTHING, 1),) if smooth else ()),
        tail=tail,
        paint_batch_limit=draw(st.sampled_from([None, 1, 2, 3])) if colours else None,
        end_windows=draw(st.booleans()),
        smoothing=Smoothing(("f",), ("v0", "v1", "v2")) if smooth else None,
    )
    moves = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 13), st.integers(0, 13)), min_size=1, max_size=12))
    return instance, draw(st.booleans()), moves


def objective(pb, instance, scale, sequence, reference):
    result = evaluate(instance, sequence)
    moved = sum(a != b for a, b in zip(sequence, reference, strict=True)) if pb.w_moved else 0
    return scale * result.total + pb.w_paint * result.paint_excess + moved


@settings(max_examples=150, deadline=None)
@given(problems())
def test_incremental_evaluation_equals_full_evaluation_after_random_moves(problem):
    instance, minimise_moves, moves = problem
    reference = list(reversed(instance.cars))
    pb = search._build(instance, reference, 0, minimise_moves)
    scale = instance.n + 1 if minimise_moves else 1
    cost = search._refresh(pb)
    T, N = pb.n_tail, pb.n_total
    assert cost == objective(pb, instance, scale, list(pb.g[T:]), reference)
    for mt, x, y in moves:
        a, b = sorted((T + x % instance.n, T + y % instance.n))
        if a == b:
            continue
        delta = kernel.move_delta(
            pb.g, pb.opt, pb.p, pb.q, pb.lo, pb.hi, pb.wk, pb.cnt, N, pb.col, pb.w_col, pb.limit, pb.w_paint,
            pb.ref, pb.w_moved, pb.var, pb.dev, pb.n_day, T, pb.w_smooth, pb.dx, pb.touched, mt, a, b,
        )
        kernel.apply_move(pb.g, pb.opt, pb.p, pb.q, pb.lo, pb.hi, pb.cnt, N, mt, a, b)
        if pb.w_smooth:
            kernel.rebuild_deviation(pb.g, pb.var, pb.dev, pb.demand, pb.n_day, T, a, b)
        after = objective(pb, instance, scale, [int(c) for c in pb.g[T:]], reference)
        assert after - cost == delta
        cost = after

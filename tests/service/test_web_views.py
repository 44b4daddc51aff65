"""What the control tower's pages show, read through the views on the in-memory store: a
supplier sees only its own call-offs, parts, racks and trucks; the pearl chain marks its frozen
zone; the inventory chart and the coverage table agree on the first shortage."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from jisflow.adapters.memory import MemoryUnitOfWork
from jisflow.adapters.plant_file import demo_plant_path, load_plant_file
from jisflow.bootstrap import bootstrap
from jisflow.domain.auth import ROLE_SCOPES, Principal, Role
from jisflow.domain.plant import SupplyMode
from jisflow.domain.sequence import Vehicle
from jisflow.domain.vehicle_mix import generate_vehicles
from jisflow.entrypoints.web import views as v
from jisflow.services import commands as c
from jisflow.services.clock import SimulatedClock
from jisflow.services.unit_of_work import CallOffLineFilter
from jisflow.simulation.shift_run import ShiftRun, first_shift_start, next_monday

PLANNER = Principal("anna", Role.PLANNER, None, ROLE_SCOPES[Role.PLANNER])
SITZ = Principal("sitz", Role.SUPPLIER, "SITZ", ROLE_SCOPES[Role.SUPPLIER])


@pytest.fixture(scope="module")
def plant_running():
    definition = load_plant_file(demo_plant_path())
    plant, line = definition.plant, definition.plant.lines[0]
    _, start, end = first_shift_start(line, next_monday(date(2026, 12, 1)))
    clock = SimulatedClock(start - timedelta(minutes=30))
    app = bootstrap(MemoryUnitOfWork(), clock=clock)
    app.bus.handle(c.LoadPlant(plant, definition.data))
    rows = tuple(c.SequenceRow(f"row {i}", Vehicle(g.order_id, g.model, dict(g.options), g.vin)) for i, g in enumerate(generate_vehicles(definition.mix, 200, 5)))
    app.bus.handle(c.ImportSequence(line.code, rows))
    run = ShiftRun(app, clock, plant, definition.mix, line=line.code, seed=5)
    run.lead_in(start, every=timedelta(minutes=30))
    run.floor.stock_line(start, end)
    run.play(start, 12, after_takt=lambda i, t: run.floor.step(t) if i == 8 else None)
    return app, plant, line.code


def test_a_suppliers_pipeline_holds_only_its_own_calloff_lines(plant_running) -> None:
    app, _, _ = plant_running
    seen = v.pipeline(app, SITZ, supplier="LACK")
    assert set(seen.by_supplier) == {"SITZ"}
    assert seen.open_lines and {ln.supplier for ln in seen.open_lines} == {"SITZ"}
    with app.uow:
        own = {ln.number for ln in app.uow.calloffs.lines(CallOffLineFilter(supplier="SITZ"))}
    assert seen.to_acknowledge and {number for number, _, _ in seen.to_acknowledge} <= own


def test_a_planners_pipeline_covers_every_supplier_called_off(plant_running) -> None:
    app, _, _ = plant_running
    with app.uow:
        called = {ln.supplier for ln in app.uow.calloffs.lines(CallOffLineFilter())}
    assert set(v.pipeline(app, PLANNER).by_supplier) == called and len(called) > 1


def test_another_suppliers_calloff_reads_as_empty_for_a_supplier(plant_running) -> None:
    app, _, _ = plant_running
    with app.uow:
        foreign = next(ln.number for ln in app.uow.calloffs.lines(CallOffLineFilter()) if ln.supplier != "SITZ")
    assert v.calloff_lines(app, SITZ, foreign) == []
    assert v.calloff_lines(app, PLANNER, foreign)


def test_a_suppliers_board_shows_only_its_own_parts(plant_running) -> None:
    app, plant, line = plant_running
    own = {f.code for f in plant.families_of_line(line) if f.route.supplier == "SITZ" and f.route.mode is SupplyMode.JIS}
    shown = {p.family for r in v.board(app, SITZ, line).rows for p in r.parts}
    assert shown and shown <= own
    everything = {p.family for r in v.board(app, PLANNER, line).rows for p in r.parts}
    assert everything > shown


def test_the_board_starts_two_vehicles_behind_the_broadcast_point_and_can_jump_to_an_order(plant_running) -> None:
    app, _, line = plant_running
    rows = v.board(app, PLANNER, line, count=5).rows
    assert [r.status for r in rows[:3]] == ["broadcast", "broadcast", "planned"]
    later = rows[4].order_id
    assert v.board(app, PLANNER, line, start=later).rows[0].order_id == later


def test_the_board_filtered_by_station_shows_only_that_stations_parts(plant_running) -> None:
    app, plant, line = plant_running
    seats = {f.code for f in plant.families_of_line(line) if f.station == "T180"}
    shown = {p.family for r in v.board(app, PLANNER, line, station="T180").rows for p in r.parts}
    assert shown == seats


def test_the_chain_marks_exactly_its_frozen_zone(plant_running) -> None:
    app, _, line = plant_running
    view = v.chain(app, line)
    assert view.frozen > 0
    assert [r.frozen for r in view.rows] == [i < view.frozen for i in range(len(view.rows))]


def test_the_stock_chart_and_the_coverage_table_agree_on_the_first_shortage(plant_running) -> None:
    app, _, _ = plant_running
    short = [r for r in v.coverage(app) if r.first_shortage_at is not None]
    assert short, "the stocked line runs short of something within the horizon"
    curve = v.stock_curve(app, short[0].item)
    assert (curve.first_shortage_at, curve.first_shortage_order_id) == (short[0].first_shortage_at, short[0].first_shortage_order_id)
    assert min(q for _, q in curve.steps) < 0


def test_a_supplier_sees_only_its_own_racks_and_trucks(plant_running) -> None:
    app, _, _ = plant_running
    everything = v.transport(app, PLANNER)
    suppliers = {r.supplier for r in everything.racks} | {t.supplier for t in everything.trucks}
    assert len(suppliers) > 1
    one = sorted(suppliers)[0]
    own = v.transport(app, Principal(one.lower(), Role.SUPPLIER, one, ROLE_SCOPES[Role.SUPPLIER]))
    assert own.racks or own.trucks
    assert {r.supplier for r in own.racks} | {t.supplier for t in own.trucks} == {one}


def test_the_kpi_series_has_a_bucket_for_every_half_hour_it_spans(plant_running) -> None:
    app, _, _ = plant_running
    series = v.kpi_series(app)
    assert series.times and len(series.on_time_in_sequence) == len(series.times) == len(series.stock_on_hand)
    assert all(b - a == timedelta(minutes=30) for a, b in zip(series.times, series.times[1:]))


def test_a_carrier_sees_only_the_trucks_on_its_own_lanes_and_no_racks(plant_running) -> None:
    app, _, line = plant_running
    trucks = v.transport(app, PLANNER).trucks
    with app.uow:
        lanes = v._carriers(app.uow, line)
    carrier = lanes[trucks[0].lane]
    seen = v.transport(app, Principal("driver", Role.CARRIER, carrier, ROLE_SCOPES[Role.CARRIER]))
    assert seen.racks == []
    assert seen.trucks and {t.id for t in seen.trucks} == {t.id for t in trucks if lanes[t.lane] == carrier}

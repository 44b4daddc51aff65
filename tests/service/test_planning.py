"""Re-planning the unfrozen tail of a line's pearl chain with the plant's sequencing rules,
on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from jisflow.adapters.plant_file import demo_plant_path, load_plant_file
from jisflow.bootstrap import bootstrap
from jisflow.domain.errors import ConflictError, ValidationError
from jisflow.domain.sequence import Vehicle
from jisflow.domain.vehicle_mix import generate_vehicles
from jisflow.services import commands as c
from jisflow.services.clock import SimulatedClock
from jisflow.services.planning import ReplanSequence
from jisflow.services.unit_of_work import CallOffLineFilter

MONDAY_0600_BERLIN = datetime(2026, 12, 7, 5, 0, tzinfo=timezone.utc)


@pytest.fixture
def jf(uow_factory):
    definition = load_plant_file(demo_plant_path())
    app = bootstrap(uow_factory(), clock=SimulatedClock(MONDAY_0600_BERLIN))
    app.bus.handle(c.LoadPlant(definition.plant, definition.data))
    vehicles = generate_vehicles(definition.mix, 120, seed=5)
    rows = tuple(c.SequenceRow(f"row {i + 2}", Vehicle(v.order_id, v.model, dict(v.options), v.vin)) for i, v in enumerate(vehicles))
    app.bus.handle(c.ImportSequence("TF1", rows))
    app.bus.handle(c.BroadcastNext("TF1", 2))
    return app


def chain(jf):
    with jf.uow:
        plant = jf.uow.plants.of_line("TF1")
        return jf.uow.chains.get(plant.line("TF1"))


def test_a_plan_without_apply_reports_the_improvement_and_changes_nothing(jf):
    before = [(e.order_id, e.seq_no) for e in chain(jf).entries()]
    report = jf.bus.handle(ReplanSequence("TF1", time_limit=1.5, seed=1)).details["plan"]
    assert report.after["total"] < report.before["total"]
    assert report.after["paint_excess"] == 0
    assert report.moved and not report.applied
    assert [(e.order_id, e.seq_no) for e in chain(jf).entries()] == before


def test_applying_a_plan_keeps_the_frozen_zone_and_reuses_the_numbers(jf):
    old = chain(jf)
    frozen_head = [(e.order_id, e.seq_no) for e in old.planned()[: old.frozen_count(MONDAY_0600_BERLIN)]]
    numbers = sorted(e.seq_no for e in old.planned())
    outcome = jf.bus.handle(ReplanSequence("TF1", time_limit=1.5, seed=1, apply=True))
    report = outcome.details["plan"]
    new = chain(jf)
    assert report.applied and outcome.change.renumbered
    assert [(e.order_id, e.seq_no) for e in new.planned()[: len(frozen_head)]] == frozen_head
    assert sorted(e.seq_no for e in new.planned()) == numbers
    moved = {o for o, (a, b) in outcome.change.renumbered.items() if a != b} | {outcome.change.order_id}
    assert moved == set(report.moved)


def test_applying_a_plan_amends_the_lead_time_call_offs_of_moved_vehicles(jf):
    jf.bus.handle(c.Tick(MONDAY_0600_BERLIN))
    with jf.uow:
        issued = {ln.order_id: ln.seq_no for ln in jf.uow.calloffs.lines(CallOffLineFilter(line="TF1")) if ln.live}
    jf.bus.handle(ReplanSequence("TF1", time_limit=1.5, seed=1, apply=True))
    positions = {e.order_id: e.seq_no for e in chain(jf).entries()}
    with jf.uow:
        for ln in jf.uow.calloffs.lines(CallOffLineFilter(line="TF1")):
            if ln.live and ln.order_id in issued:
                assert ln.seq_no == positions[ln.order_id]


def test_a_stale_plan_is_refused(jf):
    ch = chain(jf)
    tail = [e.order_id for e in ch.planned()[ch.frozen_count(MONDAY_0600_BERLIN) :]]
    tail.pop()
    with pytest.raises(ConflictError):
        ch.resequence(tail, now=MONDAY_0600_BERLIN)


def test_a_line_without_sequencing_rules_cannot_be_planned(uow_factory):
    from pathlib import Path

    definition = load_plant_file(Path(__file__).parent.parent / "data" / "plants" / "small_plant.yaml")
    app = bootstrap(uow_factory(), clock=SimulatedClock(MONDAY_0600_BERLIN))
    app.bus.handle(c.LoadPlant(definition.plant, definition.data))
    with pytest.raises(ValidationError, match="sequencing"):
        app.bus.handle(ReplanSequence("L1", time_limit=1))

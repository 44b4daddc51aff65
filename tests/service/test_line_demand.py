"""The reservation sync's demand lines (``line_demand``, which remembers the parts each vehicle
spec selects and the calendar's answers) are exactly what exploding every vehicle afresh
gives, broadcast after broadcast and after a spec change."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from jisflow.adapters.plant_file import demo_plant_path, load_plant_file
from jisflow.domain.errors import ExplosionError
from jisflow.domain.explosion import explode_vehicle
from jisflow.domain.inventory import Reservation
from jisflow.domain.sequence import PearlChain, Vehicle, VehicleStatus
from jisflow.domain.vehicle_mix import generate_vehicles
from jisflow.services.inventory import line_demand

MONDAY_0600 = datetime(2026, 12, 7, 5, 0, tzinfo=timezone.utc)  # 06:00 Berlin


def exploded_afresh(plant, chain: PearlChain, items: set[str], now: datetime, built=frozenset()) -> dict:
    """Every live vehicle exploded on its own, as a plain reference."""
    line = chain.line
    families = [f for f in plant.families_of_line(line.code) if any(r.part_number in items for r in f.rules)]
    planned_at = chain.planned_broadcast_times(now)
    demand = {}
    for entry in chain.entries():
        at = entry.broadcast_at if entry.status is VehicleStatus.BROADCAST else planned_at.get(entry.order_id)
        if entry.order_id in built or at is None:
            continue
        try:
            lines = explode_vehicle(line, families, entry.vehicle, entry.seq_no, at)
        except ExplosionError:
            continue
        for d in lines:
            if d.part_number in items:
                r = Reservation(d.part_number, d.line, d.order_id, d.family, d.seq_no, d.need_time, d.quantity)
                demand[r.key] = r
    return demand


def test_the_demand_lines_equal_a_fresh_explosion_of_every_vehicle_through_broadcasts_and_a_spec_change():
    definition = load_plant_file(demo_plant_path())
    plant, line = definition.plant, definition.plant.lines[0]
    assert definition.mix is not None
    generated = generate_vehicles(definition.mix, 120, seed=3)
    chain = PearlChain(line)
    chain.append([(f"row {i}", Vehicle(g.order_id, g.model, dict(g.options), g.vin), None) for i, g in enumerate(generated)])
    items = {r.part_number for f in plant.families_of_line(line.code) for r in f.rules if r.part_number}
    some_items = set(sorted(items)[::3])
    now = MONDAY_0600
    checked = 0
    for step in range(6):
        for wanted in (items, some_items):
            mine = line_demand(plant, chain, wanted, now, built={generated[0].order_id})
            assert mine == exploded_afresh(plant, chain, wanted, now, built={generated[0].order_id})
            checked += len(mine)
        late = timedelta(seconds=60 + 45 * (step % 3))  # on time, late, later: planned times move
        now = line.calendar.add_working_time(now, late)
        chain.broadcast(generated[step].order_id, now)
    target = generated[40]
    other = {"model": target.model, **target.options}
    changed = next(g for g in generated if {"model": g.model, **g.options} != other)
    chain.change_spec(target.order_id, now=now, model=changed.model, options=dict(changed.options))
    respecified = chain.get(target.order_id).vehicle
    assert {"model": respecified.model, **respecified.options} != other
    assert line_demand(plant, chain, items, now) == exploded_afresh(plant, chain, items, now)
    assert checked > 1000, "the comparison covered many demand lines"

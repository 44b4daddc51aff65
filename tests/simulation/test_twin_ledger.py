"""The digital twin runs the services as production wires them: the line's reservations of the
stock-fed parts follow the pearl chain in the transaction of every import and broadcast, the
line's use consumes them, the projections raise their alerts, and the KPIs count every supply
mode (JIS figures keep their keys)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from jisflow.domain.alerts import AlertKind
from jisflow.services import inventory as inv
from jisflow.services.unit_of_work import AlertFilter
from jisflow.simulation.report import render_report
from jisflow.simulation.scenario import demo_scenario_path, load_scenario, parse_scenario
from jisflow.simulation.twin import Twin, simulate

DATA = Path(__file__).parent / "data"


def one_station(interval: int = 30, transit: int = 15, **extra) -> dict:
    """Two hours of the one-station plant (one seat set a minute from minute 10), no randomness
    but what ``extra`` adds."""
    return {
        "plant": str(DATA / "one_station_plant.yaml"), "seed": 1, "start": "2026-03-02", "duration": {"hours": 2},
        "defaults": {"truck_interval_minutes": interval, "truck_capacity": 100, "build_minutes": 0, "first_departure_minutes": 0.5,
                     "transit_minutes": {"min": transit, "mode": transit, "max": transit}},
        **extra,
    }


def short_kanban(**extra) -> dict:
    """A kanban loop of two containers of five seats for a line that fits one a minute: the
    loop cannot cover the supplier's lead time and the line waits for seats."""
    return one_station(interval=5, transit=3, supply_modes={"SEAT": "KANBAN"},
                       stock_fed={"container_quantity": 5, "families": {"SEAT": {"kanban_cards": 2}}}, **extra)


@pytest.fixture(scope="module")
def demo_run():
    """Five hours of the demo scenario: long enough for vehicles to pass the last stock-fed
    station (floor mats, 240 takts after the broadcast point)."""
    twin = Twin(dataclasses.replace(load_scenario(demo_scenario_path()), shifts=None, hours=5))
    return twin, twin.run()


def test_a_demo_run_leaves_the_reservations_that_a_sync_from_scratch_computes_from_its_chain(demo_run):
    twin, result = demo_run
    uow = twin.app.uow
    with uow:
        plant = uow.plants.of_line("TF1")
        chain = uow.chains.view(plant.line("TF1"))
        items = uow.inventory.items()
        stored = uow.inventory.reservations(line="TF1", live_only=False)
    live = {r.key: r for r in stored if r.consumed_at is None}
    consumed = {r.key for r in stored if r.consumed_at is not None}
    built = {k[1] for k in consumed} - {k[1] for k in live}
    last_sync = max(e.broadcast_at for e in chain.all_entries() if e.broadcast_at is not None)  # the chain's last change
    scratch = inv.line_demand(plant, chain, items, last_sync, built)

    modes = {f.code: f.route.mode.value for f in plant.families_of_line("TF1")}
    assert {modes[family] for _, _, family in live} == {"JIT", "KANBAN", "STOCK"}
    assert live.keys() == scratch.keys()
    for key, want in scratch.items():
        got = live[key]
        assert (got.item, got.seq_no, got.quantity) == (want.item, want.seq_no, want.quantity)
        assert abs(got.need_time - want.need_time) <= plant.line("TF1").takt / 2  # the sync keeps a line this close
    # the sync itself, comparing every vehicle with every reservation once more, finds nothing to do
    outcome = twin.app.bus.handle(inv.SyncReservations("TF1", at=last_sync))
    assert outcome.details == {"added": 0, "changed": 0, "released": 0}
    assert result.kpis()["reservations"] == len(live)
    assert sum(m.get("reservations", 0) for m in result.kpis()["by_mode"].values()) == len(live)


def test_the_line_backflushes_each_vehicle_that_had_its_stock_fed_parts_fitted_and_the_ledger_holds_what_the_twin_holds(demo_run):
    twin, result = demo_run
    with twin.app.uow:
        stored = twin.app.uow.inventory.reservations(line="TF1", live_only=False)
        balances = twin.app.uow.inventory.balances()
    consumed = {r.key for r in stored if r.consumed_at is not None}
    backflushed = {order_id for _, order_id, _ in consumed}

    assert len(backflushed) > result.handler_calls["BackflushVehicles"] > 0  # the vehicles of a booking together
    assert "AdjustStock" not in result.handler_calls  # the line's use goes through the reservations, not around them
    assert consumed == {("TF1", order_id, family) for order_id in backflushed for family in twin.stock_demand[order_id]}
    # on hand in the ledger: at the line side, in the warehouse, on the tugger, and fitted to
    # vehicles not yet through their last stock-fed station
    for part, b in twin.stock.bins.items():
        assert balances[part].on_hand == b.line_side + b.warehouse + b.in_tugger + b.unbooked
    by_mode = result.kpis()["by_mode"]
    assert sum(m.get("backflushed", 0) for m in by_mode.values()) == len(consumed)
    assert all(by_mode[mode]["backflushed"] > 0 for mode in ("JIT", "KANBAN", "STOCK"))


def test_a_kanban_part_that_runs_short_stops_the_line_and_the_kpis_book_the_stop_under_kanban():
    twin = Twin(parse_scenario(short_kanban()))
    result = twin.run()
    kpis = result.kpis()
    kanban = kpis["by_mode"]["KANBAN"]

    assert kpis["line_stop_minutes"] > 0
    assert kanban["line_stop_minutes"] == kpis["line_stop_minutes"]
    assert kanban["line_stops"] == sum(s["stops"] for s in kpis["line_stops"]) > 0
    # every stop is a seat the line found missing when its vehicle reached the station
    assert kanban["parts_needed"] - kanban["parts_available"] == kanban["line_stops"]
    assert kanban["availability"] == kpis["line_availability"] < 1
    # the JIS figures keep counting JIS parts only: there are none
    assert "JIS" not in kpis["by_mode"]
    assert kpis["parts_due"] == 0 and kpis["on_time_in_sequence"] == 1.0
    # the real projection saw the seats run short and alerted, as it would in the plant
    with twin.app.uow:
        alerts = twin.app.uow.alerts.list(AlertFilter(kinds=(AlertKind.SHORTAGE_PROJECTED,)))
    assert [a.details["item"] for a in alerts] == ["SEAT-1"]
    assert kanban["shortage_alerts"] == kpis["shortage_alerts"] == 1
    assert [(k["item"], k["mode"]) for k in kpis["projected_shortages"]] == [("SEAT-1", "KANBAN")]
    assert kanban["projected_shortages"] == 1


def test_a_kanban_loop_large_enough_keeps_the_line_running_and_every_seat_at_the_line():
    kpis = simulate(parse_scenario(one_station(interval=5, transit=3, supply_modes={"SEAT": "KANBAN"},
                                               stock_fed={"container_quantity": 10, "families": {"SEAT": {"kanban_cards": 6}}}))).kpis()
    kanban = kpis["by_mode"]["KANBAN"]

    assert kanban["line_stop_minutes"] == 0 and kanban["line_stops"] == 0
    assert kanban["parts_available"] == kanban["parts_needed"] == kpis["vehicles_built"] > 0
    assert kanban["availability"] == 1.0


def test_a_jit_call_is_on_time_when_every_piece_of_it_reached_the_line_side_by_its_vehicles_need_time():
    slow = simulate(parse_scenario(one_station(supply_modes={"SEAT": "JIT"}))).kpis()
    fast = simulate(parse_scenario(one_station(interval=5, transit=3, supply_modes={"SEAT": "JIT"}))).kpis()

    jit = slow["by_mode"]["JIT"]
    assert jit["calls_due"] == slow["jit_calls_due"] > 0
    assert jit["calls_on_time"] < jit["calls_due"]
    assert jit["on_time"] == slow["jit_on_time"] == round(jit["calls_on_time"] / jit["calls_due"], 4)
    assert jit["line_stop_minutes"] == slow["line_stop_minutes"] > 0
    assert fast["by_mode"]["JIT"]["calls_on_time"] == fast["by_mode"]["JIT"]["calls_due"] > 0
    assert fast["jit_on_time"] == 1.0 and fast["line_stop_minutes"] == 0


def test_the_stop_minutes_of_the_modes_and_of_the_line_itself_add_up_to_the_line_stop_minutes():
    kpis = simulate(parse_scenario(short_kanban(seed=4, line_stoppages={"per_hour": 4, "mean_minutes": 3}))).kpis()
    own = sum(s["minutes"] for s in kpis["line_stops"] if s["cause"] == "line stoppage")

    assert own > 0 and kpis["by_mode"]["KANBAN"]["line_stop_minutes"] > 0
    assert sum(m["line_stop_minutes"] for m in kpis["by_mode"].values()) + own == pytest.approx(kpis["line_stop_minutes"], abs=0.02)


def test_a_jis_run_books_its_stops_and_on_time_figures_under_jis_with_the_same_values_as_the_old_keys():
    kpis = simulate(parse_scenario(one_station())).kpis()
    jis = kpis["by_mode"]["JIS"]

    for key in ("parts_due", "parts_on_time", "parts_in_sequence", "on_time_in_sequence", "sequence_accuracy"):
        assert jis[key] == kpis[key]
    assert jis["line_stop_minutes"] == kpis["line_stop_minutes"] > 0
    assert kpis["reservations"] == 0 and kpis["projected_shortages"] == []  # JIS parts are no items of the ledger


def test_the_report_shows_the_supply_of_each_mode_and_the_items_projected_short():
    page = render_report(simulate(parse_scenario(short_kanban())))

    assert "Supply by mode" in page and "<td>KANBAN</td>" in page
    assert "<td>SEAT-1</td>" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page

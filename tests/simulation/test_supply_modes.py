"""The four supply modes in the digital twin, on the one-station plant: each drives the real
inventory and purchasing services, and stock, space, touches and emergencies differ by mode."""

from __future__ import annotations

from pathlib import Path

from jisflow.domain.execution import RecordKind
from jisflow.domain.inventory import ReasonCode
from jisflow.simulation.scenario import parse_scenario
from jisflow.simulation.supply import WAREHOUSE
from jisflow.simulation.twin import Twin, simulate

DATA = Path(__file__).parent / "data"


def one_station(interval: int = 30, transit: int = 15, **extra) -> dict:
    """The slow seat truck of the hand-worked case: every 30 min, 15 min on the road."""
    return {
        "plant": str(DATA / "one_station_plant.yaml"), "seed": 1, "start": "2026-03-02", "duration": {"hours": 2},
        "defaults": {"truck_interval_minutes": interval, "truck_capacity": 100, "build_minutes": 0, "first_departure_minutes": 0.5,
                     "transit_minutes": {"min": transit, "mode": transit, "max": transit}},
        **extra,
    }


def ledger(twin: Twin) -> tuple[dict[str, int], list]:
    with twin.app.uow:
        balances = {code: b.on_hand for code, b in twin.app.uow.inventory.balances().items()}
        orders = twin.app.uow.purchasing.orders(item="SEAT-1")
    return balances, orders


def test_a_stock_family_is_bought_by_reorder_point_into_the_warehouse_and_picked_to_the_line():
    twin = Twin(parse_scenario(one_station(supply_modes={"SEAT": "STOCK"}, stock_fed={"container_quantity": 5, "order_cover_minutes": 30, "safety_minutes": 5, "replenish_minutes": 4})))
    result = twin.run()
    kpis = result.kpis()

    balances, orders = ledger(twin)
    assert kpis["calloff_lines"] == 0 and kpis["line_stop_minutes"] == 0
    # the purchase orders are the real planner's, received into the warehouse
    assert orders and {o.source for o in orders} == {"reorder_point"}
    assert kpis["purchase_orders"] == len(orders)
    # what the ledger holds is what the twin holds: warehouse + tugger + line side
    stock = sum(b.line_side + b.warehouse + b.in_tugger for b in twin.stock.bins.values())
    assert balances["SEAT-1"] == stock
    assert kpis["avg_warehouse_stock"] > 0 and kpis["warehouse_places"] > 0 and kpis["bin_places"] > 0
    assert kpis["rack_places"] == 0
    # 2 touches per container received, 2 per tugger trip
    assert kpis["by_mode"]["STOCK"]["handling_touches"] == kpis["handling_touches"] > 0
    assert result.handler_calls["MoveStock"] > 0 and result.handler_calls["PlanPurchasing"] > 0


def test_a_kanban_family_orders_a_container_per_card_scanned_and_never_holds_more_than_its_cards():
    twin = Twin(parse_scenario(one_station(supply_modes={"SEAT": "KANBAN"}, stock_fed={"container_quantity": 10, "families": {"SEAT": {"kanban_cards": 3}}})))
    result = twin.run()
    kpis = result.kpis()

    _, orders = ledger(twin)
    assert {o.source for o in orders} == {"kanban"}
    assert len(orders) == result.handler_calls["ScanKanbanCard"] == kpis["purchase_orders"]
    # the line used one seat a minute after minute 10: every ten used, a card went back
    used = kpis["vehicles_built"]
    assert len(orders) == used // 10
    assert kpis["peak_stock"] <= 3 * 10
    assert kpis["bin_places"] <= 3


def test_a_jit_family_gets_its_summarized_calls_in_lots_and_a_slow_truck_stops_the_line_like_jis():
    jis = simulate(parse_scenario(one_station()))
    twin = Twin(parse_scenario(one_station(supply_modes={"SEAT": "JIT"})))
    jit = twin.run()

    with twin.app.uow:
        calls = twin.app.uow.jit_calls.list("L1")
        receipts = [m for m in twin.app.uow.inventory.movements(item="SEAT-1") if m.reason is ReasonCode.RECEIPT]
    assert calls and jit.kpis()["calloff_lines"] == 0
    # every part received came from a summarized call, never more than was called
    assert sum(m.quantity for m in receipts) <= sum(c.quantity for c in calls)
    assert {m.reference.split(" ")[0] for m in receipts} == {"JIT"}
    assert jit.kpis()["line_stop_minutes"] > 0
    assert {(s["cause"], s["supplier"], s["family"]) for s in jit.kpis()["line_stops"]} == {("supplier", "SEATCO", "SEAT")}
    assert jis.kpis()["line_stop_minutes"] > 0


def test_modes_differ_in_stock_and_space_for_honest_reasons():
    base = parse_scenario(one_station(interval=5, transit=3))
    kpis = {mode: simulate(base.with_mode(mode)).kpis() for mode in ("JIS", "KANBAN", "STOCK")}

    assert all(k["line_stop_minutes"] == 0 for k in kpis.values())
    # JIS holds only the parts on their way to their vehicle; a kanban loop holds its cards'
    # containers; a warehouse buffer holds its reorder point and order quantity on top
    assert kpis["JIS"]["avg_stock"] < kpis["KANBAN"]["avg_stock"] < kpis["STOCK"]["avg_stock"]
    assert kpis["JIS"]["rack_places"] > 0 and kpis["JIS"]["bin_places"] == 0
    assert kpis["STOCK"]["warehouse_places"] > 0 and kpis["KANBAN"]["warehouse_places"] == 0
    # a warehouse part is handled twice: into the warehouse and from it to the line
    assert kpis["STOCK"]["handling_touches"] >= kpis["KANBAN"]["handling_touches"] > 0


def test_emergency_deliveries_shorten_the_stops_of_a_too_slow_truck_and_go_through_the_real_handler():
    slow = simulate(parse_scenario(one_station()))
    twin = Twin(parse_scenario(one_station(emergency={"lead_minutes": 12})))
    rescued = twin.run()

    with twin.app.uow:
        express = [r for r in twin.app.uow.execution.records(line="L1") if r.kind is RecordKind.EMERGENCY]
    assert rescued.kpis()["emergency_deliveries"] == len(express) > 0
    assert rescued.kpis()["line_stop_minutes"] < slow.kpis()["line_stop_minutes"]
    assert slow.kpis()["emergency_deliveries"] == 0
    assert sum(1 for t in rescued.trucks if t.emergency) == len(express)


def test_a_stock_part_the_warehouse_cannot_cover_stops_the_line_and_names_the_supplier():
    # an order quantity of 5 seats reordered at 0 with an hour's lead time: the warehouse runs dry
    raw = one_station(supply_modes={"SEAT": "STOCK"}, stock_fed={"container_quantity": 5, "reorder_point": 0, "order_quantity": 5, "review_minutes": 60})
    kpis = simulate(parse_scenario(raw)).kpis()

    assert kpis["line_stop_minutes"] > 0
    causes = {(s["cause"], s["supplier"], s["family"]) for s in kpis["line_stops"]}
    assert ("supplier", "SEATCO", "SEAT") in causes


def test_the_warehouse_location_is_booked_in_the_ledger_for_stock_families_only():
    stock = Twin(parse_scenario(one_station(supply_modes={"SEAT": "STOCK"})))
    stock.run()
    kanban = Twin(parse_scenario(one_station(supply_modes={"SEAT": "KANBAN"})))
    kanban.run()

    with stock.app.uow:
        assert WAREHOUSE in stock.app.uow.inventory.locations()
    with kanban.app.uow:
        assert WAREHOUSE not in kanban.app.uow.inventory.locations()


def test_the_tugger_keeps_a_long_round_covered_and_every_trip_and_receipt_counts_two_touches():
    # containers of 5 seats, a 20-minute tugger round: the line side is refilled at one
    # container plus one and a half rounds of use, so the line never waits on the warehouse
    raw = one_station(supply_modes={"SEAT": "STOCK"}, stock_fed={"container_quantity": 5, "replenish_minutes": 20, "order_cover_minutes": 30})
    twin = Twin(parse_scenario(raw))
    result = twin.run()
    kpis = result.kpis()

    assert kpis["line_stop_minutes"] == 0
    trips = result.handler_calls["MoveStock"] + sum(-(-b.in_tugger // 5) for b in twin.stock.bins.values())  # done + on the way
    with twin.app.uow:
        received = sum(-(-m.quantity // 5) for m in twin.app.uow.inventory.movements(item="SEAT-1")
                       if m.reason is ReasonCode.RECEIPT and m.actor != "opening stock")
    assert kpis["handling_touches"] == 2 * trips + 2 * received


def test_a_mode_a_family_cannot_have_or_sizes_for_an_unknown_family_are_refused_with_their_paths():
    import pytest

    from jisflow.domain.errors import ValidationError

    raw = {"plant": "demo", "supply_modes": {"DOCS": "JIT"}, "stock_fed": {"families": {"NOPE": {"container_quantity": 5}}}}
    with pytest.raises(ValidationError) as caught:
        parse_scenario(raw, source="bad.yaml")
    assert {p.where for p in caught.value.problems} == {"bad.yaml: supply_modes.DOCS", "bad.yaml: stock_fed.families.NOPE"}


def test_switching_the_demo_plant_to_one_mode_keeps_a_family_without_supplier_on_stock():
    from jisflow.simulation.scenario import demo_scenario_path, load_scenario

    jit = load_scenario(demo_scenario_path()).with_mode("JIT")
    modes = {f.code: f.route.mode.value for f in jit.plant.families_of_line("TF1")}
    assert modes["DOCS"] == "STOCK"
    assert {m for code, m in modes.items() if code != "DOCS"} == {"JIT"}

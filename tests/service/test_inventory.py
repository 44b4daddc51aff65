"""Inventory through the service layer on the small plant: the ledger, reservations that
follow the pearl chain, projections with shortage alerts, purchasing. The same tests run on
the in-memory unit of work, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from floor_support import MONDAY_0700, PLANT, small_plant_app

from jisflow.adapters.memory import MemoryStore, MemoryUnitOfWork
from jisflow.adapters.plant_file import load_plant_file
from jisflow.bootstrap import bootstrap
from jisflow.domain.alerts import AlertKind
from jisflow.domain.errors import ConflictError, NotFound, ValidationError
from jisflow.domain.inventory import InsufficientStock, Item, Location, LocationKind, ReasonCode
from jisflow.domain.purchasing import BomLine, OrderState, Policy, PolicyKind, supplier_performance
from jisflow.domain.sequence import Vehicle
from jisflow.services import commands as c
from jisflow.services import inventory as inv
from jisflow.services.clock import SimulatedClock
from jisflow.services.outbox import MemoryPublisher
from jisflow.services.unit_of_work import AlertFilter



@pytest.fixture
def jf(uow_factory):
    return small_plant_app(
        uow_factory(),
        items=[Item("DOC-1", "Vehicle documents", coverage_threshold_minutes=60), Item("BOLT-6", "Bolt M6")],
        locations=[
            Location("WH", LocationKind.WAREHOUSE, "Warehouse"),
            Location("WH-A1", LocationKind.BIN, "Bin A1", "WH"),
            Location("S20-SHELF", LocationKind.SUPERMARKET, "Shelf at S20"),
            Location("TRUCK", LocationKind.IN_TRANSIT, "On the road"),
        ],
    )


def load(jf, count: int) -> None:
    rows = tuple(c.SequenceRow(f"row {i + 2}", Vehicle(f"V{i + 1:04d}", "CITY", {"trim": "BASE", "roof": "CLOSED"})) for i in range(count))
    jf.bus.handle(c.ImportSequence("L1", rows))


def receive(jf, quantity: int, item: str = "DOC-1", location: str = "WH-A1", **kw):
    return jf.bus.handle(inv.ReceiveStock(item, location, quantity, **kw))


def reservations(jf, item: str = "DOC-1"):
    with jf.uow:
        return jf.uow.inventory.reservations(item=item)


def filled(jf, item: str = "DOC-1") -> dict[str, int]:
    return {r.order_id: r.filled for r in reservations(jf, item) if r.filled}


def balance(jf, item: str = "DOC-1"):
    with jf.uow:
        return jf.uow.inventory.balances([item])[item]


def test_a_receipt_and_a_move_leave_movements_whose_sums_are_the_stock(jf):
    receive(jf, 10, actor="dock-1")
    jf.bus.handle(inv.MoveStock("DOC-1", "WH-A1", "S20-SHELF", 4, actor="driver"))
    with jf.uow:
        rows = {(s.location, s.on_hand) for s in jf.uow.inventory.stock("DOC-1")}
        moves = jf.uow.inventory.movements("DOC-1")
    assert rows == {("WH-A1", 6), ("S20-SHELF", 4)}
    assert [(m.location, m.quantity, m.reason, m.actor) for m in moves] == [
        ("WH-A1", 10, ReasonCode.RECEIPT, "dock-1"),
        ("WH-A1", -4, ReasonCode.TRANSFER, "driver"),
        ("S20-SHELF", 4, ReasonCode.TRANSFER, "driver"),
    ]
    assert balance(jf).on_hand == sum(m.quantity for m in moves) == 10


def test_stock_in_transit_is_kept_apart_from_stock_on_hand(jf):
    receive(jf, 5, location="TRUCK")
    jf.bus.handle(inv.MoveStock("DOC-1", "TRUCK", "WH-A1", 2))
    b = balance(jf)
    assert (b.on_hand, b.in_transit) == (2, 3)


def test_imported_vehicles_reserve_stock_in_sequence_order(jf):
    receive(jf, 3)
    load(jf, 6)
    assert filled(jf) == {"V0001": 1, "V0002": 1, "V0003": 1}
    assert balance(jf).reserved == 3
    bolts = reservations(jf, "BOLT-6")
    assert [r.quantity for r in bolts] == [12] * 6 and not filled(jf, "BOLT-6")


def test_a_resequence_moves_the_stock_to_the_vehicle_now_needed_first(jf):
    receive(jf, 2)
    load(jf, 40)
    jf.bus.handle(c.MoveVehicle("L1", order_id="V0040", before="V0001", override=True, reason="rush order"))
    assert filled(jf) == {"V0040": 1, "V0001": 1}


def test_a_cancelled_vehicle_releases_its_stock_to_the_next_need(jf):
    receive(jf, 2)
    load(jf, 40)
    jf.bus.handle(c.CancelVehicle("L1", order_id="V0001", override=True))
    assert filled(jf) == {"V0002": 1, "V0003": 1}
    assert "V0001" not in {r.order_id for r in reservations(jf)}


def test_a_late_receipt_fills_the_earliest_open_need_first(jf):
    load(jf, 5)
    assert filled(jf) == {}
    receive(jf, 2)
    assert filled(jf) == {"V0001": 1, "V0002": 1}


def test_an_issue_may_not_take_stock_promised_to_a_vehicle(jf):
    receive(jf, 3)
    load(jf, 2)
    with pytest.raises(InsufficientStock, match="only 1 available"):
        jf.bus.handle(inv.AdjustStock("DOC-1", "WH-A1", -2, ReasonCode.ISSUE_TO_LINE))
    assert balance(jf).on_hand == 3
    jf.bus.handle(inv.AdjustStock("DOC-1", "WH-A1", -1, ReasonCode.SCRAP, note="torn"))
    assert (balance(jf).on_hand, balance(jf).reserved) == (2, 2)


def test_a_count_below_the_book_takes_the_units_back_from_the_latest_need(jf):
    receive(jf, 3)
    load(jf, 3)
    outcome = jf.bus.handle(inv.CountStock("DOC-1", "WH-A1", 1, actor="counter"))
    assert outcome.details["difference"] == -2
    assert filled(jf) == {"V0001": 1}


def test_vehicles_backflushed_together_consume_each_ones_demand_and_one_without_demand_stops_them_all(jf):
    receive(jf, 5)
    receive(jf, 48, item="BOLT-6")
    load(jf, 3)
    jf.bus.handle(c.BroadcastNext("L1", at=MONDAY_0700, count=3))
    with pytest.raises(NotFound) as refused:
        jf.bus.handle(inv.BackflushVehicles("L1", ("V0001", "V0099", "V0002")))
    assert [p.where for p in refused.value.problems] == ["vehicle V0099"]
    with jf.uow:
        assert not [m for m in jf.uow.inventory.movements() if m.reason is ReasonCode.BACKFLUSH]
    outcome = jf.bus.handle(inv.BackflushVehicles("L1", ("V0001", "V0002", "V0001")))
    assert outcome.details["vehicles"] == 2
    with jf.uow:
        moves = sorted((m.item, m.reference, m.quantity) for m in jf.uow.inventory.movements() if m.reason is ReasonCode.BACKFLUSH)
        live = {r.order_id for r in jf.uow.inventory.reservations(line="L1")}
    assert moves == [("BOLT-6", "L1/V0001", -12), ("BOLT-6", "L1/V0002", -12), ("DOC-1", "L1/V0001", -1), ("DOC-1", "L1/V0002", -1)]
    assert live == {"V0003"}


def test_a_backflush_takes_the_parts_from_the_line_side_first(jf):
    receive(jf, 5)
    jf.bus.handle(inv.MoveStock("DOC-1", "WH-A1", "S20-SHELF", 1))
    receive(jf, 24, item="BOLT-6")
    load(jf, 2)
    jf.bus.handle(c.BroadcastNext("L1", at=MONDAY_0700))
    jf.bus.handle(inv.BackflushVehicle("L1", "V0001"))
    with jf.uow:
        moves = [m for m in jf.uow.inventory.movements() if m.reason is ReasonCode.BACKFLUSH]
        live = {r.order_id for r in jf.uow.inventory.reservations(line="L1")}
    assert sorted((m.item, m.location, m.quantity) for m in moves) == [("BOLT-6", "WH-A1", -12), ("DOC-1", "S20-SHELF", -1)]
    assert live == {"V0002"}
    jf.bus.handle(c.BroadcastNext("L1", at=MONDAY_0700 + timedelta(minutes=2)))
    assert "V0001" not in {r.order_id for r in reservations(jf)}


def test_a_shortage_within_the_threshold_is_alerted_once(jf):
    receive(jf, 1)
    load(jf, 4)
    shortages = [a for a in alerts(jf) if a.details.get("item") == "DOC-1"]
    assert len(shortages) == 1
    alert = shortages[0]
    assert (alert.order_id, alert.seq_no) == ("V0002", 2)
    receive(jf, 1)
    assert len([a for a in alerts(jf) if a.details.get("item") == "DOC-1"]) == 1


def alerts(jf):
    with jf.uow:
        return jf.uow.alerts.list(AlertFilter(kinds=(AlertKind.SHORTAGE_PROJECTED,)))


def test_the_projection_counts_a_confirmed_purchase_order_before_the_need_it_serves(jf):
    load(jf, 3)
    with jf.uow:
        need = {r.order_id: r.need_time for r in jf.uow.inventory.reservations(item="DOC-1")}
    jf.bus.handle(inv.PlacePurchaseOrder("DOC-1", "DOCS", 2, due_at=need["V0003"]))
    with jf.uow:
        projection = inv.projections(jf.uow, MONDAY_0700, ["DOC-1"])["DOC-1"]
    # the order comes too late for V0001 and V0002, whose backlog then takes it from V0003
    assert projection.first_shortage_order_id == "V0001"
    assert projection.short_quantity == 3
    assert projection.end_balance == -1
    number = "PO000001"
    jf.bus.handle(inv.ConfirmPurchaseOrder(number, need["V0001"]))
    with jf.uow:
        projection = inv.projections(jf.uow, MONDAY_0700, ["DOC-1"])["DOC-1"]
    assert (projection.first_shortage_order_id, projection.short_quantity) == ("V0003", 1)


def test_a_receipt_against_a_purchase_order_closes_it_and_counts_for_the_supplier(jf):
    jf.bus.handle(inv.PlacePurchaseOrder("DOC-1", "DOCS", 5, due_at=MONDAY_0700 + timedelta(hours=1)))
    receive(jf, 5, purchase_order="PO000001", at=MONDAY_0700 + timedelta(minutes=30))
    with jf.uow:
        orders = jf.uow.purchasing.orders(item="DOC-1")
    assert orders[0].state is OrderState.RECEIVED
    performance = supplier_performance(orders)["DOCS"]
    assert (performance.on_time_rate, performance.quantity_accuracy) == (1, 1)
    with pytest.raises(ConflictError, match="received"):
        receive(jf, 1, purchase_order="PO000001")


def test_a_kanban_card_scan_orders_one_container_and_no_more_than_the_loop_holds(jf):
    jf.bus.handle(inv.SetPolicy(Policy("BOLT-6", PolicyKind.KANBAN, "BOLTS", lead_time_minutes=480, kanban_cards=2, container_quantity=500)))
    jf.bus.handle(inv.ScanKanbanCard("BOLT-6"))
    jf.bus.handle(inv.ScanKanbanCard("BOLT-6"))
    with pytest.raises(ConflictError, match="2 kanban cards"):
        jf.bus.handle(inv.ScanKanbanCard("BOLT-6"))
    with jf.uow:
        orders = jf.uow.purchasing.orders(item="BOLT-6")
    assert [(o.quantity, o.due_at) for o in orders] == [(500, MONDAY_0700 + timedelta(hours=8))] * 2


def test_a_reorder_point_policy_places_orders_when_the_plan_is_applied(jf):
    receive(jf, 2)
    load(jf, 5)
    jf.bus.handle(inv.SetPolicy(Policy("DOC-1", PolicyKind.REORDER_POINT, "DOCS", lead_time_minutes=600, reorder_point=2, order_quantity=4)))
    dry = jf.bus.handle(inv.PlanPurchasing())
    assert [(p.item, p.quantity) for p in dry.details["proposals"]] == [("DOC-1", 8)]
    placed = jf.bus.handle(inv.PlanPurchasing(place=True))
    assert placed.details["orders"] == ["PO000001"]
    assert jf.bus.handle(inv.PlanPurchasing()).details["proposals"] == []


def test_a_plan_that_places_several_orders_at_once_gives_each_its_own_number(jf):
    receive(jf, 2)
    load(jf, 5)
    jf.bus.handle(inv.SetPolicy(Policy("DOC-1", PolicyKind.REORDER_POINT, "DOCS", lead_time_minutes=600, reorder_point=2, order_quantity=4)))
    jf.bus.handle(inv.SetPolicy(Policy("BOLT-6", PolicyKind.REORDER_POINT, "BOLTS", lead_time_minutes=480, reorder_point=100, order_quantity=500)))
    placed = jf.bus.handle(inv.PlanPurchasing(place=True))
    assert sorted(placed.details["orders"]) == ["PO000001", "PO000002"]
    with jf.uow:
        orders = {o.number: o.item for o in jf.uow.purchasing.orders()}
    assert orders == {"PO000001": "DOC-1", "PO000002": "BOLT-6"} or orders == {"PO000001": "BOLT-6", "PO000002": "DOC-1"}


def test_bad_requests_are_refused_with_what_and_where(jf):
    with pytest.raises(NotFound, match="BOGUS"):
        receive(jf, 1, item="BOGUS")
    with pytest.raises(ValidationError, match="location NOWHERE does not exist"):
        receive(jf, 1, location="NOWHERE")
    with pytest.raises(ValidationError, match="above zero"):
        receive(jf, 0)
    with pytest.raises(ValidationError, match="already exists"):
        jf.bus.handle(inv.RegisterItems((Item("DOC-1"),)))
    with pytest.raises(InsufficientStock, match="holds 0"):
        jf.bus.handle(inv.MoveStock("DOC-1", "WH-A1", "S20-SHELF", 1))


def test_a_scheduled_supplier_receives_the_demand_beyond_the_frozen_zone_with_cumulative_quantities(jf):
    load(jf, 40)  # the frozen zone holds the vehicles due within 45 min, 90 s apart: V0001 (now) to V0031
    jf.bus.handle(inv.SetPolicy(Policy("DOC-1", PolicyKind.SCHEDULE, "DOCS", lead_time_minutes=60)))
    with jf.uow:
        schedule = inv.delivery_schedules(jf.uow, MONDAY_0700, timedelta(days=1))["DOC-1"]
    assert [(line.start.date().isoformat(), line.quantity, line.cumulative) for line in schedule] == [("2026-12-07", 9, 9)]


def test_the_line_demand_is_forwarded_to_sub_suppliers_by_the_bill_of_material(jf):
    load(jf, 2)
    jf.bus.handle(inv.SetBom((BomLine("SEAT-C", "FRAME-{model}", 1, "FRAMECO"), BomLine("SEAT-C", "COVER-{trim}", 2, "COVERCO"))))
    with jf.uow:
        forwarded = inv.forwarded_demand(jf.uow, "L1", MONDAY_0700, lead_time=timedelta(hours=2))
    assert [(f.order_id, f.component, f.supplier, f.quantity) for f in forwarded] == [
        ("V0001", "COVER-BASE", "COVERCO", 2), ("V0001", "FRAME-CITY", "FRAMECO", 1),
        ("V0002", "COVER-BASE", "COVERCO", 2), ("V0002", "FRAME-CITY", "FRAMECO", 1),
    ]


def test_a_spec_change_moves_the_demand_line_to_the_new_part(jf):
    jf.bus.handle(inv.RegisterItems((Item("SEAT-C", "Cloth seats"), Item("SEAT-L", "Leather seats"))))
    receive(jf, 1, item="SEAT-L")
    load(jf, 40)
    assert [r.order_id for r in reservations(jf, "SEAT-C")][:2] == ["V0001", "V0002"]
    jf.bus.handle(c.ChangeVehicleSpec("L1", order_id="V0035", options={"trim": "LUX"}))
    assert "V0035" not in {r.order_id for r in reservations(jf, "SEAT-C")}
    assert [(r.order_id, r.filled) for r in reservations(jf, "SEAT-L")] == [("V0035", 1)]


def test_a_receipt_of_an_unknown_item_is_refused_and_stores_no_lot(uow_factory):
    from jisflow.services import inventory as inv

    app = bootstrap(uow_factory())
    with pytest.raises(NotFound, match="NO-SUCH-ITEM is not a registered item"):
        app.bus.handle(inv.ReceiveStock("NO-SUCH-ITEM", "WH", 1, lot="L1"))


def _demand_matches_the_chain(jf, now: datetime) -> int:
    """The live reservations of L1 are exactly the demand lines of a fresh look at the chain."""
    with jf.uow:
        plant = jf.uow.plants.of_line("L1")
        chain = jf.uow.chains.get(plant.line("L1"))
        stored = jf.uow.inventory.reservations(line="L1", live_only=False)
        items = jf.uow.inventory.items()
    consumed = {r.key for r in stored if r.consumed_at is not None}
    live = {r.key: (r.item, r.seq_no, r.need_time, r.quantity) for r in stored if r.consumed_at is None}
    built = {k[1] for k in consumed} - {k[1] for k in live}
    inv._DEMANDS.clear()
    wanted = {k: r for k, r in inv.line_demand(plant, chain, items, now, built).items() if k not in consumed}
    assert live.keys() == wanted.keys()
    half_a_takt = plant.line("L1").takt / 2  # a stored need time this close is kept, not written again
    for key, (item, seq_no, need_time, quantity) in live.items():
        want = wanted[key]
        assert (item, seq_no, quantity) == (want.item, want.seq_no, want.quantity)
        assert abs(need_time - want.need_time) <= half_a_takt, key
    return len(live)


def test_the_reservations_follow_every_kind_of_chain_change_as_a_fresh_explosion_would_leave_them(jf):
    jf.bus.handle(inv.RegisterItems((Item("SEAT-C", "Cloth seats"), Item("SEAT-L", "Leather seats"))))
    for item, quantity in (("BOLT-6", 400), ("DOC-1", 3), ("SEAT-C", 2), ("SEAT-L", 2)):
        receive(jf, quantity, item=item)
    load(jf, 30)
    now = MONDAY_0700
    checked = _demand_matches_the_chain(jf, now)
    steps = [
        lambda at: c.BroadcastNext("L1", at=at),  # on time
        lambda at: c.BroadcastNext("L1", at=at + timedelta(minutes=7)),  # late: every expected time moves
        lambda at: c.MoveVehicle("L1", order_id="V0020", before="V0005", override=True),
        lambda at: c.CancelVehicle("L1", order_id="V0011", override=True),
        lambda at: c.ChangeVehicleSpec("L1", order_id="V0012", options={"trim": "LUX"}, override=True),
        lambda at: c.SwapVehicles("L1", first="V0013", second="V0014", override=True),
        lambda at: c.InsertVehicle("L1", vehicle=Vehicle("V0099", "CITY", {"trim": "LUX", "roof": "CLOSED"}), after="V0015", override=True),
        lambda at: inv.BackflushVehicle("L1", "V0001"),
        lambda at: c.BroadcastNext("L1", at=at, count=2),
        lambda at: inv.ReceiveStock("DOC-1", "WH-A1", 4),
        lambda at: c.BroadcastNext("L1", at=at),
    ]
    synced = now
    for step in steps:
        now += timedelta(minutes=2)
        jf.clock.set(now)
        command = step(now)
        jf.bus.handle(command)
        if not isinstance(command, (inv.ReceiveStock, inv.BackflushVehicle)):  # the ledger leaves the demand as it was
            synced = now
        checked += _demand_matches_the_chain(jf, synced)
    assert checked > 300, "many demand lines compared"
    with jf.uow:  # the next sync starts from what the last one left (memory, SQLite, PostgreSQL)
        assert inv._LINE_SYNCS["L1"].stored is jf.uow.inventory.line_reservations("L1")


class _Twin:
    """The same commands on the app under test, whose reservation sync starts from what the
    last one left, and on a reference app on the in-memory store whose sync starts afresh
    every time (every vehicle compared with every reservation)."""

    def __init__(self, app, now: datetime) -> None:
        definition = load_plant_file(PLANT)
        self.app = app
        self.reference = bootstrap(MemoryUnitOfWork(MemoryStore()), clock=SimulatedClock(now), publisher=MemoryPublisher())
        self.reference.bus.handle(c.LoadPlant(definition.plant, definition.data))
        self.syncs: dict = {}  # the app's own memory of its last syncs (both apps name line L1)
        self.handle(
            inv.RegisterItems((Item("DOC-1", "Vehicle documents"), Item("BOLT-6", "Bolt M6"))), app=False,
        )
        self.handle(inv.AddLocations((Location("WH", LocationKind.WAREHOUSE, "Warehouse"), Location("WH-A1", LocationKind.BIN, "Bin A1", "WH"))), app=False)
        self.set_clock(now)

    def set_clock(self, now: datetime) -> None:
        self.app.clock.set(now)
        self.reference.clock.set(now)

    def handle(self, command, app: bool = True) -> None:
        if app:
            inv._LINE_SYNCS.clear()
            inv._LINE_SYNCS.update(self.syncs)
            self.app.bus.handle(command)
            self.syncs = dict(inv._LINE_SYNCS)
        inv._LINE_SYNCS.clear()
        self.reference.bus.handle(command)
        inv._LINE_SYNCS.clear()

    def change_chain_unannounced(self, change) -> None:
        """Change both chains in a transaction that publishes nothing (as if done elsewhere)."""
        for app in (self.app, self.reference):
            with app.uow:
                plant = app.uow.plants.of_line("L1")
                chain = app.uow.chains.get(plant.line("L1"))
                change(chain, app.clock.now())
                app.uow.chains.save(chain)
                app.uow.commit()

    def next_time(self) -> datetime:
        """When the reference chain expects its next vehicle."""
        with self.reference.uow:
            chain = self.reference.uow.chains.get(self.reference.uow.plants.of_line("L1").line("L1"))
            return chain.next_broadcast_time(self.reference.clock.now())

    def planned(self, index: int) -> str:
        with self.reference.uow:
            return self.reference.uow.chains.get(self.reference.uow.plants.of_line("L1").line("L1")).planned()[index].order_id

    def other_trim(self, order_id: str) -> dict[str, str]:
        """Options that give the vehicle the other trim (and so other seats)."""
        with self.reference.uow:
            vehicle = self.reference.uow.chains.get(self.reference.uow.plants.of_line("L1").line("L1")).get(order_id).vehicle
        return {"trim": "LUX" if vehicle.options["trim"] == "BASE" else "BASE"}

    @staticmethod
    def stored(app) -> list[tuple]:
        with app.uow:
            found = app.uow.inventory.reservations(line="L1", live_only=False)
        return sorted((r.item, r.order_id, r.family, r.seq_no, r.need_time, r.quantity, r.filled, r.consumed_at) for r in found)

    def same(self) -> int:
        mine, reference = self.stored(self.app), self.stored(self.reference)
        assert mine == reference
        return len(mine)


def test_the_reservations_after_each_change_are_exactly_those_a_sync_from_scratch_leaves(jf, monkeypatch):
    """Broadcasts on time (only the broadcast vehicles are compared then), in pairs, late,
    after a pause, across the lunch break and out of order; chain changes, also of broadcast
    vehicles and unannounced ones; backflushes and receipts."""
    shortcuts = []
    compare = inv._delta_of_broadcasts

    def counted(*args):
        found = compare(*args)
        shortcuts.append(found is not None)
        return found

    monkeypatch.setattr(inv, "_delta_of_broadcasts", counted)
    start = datetime(2026, 12, 7, 10, 30, tzinfo=timezone.utc)  # 11:30 in Berlin: lunch at 12:00
    twin = _Twin(jf, start)
    twin.handle(inv.RegisterItems((Item("SEAT-C", "Cloth seats"), Item("SEAT-L", "Leather seats"), Item("ROOF-G", "Glass roof"))))
    for item, quantity in (("BOLT-6", 600), ("DOC-1", 5), ("SEAT-C", 3), ("SEAT-L", 2), ("ROOF-G", 1)):
        twin.handle(inv.ReceiveStock(item, "WH-A1", quantity))
    specs = [("CITY", "BASE", "CLOSED"), ("TOURER", "LUX", "GLASS"), ("CITY", "LUX", "CLOSED"), ("TOURER", "BASE", "GLASS")]
    rows = tuple(
        c.SequenceRow(f"row {i + 2}", Vehicle(f"V{i + 1:04d}", model, {"trim": trim, "roof": roof}))
        for i, (model, trim, roof) in enumerate(specs[i * 7 % 4] for i in range(40))
    )
    twin.handle(c.ImportSequence("L1", rows))
    checked = twin.same()

    def on_time(count: int = 1) -> None:
        at = twin.next_time()
        twin.set_clock(at)
        twin.handle(c.BroadcastNext("L1", count=count, at=at))

    def late(by: timedelta) -> None:
        at = twin.next_time() + by
        twin.set_clock(at)
        twin.handle(c.BroadcastNext("L1", at=at))

    def change(command) -> None:
        twin.set_clock(twin.app.clock.now() + timedelta(seconds=20))
        twin.handle(command)

    def renumber(chain, now: datetime) -> None:
        """The same vehicles in the same order, some under new numbers: a vehicle inserted
        moves its successors up one number, and is cancelled again."""
        chain.insert(Vehicle("V0098", "CITY", {"trim": "BASE", "roof": "CLOSED"}), now=now, after=chain.planned()[3].order_id, override=True)
        chain.cancel("V0098", now=now, override=True)

    steps = [
        lambda: late(timedelta(0)),  # the first: expected now
        *[lambda: on_time()] * 4,
        lambda: on_time(2),
        lambda: late(timedelta(seconds=20)),  # within half a takt: the stored times stay
        *[lambda: on_time()] * 3,
        lambda: late(timedelta(minutes=4)),  # every expected time moves
        *[lambda: on_time()] * 6,  # into the lunch break and out of it
        lambda: twin.set_clock(twin.app.clock.now() + timedelta(minutes=9)),  # a pause: the line waits
        lambda: twin.handle(c.BroadcastNext("L1", at=twin.app.clock.now())),
        lambda: on_time(),
        lambda: twin.handle(c.BroadcastVehicle("L1", twin.planned(2), at=twin.next_time())),  # out of order: a gap
        lambda: on_time(),
        lambda: change(c.ChangeVehicleSpec("L1", order_id=twin.planned(5), options=twin.other_trim(twin.planned(5)), override=True)),
        lambda: on_time(),
        lambda: change(c.ChangeVehicleSpec("L1", order_id="V0003", options=twin.other_trim("V0003"), override=True)),  # broadcast already
        lambda: on_time(),
        lambda: change(c.MoveVehicle("L1", order_id=twin.planned(12), before=twin.planned(3), override=True)),
        lambda: on_time(),
        lambda: change(c.SwapVehicles("L1", first=twin.planned(4), second=twin.planned(6), override=True)),
        lambda: on_time(),
        lambda: change(c.InsertVehicle("L1", vehicle=Vehicle("V0099", "TOURER", {"trim": "LUX", "roof": "GLASS"}), after=twin.planned(2), override=True)),
        lambda: on_time(),
        lambda: change(c.CancelVehicle("L1", order_id=twin.planned(3), override=True)),
        lambda: change(c.CancelVehicle("L1", order_id="V0004", override=True)),  # broadcast already
        lambda: on_time(),
        lambda: twin.handle(inv.BackflushVehicle("L1", "V0001")),
        lambda: twin.handle(inv.BackflushVehicle("L1", twin.planned(0))),  # built before its broadcast
        lambda: on_time(),
        lambda: on_time(),
        lambda: twin.handle(inv.BackflushDue("L1", until=twin.app.clock.now())),
        lambda: twin.handle(inv.ReceiveStock("SEAT-L", "WH-A1", 3)),
        lambda: on_time(),
        lambda: twin.change_chain_unannounced(lambda chain, now: chain.swap(chain.planned()[1].order_id, chain.planned()[2].order_id, now=now, override=True)),
        lambda: on_time(),
        lambda: twin.change_chain_unannounced(lambda chain, now: chain.broadcast(chain.planned()[0].order_id, now)),
        lambda: on_time(),
        lambda: twin.change_chain_unannounced(renumber),
        lambda: on_time(),
        *[lambda: on_time()] * 3,
    ]
    for step in steps:
        step()
        checked += twin.same()
    assert checked > 1000, "many demand lines compared"
    if jf.uow.__class__.__name__ == "SqlUnitOfWork":  # it keeps the line's reservations between syncs
        assert shortcuts.count(True) >= 15, "most broadcasts compared only the broadcast vehicles"
        assert shortcuts.count(False) >= 5, "the others compared every vehicle"


def test_a_broadcast_a_little_late_keeps_the_stored_need_times_and_a_later_one_moves_them(jf):
    receive(jf, 2)
    load(jf, 20)
    jf.bus.handle(c.BroadcastNext("L1", at=MONDAY_0700))
    with jf.uow:
        takt = jf.uow.plants.of_line("L1").line("L1").takt
    before = {r.order_id: r.need_time for r in reservations(jf)}
    little = jf.bus.handle(c.BroadcastNext("L1", at=MONDAY_0700 + takt + takt / 4))  # a quarter of a takt late
    assert {r.order_id: r.need_time for r in reservations(jf)} == before
    assert little.applied
    jf.clock.set(MONDAY_0700 + 3 * takt)
    jf.bus.handle(c.BroadcastNext("L1", at=MONDAY_0700 + 3 * takt))  # a whole takt late: every expected time moves
    after = {r.order_id: r.need_time for r in reservations(jf)}
    planned = [o for o in after if o not in ("V0001", "V0002", "V0003")]
    assert planned and all(after[o] - before[o] >= takt / 2 for o in planned)
    assert filled(jf) == {"V0001": 1, "V0002": 1}, "the stock stays with the vehicles needed first"

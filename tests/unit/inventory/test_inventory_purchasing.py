"""Replenishment policies, delivery schedules, demand forwarding and supplier performance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from jisflow.domain.errors import ConflictError, ValidationError
from jisflow.domain.projection import Demand
from jisflow.domain.purchasing import (
    BomLine,
    OrderState,
    Policy,
    PolicyKind,
    PurchaseOrder,
    Situation,
    delivery_schedule,
    forward,
    plan,
    scan_card,
    supplier_performance,
)

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def demand(order: str, hours: float, quantity: int = 1, item: str = "X") -> Demand:
    return Demand(item, T0 + timedelta(hours=hours), int(order[1:]), "L1", order, quantity)


def order(number: str, quantity: int, due: datetime, **kw) -> PurchaseOrder:
    return PurchaseOrder(number, "X", kw.pop("supplier", "SUP"), quantity, due, T0, **kw)


def test_a_reorder_point_policy_orders_enough_multiples_to_rise_above_the_point():
    policy = Policy("X", PolicyKind.REORDER_POINT, "SUP", lead_time_minutes=120, reorder_point=10, order_quantity=6)
    # position = 4 on hand + 3 on order - 5 due within 2 h (the 3 h need is outside) = 2
    situation = Situation(4, (order("PO1", 3, T0 + HOUR),), (demand("V1", 1, 5), demand("V2", 3, 7)))
    [proposal] = plan([policy], {"X": situation}, T0)
    assert (proposal.quantity, proposal.due_at, proposal.supplier) == (12, T0 + 2 * HOUR, "SUP")


def test_a_reorder_point_policy_above_its_point_proposes_nothing():
    policy = Policy("X", PolicyKind.REORDER_POINT, "SUP", reorder_point=2, order_quantity=6)
    assert plan([policy], {"X": Situation(3, (), ())}, T0) == []


def test_a_kanban_scan_orders_one_container_until_every_card_is_out():
    policy = Policy("X", PolicyKind.KANBAN, "SUP", lead_time_minutes=60, kanban_cards=1, container_quantity=200)
    proposal = scan_card(policy, [], T0)
    assert (proposal.quantity, proposal.due_at) == (200, T0 + HOUR)
    with pytest.raises(ConflictError, match="1 kanban cards"):
        scan_card(policy, [order("PO1", 200, T0 + HOUR, source="kanban")], T0)


def test_a_policy_names_every_missing_figure():
    problems = Policy("X", PolicyKind.KANBAN, "", kanban_cards=0).problems()
    assert [p.what for p in problems] == ["names no supplier", "a kanban loop needs at least one card and a container quantity above zero"]


def test_a_delivery_schedule_buckets_demand_beyond_the_frozen_zone_with_cumulative_quantities():
    demands = [demand("V1", 1, 2), demand("V2", 5, 3), demand("V3", 18, 4), demand("V4", 3, 1, item="Y")]
    # frozen until 06:00 + 1 h: V1 is left out; 8-hour shifts from midnight: 06:00 is in 00-08
    lines = delivery_schedule("X", demands, after=T0 + HOUR, bucket=timedelta(hours=8))
    assert [(ln.start.hour, ln.quantity, ln.cumulative) for ln in lines] == [(8, 3, 3), (16, 0, 3), (0, 4, 7)]


def test_a_delivery_schedule_moves_demand_forward_by_the_lead_time():
    lines = delivery_schedule("X", [demand("V1", 3, 2)], after=T0, bucket=timedelta(days=1), lead_time=timedelta(hours=10))
    assert [(ln.start.day, ln.quantity) for ln in lines] == [(6, 2)]


def test_jis_demand_is_forwarded_to_sub_suppliers_by_the_vehicles_options():
    bom = [BomLine("SEAT-SET", "FRAME-1", 1, "FRAMECO"), BomLine("SEAT-SET", "COVER-{trim}-{colour}", 2, "COVERCO")]
    seat = Demand("SEAT-SET", T0 + HOUR, 7, "L1", "V7", 1)
    lines = forward([(seat, {"trim": "LUX", "colour": "RED"})], bom, lead_time=timedelta(hours=4))
    assert [(f.component, f.supplier, f.quantity, f.need_time) for f in lines] == [
        ("FRAME-1", "FRAMECO", 1, T0 - 3 * HOUR),
        ("COVER-LUX-RED", "COVERCO", 2, T0 - 3 * HOUR),
    ]


def test_a_vehicle_lacking_an_option_the_bill_of_material_names_is_reported():
    bom = [BomLine("SEAT-SET", "COVER-{colour}", 1, "COVERCO")]
    with pytest.raises(ValidationError) as err:
        forward([(Demand("SEAT-SET", T0, 1, "L1", "V1", 1), {}), (Demand("SEAT-SET", T0, 2, "L1", "V2", 1), {})], bom)
    assert [p.where for p in err.value.problems] == ["vehicle V1", "vehicle V2"]


def test_a_purchase_order_closes_when_fully_received_and_feeds_no_more_supply():
    po = order("PO1", 5, T0 + HOUR, confirmed_at=T0 + 2 * HOUR)
    assert po.supply().at == T0 + 2 * HOUR and po.supply().quantity == 5
    po.receive(3, T0 + HOUR)
    assert po.supply().quantity == 2
    po.receive(2, T0 + 3 * HOUR)
    assert po.state is OrderState.RECEIVED and po.supply() is None


def test_supplier_performance_counts_on_time_and_exact_receipts():
    on_time = order("PO1", 5, T0 + HOUR, received=5, last_receipt_at=T0, state=OrderState.RECEIVED)
    late_and_over = order("PO2", 5, T0 + HOUR, received=6, last_receipt_at=T0 + 2 * HOUR, state=OrderState.RECEIVED)
    still_open = order("PO3", 5, T0 + HOUR)
    performance = supplier_performance([on_time, late_and_over, still_open])["SUP"]
    assert (performance.orders, performance.on_time_rate, performance.quantity_accuracy) == (2, Decimal("0.5"), Decimal("0.5"))

"""The inventory schema: items, the location tree, lots, stock, the movement ledger,
reservations, purchase orders, replenishment policies and component bills of material.

The database itself refuses what must never happen, whoever writes:

- ``inv_stock.on_hand`` never goes below zero (per item, location and lot);
- ``inv_balances`` keep ``0 <= reserved <= on_hand``: availability is never negative;
- a reservation's ``filled`` lies between zero and its ``quantity``;
- every movement has a known reason code and a non-zero quantity.

Counters (``on_hand``, ``reserved``, ``in_transit``, ``received``) change only by increments
written as SQL expressions (``on_hand = on_hand + :delta``); ``locking.py`` says in which order
rows are locked.
"""

from __future__ import annotations

import sqlalchemy as sa

from jisflow.adapters.db.tables import UtcDateTime, _in, metadata
from jisflow.domain.inventory import LocationKind, LotKind, ReasonCode
from jisflow.domain.purchasing import OrderState, PolicyKind

items = sa.Table(
    "inv_items",
    metadata,
    sa.Column("code", sa.String, primary_key=True),
    sa.Column("description", sa.String, nullable=False),
    sa.Column("unit", sa.String, nullable=False),
    sa.Column("coverage_threshold_minutes", sa.Integer, nullable=False),
    sa.CheckConstraint("coverage_threshold_minutes >= 0", name="threshold_not_negative"),
)

locations = sa.Table(
    "inv_locations",
    metadata,
    sa.Column("code", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("parent_code", sa.String, sa.ForeignKey("inv_locations.code"), nullable=True),
    sa.CheckConstraint(_in("kind", [k.value for k in LocationKind]), name="kind"),
)

lots = sa.Table(
    "inv_lots",
    metadata,
    sa.Column("item_code", sa.String, sa.ForeignKey("inv_items.code"), primary_key=True),
    sa.Column("lot", sa.String, primary_key=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.CheckConstraint(_in("kind", [k.value for k in LotKind]), name="kind"),
)

stock = sa.Table(
    "inv_stock",
    metadata,
    sa.Column("item_code", sa.String, sa.ForeignKey("inv_items.code"), primary_key=True),
    sa.Column("location_code", sa.String, sa.ForeignKey("inv_locations.code"), primary_key=True),
    sa.Column("lot", sa.String, primary_key=True),  # "" when the item is not lot-tracked
    sa.Column("on_hand", sa.Integer, nullable=False),
    sa.CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
)

balances = sa.Table(
    "inv_balances",
    metadata,
    sa.Column("item_code", sa.String, sa.ForeignKey("inv_items.code"), primary_key=True),
    sa.Column("on_hand", sa.Integer, nullable=False),  # in every location but in-transit ones
    sa.Column("in_transit", sa.Integer, nullable=False),
    sa.Column("reserved", sa.Integer, nullable=False),
    sa.CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    sa.CheckConstraint("in_transit >= 0", name="in_transit_not_negative"),
    sa.CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    sa.CheckConstraint("reserved <= on_hand", name="available_not_negative"),
)

movements = sa.Table(
    "inv_movements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("item_code", sa.String, sa.ForeignKey("inv_items.code"), nullable=False),
    sa.Column("location_code", sa.String, sa.ForeignKey("inv_locations.code"), nullable=False),
    sa.Column("lot", sa.String, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("reason", sa.String, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("reference", sa.String, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.CheckConstraint("quantity <> 0", name="quantity_not_zero"),
    sa.CheckConstraint(_in("reason", [r.value for r in ReasonCode]), name="reason"),
    sa.Index(None, "item_code", "id"),
)

reservations = sa.Table(
    "inv_reservations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("item_code", sa.String, sa.ForeignKey("inv_items.code"), nullable=False, index=True),
    sa.Column("line_code", sa.String, nullable=False),
    sa.Column("order_id", sa.String, nullable=False),
    sa.Column("family", sa.String, nullable=False),
    sa.Column("seq_no", sa.Integer, nullable=False),
    sa.Column("need_time", UtcDateTime, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("filled", sa.Integer, nullable=False),
    sa.Column("consumed_at", UtcDateTime, nullable=True),  # backflushed: no longer demand
    sa.UniqueConstraint("line_code", "order_id", "family"),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    sa.CheckConstraint("filled >= 0", name="filled_not_negative"),
    sa.CheckConstraint("filled <= quantity", name="filled_within_quantity"),
)

purchase_orders = sa.Table(
    "inv_purchase_orders",
    metadata,
    sa.Column("number", sa.String, primary_key=True),
    sa.Column("item_code", sa.String, sa.ForeignKey("inv_items.code"), nullable=False, index=True),
    sa.Column("supplier", sa.String, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("due_at", UtcDateTime, nullable=False),
    sa.Column("confirmed_at", UtcDateTime, nullable=True),  # the supplier's confirmed delivery time
    sa.Column("received", sa.Integer, nullable=False),
    sa.Column("last_receipt_at", UtcDateTime, nullable=True),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    sa.CheckConstraint("received >= 0", name="received_not_negative"),
    sa.CheckConstraint(_in("state", [s.value for s in OrderState]), name="state"),
)

policies = sa.Table(
    "inv_policies",
    metadata,
    sa.Column("item_code", sa.String, sa.ForeignKey("inv_items.code"), primary_key=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("supplier", sa.String, nullable=False),
    sa.Column("lead_time_minutes", sa.Integer, nullable=False),
    sa.Column("reorder_point", sa.Integer, nullable=False),
    sa.Column("order_quantity", sa.Integer, nullable=False),
    sa.Column("kanban_cards", sa.Integer, nullable=False),
    sa.Column("container_quantity", sa.Integer, nullable=False),
    sa.CheckConstraint(_in("kind", [k.value for k in PolicyKind]), name="kind"),
    sa.CheckConstraint(
        "lead_time_minutes >= 0 AND reorder_point >= 0 AND order_quantity >= 0 AND kanban_cards >= 0 AND container_quantity >= 0",
        name="figures_not_negative",
    ),
)

bom = sa.Table(
    "inv_bom",
    metadata,
    sa.Column("parent", sa.String, primary_key=True),
    sa.Column("component", sa.String, primary_key=True),  # may name vehicle options: "COVER-{trim}"
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("supplier", sa.String, nullable=False),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
)

forecasts = sa.Table(
    # What a customer said it will call off, received as DELFOR, VDA 4905 or X12 830/862: one row
    # per period. A newer forecast replaces the rows of an older one within its own horizon.
    "inv_forecasts",
    metadata,
    sa.Column("partner", sa.String, primary_key=True),  # who sent it (the buyer)
    sa.Column("supplier", sa.String, primary_key=True, index=True),  # to whom (the seller)
    sa.Column("item_code", sa.String, primary_key=True, index=True),  # the buyer's part number
    sa.Column("unloading_point", sa.String, primary_key=True),  # "" when the message names none
    sa.Column("due", sa.Date, primary_key=True),  # the period's date (start of its bucket)
    sa.Column("supplier_item", sa.String, nullable=True),
    sa.Column("unit", sa.String, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("cumulative", sa.Integer, nullable=False),
    sa.Column("commitment", sa.String, nullable=False),
    sa.Column("message", sa.String, nullable=False),  # DELFOR, VDA4905, 830, 862
    sa.Column("reference", sa.String, nullable=False),  # the message's schedule / call-off number
    sa.Column("issued", sa.Date, nullable=True),
    sa.Column("interchange", sa.String, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    sa.CheckConstraint("cumulative >= 0", name="cumulative_not_negative"),
    sa.CheckConstraint(_in("commitment", ["firm", "planning"]), name="commitment"),
)

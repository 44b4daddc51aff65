"""Inventory: items, location tree, lots, stock, movement ledger, reservations, purchase orders,
replenishment policies and component bills of material.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)

LOCATION_KINDS = "kind IN ('warehouse', 'zone', 'aisle', 'bin', 'supermarket', 'in_transit', 'rack_slot')"
LOT_KINDS = "kind IN ('lot', 'serial')"
REASONS = (
    "reason IN ('receipt', 'issue_to_line', 'backflush', 'transfer', 'adjustment', 'scrap', "
    "'count_correction')"
)
ORDER_STATES = "state IN ('open', 'received', 'cancelled')"
POLICY_KINDS = "kind IN ('reorder_point', 'kanban', 'schedule')"


def upgrade() -> None:
    op.create_table(
        "inv_items",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("coverage_threshold_minutes", sa.Integer(), nullable=False),
        sa.CheckConstraint("coverage_threshold_minutes >= 0", name="ck_inv_items_threshold_not_negative"),
        sa.PrimaryKeyConstraint("code", name="pk_inv_items"),
    )
    op.create_table(
        "inv_locations",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("parent_code", sa.String(), nullable=True),
        sa.CheckConstraint(LOCATION_KINDS, name="ck_inv_locations_kind"),
        sa.ForeignKeyConstraint(["parent_code"], ["inv_locations.code"], name="fk_inv_locations_parent_code_inv_locations"),
        sa.PrimaryKeyConstraint("code", name="pk_inv_locations"),
    )
    op.create_table(
        "inv_lots",
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("lot", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(LOT_KINDS, name="ck_inv_lots_kind"),
        sa.ForeignKeyConstraint(["item_code"], ["inv_items.code"], name="fk_inv_lots_item_code_inv_items"),
        sa.PrimaryKeyConstraint("item_code", "lot", name="pk_inv_lots"),
    )
    op.create_table(
        "inv_stock",
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("location_code", sa.String(), nullable=False),
        sa.Column("lot", sa.String(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.CheckConstraint("on_hand >= 0", name="ck_inv_stock_on_hand_not_negative"),
        sa.ForeignKeyConstraint(["item_code"], ["inv_items.code"], name="fk_inv_stock_item_code_inv_items"),
        sa.ForeignKeyConstraint(["location_code"], ["inv_locations.code"], name="fk_inv_stock_location_code_inv_locations"),
        sa.PrimaryKeyConstraint("item_code", "location_code", "lot", name="pk_inv_stock"),
    )
    op.create_table(
        "inv_balances",
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("in_transit", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.CheckConstraint("on_hand >= 0", name="ck_inv_balances_on_hand_not_negative"),
        sa.CheckConstraint("in_transit >= 0", name="ck_inv_balances_in_transit_not_negative"),
        sa.CheckConstraint("reserved >= 0", name="ck_inv_balances_reserved_not_negative"),
        sa.CheckConstraint("reserved <= on_hand", name="ck_inv_balances_available_not_negative"),
        sa.ForeignKeyConstraint(["item_code"], ["inv_items.code"], name="fk_inv_balances_item_code_inv_items"),
        sa.PrimaryKeyConstraint("item_code", name="pk_inv_balances"),
    )
    op.create_table(
        "inv_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("location_code", sa.String(), nullable=False),
        sa.Column("lot", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint("quantity <> 0", name="ck_inv_movements_quantity_not_zero"),
        sa.CheckConstraint(REASONS, name="ck_inv_movements_reason"),
        sa.ForeignKeyConstraint(["item_code"], ["inv_items.code"], name="fk_inv_movements_item_code_inv_items"),
        sa.ForeignKeyConstraint(["location_code"], ["inv_locations.code"], name="fk_inv_movements_location_code_inv_locations"),
        sa.PrimaryKeyConstraint("id", name="pk_inv_movements"),
    )
    op.create_index("ix_inv_movements_item_code_id", "inv_movements", ["item_code", "id"])
    op.create_table(
        "inv_reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("line_code", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("family", sa.String(), nullable=False),
        sa.Column("seq_no", sa.Integer(), nullable=False),
        sa.Column("need_time", UTC_DATETIME, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("filled", sa.Integer(), nullable=False),
        sa.Column("consumed_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint("quantity > 0", name="ck_inv_reservations_quantity_positive"),
        sa.CheckConstraint("filled >= 0", name="ck_inv_reservations_filled_not_negative"),
        sa.CheckConstraint("filled <= quantity", name="ck_inv_reservations_filled_within_quantity"),
        sa.ForeignKeyConstraint(["item_code"], ["inv_items.code"], name="fk_inv_reservations_item_code_inv_items"),
        sa.PrimaryKeyConstraint("id", name="pk_inv_reservations"),
        sa.UniqueConstraint("line_code", "order_id", "family", name="uq_inv_reservations_line_code_order_id_family"),
    )
    op.create_index("ix_inv_reservations_item_code", "inv_reservations", ["item_code"])
    op.create_table(
        "inv_purchase_orders",
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("supplier", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("confirmed_at", UTC_DATETIME, nullable=True),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("last_receipt_at", UTC_DATETIME, nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_inv_purchase_orders_quantity_positive"),
        sa.CheckConstraint("received >= 0", name="ck_inv_purchase_orders_received_not_negative"),
        sa.CheckConstraint(ORDER_STATES, name="ck_inv_purchase_orders_state"),
        sa.ForeignKeyConstraint(["item_code"], ["inv_items.code"], name="fk_inv_purchase_orders_item_code_inv_items"),
        sa.PrimaryKeyConstraint("number", name="pk_inv_purchase_orders"),
    )
    op.create_index("ix_inv_purchase_orders_item_code", "inv_purchase_orders", ["item_code"])
    op.create_table(
        "inv_policies",
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("supplier", sa.String(), nullable=False),
        sa.Column("lead_time_minutes", sa.Integer(), nullable=False),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("order_quantity", sa.Integer(), nullable=False),
        sa.Column("kanban_cards", sa.Integer(), nullable=False),
        sa.Column("container_quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint(POLICY_KINDS, name="ck_inv_policies_kind"),
        sa.CheckConstraint(
            "lead_time_minutes >= 0 AND reorder_point >= 0 AND order_quantity >= 0 AND kanban_cards >= 0 AND container_quantity >= 0",
            name="ck_inv_policies_figures_not_negative",
        ),
        sa.ForeignKeyConstraint(["item_code"], ["inv_items.code"], name="fk_inv_policies_item_code_inv_items"),
        sa.PrimaryKeyConstraint("item_code", name="pk_inv_policies"),
    )
    op.create_table(
        "inv_bom",
        sa.Column("parent", sa.String(), nullable=False),
        sa.Column("component", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("supplier", sa.String(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_inv_bom_quantity_positive"),
        sa.PrimaryKeyConstraint("parent", "component", name="pk_inv_bom"),
    )


def downgrade() -> None:
    for table in (
        "inv_bom",
        "inv_policies",
        "inv_purchase_orders",
        "inv_reservations",
        "inv_movements",
        "inv_balances",
        "inv_stock",
        "inv_lots",
        "inv_locations",
        "inv_items",
    ):
        op.drop_table(table)

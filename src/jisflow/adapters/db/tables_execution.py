"""The execution schema: the floor's master data, racks, shipments and execution records.

Racks, shipments and master data are stored as JSON documents beside the columns that are
queried (line, supplier, state, departure); records are append-only, indexed by serial number
(traceability) and by line and kind (KPIs).
"""

from __future__ import annotations

import sqlalchemy as sa

from jisflow.adapters.db.tables import JSON, UtcDateTime, _in, metadata
from jisflow.domain.execution import RecordKind
from jisflow.domain.racks import RackState
from jisflow.domain.transport import ShipmentState

setups = sa.Table(
    "exec_setups",
    metadata,
    sa.Column("plant", sa.String, primary_key=True),
    sa.Column("document", JSON, nullable=False),
)

racks = sa.Table(
    "exec_racks",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),  # opening order
    sa.Column("line", sa.String, nullable=False),
    sa.Column("supplier", sa.String, nullable=False),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("document", JSON, nullable=False),
    sa.CheckConstraint(_in("state", [s.value for s in RackState]), name="state"),
    sa.Index(None, "line", "state"),
)

shipments = sa.Table(
    "exec_shipments",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("line", sa.String, nullable=False),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("departure", UtcDateTime, nullable=False),
    sa.Column("document", JSON, nullable=False),
    sa.CheckConstraint(_in("state", [s.value for s in ShipmentState]), name="state"),
    sa.Index(None, "line", "state"),
)

records = sa.Table(
    "exec_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("line", sa.String, nullable=False),
    sa.Column("order_id", sa.String, nullable=True),
    sa.Column("serial", sa.String, nullable=True),
    sa.Column("document", JSON, nullable=False),
    # the partition key on PostgreSQL (migration 0008): the plant of the line
    sa.Column("plant_code", sa.String, nullable=False, server_default=""),
    sa.CheckConstraint(_in("kind", [k.value for k in RecordKind]), name="kind"),
    sa.Index(None, "line", "kind"),
    sa.Index(None, "serial"),
    sa.Index(None, "order_id"),
)

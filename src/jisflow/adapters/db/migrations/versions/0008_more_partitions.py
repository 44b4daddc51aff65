"""Partitioning by plant, continued: the audit log, the alerts and the execution records (scans,
receipts, consumption) grow with time and plants too. They get a ``plant_code`` and, on
PostgreSQL, become LIST-partitioned by it like ``outbox`` and ``sequence_changes`` (0006);
``jisflow_plant_partitions`` now makes a plant's partitions of all five tables.

The plant of an alert or a record is that of its line. An audit entry's is the plant its event
names or that of its line; entries of no plant (users, keys, webhook subscriptions, stock that
plants share) stay in the default partition. The audit log stays append-only: its trigger is
re-created on the partitioned table, which gives it to every partition.

SQLite only gets the column.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

from jisflow.adapters.db import partitioning

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("outbox", "sequence_changes")  # partitioned by 0006
TABLES = ("audit_log", "alerts", "exec_records")

_LINE_PLANT = "(SELECT l.plant_code FROM lines l WHERE l.code = {})"
# An entry of before names its plant or line in its state, or its subject starts with its line
# (a vehicle, a change) or with its call-off's number (a call-off, one of its lines).
_FIRST = "split_part(subject, '/', 1)"
PLANT_OF = {
    "audit_log": "COALESCE(after->>'plant', before->>'plant', "
    + _LINE_PLANT.format(f"COALESCE(after->>'line', before->>'line', {_FIRST})")
    + ", (SELECT l.plant_code FROM calloffs c JOIN lines l ON l.code = c.line_code WHERE c.number = "
    + _FIRST
    + "), '')",
    "alerts": f"COALESCE({_LINE_PLANT.format('line_code')}, '')",
    "exec_records": f"COALESCE({_LINE_PLANT.format('line')}, '')",
}
EXTRAS = {
    "audit_log": [
        "CREATE INDEX ix_audit_log_actor_id ON audit_log (actor, id)",
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    ],
    "alerts": [
        "CREATE INDEX ix_alerts_line_code_id ON alerts (line_code, id)",
    ],
    "exec_records": [
        "CREATE INDEX ix_exec_records_line_kind ON exec_records (line, kind)",
        "CREATE INDEX ix_exec_records_serial ON exec_records (serial)",
        "CREATE INDEX ix_exec_records_order_id ON exec_records (order_id)",
    ],
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        partitioning.add_plant_columns(op, TABLES)
        return
    # the migration gives the entries there are their plant: the one change the audit log takes
    op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    for table in TABLES:
        partitioning.partition(op.execute, table, PLANT_OF[table], EXTRAS[table])
    op.execute(partitioning.partitions_function(BEFORE + TABLES))
    op.execute("SELECT jisflow_plant_partitions(code) FROM plants")
    for table in TABLES:
        partitioning.fill(op.execute, table)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        partitioning.drop_plant_columns(op, TABLES)
        return
    op.execute(partitioning.partitions_function(BEFORE))
    for table in TABLES:
        # the copy back reads the partitions; the append-only trigger goes with the old table
        partitioning.unpartition(op.execute, table, EXTRAS[table])

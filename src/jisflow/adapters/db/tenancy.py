"""Supplier isolation in the database: PostgreSQL row-level security as a second wall.

The tables that hold a supplier's objects (``ISOLATED_TABLES``) carry a policy: a row is
visible, and may be written, only when the connection's ``jisflow.supplier`` setting names its
supplier, or is ``*`` (a plant-side user who sees every supplier). A connection that never set
it sees nothing. The application connects as a role that does not own the tables (owners skip
the policies), and every unit of work sets the setting for its caller before anything else.

SQLite has no row-level security: there the application's own filter is the only wall.
"""

from __future__ import annotations

import sqlalchemy as sa

SETTING = "jisflow.supplier"
EVERY_SUPPLIER = "*"
ISOLATED_TABLES = ("calloffs", "calloff_lines", "summarized_calls", "inv_forecasts")
POLICY = f"current_setting('{SETTING}', true) IN ('{EVERY_SUPPLIER}', supplier)"


def set_tenant(connection: sa.Connection, supplier: str | None) -> None:
    """Let this connection see the rows of ``supplier`` only (None: of every supplier)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.set_config(SETTING, supplier or EVERY_SUPPLIER, False)))


def grant_application_role(connection: sa.Connection, role: str) -> None:
    """Create (if missing) the role the application connects as, and let it read and write
    every table of the schema without owning any (so the policies hold for it)."""
    quoted = connection.dialect.identifier_preparer.quote(role)
    exists = connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}).first()
    if exists is None:
        connection.exec_driver_sql(f"CREATE ROLE {quoted} LOGIN")
    connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {quoted}")
    connection.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}")
    connection.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")

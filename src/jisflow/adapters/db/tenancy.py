"""Supplier isolation in the database: PostgreSQL row-level security as a second wall.

The tables that hold a supplier's objects (``ISOLATED_TABLES``) carry a policy: a row is
visible, and may be written, only when the connection's ``jisflow.supplier`` setting names its
supplier, or is ``*`` (a plant-side user who sees every supplier). A connection that never set
it sees nothing. The application connects as a role that does not own the tables (owners skip
the policies), and every unit of work sets the setting for its caller before anything else.

SQLite has no row-level security: there the application's own filter is the only wall.

The setting belongs to the session, so it stays with the pooled connection, but only once the
transaction that made it commits (a rollback undoes it). The connection remembers what it holds
(``connection.info``, which lives and dies with the database connection): a setting made in the
current transaction, or one whose transaction committed (``committed``), is not sent again.
"""

from __future__ import annotations

import weakref

import sqlalchemy as sa

SETTING = "jisflow.supplier"
EVERY_SUPPLIER = "*"
ISOLATED_TABLES = ("calloffs", "calloff_lines", "summarized_calls", "inv_forecasts")
POLICY = f"current_setting('{SETTING}', true) IN ('{EVERY_SUPPLIER}', supplier)"


HELD = "jisflow.tenancy.held"
"""Key in ``connection.info``: (the setting, None once it is committed, else a weak reference to
the transaction that made it)."""


def set_tenant(connection: sa.Connection, supplier: str | None) -> None:
    """Let this connection see the rows of ``supplier`` only (None: of every supplier); sends
    nothing when the connection surely holds that setting already."""
    if connection.dialect.name != "postgresql":
        return
    value = supplier or EVERY_SUPPLIER
    held = connection.info.get(HELD)
    if held is not None and held[0] == value and (held[1] is None or _still_open(connection, held[1])):
        return
    connection.info.pop(HELD, None)  # unknown until the statement has run
    connection.execute(sa.select(sa.func.set_config(SETTING, value, False)))
    made_in = connection.get_transaction()
    if made_in is not None and not connection.in_nested_transaction():  # a savepoint rolled back would undo it unseen
        connection.info[HELD] = (value, weakref.ref(made_in))


def committed(connection: sa.Connection, transaction: sa.RootTransaction | None) -> None:
    """``transaction`` of this connection has committed: a setting it made now holds for the
    session. Call it after the commit succeeded (a failed commit rolls the setting back)."""
    held = connection.info.get(HELD)
    if held is not None and held[1] is not None and transaction is not None and held[1]() is transaction:
        connection.info[HELD] = (held[0], None)


def _still_open(connection: sa.Connection, made_in: weakref.ref[sa.RootTransaction]) -> bool:
    """The transaction that made the setting is the connection's current one, still open."""
    transaction = made_in()
    return transaction is not None and transaction is connection.get_transaction() and transaction.is_active


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

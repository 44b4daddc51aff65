"""PostgreSQL row-level security: connected as the application's (non-owner) role, a
connection set to one supplier cannot see or write another supplier's call-offs, even with
no filter of the application in the query."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from api_support import PLANT, MONDAY_0700, vehicles

from jisflow.adapters.db import tenancy
from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.db.uow import SqlUnitOfWork
from jisflow.adapters.plant_file import load_plant_file
from jisflow.bootstrap import bootstrap
from jisflow.domain.sequence import Vehicle
from jisflow.services import commands as c
from jisflow.services.clock import SimulatedClock
from jisflow.services.unit_of_work import CallOffLineFilter

pytestmark = pytest.mark.postgres
APP_ROLE = "jisflow_app"


@pytest.fixture
def app_engine(empty_postgres_url: str):
    """The database with call-offs of SEATS and ROOFS, and an engine connected as the
    application's role."""
    owner = bootstrap(database_url=empty_postgres_url, migrate=True, clock=SimulatedClock(MONDAY_0700))
    definition = load_plant_file(PLANT)
    owner.bus.handle(c.LoadPlant(definition.plant, definition.data))
    rows = tuple(c.SequenceRow(f"row {i}", Vehicle(v["order_id"], v["model"], v["options"])) for i, v in enumerate(vehicles(6)))
    owner.bus.handle(c.ImportSequence("L1", rows))
    owner.bus.handle(c.BroadcastNext("L1", 2))
    owner.bus.handle(c.Tick())
    with owner.uow.engine.begin() as connection:
        tenancy.grant_application_role(connection, APP_ROLE)
    owner.uow.engine.dispose()
    engine = make_engine(sa.make_url(empty_postgres_url).set(username=APP_ROLE, password=None), poolclass=sa.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def suppliers_seen(connection: sa.Connection) -> set[str]:
    return set(connection.exec_driver_sql("SELECT DISTINCT supplier FROM calloff_lines").scalars())


def test_a_connection_set_to_one_supplier_sees_only_its_rows_without_any_filter(app_engine):
    with app_engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT current_user").scalar() == APP_ROLE
        assert suppliers_seen(connection) == set()  # nothing until the tenant is set
        tenancy.set_tenant(connection, "SEATS")
        assert suppliers_seen(connection) == {"SEATS"}
        assert set(connection.exec_driver_sql("SELECT DISTINCT supplier FROM calloffs").scalars()) == {"SEATS"}
        tenancy.set_tenant(connection, None)
        assert suppliers_seen(connection) == {"SEATS", "ROOFS"}


def test_a_supplier_connection_cannot_change_or_write_another_suppliers_rows(app_engine):
    with app_engine.connect() as connection:
        tenancy.set_tenant(connection, "SEATS")
        changed = connection.exec_driver_sql("UPDATE calloff_lines SET state = 'CANCELLED' WHERE supplier = 'ROOFS'").rowcount
        assert changed == 0
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            connection.exec_driver_sql("UPDATE calloff_lines SET supplier = 'ROOFS' WHERE supplier = 'SEATS'")
        connection.rollback()
        tenancy.set_tenant(connection, None)
        assert connection.exec_driver_sql("SELECT count(*) FROM calloff_lines WHERE state = 'CANCELLED'").scalar() == 0


def test_the_unit_of_work_of_a_supplier_lists_only_its_call_offs_through_the_database(app_engine):
    uow = SqlUnitOfWork(app_engine)
    uow.tenant = "SEATS"
    with uow:
        lines = uow.calloffs.lines(CallOffLineFilter())  # no supplier filter in the query
    assert lines and {ln.supplier for ln in lines} == {"SEATS"}


def test_the_unit_of_work_of_a_supplier_lists_only_the_forecasts_sent_to_it_through_the_database(app_engine):
    from datetime import date

    from jisflow.domain.forecast import Commitment, ReceivedForecast, ReceivedPeriod
    from jisflow.services.edi import ReceiveForecasts, forecasts

    plant = bootstrap(SqlUnitOfWork(app_engine), clock=SimulatedClock(MONDAY_0700))
    periods = (ReceivedPeriod(date(2026, 12, 14), 40, Commitment.FIRM),)
    plant.bus.handle(ReceiveForecasts("edifact:PLANT:ALL:RLS", tuple(
        ReceivedForecast("", "PLANT", who, f"{who}-PART", None, "DOCK", "EA", "DELFOR", "FC", None, periods) for who in ("SEATS", "ROOFS"))))
    uow = SqlUnitOfWork(app_engine)
    uow.tenant = "SEATS"
    seen = forecasts(uow)  # no supplier filter in the query
    assert seen and {ln.supplier for ln in seen} == {"SEATS"}


@pytest.fixture
def one_connection(app_engine):
    """An engine of the application's role whose pool holds a single connection, so every unit
    of work runs on the one session that keeps (or loses) the supplier setting."""
    engine = make_engine(app_engine.url, pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        engine.dispose()


def suppliers_through(engine: sa.Engine, supplier: str | None, commit: bool) -> set[str]:
    uow = SqlUnitOfWork(engine)
    uow.tenant = supplier
    with uow:
        seen = {ln.supplier for ln in uow.calloffs.lines(CallOffLineFilter())}
        if commit:
            uow.commit()
    return seen


def tenant_statements(engine: sa.Engine) -> list[str]:
    sent: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.append(statement) if "set_config" in statement else None)
    return sent


def test_a_unit_of_work_after_one_of_another_supplier_that_rolled_back_sees_its_own_rows_only(one_connection):
    assert suppliers_through(one_connection, "SEATS", commit=True) == {"SEATS"}
    assert suppliers_through(one_connection, "ROOFS", commit=False) == {"ROOFS"}  # rolled back: the session is SEATS again
    assert suppliers_through(one_connection, "ROOFS", commit=False) == {"ROOFS"}
    assert suppliers_through(one_connection, "SEATS", commit=False) == {"SEATS"}
    assert suppliers_through(one_connection, None, commit=False) == {"SEATS", "ROOFS"}
    assert suppliers_through(one_connection, "ROOFS", commit=True) == {"ROOFS"}


def test_a_supplier_set_in_a_first_transaction_that_rolled_back_is_set_again(one_connection):
    assert suppliers_through(one_connection, "ROOFS", commit=False) == {"ROOFS"}  # the session sees nothing again
    assert suppliers_through(one_connection, "ROOFS", commit=False) == {"ROOFS"}
    with one_connection.connect() as connection:
        assert suppliers_seen(connection) == set()


def test_the_supplier_setting_is_sent_once_per_connection_while_it_stays_committed(one_connection):
    sent = tenant_statements(one_connection)
    for _ in range(3):
        assert suppliers_through(one_connection, "SEATS", commit=True) == {"SEATS"}
    assert len(sent) == 1
    assert suppliers_through(one_connection, "ROOFS", commit=True) == {"ROOFS"}
    assert suppliers_through(one_connection, "ROOFS", commit=True) == {"ROOFS"}
    assert len(sent) == 2

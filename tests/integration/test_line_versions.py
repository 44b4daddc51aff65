"""What a process keeps in memory of a line (its pearl chain, its reservations) is trusted only
under the version the database holds: another process's change, or a rolled-back one, is never
served from memory. Each engine stands for a process (the memory is per engine); SQLite and
PostgreSQL in turn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from jisflow.adapters.db.engine import make_engine
from jisflow.adapters.db.uow import SqlUnitOfWork
from jisflow.domain.inventory import Item, Reservation
from jisflow.domain.plant import Line
from jisflow.domain.sequence import Vehicle, VehicleStatus

T0 = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)  # a Monday, inside the day shift


@pytest.fixture
def two_processes(sql_engine: sa.Engine, build_plant) -> tuple[SqlUnitOfWork, SqlUnitOfWork, Line]:
    """Units of work of two engines on one database holding a line of three vehicles and one item."""
    other = make_engine(sql_engine.url.render_as_string(hide_password=False))
    first, second = SqlUnitOfWork(sql_engine), SqlUnitOfWork(other)
    definition = build_plant("P1", ("L1",))
    line = definition.plant.line("L1")
    with first as uow:
        uow.plants.put(definition.plant, definition.data, T0)
        uow.inventory.add_items([Item("SEAT-1")])
        uow.commit()
    with first as uow:
        chain = uow.chains.get(line)
        chain.append([(f"rows[{n}]", Vehicle(f"O{n}", "A", {"trim": "cloth"}), None) for n in range(1, 4)])
        uow.chains.save(chain)
        uow.commit()
    yield first, second, line
    other.dispose()


def statuses(uow: SqlUnitOfWork, line: Line) -> dict[str, VehicleStatus]:
    with uow:
        return {e.order_id: e.status for e in uow.chains.get(line).entries()}


def broadcast(uow: SqlUnitOfWork, line: Line, order_id: str, commit: bool = True) -> None:
    with uow:
        chain = uow.chains.get(line)
        chain.broadcast(order_id, T0)
        uow.chains.save(chain)
        if commit:
            uow.commit()


def reserve(uow: SqlUnitOfWork, order_id: str, quantity: int, commit: bool = True) -> None:
    with uow:
        stocks = uow.inventory.load(["SEAT-1"])
        stocks["SEAT-1"].upsert(Reservation("SEAT-1", "L1", order_id, "SEAT-L1", 1, T0 + timedelta(hours=1), quantity))
        uow.inventory.save(stocks.values())
        if commit:
            uow.commit()


def demand(uow: SqlUnitOfWork) -> dict[str, int]:
    """The line's demand as both reads give it (the copies, and the read-only objects the sync
    compares with), which must agree."""
    with uow:
        copies = {r.order_id: r.quantity for r in uow.inventory.reservations(line="L1")}
        kept = {r.order_id: r.quantity for r in uow.inventory.line_reservations("L1")}
    assert kept == copies
    return copies


def test_a_chain_another_process_changed_is_read_again_not_served_from_memory(two_processes):
    first, second, line = two_processes
    assert statuses(first, line)["O1"] is VehicleStatus.PLANNED  # now in the first process's memory
    broadcast(second, line, "O1")
    assert statuses(first, line)["O1"] is VehicleStatus.BROADCAST
    broadcast(first, line, "O2")
    assert statuses(second, line) == {"O1": VehicleStatus.BROADCAST, "O2": VehicleStatus.BROADCAST, "O3": VehicleStatus.PLANNED}


def test_a_chain_written_in_a_rolled_back_transaction_is_never_served(two_processes):
    first, _, line = two_processes
    broadcast(first, line, "O1", commit=False)
    assert statuses(first, line)["O1"] is VehicleStatus.PLANNED
    broadcast(first, line, "O2")
    assert statuses(first, line) == {"O1": VehicleStatus.PLANNED, "O2": VehicleStatus.BROADCAST, "O3": VehicleStatus.PLANNED}


def test_reservations_another_process_changed_are_read_again_and_rolled_back_ones_never_served(two_processes):
    first, second, _ = two_processes
    reserve(first, "O1", 1)
    assert demand(first) == {"O1": 1}  # in the first process's memory
    reserve(second, "O1", 2)
    reserve(second, "O2", 1)
    assert demand(first) == {"O1": 2, "O2": 1}
    reserve(first, "O3", 1, commit=False)
    assert demand(first) == {"O1": 2, "O2": 1}
    reserve(first, "O3", 4)
    assert demand(second) == demand(first) == {"O1": 2, "O2": 1, "O3": 4}


def test_a_chain_changed_but_not_saved_in_a_rolled_back_transaction_is_never_served(two_processes):
    first, _, line = two_processes
    with first as uow:
        uow.chains.get(line).broadcast("O1", T0)  # changed in memory, then rolled back unsaved
    assert statuses(first, line)["O1"] is VehicleStatus.PLANNED


def test_a_chain_only_read_in_a_rolled_back_transaction_stays_in_memory(two_processes, monkeypatch):
    first, _, line = two_processes
    assert statuses(first, line)["O1"] is VehicleStatus.PLANNED  # read, then rolled back (no commit)
    from jisflow.adapters.db import repositories

    read_from_database = []
    original = repositories.SqlChainRepository._read
    monkeypatch.setattr(repositories.SqlChainRepository, "_read", lambda self, *a: read_from_database.append(a) or original(self, *a))
    assert statuses(first, line)["O1"] is VehicleStatus.PLANNED
    broadcast(first, line, "O1")
    assert statuses(first, line)["O1"] is VehicleStatus.BROADCAST
    assert read_from_database == []

"""The whole flow, model-based: random broadcasts, sequence changes, picks, racks, shipments,
receipts, consumptions, stock movements and cancellations on SQLite and PostgreSQL, with the
invariants of ``flow_machine`` checked after every step (bounded here; the long run is
``benchmarks/stateful_flow.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flow_machine import LINE, T0, Databases, flow_machine
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from jisflow.domain.calloff import CallOffState
from jisflow.domain.racks import RackState
from jisflow.services import commands as c
from jisflow.services import execution as x

# bounded: a few seconds a database (the long runs are benchmarks/stateful_flow.py)
EXAMPLES = {"sqlite": 6, "postgres": 3}


def bounded(kind: str) -> settings:
    return settings(max_examples=EXAMPLES[kind], stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest) -> Iterator[Databases]:
    """A fresh database for each run of the machine: SQLite, then PostgreSQL."""
    found = Databases("sqlite") if request.param == "sqlite" else Databases("postgres", request.getfixturevalue("empty_postgres_url"))
    try:
        yield found
    finally:
        found.close()


def test_the_whole_flow_keeps_its_invariants_under_random_steps(databases):
    runs: list[int] = []
    run_state_machine_as_test(flow_machine(databases, lambda steps, applied: runs.append(steps)), settings=bounded(databases.kind))
    assert runs and sum(runs) > 0


def test_a_stock_receipt_is_audited(databases):
    """Found by the machine: a receipt (any stock movement) changed the books without an
    audit entry. The failing example, replayed step by step."""
    machine = flow_machine(databases)()
    try:
        machine.receive_stock(item="BOLT-6", location="S10-L", quantity=1)
        with machine.app.uow:
            (entry,) = [e for e in machine.app.uow.audit.read(limit=1000).entries if e.action == "stock.moved"]
        assert (entry.actor, entry.subject, entry.after["quantity"]) == ("dock", "BOLT-6/S10-L", 1)
    finally:
        machine.teardown()


def test_a_closed_rack_whose_only_part_was_expedited_does_not_block_load_planning(databases):
    """Found by the machine: a rack closed with one part, that part sent on an emergency
    delivery, and every later load plan of the line failed (the empty rack had no first need).
    The failing example, shrunk by hand."""
    machine = flow_machine(databases)()
    try:
        machine.import_vehicles([("CITY", "LUX")])
        machine.broadcast_next(1)
        machine.relay()
        (number,) = {ln.number for ln in machine.lines()}
        machine.run(c.TransitionCallOffLines(number, CallOffState.ACKNOWLEDGED, actor="supplier"), refusable=False)
        (item,) = machine.run(x.CreatePickList(LINE), refusable=False).details["items"]
        machine.run(x.ConfirmPick(LINE, ((item["order_id"], item["family"]),)), refusable=False)
        machine.rack()
        machine.run(x.CloseRacks(LINE, (item["rack_id"],)), refusable=False)
        machine.run(x.OrderEmergencyDelivery(LINE, item["order_id"], item["family"], "rack damaged"), refusable=False)
        planned = machine.run(x.PlanLoads(LINE, until=T0 + timedelta(days=1)), refusable=False)
        with machine.app.uow:
            rack = machine.app.uow.execution.rack(item["rack_id"])
        assert planned.details["shipments"] == [] and rack.state is RackState.EMPTIED
    finally:
        machine.teardown()

"""Receiving DELJIT interchanges on the supplier side, and the EDI publisher of the outbox.

Runs the real message bus on the in-memory, SQLite and PostgreSQL units of work."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from jisflow.adapters.edi.deljit import deljit_interchange, received_calloffs
from jisflow.adapters.edi.edifact import parse_interchange
from jisflow.adapters.edi.profiles import load_profile
from jisflow.adapters.edi.publisher import EdiFilePublisher
from jisflow.adapters.memory import MemoryUnitOfWork
from jisflow.adapters.plant_file import load_plant_file
from jisflow.bootstrap import bootstrap
from jisflow.domain.calloff import CallOffState
from jisflow.domain.errors import ConflictError
from jisflow.domain.sequence import Vehicle
from jisflow.services import commands as c
from jisflow.services.clock import SimulatedClock
from jisflow.services.edi import ReceiveCallOffs
from jisflow.services.outbox import MemoryPublisher
from jisflow.services.unit_of_work import CallOffLineFilter

PLANT = Path(__file__).parent.parent / "data" / "plants" / "small_plant.yaml"
MONDAY_0700 = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)
PROFILE = load_profile("default")


@pytest.fixture
def plant_side(uow_factory):
    """The plant: small plant loaded, ten vehicles, the first three broadcast."""
    definition = load_plant_file(PLANT)
    app = bootstrap(uow_factory(), clock=SimulatedClock(MONDAY_0700), publisher=MemoryPublisher())
    app.bus.handle(c.LoadPlant(definition.plant, definition.data))
    rows = tuple(c.SequenceRow(f"row {i}", Vehicle(f"V{i:04d}", "TOURER", {"trim": "LUX", "roof": "CLOSED"})) for i in range(1, 11))
    app.bus.handle(c.ImportSequence("L1", rows))
    app.bus.handle(c.BroadcastNext("L1", count=3, at=MONDAY_0700))
    return app


def stored_lines(app, **kw):
    with app.uow:
        return app.uow.calloffs.lines(CallOffLineFilter(**kw))


def plant_calloffs(app):
    numbers = sorted({ln.number for ln in stored_lines(app)})
    with app.uow:
        return [app.uow.calloffs.get(n) for n in numbers]


def command(calloffs, reference: str = "R1", profile=PROFILE) -> ReceiveCallOffs:
    text = deljit_interchange(calloffs, profile, "PLANT", calloffs[0].supplier, reference, MONDAY_0700)
    ic = parse_interchange(text)
    return ReceiveCallOffs(ic.key, received_calloffs(ic, profile))


def fields(lines):
    return sorted((ln.number, ln.line, ln.order_id, ln.family, ln.seq_no, ln.rolling_no, ln.vin, ln.part_number, ln.quantity,
                   ln.station, ln.need_time, ln.unloading_point) for ln in lines)


def test_received_call_offs_are_stored_as_sent_lines_for_the_supplier(plant_side) -> None:
    supplier_side = bootstrap(_fresh(), clock=SimulatedClock(MONDAY_0700))
    calloffs = plant_calloffs(plant_side)
    outcome = supplier_side.bus.handle(command(calloffs))
    assert outcome.applied and outcome.lines_issued == sum(len(co.lines) for co in calloffs)
    received = stored_lines(supplier_side)
    assert fields(received) == fields([ln for co in calloffs for ln in co.lines])
    assert {ln.state for ln in received} == {CallOffState.SENT}


def test_a_replayed_interchange_is_acknowledged_and_not_applied_twice(plant_side) -> None:
    supplier_side = bootstrap(_fresh(), clock=SimulatedClock(MONDAY_0700))
    calloffs = plant_calloffs(plant_side)[:1]
    supplier_side.bus.handle(command(calloffs))
    again = supplier_side.bus.handle(command(calloffs))
    assert (again.applied, again.duplicate) == (False, True)
    other_reference = supplier_side.bus.handle(command(calloffs, reference="R2"))
    assert other_reference.details["known"] == [calloffs[0].number] and other_reference.lines_issued == 0
    assert len(stored_lines(supplier_side)) == len(calloffs[0].lines)


def test_a_call_off_number_with_other_lines_refuses_the_whole_interchange(plant_side) -> None:
    supplier_side = bootstrap(_fresh(), clock=SimulatedClock(MONDAY_0700))
    (first, *_) = plant_calloffs(plant_side)
    supplier_side.bus.handle(command([first]))
    before = fields(stored_lines(supplier_side))
    first.lines[0].quantity += 1
    with pytest.raises(ConflictError, match="nothing applied"):
        supplier_side.bus.handle(command([first], reference="R3"))
    assert fields(stored_lines(supplier_side)) == before
    with supplier_side.uow:
        assert not supplier_side.uow.inbox.seen(f"edifact:PLANT:{first.supplier}:R3")


def test_the_edi_publisher_writes_a_deljit_file_per_issued_call_off(plant_side, tmp_path: Path) -> None:
    forwarded = MemoryPublisher()
    publisher = EdiFilePublisher(tmp_path / "outbox", PROFILE, "PLANT", plant_side.clock.now, forwarded)
    plant_side.publisher = publisher
    # the fixture's relay has not run yet: every call-off issued at broadcast is pending
    report = plant_side.relay()
    issued = plant_calloffs(plant_side)
    assert report.calloffs_sent == len(issued)
    assert sorted(p.stem for p in (tmp_path / "outbox").iterdir()) == sorted(co.number for co in issued)
    for co in issued:
        (received,) = received_calloffs(parse_interchange((tmp_path / "outbox" / f"{co.number}.edi").read_text()), PROFILE)
        assert sorted((ln.order_id, ln.part_number, ln.seq_no, ln.need_time) for ln in received.lines) == sorted(
            (ln.order_id, ln.part_number, ln.seq_no, ln.need_time) for ln in co.lines
        )
    assert "calloff.issued" in forwarded.topics()


def _fresh() -> MemoryUnitOfWork:
    """The supplier's own, empty store."""
    return MemoryUnitOfWork()

"""A despatched shipment and its despatch advice are never apart: the despatch writes the
advice's event to the outbox in its own transaction, and the relay writes the advice in the
receiving partner's format (DESADV, X12 856, VDA 4913) into the partner's folder, retrying
until it is written. Runs on the in-memory, SQLite and PostgreSQL units of work."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from test_execution import MONDAY_0700, TAKT, broadcast_seats, jf, pick_and_scan, states  # noqa: F401 - jf is a fixture

from jisflow.adapters.edi.documents import parse_document
from jisflow.adapters.edi.profiles import load_profile
from jisflow.adapters.edi.publisher import EdiFilePublisher
from jisflow.domain.calloff import CallOffState
from jisflow.domain.transport import ShipmentState
from jisflow.services import execution as x
from jisflow.services.outbox import MemoryPublisher

PROFILE = load_profile("default")


def packed_shipment(jf) -> str:  # noqa: F811
    """Four seats picked into one rack and loaded: the id of the planned shipment."""
    broadcast_seats(jf, 4)
    items = jf.bus.handle(x.CreatePickList("L1", "SEATS")).details["items"]
    pick_and_scan(jf, items)
    (shipment,) = jf.bus.handle(x.PlanLoads("L1", until=MONDAY_0700 + timedelta(hours=1))).details["shipments"]
    jf.relay()
    jf.clock_.set(MONDAY_0700 + 8 * TAKT)
    return shipment["id"]


def advices(jf) -> list:  # noqa: F811
    with jf.uow:
        return [m for m in jf.uow.outbox.pending(10_000) if m.topic == "shipment.despatched"]


def shipment_state(jf, shipment_id: str) -> ShipmentState:  # noqa: F811
    with jf.uow:
        return jf.uow.execution.shipment(shipment_id).state


@pytest.mark.parametrize("fmt", ["desadv", "x12_856", "vda4913"])
def test_the_despatch_advice_is_written_in_the_format_of_the_receiving_partners_profile(jf, tmp_path: Path, fmt: str):  # noqa: F811
    shipment_id = packed_shipment(jf)
    jf.bus.handle(x.DespatchShipment(shipment_id))
    (advice,) = advices(jf)
    assert advice.payload["shipment_id"] == shipment_id
    partner = dataclasses.replace(PROFILE, code="dock-1-partner", despatch_format=fmt, despatch_receiver="PLANTD1")
    jf.publisher = EdiFilePublisher(tmp_path / "outbox", PROFILE, "PLANT", jf.clock.now, MemoryPublisher(), {"DOCK-1": partner})
    assert jf.relay().failed == 0 and advices(jf) == []
    (file,) = (tmp_path / "outbox" / "dock-1-partner").iterdir()
    doc = parse_document(file.read_text(encoding="utf-8"), partner)
    slots = [(r["rack_id"], s) for r in advice.payload["racks"] for s in r["slots"]]
    if fmt == "vda4913":
        (item,) = doc.content.items
        assert (doc.content.customer, doc.content.supplier) == ("PLANTD1", "SEATS")
        assert (item.part_number, item.quantity) == ("SEAT-L", len(slots))
        return
    assert (doc.interchange.sender, doc.interchange.receiver) == ("SEATS", "PLANTD1")
    (_, _, parsed), = doc.messages
    assert [(i.part_number, i.quantity, i.sequence_number, i.package_id, i.rack_slot, i.order_id, i.calloff_number) for i in parsed.items] == [
        (s["part_number"], 1, s["seq_no"], rack, s["position"], s["order_id"], s["number"]) for rack, s in slots]


def test_a_despatch_rolled_back_leaves_no_advice_and_despatching_again_leaves_exactly_one(jf, monkeypatch):  # noqa: F811
    shipment_id = packed_shipment(jf)
    real_commit = jf.uow._commit

    def fail() -> None:
        monkeypatch.setattr(jf.uow, "_commit", real_commit)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(jf.uow, "_commit", fail)
    with pytest.raises(RuntimeError):
        jf.bus.handle(x.DespatchShipment(shipment_id))
    assert advices(jf) == []
    assert shipment_state(jf, shipment_id) is ShipmentState.PLANNED and set(states(jf).values()) == {CallOffState.PACKED}
    jf.bus.handle(x.DespatchShipment(shipment_id))
    assert [a.payload["shipment_id"] for a in advices(jf)] == [shipment_id]
    assert shipment_state(jf, shipment_id) is ShipmentState.DEPARTED


def test_an_advice_that_cannot_be_written_stays_in_the_outbox_until_it_is(jf, tmp_path: Path):  # noqa: F811
    shipment_id = packed_shipment(jf)
    jf.bus.handle(x.DespatchShipment(shipment_id))
    blocked = tmp_path / "outbox"
    blocked.write_text("a file where the partner's folder should be")
    jf.publisher = EdiFilePublisher(blocked, PROFILE, "PLANT", jf.clock.now)
    assert jf.relay().failed == 1
    assert [a.payload["shipment_id"] for a in advices(jf)] == [shipment_id]
    blocked.unlink()
    assert jf.relay().failed == 0 and advices(jf) == []
    assert [p.name for p in (blocked / PROFILE.code).iterdir()] == [f"{shipment_id}.edi"]

"""The floor round trip through the service layer, on the in-memory unit of work, SQLite and
PostgreSQL: broadcast -> call-off -> pick -> verify -> rack -> load -> despatch -> receive ->
line-side check -> consume."""

from __future__ import annotations

from datetime import timedelta

import pytest
from floor_support import MONDAY_0700, small_plant_app

from jisflow.domain.alerts import AlertKind
from jisflow.domain.calloff import CallOffState
from jisflow.domain.errors import ConflictError
from jisflow.domain.execution import ExecutionSetup, LineSideScan, ReceivedSlot, RecordKind, Scan, ScanRefused
from jisflow.domain.racks import RackState, RackType
from jisflow.domain.sequence import Vehicle
from jisflow.domain.transport import Lane, ShipmentState
from jisflow.services import commands as c
from jisflow.services import execution as x
from jisflow.services.unit_of_work import AlertFilter, CallOffLineFilter

TAKT = timedelta(seconds=90)
SETUP = ExecutionSetup(
    {"RACK-S": RackType("RACK-S", 4, families=frozenset({"SEAT"})), "RACK-R": RackType("RACK-R", 2, 2, frozenset({"ROOF"}))},
    {
        "SEATS>DOCK-1": Lane("SEATS>DOCK-1", "SEATS", "DOCK-1", timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=1), "local haulier", 2),
        "ROOFS>DOCK-1": Lane("ROOFS>DOCK-1", "ROOFS", "DOCK-1", timedelta(hours=4), timedelta(hours=5), timedelta(minutes=20), "long haul", 3),
    },
    {"SEAT-L": "A-01-03"},
)


@pytest.fixture
def jf(uow_factory):
    return small_plant_app(uow_factory(), setup=SETUP)


def load(jf, count: int, **options) -> None:
    opts = {"trim": "LUX", "roof": "CLOSED", **options}
    rows = tuple(c.SequenceRow(f"row {i + 2}", Vehicle(f"V{i + 1:04d}", "TOURER", dict(opts), None)) for i in range(count))
    jf.bus.handle(c.ImportSequence("L1", rows, source="test.csv"))


def lines(jf, **kw):
    with jf.uow:
        return jf.uow.calloffs.lines(CallOffLineFilter(line="L1", **kw))


def acknowledge_all(jf) -> None:
    jf.relay()
    for number in sorted({ln.number for ln in lines(jf, states=(CallOffState.SENT,))}):
        jf.bus.handle(c.TransitionCallOffLines(number, CallOffState.ACKNOWLEDGED, actor="supplier"))


def broadcast_seats(jf, count: int) -> None:
    load(jf, count)
    for i in range(count):
        t = MONDAY_0700 + i * TAKT
        jf.clock_.set(t)
        jf.bus.handle(c.BroadcastVehicle("L1", f"V{i + 1:04d}", t))
    acknowledge_all(jf)


def pick_and_scan(jf, items) -> None:
    jf.bus.handle(x.ConfirmPick("L1", tuple((i["order_id"], i["family"]) for i in items)))
    scans = tuple(Scan(i["rack_id"], i["slot"], i["part_number"], f"SN-{i['order_id']}") for i in sorted(items, key=lambda i: (i["rack_id"], i["slot"])))
    jf.bus.handle(x.VerifyScans("L1", scans))


def states(jf) -> dict[str, CallOffState]:
    return {ln.order_id: ln.state for ln in lines(jf)}


def test_the_whole_round_trip_from_broadcast_to_consumption(jf):
    broadcast_seats(jf, 8)
    picks = jf.bus.handle(x.CreatePickList("L1", "SEATS")).details
    items = picks["items"]
    assert [i["seq_no"] for i in items] == list(range(1, 9)), "the pick list is in sequence order"
    assert {i["location"] for i in items} == {"A-01-03"}
    assert len(picks["racks"]) == 2 and [i["slot"] for i in items] == [1, 2, 3, 4, 1, 2, 3, 4]
    pick_and_scan(jf, items)
    assert set(states(jf).values()) == {CallOffState.PACKED}
    with jf.uow:
        racks = jf.uow.execution.racks("L1")
    assert [r.state for r in racks] == [RackState.CLOSED, RackState.CLOSED], "a full rack closes"
    assert [(r.first_seq, r.last_seq) for r in racks] == [(1, 4), (5, 8)]

    (shipment,) = jf.bus.handle(x.PlanLoads("L1", until=MONDAY_0700 + timedelta(hours=1))).details["shipments"]
    assert shipment["loading_order"] == [racks[1].id, racks[0].id], "the rack needed first is loaded last"
    jf.clock_.set(MONDAY_0700 + 8 * TAKT)
    out = jf.bus.handle(x.DespatchShipment(shipment["id"]))
    assert not out.details["late_risk"]
    assert set(states(jf).values()) == {CallOffState.SHIPPED}
    jf.relay()
    asn = [m for m in jf.publisher.messages if m[0] == "shipment.despatched"]
    assert len(asn) == 1 and [r["rack_id"] for r in asn[0][3]["racks"]] == [racks[0].id, racks[1].id]
    assert [s["seq_no"] for s in asn[0][3]["racks"][0]["slots"]] == [1, 2, 3, 4]

    jf.clock_.set(MONDAY_0700 + 9 * TAKT)
    received = jf.bus.handle(x.ReceiveShipment(shipment["id"])).details
    assert received["parts"] == 8 and received["discrepancies"] == []
    assert set(states(jf).values()) == {CallOffState.DELIVERED}

    for n in range(1, 9):
        jf.bus.handle(x.CheckLineSide("L1", "S10", (LineSideScan(f"V{n:04d}", "SEAT-L", f"SN-V{n:04d}"),)))
        jf.bus.handle(x.ConsumeVehicles("L1", (f"V{n:04d}",), "S10"))
    assert set(states(jf).values()) == {CallOffState.CONSUMED}

    trail = x.trace(jf.uow, "SN-V0003")
    assert [r.kind for r in trail] == [RecordKind.PACKED, RecordKind.DESPATCHED, RecordKind.RECEIVED, RecordKind.LINESIDE_OK, RecordKind.CONSUMED]
    assert trail[-1].order_id == "V0003"
    k = x.kpis(jf.uow, "L1")
    assert k.sequence_accuracy == 1 and k.on_time_in_sequence == 1 and k.rack_fill_rate == 1
    assert k.truck_utilisation == 1 and k.wrong_parts_fitted == 0 and k.parts_consumed == 8


def test_a_wrong_scan_is_refused_with_an_alert_and_changes_nothing(jf):
    broadcast_seats(jf, 4)
    items = jf.bus.handle(x.CreatePickList("L1")).details["items"]
    jf.bus.handle(x.ConfirmPick("L1", tuple((i["order_id"], i["family"]) for i in items)))
    rack_id = items[0]["rack_id"]
    with pytest.raises(ScanRefused) as err:
        jf.bus.handle(x.VerifyScans("L1", (Scan(rack_id, 1, "SEAT-L", "SN-1"), Scan(rack_id, 3, "SEAT-C", "SN-2"))))
    text = str(err.value)
    assert "wrong slot" in text and "next slot is 2" in text and "needs SEAT-L, not SEAT-C" in text
    assert set(states(jf).values()) == {CallOffState.PICKED}, "the right scan of the batch is not applied either"
    with jf.uow:
        rack = jf.uow.execution.rack(rack_id)
        wrong = jf.uow.alerts.list(AlertFilter(kinds=(AlertKind.WRONG_SCAN,)))
    assert rack.filled == [] and len(wrong) == 1


def test_a_rack_closes_partial_at_its_cut_off_and_releases_unfilled_slots(jf):
    broadcast_seats(jf, 3)
    items = jf.bus.handle(x.CreatePickList("L1")).details["items"]
    pick_and_scan(jf, items[:2])
    out = jf.bus.handle(x.CloseRacks("L1", at=MONDAY_0700 + timedelta(hours=1)))
    assert out.details["partial"] == [items[0]["rack_id"]]
    with jf.uow:
        rack = jf.uow.execution.rack(items[0]["rack_id"])
    assert [s.order_id for s in rack.slots] == ["V0001", "V0002"] and rack.partial
    again = jf.bus.handle(x.CreatePickList("L1")).details["items"]
    assert [(i["order_id"], i["slot"]) for i in again] == [("V0003", 1)] and again[0]["rack_id"] != rack.id


def test_a_late_eta_raises_a_late_risk_alert(jf):
    broadcast_seats(jf, 4)
    pick_and_scan(jf, jf.bus.handle(x.CreatePickList("L1")).details["items"])
    (shipment,) = jf.bus.handle(x.PlanLoads("L1", until=MONDAY_0700 + timedelta(hours=1))).details["shipments"]
    jf.bus.handle(x.DespatchShipment(shipment["id"], at=MONDAY_0700 + 4 * TAKT))
    out = jf.bus.handle(x.UpdateEta(shipment["id"], MONDAY_0700 + timedelta(minutes=30)))
    assert out.details["late_risk"] and out.alerts[0].kind is AlertKind.LATE_RISK


def test_a_receipt_with_a_missing_part_records_the_discrepancy_and_delivers_the_rest(jf):
    broadcast_seats(jf, 4)
    items = jf.bus.handle(x.CreatePickList("L1")).details["items"]
    pick_and_scan(jf, items)
    (shipment,) = jf.bus.handle(x.PlanLoads("L1", until=MONDAY_0700 + timedelta(hours=1))).details["shipments"]
    jf.bus.handle(x.DespatchShipment(shipment["id"]))
    rack_id = items[0]["rack_id"]
    found = {rack_id: tuple(ReceivedSlot(i["slot"], i["part_number"], f"SN-{i['order_id']}") for i in items if i["slot"] != 2)}
    out = jf.bus.handle(x.ReceiveShipment(shipment["id"], found))
    assert out.details["discrepancies"] == [f"rack {rack_id} slot 2: part SEAT-L for seq 2 is missing"]
    assert states(jf) == {"V0001": CallOffState.DELIVERED, "V0002": CallOffState.SHIPPED, "V0003": CallOffState.DELIVERED, "V0004": CallOffState.DELIVERED}
    assert x.kpis(jf.uow, "L1").sequence_accuracy == pytest.approx(0.75)


def test_an_out_of_sequence_part_at_the_station_is_refused_before_it_is_fitted(jf):
    broadcast_seats(jf, 4)
    pick_and_scan(jf, jf.bus.handle(x.CreatePickList("L1")).details["items"])
    (shipment,) = jf.bus.handle(x.PlanLoads("L1", until=MONDAY_0700 + timedelta(hours=1))).details["shipments"]
    jf.bus.handle(x.DespatchShipment(shipment["id"]))
    jf.bus.handle(x.ReceiveShipment(shipment["id"]))
    with pytest.raises(ScanRefused) as err:
        jf.bus.handle(x.CheckLineSide("L1", "S10", (LineSideScan("V0002", "SEAT-L", "SN-V0001"),)))
    assert "V0001 (seq 1) is due before V0002" in str(err.value) and "shipped for vehicle V0001" in str(err.value)
    with jf.uow:
        assert jf.uow.alerts.list(AlertFilter(kinds=(AlertKind.LINE_SIDE_REFUSED,)))
    assert states(jf)["V0002"] is CallOffState.DELIVERED


def test_an_emergency_delivery_expedites_one_part_on_its_own_lane(jf):
    broadcast_seats(jf, 2)
    out = jf.bus.handle(x.OrderEmergencyDelivery("L1", "V0002", "SEAT", reason="rack damaged"))
    assert states(jf) == {"V0001": CallOffState.ACKNOWLEDGED, "V0002": CallOffState.SHIPPED}
    with jf.uow:
        shipment = jf.uow.execution.shipment(out.details["shipment_id"])
    assert shipment.emergency and shipment.lane == "EXPRESS-SEATS>DOCK-1" and shipment.state is ShipmentState.DEPARTED
    assert x.kpis(jf.uow, "L1").emergency_deliveries == 1
    with pytest.raises(ConflictError):
        jf.bus.handle(x.OrderEmergencyDelivery("L1", "V0002", "SEAT"))


def test_a_resequence_after_pick_tells_the_picker_to_reslot_the_parts(jf):
    load(jf, 40, roof="GLASS")
    jf.bus.handle(c.Tick(MONDAY_0700))
    acknowledge_all(jf)
    items = [i for i in jf.bus.handle(x.CreatePickList("L1", "ROOFS")).details["items"] if 33 <= i["seq_no"] <= 36]
    assert len({i["rack_id"] for i in items}) == 1
    pick_and_scan(jf, items)
    rack_id = items[0]["rack_id"]
    jf.bus.handle(c.MoveVehicle("L1", order_id="V0033", after="V0035", actor="planner"))
    with jf.uow:
        records = jf.uow.execution.records(kinds=(RecordKind.RESEQUENCED,))
        rack = jf.uow.execution.rack(rack_id)
    moves = {(r.order_id, r.data["from_slot"], r.data["to_slot"]) for r in records}
    assert moves == {("V0033", 1, 3), ("V0034", 2, 1), ("V0035", 3, 2)}
    assert [s.order_id for s in rack.slots] == ["V0034", "V0035", "V0033", "V0036"]
    assert [s.seq_no for s in rack.slots] == [33, 34, 35, 36]


def test_a_cancelled_vehicle_after_pick_gets_its_part_pulled(jf):
    load(jf, 40, roof="GLASS")
    jf.bus.handle(c.Tick(MONDAY_0700))
    acknowledge_all(jf)
    items = [i for i in jf.bus.handle(x.CreatePickList("L1", "ROOFS")).details["items"] if 33 <= i["seq_no"] <= 36]
    pick_and_scan(jf, items)
    out_of = items[1]
    jf.bus.handle(c.CancelVehicle("L1", order_id=out_of["order_id"], actor="planner"))
    with jf.uow:
        (record,) = jf.uow.execution.records(kinds=(RecordKind.RESEQUENCED,))
        rack = jf.uow.execution.rack(out_of["rack_id"])
    assert record.data["action"] == "pull" and f"serial SN-{out_of['order_id']}" in record.data["instruction"]
    assert out_of["order_id"] not in [s.order_id for s in rack.slots]

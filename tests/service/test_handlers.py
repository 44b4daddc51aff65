"""The service layer end to end on one small plant: the same tests run on the in-memory
unit of work, on SQLite and on PostgreSQL (see the ``uow_factory`` fixture)."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from floor_support import MONDAY_0700, PLANT, small_plant_app

from jisflow.adapters.plant_file import load_plant_file, parse_plant_definition
from jisflow.domain.alerts import AlertKind
from jisflow.domain.calloff import CallOffState
from jisflow.domain.errors import ExplosionError, FrozenZoneViolation, NotFound, ValidationError
from jisflow.domain.sequence import Vehicle, VehicleStatus
from jisflow.services import commands as c
from jisflow.services.unit_of_work import AlertFilter, CallOffLineFilter



def vehicle(n: int, model: str = "TOURER", trim: str = "LUX", roof: str = "CLOSED") -> Vehicle:
    return Vehicle(f"V{n:04d}", model, {"trim": trim, "roof": roof})


@pytest.fixture
def jf(uow_factory):
    return small_plant_app(uow_factory())


def load(jf, count: int = 30, **kw) -> None:
    rows = tuple(c.SequenceRow(f"row {i + 2}", vehicle(i + 1, **kw)) for i in range(count))
    jf.bus.handle(c.ImportSequence("L1", rows, source="test.csv"))


def lines(jf, **kw):
    with jf.uow:
        return jf.uow.calloffs.lines(CallOffLineFilter(**kw))


def alerts(jf, *kinds):
    with jf.uow:
        return jf.uow.alerts.list(AlertFilter(kinds=tuple(kinds)))


def chain(jf):
    with jf.uow:
        plant = jf.uow.plants.of_line("L1")
        return jf.uow.chains.get(plant.line("L1"))


def test_an_imported_sequence_gets_increasing_numbers_and_issues_nothing_before_broadcast(jf):
    load(jf, 10)
    ch = chain(jf)
    assert [e.seq_no for e in ch.entries()] == list(range(1, 11))
    assert lines(jf) == []


def test_a_bad_row_rejects_the_whole_import_and_names_row_and_column(jf):
    rows = (
        c.SequenceRow("test.csv, row 2", vehicle(1)),
        c.SequenceRow("test.csv, row 3", Vehicle("V0002", "TRUCK", {"trim": "LUX", "roof": "CLOSED"})),
        c.SequenceRow("test.csv, row 4", vehicle(1)),
    )
    with pytest.raises(ValidationError) as err:
        jf.bus.handle(c.ImportSequence("L1", rows, source="test.csv"))
    text = str(err.value)
    assert "test.csv, row 3" in text and "BUMPER" in text
    assert "test.csv, row 4, column order_id" in text
    assert len(chain(jf)) == 0


def test_broadcast_issues_one_call_off_per_supplier_and_unloading_point_with_need_times(jf):
    load(jf, 5, roof="CLOSED")
    out = jf.bus.handle(c.BroadcastVehicle("L1", "V0001", MONDAY_0700))
    assert out.applied and out.lines_issued == 1
    (line,) = lines(jf, line="L1")
    assert (line.order_id, line.family, line.part_number, line.seq_no) == ("V0001", "SEAT", "SEAT-L", 1)
    assert line.need_time == MONDAY_0700 + timedelta(seconds=90 * 10)
    assert line.ship_by == line.need_time - timedelta(minutes=15)
    assert line.state is CallOffState.CREATED


def test_the_relay_sends_call_offs_and_the_supplier_acknowledges_them(jf):
    load(jf, 3)
    jf.bus.handle(c.BroadcastVehicle("L1", "V0001", MONDAY_0700))
    report = jf.relay()
    assert report.calloffs_sent == 1
    assert "calloff.issued" in jf.publisher.topics()
    (line,) = lines(jf)
    assert line.state is CallOffState.SENT
    jf.bus.handle(c.TransitionCallOffLines(line.number, CallOffState.ACKNOWLEDGED, actor="seats"))
    assert lines(jf)[0].state is CallOffState.ACKNOWLEDGED


def test_an_illegal_transition_is_refused_and_changes_nothing(jf):
    load(jf, 3)
    jf.bus.handle(c.BroadcastVehicle("L1", "V0001", MONDAY_0700))
    number = lines(jf)[0].number
    with pytest.raises(ValidationError) as err:
        jf.bus.handle(c.TransitionCallOffLines(number, CallOffState.SHIPPED))
    assert "CREATED to SHIPPED" in str(err.value)
    assert lines(jf)[0].state is CallOffState.CREATED


def test_lead_time_routes_are_called_off_before_broadcast_when_their_issue_point_comes(jf):
    load(jf, 40, model="TOURER", roof="GLASS")
    jf.bus.handle(c.Tick(MONDAY_0700))
    roof = lines(jf, line="L1")
    assert roof and all(ln.family == "ROOF" for ln in roof)
    assert all(ln.ship_by <= MONDAY_0700 for ln in roof), "a 10 h lead time is due at once"
    assert {a.kind for a in alerts(jf)} == {AlertKind.LATE_CALL_OFF}


def test_a_replayed_broadcast_message_is_applied_once(jf):
    load(jf, 3)
    first = jf.bus.handle(c.BroadcastVehicle("L1", "V0001", MONDAY_0700, message_id="m-1"))
    again = jf.bus.handle(c.BroadcastVehicle("L1", "V0001", MONDAY_0700, message_id="m-1"))
    assert first.applied and again.duplicate and not again.applied
    assert len(lines(jf)) == 1
    assert alerts(jf, AlertKind.DUPLICATE) == []


def test_integrity_alerts_are_stored_gap_then_out_of_order_then_unknown(jf):
    load(jf, 5)
    jf.bus.handle(c.BroadcastVehicle("L1", "V0001", MONDAY_0700))
    jf.bus.handle(c.BroadcastVehicle("L1", "V0003", MONDAY_0700 + timedelta(seconds=90)))
    jf.bus.handle(c.BroadcastVehicle("L1", "V0002", MONDAY_0700 + timedelta(seconds=180)))
    jf.bus.handle(c.BroadcastVehicle("L1", "NOPE", MONDAY_0700 + timedelta(seconds=270)))
    kinds = [a.kind for a in reversed(alerts(jf))]
    assert kinds == [AlertKind.GAP, AlertKind.OUT_OF_ORDER, AlertKind.UNKNOWN_VEHICLE]
    assert len(lines(jf)) == 3


def test_a_silent_feed_is_alerted_once(jf):
    load(jf, 20)
    jf.bus.handle(c.BroadcastVehicle("L1", "V0001", MONDAY_0700))
    for minutes in (3, 9, 12):
        jf.bus.handle(c.Tick(MONDAY_0700 + timedelta(minutes=minutes)))
    assert len(alerts(jf, AlertKind.SILENT_FEED)) == 1


def test_a_move_after_issue_amends_the_issued_lines_and_keeps_one_live_line_per_vehicle(jf):
    load(jf, 60)
    jf.bus.handle(c.BroadcastVehicle("L1", "V0001", MONDAY_0700))
    jf.relay()
    # V0050 is far outside the 45-minute frozen zone; its roof would be called off by lead time
    jf.bus.handle(c.ChangeVehicleSpec("L1", order_id="V0050", options={"roof": "GLASS"}))
    jf.bus.handle(c.Tick(MONDAY_0700))
    roof = lines(jf, order_id="V0050")
    assert [ln.family for ln in roof] == ["ROOF"]
    jf.relay()
    out = jf.bus.handle(c.MoveVehicle("L1", order_id="V0050", after="V0055"))
    assert out.change.renumbered  # the vehicles in between moved up by one
    (amended,) = [ln for ln in lines(jf, order_id="V0050") if ln.live]
    assert amended.state is CallOffState.AMENDED and amended.seq_no == 55
    jf.relay()
    assert lines(jf, order_id="V0050")[0].state is CallOffState.SENT


def test_a_spec_change_that_no_longer_needs_the_part_cancels_the_line(jf):
    load(jf, 60, roof="GLASS")
    jf.bus.handle(c.Tick(MONDAY_0700))
    assert lines(jf, order_id="V0050")
    jf.bus.handle(c.ChangeVehicleSpec("L1", order_id="V0050", options={"roof": "CLOSED"}))
    assert [ln.state for ln in lines(jf, order_id="V0050")] == [CallOffState.CANCELLED]


def test_a_spec_change_nobody_can_build_is_refused_before_anything_changes(jf):
    load(jf, 5)
    with pytest.raises(ExplosionError):
        jf.bus.handle(c.ChangeVehicleSpec("L1", order_id="V0004", model="TRUCK", override=True))
    assert chain(jf).get("V0004").vehicle.model == "TOURER"
    assert alerts(jf) == []


def test_a_change_inside_the_frozen_zone_needs_an_override_and_is_then_flagged(jf):
    load(jf, 30)
    with pytest.raises(FrozenZoneViolation):
        jf.bus.handle(c.CancelVehicle("L1", order_id="V0002"))
    assert chain(jf).get("V0002").status is VehicleStatus.PLANNED
    jf.bus.handle(c.CancelVehicle("L1", order_id="V0002", override=True, actor="lead", reason="rework"))
    assert chain(jf).get("V0002").flagged
    (alert,) = alerts(jf, AlertKind.FROZEN_ZONE_OVERRIDE)
    assert "lead" in alert.message and "rework" in alert.message


def test_cancelling_a_broadcast_vehicle_cancels_its_call_off_lines(jf):
    load(jf, 5)
    jf.bus.handle(c.BroadcastVehicle("L1", "V0001", MONDAY_0700))
    jf.bus.handle(c.CancelVehicle("L1", order_id="V0001", override=True, reason="pulled off the line"))
    assert [ln.state for ln in lines(jf, order_id="V0001")] == [CallOffState.CANCELLED]


def test_a_change_to_a_shipped_part_is_alerted_for_a_physical_action(jf):
    load(jf, 5, trim="LUX")
    jf.bus.handle(c.BroadcastVehicle("L1", "V0001", MONDAY_0700))
    jf.relay()
    number = lines(jf)[0].number
    for state in (CallOffState.ACKNOWLEDGED, CallOffState.PICKED, CallOffState.PACKED, CallOffState.SHIPPED):
        jf.bus.handle(c.TransitionCallOffLines(number, state))
    jf.bus.handle(c.ChangeVehicleSpec("L1", order_id="V0001", options={"trim": "BASE"}, override=True))
    (alert,) = alerts(jf, AlertKind.CHANGE_AFTER_SHIPMENT)
    assert "SHIPPED" in alert.message
    assert lines(jf)[0].part_number == "SEAT-L"


def test_jit_routes_sum_the_broadcast_vehicles_per_window(jf):
    load(jf, 6, model="TOURER")
    for i in range(6):
        jf.bus.handle(c.BroadcastVehicle("L1", f"V{i + 1:04d}", MONDAY_0700 + timedelta(seconds=90 * i)))
    with jf.uow:
        calls = jf.uow.jit_calls.list("L1")
    assert sum(call.quantity for call in calls) == 6
    assert {call.part_number for call in calls} == {"BMP-T"}


def test_commands_on_an_unknown_line_say_so(jf):
    with pytest.raises(NotFound):
        jf.bus.handle(c.BroadcastVehicle("NOPE", "V1", MONDAY_0700))


def test_every_change_leaves_its_events_in_the_outbox(jf):
    load(jf, 3)
    jf.bus.handle(c.BroadcastVehicle("L1", "V0001", MONDAY_0700))
    jf.relay()
    topics = jf.publisher.topics()
    for topic in ("plant.loaded", "sequence.imported", "vehicle.broadcast", "calloff.issued", "calloff.line_changed"):
        assert topic in topics
    with jf.uow:
        assert jf.uow.outbox.pending() == []


def test_a_shipped_line_cannot_be_cancelled_by_the_state_machine(jf):
    load(jf, 3)
    jf.bus.handle(c.BroadcastVehicle("L1", "V0001", MONDAY_0700))
    jf.relay()
    number = lines(jf)[0].number
    for state in (CallOffState.ACKNOWLEDGED, CallOffState.PICKED, CallOffState.PACKED, CallOffState.SHIPPED):
        jf.bus.handle(c.TransitionCallOffLines(number, state))
    with pytest.raises(ValidationError):
        jf.bus.handle(c.TransitionCallOffLines(number, CallOffState.CANCELLED))
    assert lines(jf)[0].state is CallOffState.SHIPPED


def _ship_roof_of(jf, order_id):
    jf.bus.handle(c.Tick(MONDAY_0700))
    jf.relay()
    (line,) = [ln for ln in lines(jf, order_id=order_id) if ln.family == "ROOF"]
    for state in (CallOffState.ACKNOWLEDGED, CallOffState.PICKED, CallOffState.PACKED, CallOffState.SHIPPED):
        jf.bus.handle(c.TransitionCallOffLines(line.number, state, order_ids=(order_id,)))
    return line


def test_a_shipped_part_whose_vehicle_is_only_renumbered_takes_the_new_number_without_alert(jf):
    load(jf, 60, roof="GLASS")
    shipped = _ship_roof_of(jf, "V0050")
    jf.bus.handle(c.InsertVehicle("L1", vehicle=vehicle(900), before="V0040"))
    (line,) = [ln for ln in lines(jf, order_id="V0050") if ln.family == "ROOF"]
    assert line.seq_no == shipped.seq_no + 1 and line.state is CallOffState.SHIPPED
    assert alerts(jf, AlertKind.CHANGE_AFTER_SHIPMENT) == []


def test_moving_a_vehicle_whose_part_was_shipped_asks_for_a_physical_action(jf):
    load(jf, 60, roof="GLASS")
    _ship_roof_of(jf, "V0050")
    jf.bus.handle(c.MoveVehicle("L1", order_id="V0050", after="V0055"))
    (alert,) = alerts(jf, AlertKind.CHANGE_AFTER_SHIPMENT)
    assert "V0050" in alert.message


def test_a_change_is_audited_under_the_name_of_who_made_it(jf):
    load(jf, 60)
    jf.bus.handle(c.MoveVehicle("L1", order_id="V0050", after="V0055", actor="anna"))
    with jf.uow:
        page = jf.uow.audit.read(limit=500, actor="anna")
    assert page.entries and all(entry.actor == "anna" for entry in page.entries)
    assert jf.uow.actor == "system"


# -- the plant's VIN rule -------------------------------------------------------------------------
EUROPEAN_VIN = "WVWZZZ1JZXW000001"  # position 9 is a filler, as many European makers write it


def without_check_digit(jf) -> None:
    """Load the small plant again, saying its VINs carry no check digit."""
    data = copy.deepcopy(load_plant_file(PLANT).data)
    data["plant"]["vin_check_digit"] = False
    definition = parse_plant_definition(data)
    jf.bus.handle(c.LoadPlant(definition.plant, definition.data))


def test_a_plant_that_requires_the_check_digit_refuses_a_vin_without_it_naming_the_row_and_nothing_is_applied(jf):
    rows = (c.SequenceRow("day.csv, row 2", vehicle(1)), c.SequenceRow("day.csv, row 3", Vehicle("V0002", "TOURER", {"trim": "LUX", "roof": "CLOSED"}, EUROPEAN_VIN)))
    with pytest.raises(ValidationError) as raised:
        jf.bus.handle(c.ImportSequence("L1", rows))
    (problem,) = raised.value.problems
    assert problem.where == "day.csv, row 3, column vin" and "check digit" in problem.what
    with jf.uow:
        assert jf.uow.chains.get(jf.uow.plants.of_line("L1").line("L1")).last_seq_no() == 0


def test_a_plant_whose_vins_carry_no_check_digit_takes_them_in_imports_inserts_and_spec_changes(jf):
    without_check_digit(jf)
    jf.bus.handle(c.ImportSequence("L1", (c.SequenceRow("row 2", Vehicle("V0001", "TOURER", {"trim": "LUX", "roof": "CLOSED"}, EUROPEAN_VIN)),)))
    jf.bus.handle(c.InsertVehicle("L1", vehicle=Vehicle("V0002", "TOURER", {"trim": "LUX", "roof": "CLOSED"}, "WVWZZZ1JZXW000002"), after="V0001"))
    jf.bus.handle(c.ChangeVehicleSpec("L1", order_id="V0002", vin="WVWZZZ1JZXW000003", override=True, reason="VIN corrected"))
    with jf.uow:
        chain = jf.uow.chains.get(jf.uow.plants.of_line("L1").line("L1"))
        assert [e.vehicle.vin for e in chain.entries()] == [EUROPEAN_VIN, "WVWZZZ1JZXW000003"]


def test_inserts_and_spec_changes_follow_the_plant_that_requires_the_check_digit(jf):
    load(jf, 2)
    with pytest.raises(ValidationError, match="VIN is refused by plant SMALL"):
        jf.bus.handle(c.InsertVehicle("L1", vehicle=Vehicle("V0009", "TOURER", {"trim": "LUX", "roof": "CLOSED"}, EUROPEAN_VIN), after="V0001"))
    with pytest.raises(ValidationError, match="VIN is refused"):
        jf.bus.handle(c.ChangeVehicleSpec("L1", order_id="V0002", vin=EUROPEAN_VIN, override=True, reason="VIN corrected"))
    with jf.uow:
        chain = jf.uow.chains.get(jf.uow.plants.of_line("L1").line("L1"))
        assert [e.order_id for e in chain.entries()] == ["V0001", "V0002"]
        assert chain.get("V0002").vehicle.vin != EUROPEAN_VIN

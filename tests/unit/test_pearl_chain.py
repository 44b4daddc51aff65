import copy
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import at, chain, line, numbers, order_id, planned_ids, vehicle
from jisflow.domain.alerts import AlertKind
from jisflow.domain.errors import ConflictError, DuplicateVehicle, FrozenZoneViolation, NotFound, ValidationError
from jisflow.domain.events import AlertRaised, SequenceChanged, VehicleBroadcast
from jisflow.domain.plant import FrozenZone, FrozenZoneKind
from jisflow.domain.sequence import ChangeKind, PearlChain, Vehicle, VehicleStatus, unroll

NOW = at(7)
TAKT = timedelta(seconds=60)


def open_chain(count: int = 8, **kwargs) -> PearlChain:
    """A chain without a frozen zone, so changes need no override."""
    return chain(count, the_line=line(frozen=FrozenZone(FrozenZoneKind.COUNT, 0)), **kwargs)


def state(pearl_chain: PearlChain) -> list[tuple]:
    """Everything a refused change must leave alone."""
    return [
        (e.order_id, e.seq_no, e.status, e.flagged, e.vehicle.model, dict(e.vehicle.options), e.vehicle.vin)
        for e in pearl_chain.entries()
    ] + [planned_ids(pearl_chain), len(pearl_chain.events), len(pearl_chain.alerts), len(pearl_chain.changes)]


def where_of(problem) -> tuple[str, str]:
    """(row, field) named by a problem's place, whatever the separator."""
    row = next(label for label in ("row 1", "row 2", "row 3", "row 4") if problem.where.startswith(label))
    return row, problem.where.rsplit(" ", 1)[-1].rsplit(".", 1)[-1]


def kinds(pearl_chain: PearlChain) -> list[AlertKind]:
    return [a.kind for a in pearl_chain.alerts]


# -- rolling numbers ---------------------------------------------------------------------------


def test_the_rolling_number_is_the_sequence_number_modulo_ten_to_the_digits():
    pearl_chain = chain(3, first_seq_no=9999)
    assert [(e.seq_no, pearl_chain.rolling_no(e.seq_no)) for e in pearl_chain.entries()] == [
        (9999, 9999), (10000, 0), (10001, 1),
    ]
    assert PearlChain(line(rolling_digits=2)).rolling_no(1234) == 34


def test_unroll_finds_the_next_number_with_that_rolling_number_across_the_wrap():
    assert unroll(3, 9998, 10000) == 10003
    assert unroll(9999, 9998, 10000) == 9999
    assert unroll(0, 19999, 10000) == 20000
    assert unroll(42, 0, 10000) == 42


def test_unroll_of_the_reference_rolling_number_is_one_full_turn_later():
    assert unroll(5, 10005, 10000) == 20005


@pytest.mark.parametrize("rolling_no", [-1, 10000])
def test_unroll_refuses_a_rolling_number_outside_the_modulus(rolling_no):
    with pytest.raises(ValidationError, match=f"rolling number {rolling_no} is outside 0..9999"):
        unroll(rolling_no, 5, 10000)


@given(reference=st.integers(0, 10**7), rolling_no=st.integers(0, 9999))
def test_unroll_gives_the_first_number_above_the_reference_that_rolls_to_the_rolling_number(reference, rolling_no):
    seq_no = unroll(rolling_no, reference, 10000)
    assert seq_no % 10000 == rolling_no
    assert reference < seq_no <= reference + 10000


# -- append ------------------------------------------------------------------------------------


def test_append_numbers_vehicles_after_the_highest_number_given_so_far():
    pearl_chain = chain(3)
    added = pearl_chain.append([("row 1", vehicle("V04"), None), ("row 2", vehicle("V05"), None)])
    assert [(e.order_id, e.seq_no) for e in added] == [("V04", 4), ("V05", 5)]
    assert planned_ids(pearl_chain) == ["V01", "V02", "V03", "V04", "V05"]


def test_append_keeps_given_numbers_and_counts_on_from_them():
    pearl_chain = PearlChain(line())
    pearl_chain.append([("r1", vehicle("A1"), 100), ("r2", vehicle("A2"), None), ("r3", vehicle("A3"), 205), ("r4", vehicle("A4"), None)])
    assert numbers(pearl_chain) == {"A1": 100, "A2": 101, "A3": 205, "A4": 206}


def test_append_never_reuses_the_number_of_a_cancelled_vehicle_at_the_tail():
    pearl_chain = open_chain(3)
    pearl_chain.cancel("V03", now=NOW)
    [entry] = pearl_chain.append([("row 1", vehicle("V04"), None)])
    assert entry.seq_no == 4


def test_append_lists_every_duplicate_vehicle_and_applies_nothing():
    pearl_chain = chain(3)
    before = state(pearl_chain)
    rows = [("row 1", vehicle("V02"), None), ("row 2", vehicle("V09"), None), ("row 3", vehicle("V09"), None)]
    with pytest.raises(ValidationError) as raised:
        pearl_chain.append(rows)
    assert [(where_of(p), p.what) for p in raised.value.problems] == [
        (("row 1", "order_id"), "vehicle V02 is already in the pearl chain of line L1"),
        (("row 3", "order_id"), "vehicle V09 appears twice (first at row 2)"),
    ]
    assert state(pearl_chain) == before


def test_append_lists_every_number_that_does_not_increase_and_applies_nothing():
    pearl_chain = chain(3)
    before = state(pearl_chain)
    rows = [("row 1", vehicle("V04"), 3), ("row 2", vehicle("V05"), 10), ("row 3", vehicle("V06"), 10), ("row 4", vehicle("V07"), None)]
    with pytest.raises(ValidationError) as raised:
        pearl_chain.append(rows)
    assert [(where_of(p), p.what) for p in raised.value.problems] == [
        (("row 1", "seq_no"), "3 is not above the previous number 3"),
        (("row 3", "seq_no"), "10 is not above the previous number 10"),
    ]
    assert state(pearl_chain) == before


def test_a_vehicle_lists_every_bad_field_at_once():
    with pytest.raises(ValidationError) as raised:
        Vehicle(" ", "", {"trim": " "}, vin="1M8GDM9A1KP04278")  # 16 characters
    wheres = [p.where for p in raised.value.problems]
    assert len(wheres) == 4
    assert all(name in where for name, where in zip(["order_id", "model", "trim", "vin"], wheres, strict=True))


def test_a_vehicle_takes_a_vin_whose_position_9_is_free_and_a_plant_rule_decides_on_the_check_digit():
    european = Vehicle("V01", "A", {}, vin="WVWZZZ1JZXW000001")  # position 9 is a filler, no check digit
    assert european.vin_problems(check_digit=False) == []
    (problem,) = european.vin_problems(check_digit=True, where="day.csv, row 4")
    assert problem.where == "day.csv, row 4, column vin" and "check digit" in problem.what
    assert Vehicle("V02", "A", {}, vin="1M8GDM9AXKP042788").vin_problems(check_digit=True) == []


def test_a_vehicle_keeps_its_vin_compact():
    assert vehicle("V01", vin="1m8 gdm9a-xkp042788").vin == "1M8GDM9AXKP042788"


# -- insert ------------------------------------------------------------------------------------


def test_insert_takes_the_free_number_of_a_hole_and_renumbers_nobody():
    pearl_chain = PearlChain(line(frozen=FrozenZone(FrozenZoneKind.COUNT, 0)))
    pearl_chain.append([("r1", vehicle("A"), 10), ("r2", vehicle("B"), 20), ("r3", vehicle("C"), 30)])
    change = pearl_chain.insert(vehicle("N"), now=NOW, before="B")
    assert numbers(pearl_chain) == {"A": 10, "N": 11, "B": 20, "C": 30}
    assert (change.kind, change.old_seq_no, change.new_seq_no, dict(change.renumbered)) == (ChangeKind.INSERT, None, 11, {})


def test_insert_fills_the_hole_left_by_a_cancelled_vehicle():
    pearl_chain = open_chain(5)
    pearl_chain.cancel("V03", now=NOW)
    change = pearl_chain.insert(vehicle("N"), now=NOW, after="V02")
    assert numbers(pearl_chain) == {"V01": 1, "V02": 2, "N": 3, "V04": 4, "V05": 5}
    assert change.renumbered == {}


def test_insert_without_a_free_number_shifts_only_the_tail():
    pearl_chain = open_chain(5)
    change = pearl_chain.insert(vehicle("N"), now=NOW, before="V03")
    assert numbers(pearl_chain) == {"V01": 1, "V02": 2, "N": 3, "V03": 4, "V04": 5, "V05": 6}
    assert change.renumbered == {"V03": (3, 4), "V04": (4, 5), "V05": (5, 6)}
    assert pearl_chain.events[-1] == SequenceChanged("L1", "insert", "N", None, 3, False, False, 3)
    assert set(pearl_chain.dirty) >= {"N", "V03", "V04", "V05"}


def test_a_shifted_tail_stops_at_the_first_hole():
    pearl_chain = open_chain(6)
    pearl_chain.cancel("V04", now=NOW)
    change = pearl_chain.insert(vehicle("N"), now=NOW, before="V02")
    assert numbers(pearl_chain) == {"V01": 1, "N": 2, "V02": 3, "V03": 4, "V05": 5, "V06": 6}
    assert change.renumbered == {"V02": (2, 3), "V03": (3, 4)}


def test_insert_after_a_vehicle_places_it_right_behind_it():
    pearl_chain = open_chain(4)
    pearl_chain.insert(vehicle("N"), now=NOW, after="V02")
    assert planned_ids(pearl_chain) == ["V01", "V02", "N", "V03", "V04"]


def test_insert_without_a_position_appends_at_the_tail():
    pearl_chain = open_chain(4)
    change = pearl_chain.insert(vehicle("N"), now=NOW)
    assert planned_ids(pearl_chain)[-1] == "N"
    assert (change.new_seq_no, change.renumbered) == (5, {})


def test_insert_after_the_last_broadcast_vehicle_goes_to_the_head_of_the_planned_vehicles():
    pearl_chain = open_chain(4)
    pearl_chain.broadcast("V01", NOW)
    pearl_chain.insert(vehicle("N"), now=NOW, after="V01")
    assert planned_ids(pearl_chain) == ["N", "V02", "V03", "V04"]
    assert numbers(pearl_chain) == {"V01": 1, "N": 2, "V02": 3, "V03": 4, "V04": 5}


def test_insert_never_gives_the_number_of_a_vehicle_already_broadcast_after_a_gap():
    pearl_chain = open_chain(6)
    pearl_chain.broadcast("V03", NOW)  # V01 and V02 were skipped and are still planned
    pearl_chain.insert(vehicle("N"), now=NOW, before="V02")
    pearl_chain.insert(vehicle("M"), now=NOW, before="V04")
    live = [e.seq_no for e in pearl_chain.entries()]
    assert len(live) == len(set(live))
    assert [e.seq_no for e in pearl_chain.planned()] == sorted(e.seq_no for e in pearl_chain.planned())
    assert pearl_chain.get("V03").seq_no == 3


def test_inserting_a_vehicle_already_in_the_chain_is_refused():
    pearl_chain = open_chain(3)
    with pytest.raises(DuplicateVehicle, match="V02 is already in the pearl chain of line L1"):
        pearl_chain.insert(vehicle("V02"), now=NOW)


def test_insert_relative_to_a_broadcast_vehicle_other_than_the_last_is_refused():
    pearl_chain = open_chain(4)
    pearl_chain.broadcast("V01", NOW)
    pearl_chain.broadcast("V02", NOW + TAKT)
    with pytest.raises(ConflictError, match="V01 on line L1 is broadcast and cannot be used as a position"):
        pearl_chain.insert(vehicle("N"), now=NOW, after="V01")


def test_insert_with_both_before_and_after_is_refused():
    pearl_chain = open_chain(4)
    with pytest.raises(ValidationError, match="either before or after"):
        pearl_chain.insert(vehicle("N"), now=NOW, before="V03", after="V02")


# -- cancel ------------------------------------------------------------------------------------


def test_cancel_leaves_a_hole_and_renumbers_nobody():
    pearl_chain = open_chain(5)
    change = pearl_chain.cancel("V03", now=NOW, actor="planner", reason="order withdrawn")
    assert numbers(pearl_chain) == {"V01": 1, "V02": 2, "V04": 4, "V05": 5}
    assert (change.old_seq_no, change.new_seq_no, change.renumbered) == (3, None, {})
    assert (change.actor, change.reason) == ("planner", "order withdrawn")
    assert pearl_chain.get("V03").status is VehicleStatus.CANCELLED
    assert "V03" not in planned_ids(pearl_chain)


def test_a_broadcast_vehicle_is_always_inside_the_frozen_zone():
    pearl_chain = open_chain(3)
    pearl_chain.broadcast("V01", NOW)
    assert pearl_chain.is_frozen("V01", NOW)
    with pytest.raises(FrozenZoneViolation):
        pearl_chain.cancel("V01", now=NOW)
    change = pearl_chain.cancel("V01", now=NOW, override=True)
    assert change.in_frozen_zone and change.overridden
    assert pearl_chain.get("V01").flagged


def test_cancelling_a_cancelled_vehicle_is_refused():
    pearl_chain = open_chain(3)
    pearl_chain.cancel("V02", now=NOW)
    with pytest.raises(ConflictError, match="already cancelled"):
        pearl_chain.cancel("V02", now=NOW)


def test_cancelling_an_unknown_vehicle_says_which():
    with pytest.raises(NotFound, match="line L1 has no vehicle 'V99'"):
        open_chain(3).cancel("V99", now=NOW)


# -- move --------------------------------------------------------------------------------------


def test_moving_a_vehicle_backward_renumbers_only_the_vehicles_between():
    pearl_chain = open_chain(8)
    change = pearl_chain.move("V04", now=NOW, after="V07")
    assert planned_ids(pearl_chain) == ["V01", "V02", "V03", "V05", "V06", "V07", "V04", "V08"]
    assert numbers(pearl_chain) == {"V01": 1, "V02": 2, "V03": 3, "V05": 4, "V06": 5, "V07": 6, "V04": 7, "V08": 8}
    assert (change.old_seq_no, change.new_seq_no) == (4, 7)
    assert change.renumbered == {"V05": (5, 4), "V06": (6, 5), "V07": (7, 6)}


def test_moving_a_vehicle_forward_renumbers_only_the_vehicles_between():
    pearl_chain = open_chain(8)
    change = pearl_chain.move("V07", now=NOW, before="V05")
    assert planned_ids(pearl_chain) == ["V01", "V02", "V03", "V04", "V07", "V05", "V06", "V08"]
    assert (change.old_seq_no, change.new_seq_no) == (7, 5)
    assert change.renumbered == {"V05": (5, 6), "V06": (6, 7)}


def test_moving_a_vehicle_to_the_tail_keeps_the_holes_of_the_chain():
    pearl_chain = open_chain(6)
    pearl_chain.cancel("V05", now=NOW)
    change = pearl_chain.move("V03", now=NOW)
    assert numbers(pearl_chain) == {"V01": 1, "V02": 2, "V04": 3, "V06": 4, "V03": 6}
    assert change.renumbered == {"V04": (4, 3), "V06": (6, 4)}


def test_moving_a_broadcast_vehicle_is_refused():
    pearl_chain = open_chain(4)
    pearl_chain.broadcast("V01", NOW)
    before = state(pearl_chain)
    with pytest.raises(ConflictError, match="V01 on line L1 is broadcast and cannot be moved .*cancel it instead"):
        pearl_chain.move("V01", now=NOW, after="V03", override=True)
    assert state(pearl_chain) == before


@pytest.mark.parametrize(
    "position",
    [{"before": "V06"}, {"after": "V04"}, {"before": "V05"}, {"after": "V05"}],
    ids=["before-its-successor", "after-its-predecessor", "before-itself", "after-itself"],
)
def test_moving_a_vehicle_to_its_own_place_is_refused(position):
    pearl_chain = open_chain(8)
    before = state(pearl_chain)
    with pytest.raises(ValidationError):
        pearl_chain.move("V05", now=NOW, **position)
    assert state(pearl_chain) == before


def test_moving_a_frozen_vehicle_to_its_own_place_is_refused_as_a_change_of_nothing():
    pearl_chain = chain(8)
    with pytest.raises(ValidationError, match="changes nothing"):
        pearl_chain.move("V02", now=NOW, before="V03")


# -- swap --------------------------------------------------------------------------------------


def test_swap_exchanges_the_places_and_numbers_of_two_vehicles_only():
    pearl_chain = open_chain(8)
    change = pearl_chain.swap("V04", "V07", now=NOW)
    assert planned_ids(pearl_chain) == ["V01", "V02", "V03", "V07", "V05", "V06", "V04", "V08"]
    assert numbers(pearl_chain)["V04"] == 7 and numbers(pearl_chain)["V07"] == 4
    assert (change.old_seq_no, change.new_seq_no, change.renumbered) == (4, 7, {"V07": (7, 4)})
    assert change.details == {"with": "V07"}


def test_swapping_a_vehicle_with_itself_or_with_a_broadcast_one_is_refused():
    pearl_chain = open_chain(4)
    pearl_chain.broadcast("V01", NOW)
    with pytest.raises(ValidationError, match="swapped with itself"):
        pearl_chain.swap("V03", "V03", now=NOW)
    with pytest.raises(ConflictError, match="cannot be swapped"):
        pearl_chain.swap("V03", "V01", now=NOW, override=True)


# -- spec change -------------------------------------------------------------------------------


def test_a_spec_change_keeps_the_number_and_records_before_and_after():
    pearl_chain = open_chain(4)
    change = pearl_chain.change_spec("V03", now=NOW, model="B", options={"trim": "leather"})
    entry = pearl_chain.get("V03")
    assert (entry.seq_no, entry.vehicle.model, entry.vehicle.options["trim"]) == (3, "B", "leather")
    assert (change.old_seq_no, change.new_seq_no, change.renumbered) == (3, 3, {})
    assert change.details["before"]["options"]["trim"] == "cloth"
    assert change.details["after"] == {"model": "B", "options": {"trim": "leather", "market": "EU", "roof": "closed"}, "vin": None}


def test_an_option_given_as_none_is_removed():
    pearl_chain = open_chain(4)
    pearl_chain.change_spec("V03", now=NOW, options={"roof": None, "colour": "red"})
    assert pearl_chain.get("V03").vehicle.options == {"trim": "cloth", "market": "EU", "colour": "red"}


@pytest.mark.parametrize(
    "change",
    [{}, {"options": {}}, {"model": "A"}, {"options": {"trim": "cloth"}}, {"options": {"colour": None}}],
    ids=["no-field", "no-option", "same-model", "same-option", "removing-an-absent-option"],
)
def test_a_spec_change_that_changes_nothing_is_refused(change):
    pearl_chain = open_chain(4)
    before = state(pearl_chain)
    with pytest.raises(ValidationError, match="spec change of vehicle V03 changes nothing"):
        pearl_chain.change_spec("V03", now=NOW, **change)
    assert state(pearl_chain) == before


def test_a_spec_change_to_an_invalid_vin_is_refused_and_changes_nothing():
    pearl_chain = open_chain(4)
    before = state(pearl_chain)
    with pytest.raises(ValidationError, match="vin"):
        pearl_chain.change_spec("V03", now=NOW, vin="1M8GDM9AIKP042788")  # I is no VIN letter
    assert state(pearl_chain) == before


def test_a_cancelled_vehicle_cannot_change_its_spec():
    pearl_chain = open_chain(4)
    pearl_chain.cancel("V03", now=NOW)
    with pytest.raises(ConflictError, match="cancelled"):
        pearl_chain.change_spec("V03", now=NOW, model="B")


# -- frozen zone -------------------------------------------------------------------------------


def test_a_frozen_zone_by_count_holds_the_next_planned_vehicles_and_every_broadcast_one():
    pearl_chain = chain(8)  # frozen zone: 3 vehicles
    assert [pearl_chain.is_frozen(order_id(n), NOW) for n in range(1, 6)] == [True, True, True, False, False]
    pearl_chain.broadcast("V01", NOW)
    assert [pearl_chain.is_frozen(order_id(n), NOW) for n in range(1, 6)] == [True, True, True, True, False]


def test_a_frozen_zone_by_time_holds_the_vehicles_planned_within_its_minutes():
    pearl_chain = chain(20, the_line=line(frozen=FrozenZone(FrozenZoneKind.TIME, 5)))
    # Broadcasts expected at 07:00, 07:01, ... 07:05 lie within five minutes of 07:00.
    assert pearl_chain.frozen_count(NOW) == 6
    assert pearl_chain.is_frozen("V06", NOW) and not pearl_chain.is_frozen("V07", NOW)


def test_a_break_pushes_vehicles_out_of_a_frozen_zone_by_time():
    pearl_chain = chain(20, the_line=line(frozen=FrozenZone(FrozenZoneKind.TIME, 5)))
    # At 09:58 only 09:58 and 09:59 come before the coffee break ends at 10:30.
    assert pearl_chain.frozen_count(at(9, 58)) == 2


def change_by_kind(kind: ChangeKind, pearl_chain: PearlChain, override: bool):
    """One change of each kind that touches V02, inside the frozen zone of ``chain(8)``."""
    do = {
        ChangeKind.INSERT: lambda: pearl_chain.insert(vehicle("N"), now=NOW, before="V02", override=override),
        ChangeKind.CANCEL: lambda: pearl_chain.cancel("V02", now=NOW, override=override),
        ChangeKind.MOVE: lambda: pearl_chain.move("V02", now=NOW, after="V06", override=override),
        ChangeKind.SWAP: lambda: pearl_chain.swap("V02", "V06", now=NOW, override=override),
        ChangeKind.SPEC_CHANGE: lambda: pearl_chain.change_spec("V02", now=NOW, options={"trim": "leather"}, override=override),
    }
    return do[kind]()


# a resequence only ever reorders the tail behind the frozen zone (tested on its own)
SINGLE_CHANGES = [k for k in ChangeKind if k is not ChangeKind.RESEQUENCE]


@pytest.mark.parametrize("kind", SINGLE_CHANGES)
def test_a_change_in_the_frozen_zone_without_override_is_refused_and_changes_nothing(kind):
    pearl_chain = chain(8)
    before = state(pearl_chain)
    dirty_before = dict(pearl_chain.dirty)
    with pytest.raises(FrozenZoneViolation, match="touches the frozen zone of line L1"):
        change_by_kind(kind, pearl_chain, override=False)
    assert state(pearl_chain) == before
    assert pearl_chain.dirty == dirty_before


@pytest.mark.parametrize("kind", SINGLE_CHANGES)
def test_an_overridden_change_in_the_frozen_zone_flags_the_vehicle_and_raises_an_alert(kind):
    pearl_chain = chain(8)
    change = change_by_kind(kind, pearl_chain, override=True)
    subject = "N" if kind is ChangeKind.INSERT else "V02"
    assert change.in_frozen_zone and change.overridden
    assert pearl_chain.get(subject).flagged
    [alert] = pearl_chain.alerts
    assert (alert.kind, alert.order_id) == (AlertKind.FROZEN_ZONE_OVERRIDE, subject)
    assert any(isinstance(e, AlertRaised) and e.kind == "frozen_zone_override" for e in pearl_chain.events)


def test_a_change_behind_the_frozen_zone_needs_no_override_and_flags_nothing():
    pearl_chain = chain(8)
    change = pearl_chain.insert(vehicle("N"), now=NOW, before="V04", override=True)
    assert not change.in_frozen_zone and not change.overridden
    assert not pearl_chain.get("N").flagged
    assert pearl_chain.alerts == []


def test_moving_a_vehicle_into_the_frozen_zone_touches_it():
    pearl_chain = chain(8)
    with pytest.raises(FrozenZoneViolation):
        pearl_chain.move("V07", now=NOW, before="V03")
    pearl_chain.move("V07", now=NOW, before="V05")


# -- broadcast feed ----------------------------------------------------------------------------


def test_a_broadcast_in_sequence_raises_no_alert_and_announces_the_vehicle():
    pearl_chain = chain(4, first_seq_no=9999)
    pearl_chain.broadcast("V01", NOW, rolling_no=9999)
    entry = pearl_chain.broadcast("V02", NOW + TAKT, rolling_no=0)
    assert (entry.status, entry.broadcast_at) == (VehicleStatus.BROADCAST, NOW + TAKT)
    assert pearl_chain.alerts == []
    assert pearl_chain.events[-1] == VehicleBroadcast("L1", "V02", 10000, 0, NOW + TAKT)
    assert (pearl_chain.feed.last_broadcast_seq_no, pearl_chain.feed.last_broadcast_at) == (10000, NOW + TAKT)


def test_a_broadcast_of_an_unknown_vehicle_raises_an_alert_and_changes_nothing():
    pearl_chain = chain(4)
    before = copy.deepcopy(pearl_chain.feed)
    assert pearl_chain.broadcast("X99", NOW, rolling_no=17) is None
    [alert] = pearl_chain.alerts
    assert (alert.kind, alert.order_id, alert.details) == (AlertKind.UNKNOWN_VEHICLE, "X99", {"rolling_no": 17})
    assert pearl_chain.feed == before
    assert planned_ids(pearl_chain) == ["V01", "V02", "V03", "V04"]


def test_a_broadcast_of_a_cancelled_vehicle_raises_an_alert_and_is_not_applied():
    pearl_chain = open_chain(4)
    pearl_chain.cancel("V01", now=NOW)
    assert pearl_chain.broadcast("V01", NOW) is None
    [alert] = pearl_chain.alerts
    assert (alert.kind, alert.seq_no) == (AlertKind.UNKNOWN_VEHICLE, 1)
    assert "was cancelled" in alert.message
    assert pearl_chain.get("V01").status is VehicleStatus.CANCELLED


def test_a_second_broadcast_of_a_vehicle_is_a_duplicate():
    pearl_chain = chain(4)
    pearl_chain.broadcast("V01", NOW)
    assert pearl_chain.broadcast("V01", NOW + TAKT) is None
    assert kinds(pearl_chain) == [AlertKind.DUPLICATE]
    assert pearl_chain.get("V01").broadcast_at == NOW


def test_a_broadcast_that_skips_planned_vehicles_is_a_gap_naming_them():
    pearl_chain = chain(8)
    pearl_chain.broadcast("V01", NOW)
    pearl_chain.broadcast("V05", NOW + TAKT)
    [gap] = pearl_chain.alerts
    assert (gap.kind, gap.order_id, gap.seq_no) == (AlertKind.GAP, "V05", 5)
    assert gap.details == {"skipped": ["V02", "V03", "V04"], "skipped_seq_nos": [2, 3, 4]}
    assert "skipped 3 planned vehicle(s): 2-4" in gap.message


def test_the_next_gap_lists_only_the_newly_skipped_vehicles():
    pearl_chain = chain(8)
    pearl_chain.broadcast("V03", NOW)
    pearl_chain.broadcast("V06", NOW + TAKT)
    assert [a.details["skipped_seq_nos"] for a in pearl_chain.alerts] == [[1, 2], [4, 5]]


def test_a_skipped_vehicle_broadcast_later_is_out_of_order():
    pearl_chain = chain(8)
    pearl_chain.broadcast("V03", NOW)
    entry = pearl_chain.broadcast("V02", NOW + TAKT)
    assert entry is not None and entry.status is VehicleStatus.BROADCAST
    assert kinds(pearl_chain) == [AlertKind.GAP, AlertKind.OUT_OF_ORDER]
    assert pearl_chain.alerts[-1].details == {"after": 3}
    assert pearl_chain.feed.last_broadcast_seq_no == 3


def test_a_rolling_number_that_disagrees_with_the_chain_is_a_mismatch_but_the_broadcast_applies():
    pearl_chain = chain(4)
    entry = pearl_chain.broadcast("V01", NOW, rolling_no=7)
    assert entry is not None
    [alert] = pearl_chain.alerts
    assert (alert.kind, alert.details) == (AlertKind.NUMBER_MISMATCH, {"feed": 7, "chain": 1})
    assert "rolling number 0007 for vehicle V01, the chain says 0001" in alert.message


# -- silent feed and expected broadcast times --------------------------------------------------


def test_a_silent_feed_is_raised_once_after_n_takts_of_working_time():
    pearl_chain = chain(8)  # five takts of 60 s
    pearl_chain.broadcast("V01", NOW)
    assert pearl_chain.check_silence(at(7, 4, 59)) is None
    alert = pearl_chain.check_silence(at(7, 5))
    assert (alert.kind, alert.seq_no, alert.details) == (AlertKind.SILENT_FEED, 1, {"silent_seconds": 300})
    assert pearl_chain.check_silence(at(7, 9)) is None
    assert kinds(pearl_chain) == [AlertKind.SILENT_FEED]


def test_a_break_does_not_count_as_silence():
    pearl_chain = chain(8)
    pearl_chain.broadcast("V01", at(9, 58))
    assert pearl_chain.check_silence(at(10, 25)) is None
    assert pearl_chain.check_silence(at(10, 32, 59)) is None
    assert pearl_chain.check_silence(at(10, 33)).kind is AlertKind.SILENT_FEED


def test_the_next_broadcast_rearms_the_silent_feed_alert():
    pearl_chain = chain(8)
    pearl_chain.broadcast("V01", NOW)
    pearl_chain.check_silence(at(7, 5))
    pearl_chain.broadcast("V02", at(7, 6))
    assert pearl_chain.check_silence(at(7, 10)) is None
    assert pearl_chain.check_silence(at(7, 11)) is not None
    assert kinds(pearl_chain) == [AlertKind.SILENT_FEED, AlertKind.SILENT_FEED]


def test_no_silent_feed_before_the_first_broadcast_or_when_nothing_is_planned():
    pearl_chain = chain(1)
    assert pearl_chain.check_silence(at(12)) is None
    pearl_chain.broadcast("V01", NOW)
    assert pearl_chain.check_silence(at(12)) is None


def test_planned_broadcasts_follow_the_last_one_a_takt_apart_skipping_the_break():
    pearl_chain = chain(5)
    pearl_chain.broadcast("V01", at(9, 57))
    assert pearl_chain.planned_broadcast_times(at(9, 57, 30)) == {
        "V02": at(9, 58), "V03": at(9, 59), "V04": at(10, 30), "V05": at(10, 31),
    }


def test_planned_broadcasts_start_at_the_next_working_time_when_the_line_is_idle():
    pearl_chain = chain(3)
    assert list(pearl_chain.planned_broadcast_times(at(5, 30)).values()) == [at(6), at(6, 1), at(6, 2)]


def test_a_late_line_expects_its_next_broadcast_now():
    pearl_chain = chain(3)
    pearl_chain.broadcast("V01", NOW)
    assert pearl_chain.next_broadcast_time(at(7, 20)) == at(7, 20)


def test_the_broadcast_time_of_a_vehicle_is_its_actual_one_or_its_expected_one():
    pearl_chain = chain(6)
    pearl_chain.broadcast("V01", at(9, 57))
    expected = pearl_chain.planned_broadcast_times(at(9, 57))
    assert pearl_chain.broadcast_time_of(pearl_chain.get("V01"), at(9, 57)) == at(9, 57)
    assert {e.order_id: pearl_chain.broadcast_time_of(e, at(9, 57)) for e in pearl_chain.planned()} == expected


# -- invariant under any sequence of changes ---------------------------------------------------

operations = st.lists(
    st.tuples(st.sampled_from(["insert", "cancel", "move", "swap", "broadcast"]), st.integers(0, 40), st.integers(0, 40), st.booleans()),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(count=st.integers(1, 12), gaps=st.lists(st.integers(1, 3), min_size=12, max_size=12), ops=operations)
def test_live_numbers_stay_unique_and_increasing_after_any_sequence_of_changes(count, gaps, ops):
    pearl_chain = PearlChain(line())
    seq_no = 0
    rows = []
    for n in range(count):
        seq_no += gaps[n]
        rows.append((f"row {n}", vehicle(order_id(n)), seq_no))
    pearl_chain.append(rows)
    new = iter(range(100, 200))
    broadcast_order: list[str] = []
    in_order = True  # every broadcast so far took the head of the planned vehicles
    for op, i, j, after in ops:
        planned = planned_ids(pearl_chain)
        if op == "insert":
            anchor = planned[i % len(planned)] if planned and i % 4 else None
            position = {"after" if after else "before": anchor} if anchor else {}
            pearl_chain.insert(vehicle(f"N{next(new)}"), now=NOW, override=True, **position)
        elif not planned:
            continue
        elif op == "cancel":
            pearl_chain.cancel(planned[i % len(planned)], now=NOW, override=True)
        elif op == "broadcast":
            chosen = planned[i % len(planned) if after else 0]
            in_order = in_order and chosen == planned[0]
            pearl_chain.broadcast(chosen, NOW)
            broadcast_order.append(chosen)
        elif len(planned) > 1:
            first, second = planned[i % len(planned)], planned[j % len(planned)]
            if first == second:
                continue
            if op == "swap":
                pearl_chain.swap(first, second, now=NOW, override=True)
            else:
                index_first, index_second = planned.index(first), planned.index(second)
                if index_second == index_first + (1 if not after else -1):
                    continue  # that place is where it already is
                pearl_chain.move(first, now=NOW, override=True, **{"after" if after else "before": second})
        live = [e.seq_no for e in pearl_chain.entries()]
        assert len(live) == len(set(live))
        planned_numbers = [e.seq_no for e in pearl_chain.planned()]
        assert planned_numbers == sorted(planned_numbers)
        assert len(set(planned_numbers)) == len(planned_numbers)
        if in_order:
            in_chain_order = [
                pearl_chain.get(o).seq_no for o in broadcast_order if pearl_chain.get(o).status is VehicleStatus.BROADCAST
            ] + planned_numbers
            assert in_chain_order == sorted(in_chain_order)


def test_a_resequence_reuses_the_tail_numbers_and_leaves_the_frozen_head_alone():
    pearl_chain = chain(6, the_line=line(frozen=FrozenZone(FrozenZoneKind.COUNT, 2)))
    ids = planned_ids(pearl_chain)
    head, tail = ids[:2], ids[2:]
    new_tail = [tail[3], tail[0], tail[1], tail[2]]
    change = pearl_chain.resequence(new_tail, now=at(8), actor="planner")
    assert planned_ids(pearl_chain) == head + new_tail
    assert [numbers(pearl_chain)[o] for o in head + new_tail] == [1, 2, 3, 4, 5, 6]
    assert change.kind is ChangeKind.RESEQUENCE and not change.in_frozen_zone
    assert pearl_chain.resequence(new_tail, now=at(8)) is None


# ---------------------------------------------------------------------- the basis of the planned times
def test_broadcasts_on_their_takt_keep_every_other_planned_vehicle_at_its_expected_time_across_a_break():
    pearl_chain = open_chain(30)
    now = at(9, 50)  # the coffee break begins at 10:00
    basis = pearl_chain.planned_basis(now)
    for _ in range(15):
        expected = pearl_chain.planned_broadcast_times(now)
        head = pearl_chain.planned()[0].order_id
        now = expected.pop(head)
        pearl_chain.broadcast(head, now)
        after = pearl_chain.planned_basis_after(basis, 1, now)
        assert after == pearl_chain.planned_basis(now)
        assert pearl_chain.planned_broadcast_times(now) == expected
        basis = after
    assert now >= at(10, 30), "the broadcasts crossed the break"


def test_two_broadcasts_on_their_takts_are_two_vehicles_gone_from_the_basis():
    pearl_chain = open_chain(10)
    basis = pearl_chain.planned_basis(NOW)
    expected = pearl_chain.planned_broadcast_times(NOW)
    pearl_chain.broadcast("V01", expected["V01"])
    pearl_chain.broadcast("V02", expected["V02"])
    assert pearl_chain.planned_basis_after(basis, 2, expected["V02"]) == pearl_chain.planned_basis(expected["V02"])
    assert pearl_chain.planned_basis_after(basis, 1, expected["V02"]) is None


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda pc, t: pc.broadcast("V01", t + TAKT / 4), id="late broadcast"),
        pytest.param(lambda pc, t: pc.broadcast("V03", t), id="broadcast out of order"),
        pytest.param(lambda pc, t: (pc.broadcast("V01", t), pc.swap("V04", "V05", now=t)), id="swap"),
        pytest.param(lambda pc, t: (pc.broadcast("V01", t), pc.move("V07", before="V03", now=t)), id="move"),
        pytest.param(lambda pc, t: (pc.broadcast("V01", t), pc.change_spec("V05", now=t, model="B")), id="spec change"),
        pytest.param(
            lambda pc, t: (pc.broadcast("V01", t), pc.insert(vehicle("V99"), after="V03", now=t), pc.cancel("V99", now=t)),
            id="renumbered",
        ),
    ],
)
def test_a_change_beyond_the_broadcast_of_the_head_on_its_takt_gives_no_basis(change):
    pearl_chain = open_chain(10)
    basis = pearl_chain.planned_basis(NOW)
    first = pearl_chain.next_broadcast_time(NOW)
    change(pearl_chain, first)
    assert pearl_chain.planned_basis_after(basis, 1, first) is None


def test_a_line_waiting_past_the_expected_time_gives_no_basis():
    pearl_chain = open_chain(5)
    pearl_chain.broadcast("V01", NOW)
    basis = pearl_chain.planned_basis(NOW)
    assert pearl_chain.planned_basis_after(basis, 0, NOW + TAKT) == basis  # still expected then
    assert pearl_chain.planned_basis_after(basis, 0, NOW + 2 * TAKT) is None  # the line waits: every time moves


_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("on time"), st.integers(0, 0)),
        st.tuples(st.just("late"), st.integers(1, 600)),
        st.tuples(st.just("out of order"), st.integers(1, 5)),
        st.tuples(st.just("wait"), st.integers(1, 900)),
        st.tuples(st.just("swap"), st.integers(0, 5)),
        st.tuples(st.just("move"), st.integers(0, 5)),
        st.tuples(st.just("spec"), st.integers(0, 5)),
        st.tuples(st.just("cancel"), st.integers(0, 5)),
        st.tuples(st.just("insert"), st.integers(0, 5)),
    ),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, 16 * 60), steps=_STEPS, gone=st.integers(0, 3))
def test_a_basis_after_changes_is_given_only_when_every_remaining_vehicle_keeps_its_expected_time(start, steps, gone):
    pearl_chain = open_chain(20)
    now = at(6) + timedelta(minutes=start)
    basis = pearl_chain.planned_basis(now)
    before = pearl_chain.planned_broadcast_times(now)
    inserted = 0
    for kind, k in steps:
        planned = planned_ids(pearl_chain)
        if len(planned) < 8:
            break
        expected = pearl_chain.next_broadcast_time(now)
        if kind in ("on time", "late"):
            now = expected + timedelta(seconds=k)
            pearl_chain.broadcast(planned[0], now)
        elif kind == "out of order":
            now = expected
            pearl_chain.broadcast(planned[k], now)
        elif kind == "wait":
            now += timedelta(seconds=k)
        elif kind == "swap":
            pearl_chain.swap(planned[k], planned[k + 1], now=now)
        elif kind == "move":
            pearl_chain.move(planned[k], after=planned[k + 2], now=now)
        elif kind == "spec":
            pearl_chain.change_spec(planned[k], now=now, model="B" if pearl_chain.get(planned[k]).vehicle.model == "A" else "A")
        elif kind == "cancel":
            pearl_chain.cancel(planned[k], now=now)
        else:
            inserted += 1
            pearl_chain.insert(vehicle(f"W{inserted:02d}"), before=planned[k], now=now)
    after = pearl_chain.planned_basis_after(basis, gone, now)
    if after is not None:
        assert after == pearl_chain.planned_basis(now)
        assert [e.vehicle for e in pearl_chain.planned()] == list(basis.vehicles[gone:])
        assert [e.seq_no for e in pearl_chain.planned()] == list(basis.seq_nos[gone:])
        kept = list(before.items())[gone:]
        assert list(pearl_chain.planned_broadcast_times(now).items()) == kept
    else:
        assert not (gone == len(steps) and all(kind == "on time" for kind, _ in steps)), "broadcasts on their takt alone keep the basis"

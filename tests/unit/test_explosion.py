import pytest

from factories import at, cockpit, line, roof, rule, seats, vehicle, wheels, when
from jisflow.domain.errors import ExplosionError
from jisflow.domain.explosion import check_vehicle, explode_vehicle, need_time
from jisflow.domain.plant import PartFamily, SupplyMode
from jisflow.domain.sequence import Vehicle

LINE = line()
FAMILIES = (seats(), cockpit(), roof(), wheels())


def explode(v: Vehicle, broadcast_time=at(7), families=FAMILIES):
    return {d.family: d for d in explode_vehicle(LINE, families, v, 42, broadcast_time)}


def test_each_family_gives_the_part_of_its_one_matching_rule():
    demand = explode(vehicle("V01", "B", trim="leather", market="UK", roof="sun"))
    assert {f: (d.part_number, d.quantity) for f, d in demand.items()} == {
        "SEATS": ("SEAT-LEATHER", 1), "COCKPIT": ("CP-RHD", 1), "ROOF": ("ROOF-SUN", 1), "WHEELS": ("WHL-18", 4),
    }


def test_a_demand_line_carries_the_vehicle_station_and_route():
    seat = explode(vehicle("V01"))["SEATS"]
    assert (seat.line, seat.order_id, seat.seq_no, seat.station, seat.mode, seat.supplier) == (
        "L1", "V01", 42, "SEATS", SupplyMode.JIS, "SEATCO",
    )
    assert seat.key == ("V01", "SEATS")


def test_need_time_is_the_broadcast_time_plus_the_station_offset_in_takts():
    demand = explode(vehicle("V01", roof="sun"), at(7))
    assert {f: d.need_time for f, d in demand.items()} == {
        "COCKPIT": at(7, 10), "ROOF": at(7, 20), "SEATS": at(7, 30), "WHEELS": at(7, 40),
    }


def test_need_time_skips_the_break():
    # 09:45 + 30 takts: 15 minutes before the coffee break, 15 after it ends at 10:30.
    demand = explode(vehicle("V01"), at(9, 45))
    assert demand["SEATS"].need_time == at(10, 45)
    assert demand["COCKPIT"].need_time == at(9, 55)


def test_need_time_skips_the_night_and_the_weekend():
    demand = explode(vehicle("V01"), at(21, 50, day=8))  # Friday, ten minutes before the end of the late shift
    assert demand["SEATS"].need_time == at(6, 20, day=11)
    assert need_time(LINE, at(21, 50, day=8), LINE.station("COCKPIT")) == at(22, 0, day=8)


def test_a_rule_without_a_part_gives_no_demand_line():
    assert "ROOF" not in explode(vehicle("V01", roof="closed"))


def test_a_negated_condition_matches_a_vehicle_without_that_option():
    no_roof_option = Vehicle("V01", "A", {"trim": "cloth", "market": "EU"})
    assert set(explode(no_roof_option)) == {"SEATS", "COCKPIT", "WHEELS"}


def test_no_matching_rule_is_an_error_naming_the_vehicle_and_the_family():
    with pytest.raises(ExplosionError) as raised:
        explode(vehicle("V07", trim="vinyl"))
    [problem] = raised.value.problems
    assert problem.where == "vehicle V07"
    assert problem.what == "no variant rule of family SEATS matches (model=A, market=EU, roof=closed, trim=vinyl)"
    assert "vehicle V07 on line L1" in raised.value.message


def test_several_matching_rules_are_an_error_naming_each_rule():
    overlapping = PartFamily(
        "SEATS", "front seat set", "L1", "SEATS",
        (rule("cloth", "SEAT-CLOTH", when("trim", "cloth")), rule("any EU seat", "SEAT-EU", when("market", "EU"))),
        seats().route,
    )
    with pytest.raises(ExplosionError) as raised:
        explode(vehicle("V03"), families=(overlapping,))
    [problem] = raised.value.problems
    assert problem.where == "vehicle V03"
    assert problem.what.startswith("2 variant rules of family SEATS match (")
    assert problem.what.endswith("): cloth, any EU seat")


def test_every_family_at_fault_is_listed_at_once():
    with pytest.raises(ExplosionError) as raised:
        explode(vehicle("V05", "C", trim="vinyl", market="US"))
    assert [p.what.split(" matches")[0].split(" family ")[1] for p in raised.value.problems] == ["SEATS", "COCKPIT", "WHEELS"]
    assert "SEATS" in str(raised.value) and "WHEELS" in str(raised.value)


def test_check_vehicle_returns_the_problems_at_the_given_place_without_raising():
    problems = check_vehicle(FAMILIES, vehicle("V05", trim="vinyl"), "day.csv, row 5")
    assert [(p.where, p.what.split(" (")[0]) for p in problems] == [("day.csv, row 5", "no variant rule of family SEATS matches")]
    assert check_vehicle(FAMILIES, vehicle("V06")) == []

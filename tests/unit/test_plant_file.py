"""Plant definition files: the demo plant, the sample plants, and every kind of mistake."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from jisflow.adapters import plant_file
from jisflow.adapters.plant_file import demo_plant_path, load_plant_file, parse_plant_definition
from jisflow.domain.errors import NotFound, ValidationError
from jisflow.domain.plant import CallOffTrigger, FrozenZoneKind, SupplyMode
from jisflow.domain.vehicle_mix import generate_vehicles

PLANTS = Path(__file__).resolve().parents[1] / "data" / "plants"
SMALL = PLANTS / "small_plant.yaml"


def small_data() -> dict[str, Any]:
    return copy.deepcopy(load_plant_file(SMALL).data)


def problems(call: Any, *args: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        call(*args)
    return [(p.where, p.what) for p in caught.value.problems]


def wheres(call: Any, *args: Any) -> set[str]:
    return {where for where, _ in problems(call, *args)}


# --- the demo plant --------------------------------------------------------------------------


def test_the_demo_plant_has_a_realistic_line_suppliers_and_families() -> None:
    plant = load_plant_file(demo_plant_path()).plant
    (line,) = plant.lines
    modes = Counter(f.route.mode for f in plant.families)
    assert (plant.code, plant.timezone) == ("DEMO", "Europe/Berlin")
    assert line.takt_seconds == 60 and line.rolling_digits == 4 and line.silent_feed_takts == 5
    assert (line.frozen_zone.kind, line.frozen_zone.size) == (FrozenZoneKind.COUNT, 30)
    assert len(line.stations) >= 12
    assert len(plant.suppliers) >= 4
    assert len({s.distance_km for s in plant.suppliers}) == len(plant.suppliers)
    assert modes[SupplyMode.JIS] >= 8 and modes[SupplyMode.JIT] >= 1 and modes[SupplyMode.KANBAN] >= 1


def test_the_demo_line_works_two_shifts_with_breaks_on_weekdays() -> None:
    calendar = load_plant_file(demo_plant_path()).plant.lines[0].calendar
    assert [(s.start, s.end) for s in calendar.shifts] == [(time(6), time(14)), (time(14), time(22))]
    for shift in calendar.shifts:
        assert shift.weekdays == frozenset(range(5))
        lengths = sorted((b.end.hour * 60 + b.end.minute) - (b.start.hour * 60 + b.start.minute) for b in shift.breaks)
        assert lengths == [15, 15, 30]


def test_demo_jis_call_offs_at_broadcast_reach_their_station_in_time_and_far_ones_go_by_lead_time() -> None:
    plant = load_plant_file(demo_plant_path()).plant
    line = plant.lines[0]
    jis = [f for f in plant.families if f.route.mode is SupplyMode.JIS]
    by_lead_time = [f for f in jis if f.route.trigger is CallOffTrigger.LEAD_TIME]
    assert by_lead_time and len(by_lead_time) < len(jis)
    for family in jis:
        if family.route.trigger is CallOffTrigger.BROADCAST:
            assert family.route.lead_time <= line.takt * line.station(family.station).offset_takts, family.code
    farthest = max(plant.suppliers, key=lambda s: s.distance_km)
    assert {f.route.trigger for f in jis if f.route.supplier == farthest.code} == {CallOffTrigger.LEAD_TIME}


def test_every_generated_demo_vehicle_matches_exactly_one_rule_of_every_family() -> None:
    definition = load_plant_file(demo_plant_path())
    assert definition.mix is not None
    for vehicle in generate_vehicles(definition.mix, 1_000, seed=4):
        for family in definition.plant.families:
            matched = [r.name for r in family.rules if r.matches(vehicle.model, vehicle.options)]
            assert len(matched) == 1, (family.code, vehicle, matched)


def test_some_demo_families_have_no_part_for_some_vehicles() -> None:
    plant = load_plant_file(demo_plant_path()).plant
    assert {f.code for f in plant.families if any(r.part_number is None for r in f.rules)} >= {"ROOF-MOD", "EXHAUST"}


# --- the sample plants -----------------------------------------------------------------------


def test_the_small_plant_loads_with_every_supply_mode() -> None:
    definition = load_plant_file(SMALL)
    plant = definition.plant
    line = plant.line("L1")
    night = line.calendar.shifts[1]
    roof = plant.family("ROOF").route
    assert definition.source == str(SMALL)
    assert {f.route.mode for f in plant.families} == set(SupplyMode)
    assert (line.frozen_zone.kind, line.frozen_zone.size) == (FrozenZoneKind.TIME, 45)
    assert night.weekdays == frozenset({6, 0, 1, 2, 3}) and (night.start, night.end) == (time(22), time(6))
    assert line.calendar.non_working_days == frozenset({date(2026, 5, 1)})
    assert (roof.trigger, roof.lead_time, roof.rack_type) == (CallOffTrigger.LEAD_TIME, timedelta(hours=10), "RACK-R")
    assert plant.family("BUMPER").route.jit_window == timedelta(minutes=60)
    assert plant.family("DOCS").route.supplier is None
    assert plant.family("ROOF").rules[0].part_number is None
    assert plant.family("BOLT").rules[0].quantity == 12


def test_a_negated_condition_matches_every_other_value() -> None:
    leather = load_plant_file(SMALL).plant.family("SEAT").rules[1]
    assert leather.matches("CITY", {"trim": "LUX"})
    assert not leather.matches("CITY", {"trim": "BASE"})


def test_a_toml_plant_loads_like_a_yaml_one_and_an_empty_part_means_no_part() -> None:
    definition = load_plant_file(PLANTS / "small_plant.toml")
    assert definition.plant.timezone == "America/Chicago"
    assert [r.part_number for r in definition.plant.family("ROOF").rules] == [None, "SR-1"]
    assert definition.plant.lines[0].calendar.non_working_days == frozenset({date(2026, 7, 3)})


@pytest.mark.parametrize("path", [demo_plant_path(), SMALL, PLANTS / "small_plant.toml"], ids=lambda p: p.name)
def test_the_validated_data_rebuilds_the_same_plant_and_mix_after_a_trip_through_json(path: Path) -> None:
    definition = load_plant_file(path)
    stored = json.loads(json.dumps(definition.data))
    again = parse_plant_definition(stored, source="plant DEMO in the database")
    assert again.plant == definition.plant
    assert again.mix == definition.mix
    assert again.data == definition.data


def test_the_order_in_which_weights_are_stored_does_not_change_the_drawn_vehicles() -> None:
    definition = load_plant_file(demo_plant_path())
    shuffled = copy.deepcopy(definition.data)
    for option in shuffled["mix"]["options"]:
        option["weights"] = dict(reversed(option["weights"].items()))
        option["weights_given"] = {v: dict(reversed(t.items())) for v, t in reversed(option["weights_given"].items())}
    again = parse_plant_definition(shuffled)
    assert again.mix is not None and definition.mix is not None
    assert generate_vehicles(again.mix, 50, seed=3) == generate_vehicles(definition.mix, 50, seed=3)


def test_without_a_mix_rule_conditions_may_name_any_option() -> None:
    data = small_data()
    del data["mix"]
    data["families"][0]["rules"][0]["when"] = {"upholstery": ["VELVET"]}
    definition = parse_plant_definition(data)
    assert definition.mix is None
    assert "mix" not in definition.data


# --- refused files ---------------------------------------------------------------------------

BROKEN = {
    "broken_fields.yaml": {
        "lines[0].takt_seconds",
        "lines[0].stations[2].offset_takts",
        "suppliers[1].colour",
        "families[0].route.mode",
        "families[1].name",
        "families[2].route.supplier",
    },
    "broken_references.yaml": {
        "lines[0].stations[2].code",
        "suppliers[1].code",
        "families[0].line",
        "families[1].station",
        "families[2].route.unloading_point",
        "families[2].route.rack_type",
        "families[2].route.lead_time_minutes",
        "families[3].route.supplier",
        "families[3].route.jit_window_minutes",
        "families[3].route.trigger",
        "families[4].route.supplier",
        "families[4].route.jit_window_minutes",
        "families[5].code",
    },
    "broken_calendar.yaml": {
        "plant.timezone",
        "lines[0].calendar.shifts[0].start",
        "lines[0].calendar.shifts[0].weekdays[1]",
        "lines[0].calendar.non_working_days[1]",
        "lines[1].calendar.shifts[0].breaks[0]",
        "lines[1].calendar.shifts[0].breaks[2]",
    },
    "broken_rules.yaml": {
        "families[0].rules[1].when.trimm",
        "families[0].rules[2].when.trim",
        "families[1].rules",
        "families[2].rules",
    },
    "broken_mix.yaml": {
        "mix.vin.wmi",
        "mix.options[0].weights.TOURER",
        "mix.options[1].given",
        "mix.exclusions[0].colour",
        "mix.exclusions[1].roof",
    },
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_file_is_refused_with_every_problem_at_its_exact_path(name: str) -> None:
    path = PLANTS / name
    with pytest.raises(ValidationError) as caught:
        load_plant_file(path)
    assert str(path) in caught.value.message
    assert {p.where for p in caught.value.problems} == {f"{path}: {where}" for where in BROKEN[name]}


def test_problems_come_in_the_order_of_their_lines_and_say_which_line() -> None:
    found = problems(load_plant_file, PLANTS / "broken_references.yaml")
    lines = [int(what.rsplit("(line ", 1)[1].rstrip(")")) for _, what in found]
    assert lines == sorted(lines)


def test_a_yaml_syntax_error_gives_line_and_column() -> None:
    path = PLANTS / "broken_syntax.yaml"
    [(where, what)] = problems(load_plant_file, path)
    assert where == f"{path}: line 6, column 6"
    assert "expected ',' or ']'" in what and "line 5, column 21" in what


def test_a_missing_file_is_not_found() -> None:
    with pytest.raises(NotFound):
        load_plant_file(PLANTS / "no_such_plant.yaml")


def test_a_family_matching_no_rule_names_the_family_and_the_vehicle_options() -> None:
    found = dict(problems(load_plant_file, PLANTS / "broken_rules.yaml"))
    what = found[f"{PLANTS / 'broken_rules.yaml'}: families[1].rules"]
    assert what.startswith("family ROOF: no rule matches vehicles with roof=CLOSED")


def test_a_family_matching_two_rules_names_both_rules() -> None:
    found = dict(problems(load_plant_file, PLANTS / "broken_rules.yaml"))
    what = found[f"{PLANTS / 'broken_rules.yaml'}: families[2].rules"]
    assert what.startswith("family MIRROR: rules 'standard', 'tourer' all match vehicles with model=TOURER, trim=LUX")


def test_a_mix_too_large_to_enumerate_is_checked_on_a_seeded_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plant_file, "COMBINATION_LIMIT", 2)
    monkeypatch.setattr(plant_file, "SAMPLE_SIZE", 200)
    data = small_data()
    data["families"][1]["rules"].pop(0)
    assert problems(parse_plant_definition, data) == [
        ("<data>: families[1].rules", "family ROOF: no rule matches vehicles with roof=CLOSED")
    ]


def test_many_coverage_faults_of_one_family_are_summed_up() -> None:
    data = small_data()
    data["mix"]["options"][2]["weights"] = {f"R{n}": 1 for n in range(6)}
    data["families"][1]["rules"] = [{"name": "r0", "when": {"roof": "R0"}, "part": "ROOF-0"}]
    data["mix"]["exclusions"] = []
    found = problems(parse_plant_definition, data)
    assert [what for where, what in found if where == "<data>: families[1].rules"] == [
        "family ROOF: no rule matches vehicles with roof=R1",
        "family ROOF: no rule matches vehicles with roof=R2",
        "family ROOF: no rule matches vehicles with roof=R3",
        "family ROOF: 2 more option combinations match no rule or several rules",
    ]


def test_a_mix_that_leaves_an_option_without_any_value_is_refused() -> None:
    data = small_data()
    data["mix"]["exclusions"].append({"model": ["CITY"], "roof": ["CLOSED"]})
    [(where, what)] = problems(parse_plant_definition, data)
    assert where == "<data>: mix.options[2]"
    assert "option roof has no value left for a vehicle with model=CITY" in what


def test_overlapping_shifts_refused_by_the_calendar_are_reported_at_the_shift() -> None:
    data = small_data()
    data["lines"][0]["calendar"]["shifts"][1]["start"] = "14:00"
    [(where, what)] = problems(parse_plant_definition, data)
    assert where == "<data>: lines[0].calendar.shifts[0]"
    assert "overlaps shift 'night'" in what


def test_stations_must_be_listed_in_line_order() -> None:
    data = small_data()
    data["lines"][0]["stations"][1]["offset_takts"] = 25
    assert wheres(parse_plant_definition, data) == {"<data>: lines[0].stations[2].offset_takts"}


def test_a_lead_time_trigger_needs_a_lead_time() -> None:
    data = small_data()
    data["families"][1]["route"]["lead_time_minutes"] = 0
    assert wheres(parse_plant_definition, data) == {"<data>: families[1].route.lead_time_minutes"}


def test_unknown_sections_missing_sections_and_bad_condition_keys_are_reported_together() -> None:
    data = small_data()
    data["vehicles"] = []
    del data["lines"]
    data["families"][0]["rules"][1]["when"] = {"not trimm": ["BASE"], "colour code": ["RED"], "roof": []}
    assert wheres(parse_plant_definition, data) == {
        "<data>: vehicles",
        "<data>: lines",
        "<data>: families[0].line",
        '<data>: families[0].rules[1].when["not trimm"]',
        '<data>: families[0].rules[1].when["colour code"]',
        "<data>: families[0].rules[1].when.roof",
        "<data>: families[1].line",
        "<data>: families[2].line",
        "<data>: families[3].line",
        "<data>: families[4].line",
    }


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    assert problems(parse_plant_definition, ["plant"]) == [
        ("<data>", "should be a mapping with the sections plant, lines, suppliers, families, mix")
    ]


def test_a_key_given_twice_in_yaml_is_refused(tmp_path: Path) -> None:
    text = SMALL.read_text().replace("  code: SMALL\n", "  code: SMALL\n  code: LARGE\n", 1)
    path = tmp_path / "twice.yaml"
    path.write_text(text)
    assert problems(load_plant_file, path) == [(f"{path}: plant.code", "is given twice, first at line 3 (line 4)")]


def test_yaml_clock_times_and_yes_no_words_stay_text(tmp_path: Path) -> None:
    text = (
        SMALL.read_text()
        .replace('start: "07:00"', "start: 07:00")
        .replace('end: "15:30"', "end: 15:30")
        .replace("CLOSED", "OFF")
        .replace("GLASS", "NO")
    )
    path = tmp_path / "unquoted.yaml"
    path.write_text(text)
    definition = load_plant_file(path)
    day = definition.plant.lines[0].calendar.shifts[0]
    assert (day.start, day.end) == (time(7), time(15, 30))
    assert definition.mix is not None and definition.mix.options[2].values == ("NO", "OFF")


# --- VIN check digit -----------------------------------------------------------------------------
def test_a_plant_requires_the_vin_check_digit_unless_its_file_says_otherwise() -> None:
    assert load_plant_file(SMALL).plant.vin_check_digit is True
    data = small_data()
    data["plant"]["vin_check_digit"] = False
    definition = parse_plant_definition(data)
    assert definition.plant.vin_check_digit is False
    assert parse_plant_definition(definition.data).plant.vin_check_digit is False  # as stored, so read back


def test_a_vin_check_digit_setting_that_is_not_true_or_false_is_refused() -> None:
    data = small_data()
    data["plant"]["vin_check_digit"] = "sometimes"
    assert wheres(parse_plant_definition, data) == {"<data>: plant.vin_check_digit"}

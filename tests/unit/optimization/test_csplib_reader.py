from pathlib import Path

import pytest

from jisflow.domain.errors import ValidationError
from jisflow.optimization.csplib import CLASSIC_P, CLASSIC_Q, list_csplib, parse_csplib, read_csplib

DATA = Path(__file__).resolve().parents[2] / "data" / "car_sequencing"


def test_a_single_instance_file_needs_no_instance_name():
    instance = read_csplib(DATA / "dincbas.txt")
    assert instance.name == "dincbas"
    assert instance.n == 10
    assert [(r.p, r.q) for r in instance.constraints] == [(1, 2), (2, 3), (1, 3), (2, 5), (1, 5)]
    assert instance.class_counts() == [1, 1, 2, 2, 2, 2]
    assert instance.classes[0].options == (1, 0, 1, 1, 0)


def test_an_instance_is_picked_by_name_from_a_file_holding_several():
    instance = read_csplib(DATA / "two.txt", instance="60-01")
    assert instance.name == "60-01"
    assert instance.n == 200
    assert len(instance.classes) == 24


def test_a_classic_block_without_capacity_lines_gets_the_classic_capacities():
    instance = read_csplib(DATA / "two.txt", instance="4/72")
    assert tuple(r.p for r in instance.constraints) == CLASSIC_P
    assert tuple(r.q for r in instance.constraints) == CLASSIC_Q
    assert instance.n == 100


def test_a_file_holding_several_instances_asks_for_a_name():
    with pytest.raises(ValidationError, match="pick one by name"):
        read_csplib(DATA / "two.txt")
    assert [i.name for i in list_csplib(DATA / "two.txt")] == ["4/72", "60-01"]


def test_an_unknown_instance_name_is_reported():
    with pytest.raises(ValidationError, match="no instance named '9/99'"):
        read_csplib(DATA / "two.txt", instance="9/99")


def test_every_problem_of_a_bad_file_is_reported_with_its_line():
    text = "5 2 2\n1 2\n2 3\n0 3 1 0\n1 2 1 7 0\n"
    with pytest.raises(ValidationError) as caught:
        parse_csplib(text, source="bad.txt")
    found = [str(p) for p in caught.value.problems]
    assert any(p.startswith("bad.txt:5") and "flags" in p for p in found)
    assert any("option flags must be 0 or 1" in p for p in parse_csplib_problems("5 2 2\n1 2\n2 3\n0 3 1 0\n1 2 1 7\n"))


def parse_csplib_problems(text: str) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        parse_csplib(text, source="bad.txt")
    return [str(p) for p in caught.value.problems]


def test_class_counts_that_do_not_add_up_to_the_header_are_an_error():
    found = parse_csplib_problems("6 1 2\n1\n2\n0 3 1\n1 2 0\n")
    assert any("hold 5 cars, the header says 6" in p for p in found)


def test_a_capacity_above_the_block_size_is_an_error():
    found = parse_csplib_problems("2 1 1\n3\n2\n0 2 1\n")
    assert any(p.startswith("bad.txt:2") and "0 <= p <= q" in p for p in found)


def test_a_missing_file_is_a_validation_error(tmp_path):
    with pytest.raises(ValidationError, match="cannot read"):
        read_csplib(tmp_path / "nope.txt")

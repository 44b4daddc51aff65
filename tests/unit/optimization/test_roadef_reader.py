import shutil
from pathlib import Path

import pytest

from jisflow.domain.errors import ValidationError
from jisflow.optimization.instance import Component, Priority
from jisflow.optimization.roadef import read_roadef

DATA = Path(__file__).resolve().parents[2] / "data" / "car_sequencing" / "roadef_X_028_CH2"


def test_a_roadef_folder_gives_the_day_the_tail_and_the_lexicographic_objective():
    instance = read_roadef(DATA)
    assert instance.name == "roadef_X_028_CH2"
    assert instance.n == 65 and len(instance.tail) == 13
    assert instance.objective == (
        (Component.HIGH_RATIO, 1_000_000),
        (Component.LOW_RATIO, 1_000),
        (Component.COLOUR_CHANGES, 1),
    )
    assert instance.paint_batch_limit == 100
    assert [(r.name, r.p, r.q, r.priority) for r in instance.constraints][:2] == [
        ("HPRC1", 1, 6, Priority.HIGH),
        ("LPRC1", 1, 5, Priority.LOW),
    ]
    assert instance.end_windows


def test_day_vehicles_keep_their_idents_in_rank_order():
    instance = read_roadef(DATA)
    rows = (DATA / "vehicles.txt").read_text().splitlines()[1:]
    day = [r.split(";") for r in rows if r.split(";")[0] == "2004 51 1"]
    expected = [ident for _, ident in sorted((int(r[1]), r[2]) for r in day)]
    assert list(instance.car_ids) == expected
    assert instance.classes[instance.cars[0]].colour == next(r[3] for r in day if r[2] == expected[0])


def test_every_problem_of_a_bad_folder_is_reported_with_file_and_line(tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(DATA, folder)
    ratios = (folder / "ratios.txt").read_text().replace("1/14;0;LPRC5;", "1-14;0;LPRC5;")
    (folder / "ratios.txt").write_text(ratios)
    vehicles = (folder / "vehicles.txt").read_text().splitlines()
    fields = vehicles[3].split(";")
    fields[4] = "2"
    vehicles[3] = ";".join(fields)
    (folder / "vehicles.txt").write_text("\n".join(vehicles) + "\n")
    with pytest.raises(ValidationError) as caught:
        read_roadef(folder)
    found = [str(p) for p in caught.value.problems]
    assert any("ratios.txt:7" in p and "N of the ratio" in p for p in found)
    assert any("vehicles.txt:4" in p and "HPRC1 must be 0 or 1" in p for p in found)


def test_a_path_that_is_not_a_folder_is_rejected(tmp_path):
    with pytest.raises(ValidationError, match="not a ROADEF instance folder"):
        read_roadef(tmp_path / "missing")

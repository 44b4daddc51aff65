"""DESADV and CONTRL round trips, VDA truncation, partner profile validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from edi_factories import ISSUED, calloff

from jisflow.adapters.edi.contrl import contrl_interchange, parse_contrl
from jisflow.adapters.edi.desadv import desadv_message, parse_desadv
from jisflow.adapters.edi.edifact import parse_interchange, serialize_interchange
from jisflow.adapters.edi.profiles import load_profile, profile_from_dict
from jisflow.adapters.edi.vda4905 import parse_vda4905
from jisflow.domain.errors import Problem, ValidationError

DATA = Path(__file__).resolve().parents[2] / "data" / "edi"
PROFILE = load_profile("default")


def test_a_desadv_reads_back_with_sequence_numbers_racks_and_slots() -> None:
    co = calloff(3)
    text = serialize_interchange("SITZ", "PLANT", "D1", ("261207", "0700"), [desadv_message("DN42", co.lines, "RACK-7", ISSUED, PROFILE)])
    advice = parse_desadv(parse_interchange(text).messages[0], PROFILE)
    assert advice.number == "DN42"
    assert [(i.part_number, i.quantity, i.sequence_number, i.package_id, i.rack_slot, i.order_id, i.vin, i.calloff_number)
            for i in advice.items] == [
        (ln.part_number, ln.quantity, ln.seq_no, "RACK-7", k, ln.order_id, ln.vin, co.number) for k, ln in enumerate(co.lines, start=1)
    ]


def test_an_accepted_interchange_is_acknowledged_and_a_rejected_one_names_its_segments() -> None:
    ok = parse_contrl(parse_interchange(contrl_interchange("R1", "PLANT", "SITZ", [], ISSUED, "AR1")).messages[0])
    assert (ok.interchange_reference, ok.sender, ok.receiver, ok.accepted, ok.segment_errors) == ("R1", "PLANT", "SITZ", True, ())
    problems = [Problem("segment 14 (QTY)", "bad"), Problem("segment 9 (LIN)", "bad"), Problem("interchange", "x")]
    no = parse_contrl(parse_interchange(contrl_interchange("R1", "PLANT", "SITZ", problems, ISSUED, "AR1")).messages[0])
    assert (no.accepted, no.action, no.segment_errors) == (False, "4", (9, 14))


def test_a_vda_transmission_without_its_trailer_is_rejected() -> None:
    text = (DATA / "4905.edi").read_text(encoding="utf-8")
    with pytest.raises(ValidationError, match="1 problem"):
        parse_vda4905(text[: text.index("519")])


def test_a_vda_record_with_a_bad_quantity_is_named() -> None:
    text = (DATA / "4905.edi").read_text(encoding="utf-8").replace("0000019427", "00000x9427")
    with pytest.raises(ValidationError) as exc:
        parse_vda4905(text)
    assert [p.where for p in exc.value.problems] == ["record 3 (513)"]


def test_a_partner_profile_lists_every_problem_with_its_path() -> None:
    data = {"code": "x", "name": "x", "time_zone": "Mars/Olympus", "colour": 1}
    with pytest.raises(ValidationError) as exc:
        profile_from_dict(data, "x.yaml")
    wheres = {p.where for p in exc.value.problems}
    assert {"x.yaml: time_zone", "x.yaml: colour", "x.yaml: sequence", "x.yaml: gir"} <= wheres


def test_an_unknown_profile_name_lists_the_built_in_ones() -> None:
    with pytest.raises(ValidationError, match="default, oem-rolling"):
        load_profile("nobody")

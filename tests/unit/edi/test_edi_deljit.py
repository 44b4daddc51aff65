"""DELJIT out and in: a stored call-off survives writing and reading, per partner profile."""

from __future__ import annotations

from datetime import timezone

import pytest
from edi_factories import ISSUED, calloff

from jisflow.adapters.edi.deljit import control_reference_for, deljit_interchange, parse_deljit, received_calloffs
from jisflow.adapters.edi.edifact import parse_interchange
from jisflow.adapters.edi.profiles import load_profile
from jisflow.domain.errors import ValidationError

DEFAULT = load_profile("default")
ROLLING = load_profile("oem-rolling")


def write(profile=DEFAULT, count: int = 3) -> str:
    co = calloff(count)
    return deljit_interchange([co], profile, "PLANT", co.supplier, control_reference_for(co.number), ISSUED)


def test_a_deljit_reads_back_as_the_call_off_it_was_written_from() -> None:
    co = calloff(4)
    message = parse_deljit(parse_interchange(write(count=4)).messages[0], DEFAULT)
    assert message.number == co.number
    assert (message.supplier, message.buyer, message.unloading_point) == ("SITZ", "PLANT", "DOCK-A")
    got = [(ln.seq_no, ln.rolling_no, ln.order_id, ln.module, ln.vin, ln.part_number, ln.quantity, ln.line, ln.station,
            ln.required_at, ln.ship_by) for ln in message.lines]
    want = [(ln.seq_no, ln.seq_no % 10_000, ln.order_id, ln.family, ln.vin, ln.part_number, ln.quantity, ln.line, ln.station,
             ln.need_time, ln.ship_by) for ln in co.lines]
    assert got == want


def test_need_times_are_written_in_the_partner_time_zone_with_their_offset() -> None:
    line = parse_deljit(parse_interchange(write()).messages[0], DEFAULT).lines[0]
    assert line.required_at.isoformat() == "2026-12-07T07:31:00+01:00"
    assert line.required_at.astimezone(timezone.utc) == calloff().lines[0].need_time


def test_the_second_oem_profile_changes_only_the_qualifiers_and_numbers_written() -> None:
    default, rolling = write(DEFAULT), write(ROLLING)
    assert "SEQ+1+10001:1'" in default and "GIR+3+WJFHA0M1XTM000001:VV+ORD000001:BN+SEAT:ML'" in default
    assert "SEQ+1+1:2'" in rolling and "GIR+1+WJFHA0M1XTM000001:VIN+ORD000001:PN+SEAT:MOD'" in rolling
    assert "LOC+11+DOCK-A'" in default and "LOC+7+DOCK-A'" in rolling
    assert "DELJIT:D:97A:UN" in rolling
    line = parse_deljit(parse_interchange(rolling).messages[0], ROLLING).lines[0]
    assert (line.seq_no, line.rolling_no, line.vin, line.unloading_point) == (None, 1, "WJFHA0M1XTM000001", "DOCK-A")
    assert line.required_at.utcoffset().total_seconds() == -6 * 3600


def test_a_received_interchange_maps_to_call_offs_for_the_supplier_side() -> None:
    (received,) = received_calloffs(parse_interchange(write()), DEFAULT)
    co = calloff()
    assert (received.number, received.supplier, received.line, received.unloading_point) == (co.number, "SITZ", "L1", "DOCK-A")
    assert [(ln.order_id, ln.family, ln.seq_no, ln.need_time) for ln in received.lines] == [
        (ln.order_id, ln.family, ln.seq_no, ln.need_time) for ln in co.lines
    ]


def test_every_bad_line_is_named_with_its_segment_position() -> None:
    text = write().replace("QTY+113:1:PCE'", "QTY+113:x:PCE'").replace("LIN+3++SEAT-0:IN'", "LIN+3'")
    with pytest.raises(ValidationError) as exc:
        parse_deljit(parse_interchange(text).messages[0], DEFAULT)
    found = [str(p) for p in exc.value.problems]
    assert any(p.startswith("segment ") and "(QTY)" in p and "'x' is not a whole number" in p for p in found)
    assert any("(SEQ)" in p and "no LIN" in p for p in found)

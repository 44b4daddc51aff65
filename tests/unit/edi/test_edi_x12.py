"""X12: envelope integrity, the public 850 sample, and round trips of 866, 856 and 997."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType

import pytest
from edi_factories import ISSUED, calloff
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jisflow.adapters.edi.documents import parse_document
from jisflow.adapters.edi.profiles import load_profile
from jisflow.adapters.edi.x12 import OutboundGroup, parse_interchange, render, segments_of, serialize_interchange
from jisflow.adapters.edi.x12_850 import parse_850
from jisflow.adapters.edi.x12_856 import asn_856, parse_856
from jisflow.adapters.edi.x12_866 import ProductionSequence, SequencedVehicle, parse_866, sequence_866, sequence_rows
from jisflow.adapters.edi.x12_997 import ack_997, parse_997
from jisflow.domain.errors import Problem, ValidationError

SAMPLE = (Path(__file__).resolve().parents[2] / "data" / "edi" / "850.x12").read_text(encoding="utf-8")
PROFILE = load_profile("default")
VINS = ["WJTSAT1N6TS000001", None, "1M8GDM9AXKP042788"]


def production_sequence(count: int = 3) -> ProductionSequence:
    return ProductionSequence("0001", "SEQ-77", "20261207", "L1", tuple(
        SequencedVehicle("", 100 + n, f"ORD{n:06d}", VINS[n % 3], "CITY" if n % 2 else "TOURER",
                         MappingProxyType({"trim": "BASE", "roof": "CLOSED", "paint": f"P{n}"}),
                         ISSUED + timedelta(minutes=n))
        for n in range(count)))


def interchange_866(seq: ProductionSequence, control: str = "000000042") -> str:
    return serialize_interchange("PLANT", "SITZ", control, ISSUED, [OutboundGroup("SS", "42", (sequence_866(seq, PROFILE),))])


def without_where(items):
    return [dataclasses.replace(i, where="") for i in items]


def test_the_public_850_sample_gives_its_order_number_and_declared_totals() -> None:
    ic = parse_interchange(SAMPLE)
    order = parse_850(ic.transactions[0])
    assert (ic.sender, ic.receiver, ic.control_reference) == ("DERICL", "TEST01", "000007080")
    assert order.number == "0019-1234567-1234"
    # the sample carries no PO1 line: its one item and quantity 200 are the CTT totals it declares
    assert (order.lines, order.declared_line_count, order.declared_quantity_total) == ((), 1, 200)


def test_an_interchange_renders_back_to_the_same_segments() -> None:
    ic = parse_interchange(SAMPLE)
    assert parse_interchange(render(segments_of(ic), ic.separators)).segments == ic.segments


def test_separators_are_taken_from_the_isa() -> None:
    text = SAMPLE.replace("*", "|").replace("~", "\r\n").replace("|>\r\n", "|^'", 1)
    text = text.replace("\r\n", "'")
    ic = parse_interchange(text)
    assert (ic.separators.element, ic.separators.component, ic.separators.segment) == ("|", "^", "'")
    assert parse_850(ic.transactions[0]).number == "0019-1234567-1234"


@pytest.mark.parametrize(("old", "new", "what"), [
    ("SE*6*0001", "SE*5*0001", "SE counts 5"),
    ("SE*6*0001", "SE*6*0002", "SE02 control number"),
    ("GE*1*7080", "GE*2*7080", "GE counts 2"),
    ("GE*1*7080", "GE*1*7081", "GE02 group control number"),
    ("IEA*1*000007080", "IEA*2*000007080", "IEA counts 2"),
    ("IEA*1*000007080", "IEA*1*000007081", "IEA02 control number"),
    ("SE*6*0001", "SE*\u00b2*0001", "SE counts \u00b2"),  # a digit, but not one int() reads
])
def test_envelope_counts_and_control_numbers_must_match(old: str, new: str, what: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_interchange(SAMPLE.replace(old, new))
    assert any(what in p.what and p.where.startswith("segment ") for p in exc.value.problems)


def test_a_truncated_interchange_is_rejected_whole() -> None:
    with pytest.raises(ValidationError) as exc:
        parse_interchange(SAMPLE[: SAMPLE.index("GE*")] + "GE*1*70")
    assert "truncated" in exc.value.problems[0].what


def test_an_id_with_a_separator_cannot_be_written() -> None:
    with pytest.raises(ValidationError, match="separator"):
        serialize_interchange("PL*NT", "SITZ", "000000001", ISSUED, [])


def test_an_interchange_above_the_size_limit_is_refused() -> None:
    with pytest.raises(ValidationError, match="rejected"):
        parse_interchange(SAMPLE, max_bytes=100)


def test_a_production_sequence_round_trips_through_866() -> None:
    seq = production_sequence()
    parsed = parse_866(parse_interchange(interchange_866(seq)).transactions[0], PROFILE)
    assert dataclasses.replace(parsed, vehicles=()) == dataclasses.replace(seq, vehicles=())
    assert without_where(parsed.vehicles) == list(seq.vehicles)


def test_866_vehicles_become_pearl_chain_rows_for_the_line() -> None:
    line, rows = sequence_rows(parse_interchange(interchange_866(production_sequence())), PROFILE)
    assert line == "L1"
    assert [(r.seq_no, r.vehicle.order_id, r.vehicle.vin, r.vehicle.model, r.vehicle.options["trim"]) for r in rows] == [
        (100, "ORD000000", "WJTSAT1N6TS000001", "TOURER", "BASE"), (101, "ORD000001", None, "CITY", "BASE"),
        (102, "ORD000002", "1M8GDM9AXKP042788", "TOURER", "BASE")]


def test_an_866_with_a_bad_vin_names_the_segment() -> None:
    seq = production_sequence()
    bad = dataclasses.replace(seq, vehicles=(dataclasses.replace(seq.vehicles[0], vin="WJTSAT1N0TS00000O"),))  # O is no VIN letter
    with pytest.raises(ValidationError) as exc:
        sequence_rows(parse_interchange(interchange_866(bad)), PROFILE)
    assert exc.value.problems[0].where.startswith("segment ")


def test_a_ship_notice_round_trips_through_856() -> None:
    co = calloff(3)
    text = serialize_interchange("SITZ", "PLANT", "000000007", ISSUED, [OutboundGroup("SH", "7", (asn_856("SH-1", co.lines, "RACK-9", ISSUED, PROFILE),))])
    notice = parse_856(parse_interchange(text).transactions[0], PROFILE)
    assert (notice.shipment_id, notice.shipped_at, notice.supplier, notice.unloading_point) == ("SH-1", ISSUED, "SITZ", "DOCK-A")
    assert [(i.part_number, i.quantity, i.sequence_number, i.package_id, i.rack_slot, i.vin, i.order_id, i.calloff_number)
            for i in notice.items] == [
        (ln.part_number, ln.quantity, ln.seq_no, "RACK-9", k, ln.vin, ln.order_id, ln.number) for k, ln in enumerate(co.lines, 1)]


def test_997_acknowledges_every_set_and_round_trips() -> None:
    text = interchange_866(production_sequence())
    ack = parse_997(parse_interchange(ack_997(text, [], ISSUED, "000000001")).transactions[0])
    assert (ack.functional_id, ack.group_control_number, ack.status, ack.received, ack.accepted) == ("SS", "42", "A", 1, 1)
    assert ack.accepted_whole
    assert [(s.type, s.control_number, s.status) for s in ack.sets] == [("866", "0001", "A")]


def test_997_of_a_rejected_interchange_names_the_segment_in_error() -> None:
    text = interchange_866(production_sequence())
    ack = parse_997(parse_interchange(ack_997(text, [Problem("segment 7 (LIN)", "bad")], ISSUED, "000000002")).transactions[0])
    assert (ack.status, ack.accepted, ack.accepted_whole) == ("R", 0, False)
    assert ack.sets[0].status == "R" and ack.sets[0].segment_errors == (("LIN", 5),)


def test_997_answers_even_an_unreadable_interchange() -> None:
    ack = parse_997(parse_interchange(ack_997("garbage", [Problem("interchange", "bad")], ISSUED, "000000003")).transactions[0])
    assert ack.status == "R"


SEEDS = [SAMPLE, interchange_866(production_sequence(2)),
         serialize_interchange("S", "P", "000000009", datetime(2026, 1, 1, tzinfo=timezone.utc),
                               [OutboundGroup("SH", "9", (asn_856("SH-2", calloff(2).lines, "R", ISSUED, PROFILE),))])]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.integers(0, 3000), st.integers(0, 30), st.text(alphabet="*~>ISAGESTLN0123456789 \n", max_size=6))
def test_damaged_x12_gives_only_typed_errors(seed: str, at: int, cut: int, insert: str) -> None:
    at %= len(seed) + 1
    try:
        doc = parse_document(seed[:at] + insert + seed[at + cut:], PROFILE)
        if doc.syntax == "X12":
            sequence_rows(doc.interchange, PROFILE)
    except ValidationError:
        pass

"""VDA 4913 written and read back as the same objects; a value that does not fit its fixed
field is refused by name."""

from __future__ import annotations

import dataclasses
import string
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jisflow.adapters.edi.vda import RECORD_LENGTH
from jisflow.adapters.edi.vda4913 import DespatchItem, Vda4913Transmission, parse_vda4913, vda4913_text
from jisflow.domain.errors import ValidationError

SAMPLE = (Path(__file__).resolve().parents[2] / "data" / "edi" / "4913.edi").read_text(encoding="utf-8")


def code(max_size: int, min_size: int = 1):
    return st.text(string.ascii_uppercase + string.digits + "-./ ", min_size=min_size, max_size=max_size).filter(lambda s: s == s.strip())


@st.composite
def transmissions(draw) -> Vda4913Transmission:
    consignments = draw(st.lists(code(8), min_size=1, max_size=3, unique=True))
    items = []
    for consignment in consignments:
        for note in draw(st.lists(code(8), min_size=1, max_size=2, unique=True)):
            day = draw(st.none() | st.dates(date(2000, 1, 1), date(2099, 12, 31)).map(date.isoformat))
            unloading_point = draw(code(5, 0))
            for _ in range(draw(st.integers(1, 3))):
                items.append(DespatchItem(
                    "", note, draw(code(22)), draw(code(22, 0)), Decimal(draw(st.integers(0, 10**10 - 1))) / 1000, draw(code(2, 0)),
                    None, draw(st.none() | code(9)), consignment, day, unloading_point,
                ))
    return Vda4913Transmission(draw(code(9, 0)), draw(code(9, 0)), draw(code(5)), tuple(consignments), tuple(items),
                               draw(st.none() | st.dates(date(2000, 1, 1), date(2099, 12, 31)).map(date.isoformat)), draw(code(5, 0)))


def without_where(tx: Vda4913Transmission) -> Vda4913Transmission:
    return dataclasses.replace(tx, items=tuple(dataclasses.replace(i, where="") for i in tx.items))


@settings(max_examples=60, deadline=None)
@given(transmissions())
def test_a_written_transmission_parses_back_to_the_same_objects(tx: Vda4913Transmission) -> None:
    assert without_where(parse_vda4913(vda4913_text(tx))) == tx


def test_the_public_sample_read_and_written_again_reads_the_same() -> None:
    sample = parse_vda4913(SAMPLE)
    again = parse_vda4913(vda4913_text(sample))
    assert without_where(again) == without_where(sample)
    assert (sample.items[0].part_number, sample.items[0].quantity, sample.items[0].consignment) == ("A1567350110", 12, sample.consignments[0])


def test_every_record_has_128_characters_and_the_trailer_counts_them() -> None:
    tx = Vda4913Transmission("PLANT", "SEATS", "00042", ("C1",), (
        DespatchItem("", "DN1", "SEAT-L", "", Decimal(4), "ST", None, "R-1", "C1", "2026-12-07", "D1"),
        DespatchItem("", "DN1", "SEAT-R", "", Decimal("2.5"), "ST", None, None, "C1", "2026-12-07", "D1"),
    ), "2026-12-07")
    records = vda4913_text(tx).splitlines()
    assert {len(r) for r in records} == {RECORD_LENGTH}
    assert [r[:3] for r in records] == ["711", "712", "713", "714", "715", "714", "719"]
    assert records[-1][5:61] == "".join(f"{n:07d}" for n in (1, 1, 1, 2, 1, 0, 0, 0))


def test_values_that_do_not_fit_are_refused_naming_each() -> None:
    tx = Vda4913Transmission("PLANT-CUSTOMER", "SEATS", "00042", ("C1",), (
        DespatchItem("", "DN1", "SEAT-L", "", Decimal("0.0001"), "ST", 7, None, "C1", None, ""),
        DespatchItem("", "DN2", "SEAT-L", "", Decimal(1), "ST", None, None, "C9", None, ""),
    ))
    with pytest.raises(ValidationError) as err:
        vda4913_text(tx)
    assert [str(p) for p in err.value.problems] == [
        "711 header: customer 'PLANT-CUSTOMER' is longer than its 9 characters",
        "item 1: VDA 4913 has no field for a sequence number: send a DESADV or an X12 856",
        "item 2: its consignment 'C9' is not one of the transmission's (C1)",
        "delivery note DN1, part SEAT-L: quantity 0.0001 is negative or has more than three decimals",
    ]

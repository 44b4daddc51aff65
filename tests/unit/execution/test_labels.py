"""Rack labels: Code 128 drawn from the symbology's table, and a well-formed PDF."""

from __future__ import annotations

import re

import pytest

from jisflow.adapters.labels import CODE128_PATTERNS, QUIET, code128_modules, code128_values, render_rack_label
from jisflow.domain.errors import ValidationError
from jisflow.domain.racks import Rack, RackSlot
from tests.unit.factories import at


def test_every_code128_symbol_spans_eleven_modules_and_the_stop_thirteen():
    assert len(CODE128_PATTERNS) == 107 and len(set(CODE128_PATTERNS)) == 107
    assert all(sum(map(int, p)) == 11 for p in CODE128_PATTERNS[:106])
    assert sum(map(int, CODE128_PATTERNS[106])) == 13


def test_the_check_symbol_is_the_weighted_sum_modulo_103():
    # start B 104 + P 48x1 + J 42x2 + J 42x3 + "1" 17x4 + "2" 18x5 + "3" 19x6 + C 35x7 = 879; 879 mod 103 = 55
    assert code128_values("PJJ123C") == [104, 48, 42, 42, 17, 18, 19, 35, 55, 106]


def test_a_barcode_starts_and_ends_with_a_bar_inside_its_quiet_zones():
    modules = code128_modules("RK-1")
    assert len(modules) == 2 * QUIET + 11 * (4 + 2) + 13
    assert not any(modules[:QUIET]) and not any(modules[-QUIET:])
    assert modules[QUIET] and modules[-QUIET - 1]


def test_characters_outside_code_set_b_are_refused():
    with pytest.raises(ValidationError, match="printable ASCII"):
        code128_values("RK-\u00e4")


def test_the_label_is_a_pdf_whose_cross_references_point_at_its_objects():
    rack = Rack("RK-ABC123", "RK-SEAT-12", 12, "SITZ", "TF1", "DOCK-A", "SEAT-FR", at(7), at(8), closed_at=at(7, 40))
    rack.plan(RackSlot(0, "ORD1", "SEAT-FR", 41, "1J0-881-105-AA", "CO-1", at(9), serial="SN-1"))
    pdf = render_rack_label(rack, "Sitzwerk (Musterstadt)", "Demo plant")
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert b"RK-ABC123" in pdf and b"Sitzwerk \\(Musterstadt\\)" in pdf and b"41-41 / 1 of 12" in pdf
    xref = int(re.search(rb"startxref\n(\d+)", pdf).group(1))
    offsets = [int(o) for o in re.findall(rb"(\d{10}) 00000 n", pdf[xref:])]
    assert [pdf[o : o + 7] for o in offsets] == [f"{i} 0 obj".encode() for i in range(1, len(offsets) + 1)]

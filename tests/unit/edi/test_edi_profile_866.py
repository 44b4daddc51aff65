"""X12 866 qualifiers come from the partner profile: a new OEM variant is a YAML file, and two
profiles that differ only by their qualifiers read and write the same sequence differently."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from edi_factories import ISSUED
from test_edi_x12 import production_sequence, without_where

from jisflow.adapters.edi.profiles import load_profile, profile_from_dict
from jisflow.adapters.edi.x12 import OutboundGroup, parse_interchange, serialize_interchange
from jisflow.adapters.edi.x12_866 import parse_866, sequence_866, sequence_rows
from jisflow.domain.errors import ValidationError

DEFAULT = yaml.safe_load((Path(__file__).resolve().parents[3] / "src" / "jisflow" / "data" / "partners" / "default.yaml").read_text())
VARIANT_866 = {"line_party": "SF", "need_time": "097", "order_id": "PN", "vin": "VN", "model": "MD",
               "options": {"TM": "trim", "RT": "roof", "PT": "paint"}}


def profile(**x12_866):
    return profile_from_dict({**DEFAULT, "x12_866": x12_866} if x12_866 else DEFAULT, "test profile")


def written(p) -> str:
    return serialize_interchange("PLANT", "SITZ", "000000042", ISSUED, [OutboundGroup("SS", "42", (sequence_866(production_sequence(), p),))])


def test_the_built_in_profiles_keep_the_usual_866_qualifiers():
    mapping = load_profile("default").x12_866
    assert (mapping.line_party, mapping.need_time, mapping.order_id, mapping.vin, mapping.model) == ("ST", "118", "ON", "VV", "MO")
    assert dict(mapping.options) == {"TR": "trim", "RF": "roof", "CL": "colour"}


def test_two_profiles_differing_only_by_qualifiers_each_read_back_their_own_866():
    usual, variant = profile(), profile(**VARIANT_866)
    seq = production_sequence()
    for p in (usual, variant):
        parsed = parse_866(parse_interchange(written(p)).transactions[0], p)
        assert without_where(parsed.vehicles) == list(seq.vehicles)
    text = written(variant)
    assert "N1*SF*" in text and "DTM*097*" in text and "LIN*100*PN*ORD000000*VN*" in text and "REF*PT*P0~" in text
    assert "REF*ZZ*P0*paint~" in written(usual)  # paint has no qualifier of its own there


def test_an_866_written_for_one_variant_is_refused_by_the_other_profile_naming_what_is_missing():
    with pytest.raises(ValidationError) as err:
        sequence_rows(parse_interchange(written(profile(**VARIANT_866))), profile())
    whats = [p.what for p in err.value.problems]
    assert any("N1*ST" in w for w in whats) and any("order id (product id qualifier ON)" in w for w in whats)


def test_a_partial_866_section_keeps_the_defaults_for_what_it_leaves_out():
    mapping = profile(vin="VIN").x12_866
    assert (mapping.vin, mapping.order_id, dict(mapping.options)["TR"]) == ("VIN", "ON", "trim")


@pytest.mark.parametrize(("section", "where"), [
    ({"colour": "CL"}, "x12_866.colour"),
    ({"need_time": ""}, "x12_866.need_time"),
    ({"options": {"ZZ": "trim"}}, "x12_866.options.ZZ"),
    ({"options": {"TR": "trim", "TX": "trim"}}, "x12_866.options.TX"),
    ({"vin": "ON"}, "x12_866"),
])
def test_a_bad_866_section_is_refused_naming_the_key(section: dict, where: str):
    with pytest.raises(ValidationError) as err:
        profile(**section)
    assert [p.where for p in err.value.problems] == [f"test profile: {where}"]

"""EDIFACT envelopes: counts and control references must match, truncation is refused."""

from __future__ import annotations

import pytest

from jisflow.adapters.edi.edifact import OutboundMessage, parse_interchange, serialize_interchange
from jisflow.domain.errors import ValidationError


def interchange(reference: str = "REF1") -> str:
    body = (("BGM", ("30", "CO-1", "9")), ("QTY", (("113", "2", "PCE"),)))
    return serialize_interchange("PLANT", "SITZ", reference, ("261207", "0700"), [OutboundMessage("1", "DELJIT", "D", "04A", body=body)])


def problems(text: str) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        parse_interchange(text)
    return [str(p) for p in exc.value.problems]


def test_a_written_interchange_reads_back_with_its_envelope() -> None:
    ic = parse_interchange(interchange())
    assert (ic.sender, ic.receiver, ic.control_reference) == ("PLANT", "SITZ", "REF1")
    assert [m.identifier for m in ic.messages] == ["DELJIT:D:04A:UN"]
    assert [seg.tag for seg in ic.messages[0].body] == ["BGM", "QTY"]
    assert ic.key == "edifact:PLANT:SITZ:REF1"


def test_escaped_separators_survive_the_round_trip() -> None:
    body = (("FTX", ("AAI", "", "", "a+b:c'd?e")),)
    text = serialize_interchange("A", "B", "1", ("261207", "0700"), [OutboundMessage("1", "DELJIT", "D", "04A", body=body)])
    assert parse_interchange(text).messages[0].body[0].get(4) == "a+b:c'd?e"


def test_a_wrong_unt_count_is_named_with_its_segment_position() -> None:
    text = interchange().replace("UNT+4+1'", "UNT+5+1'")
    assert any(p.startswith("segment 5 (UNT)") and "counts 5" in p for p in problems(text))


def test_a_unt_count_written_in_digits_that_are_not_ascii_is_named_not_a_crash() -> None:
    text = interchange().replace("UNT+4+1'", "UNT+\u00b2+1'")
    assert any(p.startswith("segment 5 (UNT)") and "counts \u00b2" in p for p in problems(text))


def test_a_unz_reference_other_than_the_unb_reference_is_refused() -> None:
    text = interchange().replace("UNZ+1+REF1'", "UNZ+1+REF2'")
    assert any("segment 6 (UNZ)" in p and "REF2" in p for p in problems(text))


def test_a_unz_message_count_that_does_not_match_is_refused() -> None:
    assert any("UNZ counts 2" in p for p in problems(interchange().replace("UNZ+1+", "UNZ+2+")))


def test_an_interchange_cut_in_the_middle_of_a_segment_is_rejected_whole() -> None:
    text = interchange()
    assert any("truncated" in p for p in problems(text[: text.index("QTY") + 6]))


def test_an_interchange_cut_between_segments_lacks_its_trailers() -> None:
    text = interchange()
    found = problems(text[: text.index("UNT")])
    assert any("does not end with UNZ" in p for p in found)
    assert any("has no UNT" in p for p in found)


def test_an_interchange_above_the_size_limit_is_refused_before_it_is_read() -> None:
    with pytest.raises(ValidationError, match="larger than the limit"):
        parse_interchange(interchange(), max_bytes=50)


def test_a_segment_tag_that_is_not_three_characters_is_named() -> None:
    assert any("segment 3" in p and "not a segment tag" in p for p in problems(interchange().replace("BGM+", "BG+")))

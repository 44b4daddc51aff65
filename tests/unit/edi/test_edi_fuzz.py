"""Property-based fuzzing: on any input every parser returns or raises ValidationError."""

from __future__ import annotations

from pathlib import Path

from edi_factories import ISSUED, calloff
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jisflow.adapters.edi.deljit import deljit_interchange
from jisflow.adapters.edi.documents import parse_document
from jisflow.adapters.edi.profiles import load_profile
from jisflow.domain.errors import ValidationError

DATA = Path(__file__).resolve().parents[2] / "data" / "edi"
PROFILE = load_profile("default")
SEEDS = [
    deljit_interchange([calloff(2)], PROFILE, "PLANT", "SITZ", "R1", ISSUED),
    (DATA / "DESADV.edifact").read_text(encoding="utf-8")[:1500],
    (DATA / "4905.edi").read_text(encoding="utf-8"),
    (DATA / "4913.edi").read_text(encoding="utf-8"),
]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def survives(text: str) -> None:
    try:
        parse_document(text, PROFILE)
    except ValidationError:
        pass


@FUZZ
@given(st.text(alphabet=st.sampled_from("UNABHZT+:'?*.,0123456789 \n57AQYSEGIRL"), max_size=300))
def test_random_segment_soup_gives_only_typed_errors(text: str) -> None:
    survives(text)


@FUZZ
@given(st.sampled_from(SEEDS), st.integers(0, 4000), st.integers(0, 40), st.text(max_size=6))
def test_damaged_real_messages_give_only_typed_errors(seed: str, at: int, cut: int, insert: str) -> None:
    at %= len(seed) + 1
    survives(seed[:at] + insert + seed[at + cut :])

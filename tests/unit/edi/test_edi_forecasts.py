"""Forecasts: EDIFACT DELFOR and X12 830 / 862 written and read back as the same objects."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date, timedelta

import pytest
from edi_factories import ISSUED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jisflow.adapters.edi.delfor import delfor_message
from jisflow.adapters.edi.documents import parse_document, to_json
from jisflow.adapters.edi.edifact import serialize_interchange as serialize_edifact
from jisflow.adapters.edi.forecasts import Commitment, Forecast, ForecastPeriod, PartForecast
from jisflow.adapters.edi.profiles import load_profile
from jisflow.adapters.edi.x12 import OutboundGroup
from jisflow.adapters.edi.x12 import serialize_interchange as serialize_x12
from jisflow.adapters.edi.x12_schedules import schedule_transaction
from jisflow.domain.errors import ValidationError

PROFILE = load_profile("default")
MONDAY = date(2026, 12, 7)


def forecast(message: str) -> Forecast:
    parts = tuple(
        PartForecast("", f"SEAT-{n}", f"S-{n}" if n % 2 else None, f"DOCK-{n}", "EA", tuple(
            ForecastPeriod("", MONDAY + timedelta(days=7 * w), 100 * (n + 1) + w, Commitment.FIRM if w < 2 else Commitment.PLANNING)
            for w in range(4)))
        for n in range(2))
    return Forecast(message, "0001" if message != "DELFOR" else "1", "FC-9", MONDAY, "PLANT", "SITZ", parts)


def written(f: Forecast) -> str:
    if f.message == "DELFOR":
        return serialize_edifact("PLANT", "SITZ", "F1", ("261207", "0600"), [delfor_message(f, PROFILE)])
    return serialize_x12("PLANT", "SITZ", "000000011", ISSUED, [OutboundGroup("PS" if f.message == "830" else "SS", "11", (schedule_transaction(f),))])


def without_where(f: Forecast) -> Forecast:
    return dataclasses.replace(f, parts=tuple(
        dataclasses.replace(p, where="", periods=tuple(dataclasses.replace(q, where="") for q in p.periods)) for p in f.parts))


@pytest.mark.parametrize("message", ["DELFOR", "830", "862"])
def test_a_forecast_round_trips(message: str) -> None:
    f = forecast(message)
    doc = parse_document(written(f), PROFILE)
    assert without_where(doc.messages[0][2]) == f


@pytest.mark.parametrize("message", ["DELFOR", "830", "862"])
def test_a_forecast_prints_as_json_with_firm_and_planned_quantities(message: str) -> None:
    parts = json.loads(json.dumps(to_json(parse_document(written(forecast(message)), PROFILE))))["messages"][0]["parts"]
    assert [(q["due"], q["quantity"], q["commitment"]) for q in parts[0]["periods"][:3]] == [
        ("2026-12-07", 100, "firm"), ("2026-12-14", 101, "firm"), ("2026-12-21", 102, "planning")]


def test_an_830_period_with_an_unknown_commitment_names_its_segment() -> None:
    text = written(forecast("830")).replace("*C*D*", "*X*D*", 1)
    with pytest.raises(ValidationError) as exc:
        parse_document(text, PROFILE)
    assert any("FST02" in p.what and p.where.endswith("(FST)") for p in exc.value.problems)


def test_a_delfor_quantity_without_a_due_date_names_its_segment() -> None:
    text = written(forecast("DELFOR")).replace("DTM+2:20261207:102'\n", "", 1)
    count = int(re.search(r"UNT\+(\d+)\+1'", text).group(1))
    with pytest.raises(ValidationError) as exc:
        parse_document(text.replace(f"UNT+{count}+1'", f"UNT+{count - 1}+1'"), PROFILE)
    assert any("no due date" in p.what and p.where.endswith("(QTY)") for p in exc.value.problems)


SEEDS = [written(forecast(m)) for m in ("DELFOR", "830", "862")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.integers(0, 3000), st.integers(0, 30), st.text(alphabet="*~>+:'?ISAGESTLNFQYDC0123456789 \n", max_size=6))
def test_damaged_forecasts_give_only_typed_errors(seed: str, at: int, cut: int, insert: str) -> None:
    at %= len(seed) + 1
    try:
        parse_document(seed[:at] + insert + seed[at + cut:], PROFILE)
    except ValidationError:
        pass

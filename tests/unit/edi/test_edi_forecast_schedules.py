"""Received forecasts (DELFOR, VDA 4905, X12 830/862) stored as the purchasing side's forecast
schedules: per partner, supplier, item and period, a newer forecast superseding the older one
within its horizon, a replay acknowledged and not applied twice, bad input changing nothing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from edi_factories import ISSUED
from test_edi_forecasts import PROFILE, forecast, written

from jisflow.adapters.edi.documents import forecasts_of, parse_document
from jisflow.bootstrap import bootstrap
from jisflow.domain.errors import ValidationError
from jisflow.domain.forecast import Commitment, ReceivedForecast, ReceivedPeriod, check, supersede
from jisflow.services.clock import SimulatedClock
from jisflow.services.edi import ReceiveForecasts, forecasts

MONDAY = date(2026, 12, 7)
SAMPLE_4905 = Path(__file__).resolve().parents[2] / "data" / "edi" / "4905.edi"


def weeks(first: int, quantities: list[int], firm: int = 1) -> tuple[ReceivedPeriod, ...]:
    return tuple(
        ReceivedPeriod(MONDAY + timedelta(weeks=first + i), q, Commitment.FIRM if i < firm else Commitment.PLANNING)
        for i, q in enumerate(quantities)
    )


def part(periods: tuple[ReceivedPeriod, ...], issued: date = MONDAY, item: str = "SEAT-1", partner: str = "PLANT",
         reference: str = "FC-1", base: int = 0) -> ReceivedForecast:
    return ReceivedForecast("LIN 1", partner, "SITZ", item, "S-1", "DOCK-1", "EA", "DELFOR", reference, issued, periods, base)


@pytest.fixture
def app(uow_factory):
    return bootstrap(uow_factory(), clock=SimulatedClock(ISSUED))


def stored(app) -> list[tuple[str, date, int, int, str]]:
    return [(ln.item, ln.due, ln.quantity, ln.cumulative, ln.reference) for ln in forecasts(app.uow)]


def test_a_forecast_is_stored_per_period_with_cumulative_quantities_and_its_message(app):
    outcome = app.bus.handle(ReceiveForecasts("edifact:PLANT:SITZ:1", (part(weeks(0, [10, 20, 30]), base=100),)))
    lines = forecasts(app.uow)
    assert outcome.details["periods"] == 3
    assert [(ln.due, ln.quantity, ln.cumulative, ln.commitment) for ln in lines] == [
        (MONDAY, 10, 110, Commitment.FIRM), (MONDAY + timedelta(weeks=1), 20, 130, Commitment.PLANNING),
        (MONDAY + timedelta(weeks=2), 30, 160, Commitment.PLANNING),
    ]
    assert {(ln.partner, ln.supplier, ln.unloading_point, ln.message, ln.reference, ln.issued, ln.interchange) for ln in lines} == {
        ("PLANT", "SITZ", "DOCK-1", "DELFOR", "FC-1", MONDAY, "edifact:PLANT:SITZ:1")}


def test_a_newer_forecast_replaces_the_older_within_its_horizon_and_keeps_what_lies_outside(app):
    app.bus.handle(ReceiveForecasts("k1", (part(weeks(0, [10, 20, 30, 40])),)))
    app.bus.handle(ReceiveForecasts("k2", (part(weeks(1, [5, 6]), issued=MONDAY + timedelta(days=1), reference="FC-2"),)))
    assert stored(app) == [
        ("SEAT-1", MONDAY, 10, 10, "FC-1"),
        ("SEAT-1", MONDAY + timedelta(weeks=1), 5, 5, "FC-2"),
        ("SEAT-1", MONDAY + timedelta(weeks=2), 6, 11, "FC-2"),
        ("SEAT-1", MONDAY + timedelta(weeks=3), 40, 100, "FC-1"),
    ]


def test_a_forecast_of_another_partner_or_item_supersedes_nothing(app):
    app.bus.handle(ReceiveForecasts("k1", (part(weeks(0, [10])),)))
    app.bus.handle(ReceiveForecasts("k2", (part(weeks(0, [7]), partner="OTHER"), part(weeks(0, [8]), item="SEAT-2"))))
    assert sorted((ln.partner, ln.item, ln.quantity) for ln in forecasts(app.uow)) == [("OTHER", "SEAT-1", 7), ("PLANT", "SEAT-1", 10), ("PLANT", "SEAT-2", 8)]


def test_an_older_forecast_arriving_late_changes_nothing_and_is_reported_stale(app):
    app.bus.handle(ReceiveForecasts("k1", (part(weeks(0, [10, 20]), issued=MONDAY + timedelta(days=2)),)))
    before = stored(app)
    outcome = app.bus.handle(ReceiveForecasts("k2", (part(weeks(0, [1, 2]), issued=MONDAY, reference="FC-0"),)))
    assert stored(app) == before
    assert outcome.details["stale"] == ["LIN 1"]


def test_a_replayed_interchange_is_acknowledged_and_not_applied_twice(app):
    first = app.bus.handle(ReceiveForecasts("k1", (part(weeks(0, [10, 20])),)))
    app.bus.handle(ReceiveForecasts("k2", (part(weeks(0, [11, 21]), reference="FC-2"),)))
    replay = app.bus.handle(ReceiveForecasts("k1", (part(weeks(0, [10, 20])),)))
    assert first.applied and replay.duplicate and not replay.applied
    assert [q for _, _, q, _, _ in stored(app)] == [11, 21]


def test_a_forecast_with_a_negative_quantity_or_no_supplier_is_refused_whole_and_changes_nothing(app):
    app.bus.handle(ReceiveForecasts("k1", (part(weeks(0, [10])),)))
    before = stored(app)
    bad = (part(weeks(0, [3, -1]), item="SEAT-2"), ReceivedForecast("LIN 9", "PLANT", "", "SEAT-3", None, "", "EA", "DELFOR", "X", None, weeks(0, [1])))
    with pytest.raises(ValidationError) as err:
        app.bus.handle(ReceiveForecasts("k2", bad))
    assert [p.where for p in err.value.problems] == ["LIN 1", "LIN 9"]
    assert "negative" in err.value.problems[0].what and "supplier" in err.value.problems[1].what
    assert stored(app) == before
    assert app.bus.handle(ReceiveForecasts("k2", (part(weeks(0, [4])),))).applied  # the key was not used up


def test_periods_of_the_same_date_are_added_up_and_firm_when_one_of_them_is():
    twice = (ReceivedPeriod(MONDAY, 5, Commitment.PLANNING), ReceivedPeriod(MONDAY, 7, Commitment.FIRM))
    plan = supersede([], [part(twice)], "k", ISSUED)
    assert [(ln.quantity, ln.commitment) for ln in plan.add] == [(12, Commitment.FIRM)]


@pytest.mark.parametrize("message", ["DELFOR", "830", "862"])
def test_a_parsed_schedule_message_becomes_forecasts_of_its_buyer_for_its_seller(message: str):
    key, received = forecasts_of(parse_document(written(forecast(message)), PROFILE))
    f = forecast(message)
    assert key.endswith(":PLANT:SITZ:F1" if message == "DELFOR" else ":PLANT:SITZ:000000011")
    assert [(r.partner, r.supplier, r.item, r.supplier_item, r.unloading_point, r.reference) for r in received] == [
        ("PLANT", "SITZ", p.part_number, p.supplier_part_number, p.unloading_point, "FC-9") for p in f.parts]
    assert [[(q.due, q.quantity, q.commitment.value) for q in r.periods] for r in received] == [
        [(q.due, q.quantity, q.commitment.value) for q in p.periods] for p in f.parts]


def test_a_vda_4905_schedule_counts_on_from_its_cumulative_quantity_and_takes_the_parties_it_leaves_blank():
    doc = parse_document(SAMPLE_4905.read_text(encoding="utf-8"), PROFILE)
    with pytest.raises(ValidationError, match="no sender"):
        check(forecasts_of(doc)[1])
    key, received = forecasts_of(doc, "OEM", "SITZ")
    schedule = doc.content.schedules[0]
    assert key == f"vda4905:OEM:SITZ:{doc.content.transmission_number}"
    assert (received[0].partner, received[0].supplier, received[0].item) == ("OEM", "SITZ", schedule.part_number)
    assert received[0].base_cumulative == schedule.cumulative_quantity
    assert [p.quantity for p in received[0].periods] == [e.quantity for e in schedule.entries]


def test_a_vda_4905_special_date_in_the_header_does_not_become_a_due_date():
    text = SAMPLE_4905.read_text(encoding="utf-8")
    header = text.splitlines()[0]
    doc = parse_document(text.replace(header, header[:33] + "444444" + header[39:], 1), PROFILE)
    assert doc.content.transmission_date == "444444"
    _, received = forecasts_of(doc, "OEM", "SITZ")
    assert all(p.due.year > 2000 for r in received for p in r.periods)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**5), st.integers(0, 30), st.text(max_size=6))
def test_a_damaged_forecast_gives_typed_errors_only(at: int, cut: int, insert: str):
    for seed in (SAMPLE_4905.read_text(encoding="utf-8"), written(forecast("DELFOR"))):
        i = at % (len(seed) + 1)
        try:
            forecasts_of(parse_document(seed[:i] + insert + seed[i + cut:], PROFILE), "OEM", "SITZ")
        except ValidationError:
            pass

"""One entry for any inbound EDI text: recognise the syntax, parse, give typed objects.

``parse_document(text, profile)`` recognises EDIFACT (UNA/UNB), X12 (ISA) and VDA 4905 /
4913 (record types 511 / 711), checks the envelope and reads each message it knows (EDIFACT
DELJIT, DELFOR, DESADV, CONTRL; X12 830, 850, 856, 862, 866, 997); other messages are listed
with their envelope data only. ``to_json`` gives the normalised content printed by
``jisflow edi parse``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jisflow.adapters.edi.contrl import parse_contrl
from jisflow.adapters.edi.deljit import parse_deljit
from jisflow.adapters.edi.delfor import parse_delfor
from jisflow.adapters.edi.desadv import parse_desadv
from jisflow.adapters.edi.edifact import EdifactInterchange, parse_interchange
from jisflow.adapters.edi.forecasts import Forecast
from jisflow.adapters.edi.profiles import PartnerProfile
from jisflow.adapters.edi.segments import DEFAULT_MAX_BYTES
from jisflow.adapters.edi.vda4905 import Vda4905Transmission, parse_vda4905
from jisflow.adapters.edi.vda4913 import parse_vda4913
from jisflow.adapters.edi.x12 import X12Interchange
from jisflow.adapters.edi.x12 import parse_interchange as parse_x12
from jisflow.adapters.edi.x12_850 import parse_850
from jisflow.adapters.edi.x12_856 import parse_856
from jisflow.adapters.edi.x12_866 import parse_866
from jisflow.adapters.edi.x12_997 import parse_997
from jisflow.adapters.edi.x12_schedules import parse_schedule
from jisflow.domain.errors import ProblemCollector, ValidationError
from jisflow.domain.forecast import Commitment as FcCommitment
from jisflow.domain.forecast import ReceivedForecast, ReceivedPeriod

_READERS = {"DELJIT": parse_deljit, "DELFOR": parse_delfor, "DESADV": lambda m, p: parse_desadv(m, p),
            "CONTRL": lambda m, p: parse_contrl(m)}
_X12_READERS = {"850": lambda t, p: parse_850(t), "856": parse_856, "866": parse_866, "997": lambda t, p: parse_997(t),
                "830": lambda t, p: parse_schedule(t), "862": lambda t, p: parse_schedule(t)}


@dataclass(frozen=True)
class ParsedDocument:
    syntax: str  # EDIFACT, X12, VDA4905, VDA4913
    interchange: EdifactInterchange | X12Interchange | None
    messages: tuple[tuple[str, str, Any], ...]  # (type, reference, typed content or None)
    content: Any = None  # the typed VDA transmission


def detect(text: str) -> str:
    head = text.lstrip("\ufeff\r\n\t ")[:3]
    if head in ("UNA", "UNB"):
        return "EDIFACT"
    if head == "ISA":
        return "X12"
    if head == "511":
        return "VDA4905"
    if head == "711":
        return "VDA4913"
    raise ValidationError("unknown EDI syntax: expected an EDIFACT (UNA/UNB) or X12 (ISA) interchange or a VDA 4905/4913 transmission (511/711)")


def parse_document(text: str, profile: PartnerProfile, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedDocument:
    syntax = detect(text)
    if syntax == "VDA4905":
        return ParsedDocument(syntax, None, (), parse_vda4905(text))
    if syntax == "VDA4913":
        return ParsedDocument(syntax, None, (), parse_vda4913(text))
    interchange = parse_x12(text, max_bytes) if syntax == "X12" else parse_interchange(text, max_bytes)
    readers = _X12_READERS if syntax == "X12" else _READERS
    units = interchange.transactions if isinstance(interchange, X12Interchange) else interchange.messages
    problems = []
    messages = []
    for m in units:
        reader = readers.get(m.type)
        try:
            messages.append((m.type, m.reference, reader(m, profile) if reader else None))
        except ValidationError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationError(f"{syntax} interchange {interchange.control_reference} rejected: {len(problems)} problem(s)", problems=problems)
    return ParsedDocument(syntax, interchange, tuple(messages))


def to_json(doc: ParsedDocument) -> dict[str, Any]:
    if doc.interchange is None:
        return {"syntax": doc.syntax, **_plain(doc.content)}
    ic = doc.interchange
    return {
        "syntax": doc.syntax, "sender": ic.sender, "receiver": ic.receiver, "control_reference": ic.control_reference,
        "prepared": ic.prepared,
        "messages": [
            {"type": mtype, "reference": ref, **({} if content is None else _plain(content))}
            for mtype, ref, content in doc.messages
        ],
    }


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "where"}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


FORECAST_MESSAGES = {"DELFOR", "830", "862"}


def forecasts_of(doc: ParsedDocument, partner: str = "", supplier: str = "") -> tuple[str, tuple[ReceivedForecast, ...]]:
    """The idempotency key and the forecasts of a DELFOR / X12 830 or 862 interchange or a VDA
    4905 transmission; a ValidationError names what cannot become a stored forecast.

    ``partner`` and ``supplier`` stand in for a sender or receiver the message leaves blank
    (VDA 4905 customer and supplier numbers are often empty on a file link)."""
    if doc.syntax == "VDA4905":
        return _vda4905_forecasts(doc.content, partner, supplier)
    ic = doc.interchange
    if ic is None:
        raise ValidationError(f"a {doc.syntax} transmission carries no forecast")
    other = sorted({mtype for mtype, _, _ in doc.messages} - FORECAST_MESSAGES)
    if other or not doc.messages:
        raise ValidationError(
            f"interchange {ic.control_reference} holds {', '.join(other) or 'no message'}: "
            "forecasts (DELFOR, 830, 862) travel in interchanges of their own"
        )
    out: list[ReceivedForecast] = []
    for _, _, content in doc.messages:
        fc: Forecast = content
        for part in fc.parts:
            out.append(ReceivedForecast(
                where=f"{fc.message} {fc.number or fc.reference}, {part.where}", partner=fc.buyer or ic.sender or partner,
                supplier=fc.seller or ic.receiver or supplier, item=part.part_number, supplier_item=part.supplier_part_number,
                unloading_point=part.unloading_point, unit=part.unit, message=fc.message, reference=fc.number or fc.reference,
                issued=fc.issued,
                periods=tuple(ReceivedPeriod(p.due, p.quantity, FcCommitment(p.commitment.value)) for p in part.periods),
            ))
    return ic.key, tuple(out)


def _day_or_none(value: str | None) -> date | None:
    """An ISO date; None for none or for a VDA special date code kept as sent."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _vda4905_forecasts(tx: Vda4905Transmission, partner: str, supplier: str) -> tuple[str, tuple[ReceivedForecast, ...]]:
    found = ProblemCollector()
    partner, supplier = tx.customer or partner, tx.supplier or supplier
    out: list[ReceivedForecast] = []
    sent = _day_or_none(tx.transmission_date)
    for s in tx.schedules:
        issued = _day_or_none(s.calloff_date) or sent
        periods = []
        for entry in s.entries:
            due = _day_or_none(entry.due) or issued  # a VDA special date (backlog, immediately): due at once
            if due is None:
                found.add(s.where, f"special date {entry.due} cannot be placed: the schedule has no call-off or transmission date")
                continue
            periods.append(ReceivedPeriod(due, entry.quantity, FcCommitment.PLANNING))
        out.append(ReceivedForecast(
            where=f"VDA 4905 call-off {s.calloff_number}, {s.where}", partner=partner, supplier=supplier, item=s.part_number,
            supplier_item=s.supplier_part_number or None, unloading_point=s.unloading_point, unit=s.unit, message="VDA4905",
            reference=s.calloff_number, issued=issued, periods=tuple(periods), base_cumulative=s.cumulative_quantity,
        ))
    found.raise_if_any(f"VDA 4905 transmission {tx.transmission_number} refused: {len(found.problems)} problem(s)")
    return f"vda4905:{partner}:{supplier}:{tx.transmission_number}", tuple(out)

"""EDIFACT DELFOR delivery schedule (forecast), in and out.

The message, one group per part and per period (the partner profile's quantity qualifier)::

    BGM+241+<schedule number>+9'               DTM+137:<issued CCYYMMDD>:102'
    NAD+BY+<buyer>::92'  NAD+SE+<seller>::92'
    GIS+37'                                    one group per part:
      LOC+11+<unloading point>'
      LIN+++<buyer's part number>:IN'  PIA+1+<supplier's part number>:SA'
      SCC+1'  QTY+113:<quantity>:PCE'  DTM+2:<due CCYYMMDD>:102'    SCC 1 firm, 4 planning

SCC sets the commitment of the periods after it; a QTY opens a period, the next DTM+2 (or
DTM+10 ship by) gives its day. Dates are read in formats 102, 203 and 204 (the day counts).
"""

from __future__ import annotations

from datetime import date

from jisflow.adapters.edi.edifact import EdifactMessage, OutboundMessage
from jisflow.adapters.edi.forecasts import Commitment, Forecast, ForecastPeriod, PartForecast
from jisflow.adapters.edi.profiles import PartnerProfile
from jisflow.adapters.edi.segments import Reader, Segment

_SCC = {"1": Commitment.FIRM, "4": Commitment.PLANNING}
_FORMATS = {"102": ("%Y%m%d", 8), "203": ("%Y%m%d%H%M", 12), "204": ("%Y%m%d%H%M%S", 14)}


def _day(r: Reader, seg: Segment, name: str) -> date | None:
    fmt = _FORMATS.get(seg.get(1, 2) or "102")
    if fmt is None:
        r.add(seg.where, f"{name}: date format {seg.get(1, 2)!r} is not one of {', '.join(_FORMATS)}")
        return None
    t = r.timestamp(seg, seg.get(1, 1), fmt[0], name, None)
    return t.date() if t else None


def parse_delfor(message: EdifactMessage, profile: PartnerProfile) -> Forecast:
    r = Reader()
    number = buyer = seller = unloading_point = ""
    issued = None
    parts: list[dict] = []
    commitment = Commitment.PLANNING
    open_period: dict | None = None
    for seg in message.body:
        if seg.tag == "BGM":
            number = seg.get(2)
        elif seg.tag == "DTM" and seg.get(1, 0) == "137" and not parts:
            issued = _day(r, seg, "document date")
        elif seg.tag == "NAD" and seg.get(1) == "BY":
            buyer = seg.get(2, 0)
        elif seg.tag == "NAD" and seg.get(1) in ("SE", "SU"):
            seller = seg.get(2, 0)
        elif seg.tag == "LOC" and seg.get(1) == profile.unloading_point_qualifier:
            unloading_point = seg.get(2, 0)
        elif seg.tag == "LIN":
            open_period = None
            parts.append(dict(where=seg.where, part_number=r.required(seg, 3, 0, "part number"), supplier_part_number=None,
                              unloading_point=unloading_point, unit="", periods=[]))
        elif not parts:
            continue
        elif seg.tag == "PIA":
            for element in seg.elements[1:]:
                if len(element) > 1 and element[1] == "SA":
                    parts[-1]["supplier_part_number"] = element[0] or None
        elif seg.tag == "SCC":
            commitment = _SCC.get(seg.get(1), commitment)
            if seg.get(1) not in _SCC:
                r.add(seg.where, f"commitment level {seg.get(1)!r} is neither 1 (firm) nor 4 (planning)")
        elif seg.tag == "QTY" and seg.get(1, 0) == profile.quantity_qualifier:
            text = r.required(seg, 1, 1, "quantity")
            open_period = dict(where=seg.where, due=None, quantity=r.integer(seg, text, "quantity") if text else 0, commitment=commitment)
            parts[-1]["unit"] = parts[-1]["unit"] or seg.get(1, 2)
            parts[-1]["periods"].append(open_period)
        elif seg.tag == "DTM" and seg.get(1, 0) in ("2", "10") and open_period is not None and open_period["due"] is None:
            open_period["due"] = _day(r, seg, "due date")
    for part in parts:
        for period in part["periods"]:
            if period["due"] is None and not any(p.where == period["where"] for p in r.found.problems):
                r.add(period["where"], "the quantity has no due date (DTM+2 or DTM+10)")
    if not parts:
        r.add(f"message {message.reference} (DELFOR)", "no part (LIN)")
    r.raise_if_any(f"DELFOR {number or message.reference} rejected")
    return Forecast("DELFOR", message.reference, number, issued, buyer, seller, tuple(
        PartForecast(p["where"], p["part_number"], p["supplier_part_number"], p["unloading_point"], p["unit"],
                     tuple(ForecastPeriod(**q) for q in p["periods"])) for p in parts))


def delfor_message(forecast: Forecast, profile: PartnerProfile) -> OutboundMessage:
    """A DELFOR with the forecast's parts and periods (commitment written before each period)."""
    scc = {level: code for code, level in _SCC.items()}
    body: list[tuple[str, tuple]] = [("BGM", ("241", forecast.number, "9"))]
    if forecast.issued is not None:
        body.append(("DTM", (("137", forecast.issued.strftime("%Y%m%d"), "102"),)))
    body += [("NAD", ("BY", (forecast.buyer, "", "92"))), ("NAD", ("SE", (forecast.seller, "", "92"))), ("GIS", ("37",))]
    for part in forecast.parts:
        body += [("LOC", (profile.unloading_point_qualifier, part.unloading_point)), ("LIN", ("", "", (part.part_number, "IN")))]
        if part.supplier_part_number:
            body.append(("PIA", ("1", (part.supplier_part_number, "SA"))))
        for period in part.periods:
            body += [("SCC", (scc[period.commitment],)),
                     ("QTY", ((profile.quantity_qualifier, str(period.quantity), part.unit),)),
                     ("DTM", (("2", period.due.strftime("%Y%m%d"), "102"),))]
    return OutboundMessage(forecast.reference, "DELFOR", profile.directory, profile.release, profile.agency, profile.association,
                           tuple(body))


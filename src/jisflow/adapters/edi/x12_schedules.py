"""X12 830 planning schedule and 862 shipping schedule, in and out.

Both carry, per part, dated quantities in FST segments; they differ in the beginning
segment (830: BFR, 862: BSS) and in intent (830 forecasts, 862 releases against it)::

    BFR*00*<schedule number>**DL*A*<first day>*<last day>*<issued>~     (862: BSS*00*<number>*<issued>*DL*<first>*<last>~)
    N1*BY*<buyer>*92*<buyer>~  N1*SU*<seller>*92*<seller>~
    LIN**BP*<buyer's part number>*VP*<supplier's part number>~  UIT*<unit>~
      N1*ST*<unloading point>*92*<unloading point>~   (the part's ship-to: its unloading point)
      FST*<quantity>*C|D*D*<due CCYYMMDD>~           FST02 C firm, D planning

A header ``N1*ST`` applies to every part that has none of its own.
"""

from __future__ import annotations

from datetime import date

from jisflow.adapters.edi.forecasts import Commitment, Forecast, ForecastPeriod, PartForecast
from jisflow.adapters.edi.segments import Reader, Segment
from jisflow.adapters.edi.x12 import OutboundTransaction, X12Transaction

_FST = {"C": Commitment.FIRM, "D": Commitment.PLANNING}


def _day(r: Reader, seg: Segment, text: str, name: str) -> date | None:
    t = r.timestamp(seg, text, "%Y%m%d", name, None)
    return t.date() if t else None


def parse_schedule(transaction: X12Transaction) -> Forecast:
    """An 830 or 862 as a forecast; every problem names its segment."""
    r = Reader()
    kind = transaction.type
    number = buyer = seller = header_unloading_point = ""
    issued = None
    parts: list[dict] = []
    for seg in transaction.body:
        if seg.tag == "BFR" and kind == "830":
            number = r.required(seg, 2, 0, "BFR02 schedule number")
            issued = _day(r, seg, seg.get(8), "BFR08 issue date") if seg.get(8) else None
        elif seg.tag == "BSS" and kind == "862":
            number = r.required(seg, 2, 0, "BSS02 schedule number")
            issued = _day(r, seg, seg.get(3), "BSS03 issue date") if seg.get(3) else None
        elif seg.tag == "N1" and seg.get(1) == "BY":
            buyer = seg.get(4) or seg.get(2)
        elif seg.tag == "N1" and seg.get(1) in ("SU", "SE"):
            seller = seg.get(4) or seg.get(2)
        elif seg.tag == "N1" and seg.get(1) == "ST":
            if parts:
                parts[-1]["unloading_point"] = seg.get(4) or seg.get(2)
            else:
                header_unloading_point = seg.get(4) or seg.get(2)
        elif seg.tag == "LIN":
            ids = {seg.get(i): seg.get(i + 1) for i in range(2, len(seg.elements), 2)}
            if not ids.get("BP"):
                r.add(seg.where, "the part has no buyer's part number (BP)")
            parts.append(dict(where=seg.where, part_number=ids.get("BP", ""), supplier_part_number=ids.get("VP") or None,
                              unloading_point=None, unit="", periods=[]))
        elif not parts:
            continue
        elif seg.tag == "UIT":
            parts[-1]["unit"] = seg.get(1)
        elif seg.tag == "FST":
            text = r.required(seg, 1, 0, "FST01 quantity")
            if seg.get(2) not in _FST:
                r.add(seg.where, f"FST02 forecast qualifier {seg.get(2)!r} is neither C (firm) nor D (planning)")
            due = _day(r, seg, seg.get(4), "FST04 due date")
            quantity = r.integer(seg, text, "FST01 quantity") if text else 0
            if due is not None and seg.get(2) in _FST:
                parts[-1]["periods"].append(ForecastPeriod(seg.where, due, quantity, _FST[seg.get(2)]))
    if not parts:
        r.add(f"transaction set {transaction.control_number} ({kind})", "no part (LIN)")
    r.raise_if_any(f"{kind} {number or transaction.control_number} rejected")
    return Forecast(kind, transaction.control_number, number, issued, buyer, seller, tuple(
        PartForecast(p["where"], p["part_number"], p["supplier_part_number"], p["unloading_point"] or header_unloading_point,
                     p["unit"], tuple(p["periods"])) for p in parts))


def schedule_transaction(forecast: Forecast) -> OutboundTransaction:
    """The 830 or 862 (``forecast.message``) for a forecast."""
    codes = {level: code for code, level in _FST.items()}
    days = [p.due for part in forecast.parts for p in part.periods]
    first, last = (min(days).strftime("%Y%m%d"), max(days).strftime("%Y%m%d")) if days else ("", "")
    issued = forecast.issued.strftime("%Y%m%d") if forecast.issued else ""
    if forecast.message == "830":
        head: tuple[str, tuple] = ("BFR", ("00", forecast.number, "", "DL", "A", first, last, issued))
    else:
        head = ("BSS", ("00", forecast.number, issued, "DL", first, last))
    body: list[tuple[str, tuple]] = [head, ("N1", ("BY", forecast.buyer, "92", forecast.buyer)),
                                     ("N1", ("SU", forecast.seller, "92", forecast.seller))]
    for part in forecast.parts:
        body.append(("LIN", ("", "BP", part.part_number) + (("VP", part.supplier_part_number) if part.supplier_part_number else ())))
        if part.unit:
            body.append(("UIT", (part.unit,)))
        body.append(("N1", ("ST", part.unloading_point, "92", part.unloading_point)))
        body += [("FST", (str(p.quantity), codes[p.commitment], "D", p.due.strftime("%Y%m%d"))) for p in part.periods]
    return OutboundTransaction(forecast.message, forecast.reference, tuple(body))

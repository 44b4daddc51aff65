"""EDIFACT DESADV: despatch advice with the sequence references a JIS receiver needs.

Reading follows the packaging hierarchy (CPS/PAC/GIN): each LIN is a line item whose package
is the last package identifier (GIN) seen in its CPS level, with its despatch quantity
(QTY+12). Writing puts each call-off line in its own CPS level, in sequence::

    BGM+351+<despatch number>+9'  DTM+137:<despatched>:204'  NAD+SE+<supplier>::92'
    LOC+11+<unloading point>'
    CPS+<n>+1'  GIN+ML+<rack id>'
      LIN+<n>++<part>:IN'  QTY+12:<quantity>:PCE'
      GIR+3+<VIN>:VV+<order id>:BN+<sequence number>:SQ+<rack slot>:RS'
      RFF+AAN:<call-off number>'  LOC+159+<line>+<station>'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from jisflow.adapters.edi.despatch_lines import DespatchLine, line_being_read
from jisflow.adapters.edi.edifact import EdifactMessage, OutboundMessage
from jisflow.adapters.edi.profiles import PartnerProfile
from jisflow.adapters.edi.segments import Reader
from jisflow.domain.calloff import CallOffLine


@dataclass(frozen=True)
class DespatchAdvice:
    reference: str
    number: str
    despatched_at: datetime | None
    supplier: str
    unloading_point: str
    items: tuple[DespatchLine, ...]


def parse_desadv(message: EdifactMessage, profile: PartnerProfile) -> DespatchAdvice:
    r = Reader()
    number = supplier = unloading_point = ""
    despatched_at = None
    items: list[dict] = []
    package: str | None = None
    for seg in message.body:
        if seg.tag == "BGM":
            number = seg.get(2)
        elif seg.tag == "DTM" and seg.get(1, 0) == "137" and seg.get(1, 2) in ("203", "204"):
            fmt = "%Y%m%d%H%M" if seg.get(1, 2) == "203" else "%Y%m%d%H%M%S"
            despatched_at = r.timestamp(seg, seg.get(1, 1), fmt, "despatch time", profile.zone)
        elif seg.tag == "NAD" and seg.get(1) in ("SE", "SU"):
            supplier = seg.get(2, 0)
        elif seg.tag == "LOC" and seg.get(1) == "11" and not items:
            unloading_point = seg.get(2, 0)
        elif seg.tag == "CPS":
            package = None
        elif seg.tag == "GIN" and seg.get(1) == "ML":
            package = seg.get(2, 0) or package
        elif seg.tag == "LIN":
            items.append(line_being_read(seg.where, r.required(seg, 3, 0, "part number"), package))
        elif not items:
            continue
        elif seg.tag == "PIA":
            for element in seg.elements[1:]:
                if len(element) > 1 and element[1] == "SA":
                    items[-1]["supplier_part_number"] = element[0] or None
        elif seg.tag == "QTY" and seg.get(1, 0) == "12":
            text = r.required(seg, 1, 1, "despatch quantity")
            items[-1]["quantity"] = r.integer(seg, text, "despatch quantity") if text else None
        elif seg.tag == "GIR":
            for value, qualifier, *_ in (e + ("",) for e in seg.elements[1:]):
                if qualifier == "VV":
                    items[-1]["vin"] = value or None
                elif qualifier == "BN":
                    items[-1]["order_id"] = value or None
                elif qualifier in ("SQ", "RS"):
                    key = "sequence_number" if qualifier == "SQ" else "rack_slot"
                    items[-1][key] = r.integer(seg, value, key.replace("_", " "))
        elif seg.tag == "RFF" and seg.get(1, 0) in ("AAN", "ON"):
            items[-1]["calloff_number"] = seg.get(1, 1) or None
        elif seg.tag == "LOC" and seg.get(1) == "159":
            items[-1]["line"], items[-1]["station"] = seg.get(2, 0) or None, seg.get(3, 0) or None
    for item in items:
        if item["quantity"] is None:
            r.add(item["where"], "the line item has no despatch quantity (QTY+12)")
    if not items:
        r.add(f"message {message.reference} (DESADV)", "no line item (LIN)")
    r.raise_if_any(f"DESADV {number or message.reference} rejected")
    return DespatchAdvice(message.reference, number, despatched_at, supplier, unloading_point,
                          tuple(DespatchLine(**item) for item in items))


def desadv_message(number: str, lines: Sequence[CallOffLine], rack: str, despatched_at: datetime,
                   profile: PartnerProfile, reference: str = "1") -> OutboundMessage:
    """A DESADV for call-off lines packed in one sequence rack: slot k holds the k-th line."""
    ordered = sorted(lines, key=lambda ln: (ln.seq_no, ln.family))
    return desadv_packed(number, [(rack, slot, ln) for slot, ln in enumerate(ordered, start=1)], despatched_at, profile, reference)


def desadv_packed(number: str, packed: Sequence[tuple[str, int, CallOffLine]], despatched_at: datetime,
                  profile: PartnerProfile, reference: str = "1") -> OutboundMessage:
    """A DESADV for call-off lines packed in sequence racks, each given as (rack id, slot, line),
    in unloading order: one CPS level per line."""
    first = packed[0][2]
    body: list[tuple[str, tuple]] = [
        ("BGM", ("351", number, "9")),
        ("DTM", (("137", despatched_at.astimezone(profile.zone).strftime("%Y%m%d%H%M%S"), "204"),)),
        ("NAD", ("SE", (first.supplier, "", "92"))),
        ("LOC", ("11", first.unloading_point)),
    ]
    for n, (rack, slot, ln) in enumerate(packed, start=1):
        gir = ["3"] + ([(ln.vin, "VV")] if ln.vin else []) + [(ln.order_id, "BN"), (str(ln.seq_no), "SQ"), (str(slot), "RS")]
        body += [
            ("CPS", (str(n), "1")),
            ("GIN", ("ML", rack)),
            ("LIN", (str(n), "", (ln.part_number, "IN"))),
            ("QTY", (("12", str(ln.quantity), "PCE"),)),
            ("GIR", tuple(gir)),
            ("RFF", (("AAN", ln.number),)),
            ("LOC", ("159", ln.line, ln.station) if ln.station else ("159", ln.line)),
        ]
    return OutboundMessage(reference, "DESADV", profile.directory, profile.release, profile.agency, profile.association, tuple(body))

"""EDIFACT DELJIT as a JIS call-off (VDA 4986 / Odette SYNCRO style), in and out.

The message, with the qualifiers of the partner profile (default profile shown)::

    BGM+30+<call-off number>+9'                 document
    DTM+137:<issued>:204'                       document date
    RFF+AAN:<call-off number>'                  call-off number
    NAD+BY+<plant>::92'  NAD+SE+<supplier>::92' parties
    LOC+11+<unloading point>'                   unloading point of the call-off
    SEQ+1+<sequence number>:<source DE 1159>'   one group per call-off line, in sequence
      DTM+2:<need time>:204'  DTM+10:<ship by>:204'
      GIR+3+<VIN>:VV+<order id>:BN+<family>:ML' vehicle: VIN, production number, module
      LOC+159+<line>+<station>'                 line, with the station as related location
      LIN+<item>++<buyer's part number>:IN'     PIA+1+<supplier's part number>:SA'
      QTY+113:<quantity>:PCE'

Times are written in the partner's time zone (DTM carries no offset) and read back as aware
datetimes in that zone. With ``sequence.number: rolling_no`` the SEQ carries the rolling
number only; the receiver then numbers the lines on from its own last number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from jisflow.adapters.edi.edifact import EdifactInterchange, EdifactMessage, OutboundMessage, serialize_interchange
from jisflow.adapters.edi.profiles import PartnerProfile
from jisflow.adapters.edi.segments import Reader, Segment
from jisflow.domain.calloff import CallOff, CallOffLine
from jisflow.domain.errors import Problem, ValidationError
from jisflow.services.edi import ReceivedCallOff, ReceivedCallOffLine


@dataclass(frozen=True)
class JisLine:
    """One line of a sequenced call-off as the message carries it."""

    where: str
    sequence_number: int
    sequence_source: str
    seq_no: int | None  # the line's internal number when the partner sends it
    rolling_no: int
    vin: str | None
    order_id: str | None
    module: str | None
    part_number: str
    supplier_part_number: str | None
    quantity: int
    required_at: datetime
    ship_by: datetime | None
    unloading_point: str
    line: str | None
    station: str | None


@dataclass(frozen=True)
class JisCallOffMessage:
    reference: str
    number: str
    issued_at: datetime | None
    buyer: str
    supplier: str
    unloading_point: str
    lines: tuple[JisLine, ...]


# --------------------------------------------------------------------------- reading
def parse_deljit(message: EdifactMessage, profile: PartnerProfile) -> JisCallOffMessage:
    """Read one DELJIT; every problem names its segment, all are raised together."""
    r = Reader()
    p = profile
    number = ""
    issued_at = None
    buyer = supplier = unloading_point = ""
    groups: list[list[Segment]] = []
    for seg in message.body:
        if seg.tag == "SEQ":
            groups.append([seg])
        elif groups:
            groups[-1].append(seg)
        elif seg.tag == "BGM":
            number = number or seg.get(2)
        elif seg.tag == "RFF" and seg.get(1, 0) == p.calloff_reference_qualifier:
            number = seg.get(1, 1) or number
        elif seg.tag == "DTM" and seg.get(1, 0) == p.document_date_qualifier:
            issued_at = _time(r, seg, p)
        elif seg.tag == "NAD":
            if seg.get(1) == "BY":
                buyer = seg.get(2, 0)
            elif seg.get(1) in ("SE", "SU"):
                supplier = seg.get(2, 0)
        elif seg.tag == "LOC" and seg.get(1) == p.unloading_point_qualifier:
            unloading_point = seg.get(2, 0)
    where = f"message {message.reference} (DELJIT)"
    if not number:
        r.add(where, f"no call-off number (BGM document number or RFF+{p.calloff_reference_qualifier})")
    if not groups:
        r.add(where, "no SEQ group: a JIS call-off has at least one sequenced line")
    lines = [line for group in groups if (line := _line(r, group, p, unloading_point)) is not None]
    r.raise_if_any(f"DELJIT {number or message.reference} rejected")
    return JisCallOffMessage(message.reference, number, issued_at, buyer, supplier, unloading_point, tuple(lines))


def _time(r: Reader, seg: Segment, p: PartnerProfile) -> datetime | None:
    fmt = seg.get(1, 2) or p.time_format
    if fmt not in ("203", "204"):
        r.add(seg.where, f"DTM format {fmt!r} is not supported (203 or 204)")
        return None
    return r.timestamp(seg, seg.get(1, 1), "%Y%m%d%H%M" if fmt == "203" else "%Y%m%d%H%M%S", "time", p.zone)


def _line(r: Reader, group: list[Segment], p: PartnerProfile, header_unloading_point: str) -> JisLine | None:
    seq = group[0]
    number_text = r.required(seq, 2, 0, "sequence number")
    sequence_number = r.integer(seq, number_text, "sequence number") if number_text else 0
    source = seq.get(2, 1)
    required_at = ship_by = None
    vin = order_id = module = line = station = supplier_part = None
    part = ""
    quantity: int | None = None
    unloading_point = header_unloading_point
    for seg in group[1:]:
        if seg.tag == "DTM" and seg.get(1, 0) == p.need_time_qualifier:
            required_at = _time(r, seg, p)
        elif seg.tag == "DTM" and seg.get(1, 0) == p.ship_by_qualifier:
            ship_by = _time(r, seg, p)
        elif seg.tag == "GIR":
            for value, qualifier, *_ in (e + ("",) for e in seg.elements[1:]):
                if qualifier == p.vin_qualifier:
                    vin = value or None
                elif qualifier == p.production_number_qualifier:
                    order_id = value or None
                elif qualifier == p.module_qualifier:
                    module = value or None
        elif seg.tag == "LOC" and seg.get(1) == p.station_qualifier:
            line, station = seg.get(2, 0) or None, seg.get(3, 0) or None
        elif seg.tag == "LOC" and seg.get(1) == p.unloading_point_qualifier:
            unloading_point = seg.get(2, 0)
        elif seg.tag == "LIN":
            if part:
                r.add(seg.where, "a second LIN in one SEQ group: a JIS line calls off one part")
            part = r.required(seg, 3, 0, "part number")
        elif seg.tag == "PIA":
            for element in seg.elements[1:]:
                if len(element) > 1 and element[1] == "SA":
                    supplier_part = element[0] or None
        elif seg.tag == "QTY" and seg.get(1, 0) == p.quantity_qualifier:
            text = r.required(seg, 1, 1, "quantity")
            quantity = r.integer(seg, text, "quantity", minimum=1) if text else None
    if not part:
        r.add(seq.where, "the sequenced line has no LIN with a part number")
    if quantity is None:
        r.add(seq.where, f"the sequenced line has no QTY+{p.quantity_qualifier}")
    if required_at is None:
        r.add(seq.where, f"the sequenced line has no need time (DTM+{p.need_time_qualifier})")
    if not unloading_point:
        r.add(seq.where, f"no unloading point (LOC+{p.unloading_point_qualifier})")
    if not part or quantity is None or required_at is None:
        return None
    modulus = 10**p.rolling_digits
    seq_no = sequence_number if p.sequence_number == "seq_no" else None
    rolling = sequence_number % modulus if seq_no is not None else sequence_number
    if seq_no is None and sequence_number >= modulus:
        r.add(seq.where, f"rolling number {sequence_number} has more than {p.rolling_digits} digits")
    return JisLine(seq.where, sequence_number, source, seq_no, rolling, vin, order_id, module, part, supplier_part,
                   quantity, required_at, ship_by, unloading_point, line, station)


def received_calloffs(interchange: EdifactInterchange, profile: PartnerProfile) -> tuple[ReceivedCallOff, ...]:
    """The DELJITs of an interchange as call-offs for the receiving (supplier) side.

    Mapping: the call-off number is the key; the line is LOC station C517 (else the buyer);
    the vehicle's order id is the GIR production number (else its VIN); the family is the GIR
    module (else the part number); a missing ship-by time is the need time."""
    r = Reader()
    found = []
    for message in interchange.messages:
        if message.type != "DELJIT":
            r.add(message.header.where, f"a {message.type} message where DELJIT was expected")
            continue
        try:
            m = parse_deljit(message, profile)
        except ValidationError as exc:  # collect the problems of every message, then raise once
            r.found.problems.extend(exc.problems or [Problem(message.header.where, exc.message)])
            continue
        lines = []
        for ln in m.lines:
            order_id = ln.order_id or ln.vin
            if not order_id:
                r.add(ln.where, f"the line has neither a production number (GIR {profile.production_number_qualifier}) nor a VIN")
                continue
            lines.append(ReceivedCallOffLine(
                order_id=order_id, family=ln.module or ln.part_number, seq_no=ln.seq_no, rolling_no=ln.rolling_no,
                vin=ln.vin, part_number=ln.part_number, quantity=ln.quantity, station=ln.station or "",
                need_time=ln.required_at.astimezone(timezone.utc),
                ship_by=(ln.ship_by or ln.required_at).astimezone(timezone.utc),
            ))
        line_codes = {ln.line for ln in m.lines if ln.line}
        if len(line_codes) > 1:
            r.add(message.header.where, f"call-off {m.number} spans several lines ({', '.join(sorted(line_codes))})")
        issued = (m.issued_at or min(ln.required_at for ln in m.lines)).astimezone(timezone.utc)
        found.append(ReceivedCallOff(
            number=m.number, supplier=m.supplier or interchange.receiver, unloading_point=m.unloading_point or m.lines[0].unloading_point,
            line=next(iter(line_codes), m.buyer or interchange.sender), issued_at=issued, rolling_modulus=10**profile.rolling_digits,
            lines=tuple(lines),
        ))
    r.raise_if_any(f"interchange {interchange.control_reference} rejected")
    return tuple(found)


# --------------------------------------------------------------------------- writing
def _dtm(qualifier: str, t: datetime, p: PartnerProfile) -> tuple[str, tuple[tuple[str, ...]]]:
    return ("DTM", ((qualifier, t.astimezone(p.zone).strftime(p.strftime), p.time_format),))


def deljit_message(calloff: CallOff, profile: PartnerProfile, reference: str = "1", buyer: str = "") -> OutboundMessage:
    """The DELJIT of a stored call-off: its live lines in sequence order."""
    p = profile
    body: list[tuple[str, tuple]] = [
        ("BGM", ("30", calloff.number, "9")),
        _dtm(p.document_date_qualifier, calloff.issued_at, p),
        ("RFF", ((p.calloff_reference_qualifier, calloff.number),)),
    ]
    if buyer:
        body.append(("NAD", ("BY", (buyer, "", "92"))))
    body.append(("NAD", ("SE", (calloff.supplier, "", "92"))))
    body.append(("LOC", (p.unloading_point_qualifier, calloff.unloading_point)))
    lines: Sequence[CallOffLine] = sorted((ln for ln in calloff.lines if ln.live), key=lambda ln: (ln.seq_no, ln.family))
    for item, ln in enumerate(lines, start=1):
        number = ln.seq_no if p.sequence_number == "seq_no" else ln.seq_no % 10**p.rolling_digits
        gir = [p.gir_set_qualifier] + ([(ln.vin, p.vin_qualifier)] if ln.vin else []) + [
            (ln.order_id, p.production_number_qualifier), (ln.family, p.module_qualifier)]
        body += [
            ("SEQ", ("1", (str(number), p.sequence_source))),
            _dtm(p.need_time_qualifier, ln.need_time, p),
            _dtm(p.ship_by_qualifier, ln.ship_by, p),
            ("GIR", tuple(gir)),
            ("LOC", (p.station_qualifier, ln.line, ln.station)),
            ("LIN", (str(item), "", (ln.part_number, "IN"))),
            ("QTY", ((p.quantity_qualifier, str(ln.quantity), "PCE"),)),
        ]
    return OutboundMessage(reference, "DELJIT", p.directory, p.release, p.agency, p.association, tuple(body))


def control_reference_for(number: str) -> str:
    """A stable interchange reference for a call-off (at most 14 characters): sending the same
    call-off again gives the same reference, so the receiver acknowledges it as a replay."""
    tail = number.removeprefix("CO-")
    return (tail if tail.isalnum() else "".join(ch for ch in tail if ch.isalnum()) or "1")[-14:]


def deljit_interchange(calloffs: Sequence[CallOff], profile: PartnerProfile, sender: str, receiver: str,
                       control_reference: str, prepared: datetime, buyer: str = "") -> str:
    messages = [deljit_message(co, profile, str(i), buyer or sender) for i, co in enumerate(calloffs, start=1)]
    local = prepared.astimezone(profile.zone)
    return serialize_interchange(sender, receiver, control_reference, (local.strftime("%y%m%d"), local.strftime("%H%M")), messages)

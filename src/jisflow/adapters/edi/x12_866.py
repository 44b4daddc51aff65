"""X12 866 production sequence: the plant's order of vehicles, into a line's pearl chain.

The transaction set, with the qualifiers of the partner profile's ``x12_866`` section
(:class:`~jisflow.adapters.edi.profiles.SequenceMapping`, defaults shown)::

    BSS*00*<schedule number>*<issued CCYYMMDD>*BB*<first day>*<last day>~
    N1*ST*<line name>*92*<line code>~               the line whose chain the sequence extends
    DTM*118*<CCYYMMDD>*<HHMMSS>~                    one group per vehicle, in sequence: need time
    LIN*<sequence number>*ON*<order id>*VV*<VIN>*MO*<model>~
    REF*TR*<code>~  REF*ZZ*<code>*<option key>~     the vehicle's options

LIN01 carries the line's sequence number, or the rolling number when the partner profile says
``sequence.number: rolling_no`` (the chain then numbers on from its last vehicle). An option
travels in a REF whose qualifier the profile names (``TR`` trim, ``RF`` roof, ``CL`` colour)
or, for any other key, as ``REF*ZZ*<code>*<key>``; REFs with other qualifiers are not options
and are skipped. Times are local to the partner profile's time zone (DTM carries none). A
vehicle's VIN, order id and options are checked as the pearl chain checks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from jisflow.adapters.edi.profiles import GENERIC_OPTION, PartnerProfile, SequenceMapping
from jisflow.adapters.edi.segments import Reader
from jisflow.adapters.edi.x12 import OutboundTransaction, X12Interchange, X12Transaction
from jisflow.domain.errors import ValidationError
from jisflow.domain.sequence import Vehicle
from jisflow.services.commands import SequenceRow


@dataclass(frozen=True)
class SequencedVehicle:
    where: str
    sequence_number: int
    order_id: str
    vin: str | None
    model: str
    options: Mapping[str, str]
    required_at: datetime | None


@dataclass(frozen=True)
class ProductionSequence:
    reference: str
    number: str
    issued: str  # BSS03 CCYYMMDD as sent
    line: str
    vehicles: tuple[SequencedVehicle, ...]


def parse_866(transaction: X12Transaction, profile: PartnerProfile, mapping: SequenceMapping | None = None) -> ProductionSequence:
    mapping = mapping or profile.x12_866
    r = Reader()
    number = issued = line = ""
    need: datetime | None = None
    vehicles: list[dict] = []
    for seg in transaction.body:
        if seg.tag == "BSS":
            number, issued = r.required(seg, 2, 0, "BSS02 schedule number"), seg.get(3)
        elif seg.tag == "N1" and seg.get(1) == mapping.line_party:
            line = r.required(seg, 4, 0, "N104 line code")
        elif seg.tag == "DTM" and seg.get(1) == mapping.need_time:
            clock = seg.get(3)
            fmt = "%Y%m%d%H%M%S" if len(clock) == 6 else "%Y%m%d%H%M"
            need = r.timestamp(seg, seg.get(2) + clock, fmt, "need time", profile.zone)
        elif seg.tag == "LIN":
            ids = {seg.get(i): seg.get(i + 1) for i in range(2, len(seg.elements), 2)}
            vehicles.append(dict(
                where=seg.where, sequence_number=r.integer(seg, r.required(seg, 1, 0, "LIN01 sequence number"), "LIN01 sequence number", 1),
                order_id=ids.get(mapping.order_id, ""), vin=ids.get(mapping.vin) or None, model=ids.get(mapping.model, ""),
                options={}, required_at=need,
            ))
            for qualifier, name in ((mapping.order_id, "order id"), (mapping.model, "model")):
                if not ids.get(qualifier):
                    r.add(seg.where, f"the vehicle has no {name} (product id qualifier {qualifier})")
            need = None
        elif seg.tag == "REF" and vehicles:
            key = seg.get(3) if seg.get(1) == GENERIC_OPTION else mapping.options.get(seg.get(1))
            if key:
                vehicles[-1]["options"][key] = r.required(seg, 2, 0, f"REF02 code of option {key}")
    if not line:
        r.add(f"transaction set {transaction.control_number} (866)", f"no N1*{mapping.line_party} segment naming the line (N104)")
    if not vehicles:
        r.add(f"transaction set {transaction.control_number} (866)", "no vehicle (LIN)")
    r.raise_if_any(f"866 {number or transaction.control_number} rejected")
    return ProductionSequence(transaction.control_number, number, issued, line, tuple(
        SequencedVehicle(**{**v, "options": MappingProxyType(v["options"])}) for v in vehicles))


def sequence_rows(interchange: X12Interchange, profile: PartnerProfile,
                  mapping: SequenceMapping | None = None) -> tuple[str, tuple[SequenceRow, ...]]:
    """The line and the pearl-chain rows of every 866 of an interchange (one line per interchange)."""
    r = Reader()
    sequences = []
    for t in interchange.transactions:
        if t.type != "866":
            r.add(t.header.where, f"transaction set {t.type} cannot be imported; only 866 production sequences are")
            continue
        try:
            sequences.append(parse_866(t, profile, mapping))
        except ValidationError as exc:
            r.found.problems.extend(exc.problems)
    lines = sorted({s.line for s in sequences})
    if len(lines) > 1:
        r.add(f"interchange {interchange.control_reference}", f"its sequences are for several lines ({', '.join(lines)}): send one line per interchange")
    if not interchange.transactions:
        r.add(f"interchange {interchange.control_reference}", "it holds no transaction set")
    rows = []
    rolling = profile.sequence_number == "rolling_no"
    for s in sequences:
        for v in s.vehicles:
            try:
                vehicle = Vehicle(v.order_id, v.model, dict(v.options), v.vin)
            except ValidationError as exc:
                r.found.problems.extend(type(p)(f"{v.where}: {p.where}", p.what) for p in exc.problems)
                continue
            number = {"rolling_no": v.sequence_number} if rolling else {"seq_no": v.sequence_number}
            rows.append(SequenceRow(v.where, vehicle, **number))
    r.raise_if_any(f"866 interchange {interchange.control_reference} rejected")
    return lines[0], tuple(rows)


def sequence_866(sequence: ProductionSequence, profile: PartnerProfile, mapping: SequenceMapping | None = None,
                 line_name: str = "") -> OutboundTransaction:
    """The 866 transaction set for a production sequence (need times in the partner's zone)."""
    mapping = mapping or profile.x12_866
    times = [v.required_at.astimezone(profile.zone) for v in sequence.vehicles if v.required_at]
    days = (min(times).strftime("%Y%m%d"), max(times).strftime("%Y%m%d")) if times else ("", "")
    body: list[tuple[str, tuple]] = [
        ("BSS", ("00", sequence.number, sequence.issued, "BB", *days)),
        ("N1", (mapping.line_party, line_name or sequence.line, "92", sequence.line)),
    ]
    for v in sequence.vehicles:
        if v.required_at is not None:
            local = v.required_at.astimezone(profile.zone)
            body.append(("DTM", (mapping.need_time, local.strftime("%Y%m%d"), local.strftime("%H%M%S"))))
        ids = (mapping.order_id, v.order_id) + ((mapping.vin, v.vin) if v.vin else ()) + (mapping.model, v.model)
        body.append(("LIN", (str(v.sequence_number), *ids)))
        for key, code in sorted(v.options.items()):
            qualifier = mapping.qualifier_of(key)
            body.append(("REF", (qualifier, code) + ((key,) if qualifier == GENERIC_OPTION else ())))
    return OutboundTransaction("866", sequence.reference, tuple(body))


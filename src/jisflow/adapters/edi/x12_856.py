"""X12 856 ship notice (ASN) with the sequence references a JIS receiver needs.

The hierarchy (HL) runs shipment, order, tare, item; writing puts a call-off's lines in one
sequence rack (tare), slot k holding the k-th line in sequence::

    BSN*00*<shipment id>*<CCYYMMDD>*<HHMM>~
    HL*1**S~  DTM*011*<shipped CCYYMMDD>*<HHMM>~  N1*SU*<supplier>*92*<supplier>~
              N1*ST*<unloading point>*92*<unloading point>~
    HL*2*1*O~ PRF*<call-off number>~
    HL*3*2*T~ MAN*GM*<rack id>~
    HL*4*3*I~ LIN*<rack slot>*BP*<part number>*ON*<order id>*VV*<VIN>~  SN1**<quantity>*EA~
              REF*JS*<sequence number>~  REF*LF*<line>*<station>~
    CTT*<number of HL>~

Reading gives one object per item HL: its package is the nearest MAN up its HL parents, its
call-off the nearest PRF.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from jisflow.adapters.edi.despatch_lines import DespatchLine, line_being_read
from jisflow.adapters.edi.profiles import PartnerProfile
from jisflow.adapters.edi.segments import Reader
from jisflow.adapters.edi.x12 import OutboundTransaction, X12Transaction
from jisflow.domain.calloff import CallOffLine


@dataclass(frozen=True)
class ShipNotice:
    reference: str
    shipment_id: str
    shipped_at: datetime | None
    supplier: str
    unloading_point: str
    items: tuple[DespatchLine, ...]


def parse_856(transaction: X12Transaction, profile: PartnerProfile) -> ShipNotice:
    r = Reader()
    shipment = supplier = unloading_point = ""
    shipped_at = None
    levels: dict[str, dict] = {}  # HL01 -> {parent, man, prf}
    current: dict | None = None
    items: list[dict] = []
    for seg in transaction.body:
        if seg.tag == "BSN":
            shipment = r.required(seg, 2, 0, "BSN02 shipment id")
        elif seg.tag == "HL":
            hl_id, parent = r.required(seg, 1, 0, "HL01 hierarchical id"), seg.get(2)
            if parent and parent not in levels:
                r.add(seg.where, f"HL02 parent {parent!r} is not an earlier HL")
            current = levels[hl_id] = {"parent": parent, "man": None, "prf": None}
            if seg.get(3) == "I":
                current["item"] = line_being_read(seg.where)
                items.append(current)
        elif current is None:
            continue
        elif seg.tag == "DTM" and seg.get(1) == "011":
            shipped_at = r.timestamp(seg, seg.get(2) + seg.get(3)[:4], "%Y%m%d%H%M", "shipped time", profile.zone)
        elif seg.tag == "N1" and seg.get(1) in ("SU", "SF"):
            supplier = seg.get(4) or seg.get(2)
        elif seg.tag == "N1" and seg.get(1) == "ST":
            unloading_point = seg.get(4) or seg.get(2)
        elif seg.tag == "MAN":
            current["man"] = seg.get(2) or None
        elif seg.tag == "PRF":
            current["prf"] = seg.get(1) or None
        elif "item" not in current:
            continue
        elif seg.tag == "LIN":
            item = current["item"]
            ids = {seg.get(i): seg.get(i + 1) for i in range(2, len(seg.elements), 2)}
            item["part_number"] = ids.get("BP") or ids.get("VP") or ""
            if not item["part_number"]:
                r.add(seg.where, "the item has no buyer's (BP) or vendor's (VP) part number")
            item["order_id"], item["vin"] = ids.get("ON") or None, ids.get("VV") or None
            if seg.get(1):
                item["rack_slot"] = r.integer(seg, seg.get(1), "LIN01 rack slot", 1)
        elif seg.tag == "SN1":
            text = r.required(seg, 2, 0, "SN102 quantity shipped")
            current["item"]["quantity"] = r.integer(seg, text, "SN102 quantity shipped") if text else None
        elif seg.tag == "REF" and seg.get(1) == "JS":
            current["item"]["sequence_number"] = r.integer(seg, seg.get(2), "REF02 sequence number")
        elif seg.tag == "REF" and seg.get(1) == "LF":
            current["item"]["line"], current["item"]["station"] = seg.get(2) or None, seg.get(3) or None
    for level in items:
        item = level["item"]
        if item["quantity"] is None:
            r.add(item["where"], "the item has no quantity shipped (SN1)")
        item["package_id"], item["calloff_number"] = _inherited(levels, level, "man"), _inherited(levels, level, "prf")
    if not items:
        r.add(f"transaction set {transaction.control_number} (856)", "no item level (HL with code I)")
    r.raise_if_any(f"856 {shipment or transaction.control_number} rejected")
    return ShipNotice(transaction.control_number, shipment, shipped_at, supplier, unloading_point,
                      tuple(DespatchLine(**level["item"]) for level in items))


def _inherited(levels: dict[str, dict], level: dict, key: str) -> str | None:
    seen = set()
    while level is not None and id(level) not in seen:
        seen.add(id(level))
        if level[key]:
            return level[key]
        level = levels.get(level["parent"])
    return None


def asn_856(shipment_id: str, lines: Sequence[CallOffLine], rack: str, shipped_at: datetime, profile: PartnerProfile,
            control_number: str = "0001") -> OutboundTransaction:
    """An 856 for call-off lines packed in one sequence rack: slot k holds the k-th line."""
    ordered = sorted(lines, key=lambda ln: (ln.seq_no, ln.family))
    return asn_856_packed(shipment_id, [(rack, slot, ln) for slot, ln in enumerate(ordered, start=1)], shipped_at, profile, control_number)


def asn_856_packed(shipment_id: str, packed: Sequence[tuple[str, int, CallOffLine]], shipped_at: datetime, profile: PartnerProfile,
                   control_number: str = "0001") -> OutboundTransaction:
    """An 856 for call-off lines packed in sequence racks, each given as (rack id, slot, line):
    an order level (PRF) per call-off, under it a tare level (MAN) per rack, under that the items."""
    first = packed[0][2]
    local = shipped_at.astimezone(profile.zone)
    body: list[tuple[str, tuple]] = [
        ("BSN", ("00", shipment_id, local.strftime("%Y%m%d"), local.strftime("%H%M"))),
        ("HL", ("1", "", "S")),
        ("DTM", ("011", local.strftime("%Y%m%d"), local.strftime("%H%M"))),
        ("N1", ("SU", first.supplier, "92", first.supplier)),
        ("N1", ("ST", first.unloading_point, "92", first.unloading_point)),
    ]
    orders: dict[str, dict[str, list[tuple[int, CallOffLine]]]] = {}
    for rack, slot, ln in packed:
        orders.setdefault(ln.number, {}).setdefault(rack, []).append((slot, ln))
    hl = 1
    for number, racks in orders.items():
        hl += 1
        order_hl = hl
        body += [("HL", (str(order_hl), "1", "O")), ("PRF", (number,))]
        for rack, slots in racks.items():
            hl += 1
            tare_hl = hl
            body += [("HL", (str(tare_hl), str(order_hl), "T")), ("MAN", ("GM", rack))]
            for slot, ln in slots:
                hl += 1
                ids = ("BP", ln.part_number, "ON", ln.order_id) + (("VV", ln.vin) if ln.vin else ())
                body += [
                    ("HL", (str(hl), str(tare_hl), "I")),
                    ("LIN", (str(slot), *ids)),
                    ("SN1", ("", str(ln.quantity), "EA")),
                    ("REF", ("JS", str(ln.seq_no))),
                    ("REF", ("LF", ln.line, ln.station) if ln.station else ("LF", ln.line)),
                ]
    body.append(("CTT", (str(hl),)))
    return OutboundTransaction("856", control_number, tuple(body))

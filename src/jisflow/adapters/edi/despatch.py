"""The despatch advice of a despatched shipment, in the format the receiving partner's profile
names (``despatch.format``): EDIFACT DESADV, X12 856 or VDA 4913.

It is built from the ``shipment.despatched`` event that the despatch wrote to the outbox in its
own transaction (its racks in unloading order, each slot with the vehicle, sequence number,
part and call-off), so the advice is exactly what left. Everything in the text comes from the
event, the departure time included: writing it again gives the same file.

::

    name, text = despatch_advice(payload, profile, receiver="PLANT")
    # name: "<shipment id>.edi" (DESADV), ".x12" (856) or ".vda" (VDA 4913)

VDA 4913 has fixed fields: a shipment id longer than the 8 characters of a delivery note, or
a rack id longer than the 9 of a package number, is written as a number derived from it
(``short_number``); an unloading point longer than its 5 characters is left blank; customer
and supplier ids (9 characters) must fit. It carries no sequence numbers (see ``vda4913``).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from jisflow.adapters.edi.desadv import desadv_packed
from jisflow.adapters.edi.edifact import serialize_interchange
from jisflow.adapters.edi.profiles import PartnerProfile
from jisflow.adapters.edi.vda4913 import DespatchItem, Vda4913Transmission, vda4913_text
from jisflow.adapters.edi.x12 import OutboundGroup, control_number_for
from jisflow.adapters.edi.x12 import serialize_interchange as serialize_x12
from jisflow.adapters.edi.x12_856 import asn_856_packed
from jisflow.domain.calloff import CallOffLine, CallOffState
from jisflow.domain.errors import ValidationError

SUFFIXES = {"desadv": "edi", "x12_856": "x12", "vda4913": "vda"}

Packed = list[tuple[str, int, CallOffLine]]


def packed_lines(payload: Mapping[str, Any]) -> Packed:
    """(rack id, slot, call-off line) for every slot of the event, in unloading order."""
    at = datetime.fromisoformat(payload["departed_at"])
    out: Packed = []
    for rack in payload["racks"]:
        for s in rack["slots"]:
            need = datetime.fromisoformat(s["need_time"]) if s.get("need_time") else at
            out.append((rack["rack_id"], s["position"], CallOffLine(
                number=s["number"], supplier=payload["supplier"], unloading_point=payload["unloading_point"], line=payload["line"],
                order_id=s["order_id"], family=s["family"], seq_no=s["seq_no"], rolling_no=0, vin=s.get("vin"),
                part_number=s["part_number"], quantity=s.get("quantity", 1), station=s.get("station", ""), need_time=need,
                ship_by=need, state=CallOffState.SHIPPED,
            )))
    return out


def short_number(value: str, width: int) -> str:
    """``value`` when it fits ``width`` characters, else a number of that width derived from it."""
    return value if len(value) <= width else f"{zlib.crc32(value.encode('utf-8')) % 10**width:0{width}d}"


def vda_unloading_point(value: str) -> str:
    """The unloading point as VDA 4913 can carry it: itself when it fits 5 characters, else blank."""
    return value if len(value) <= 5 else ""


def vda4913_of(shipment_id: str, packed: Packed, supplier: str, receiver: str, at: datetime, profile: PartnerProfile) -> Vda4913Transmission:
    """The shipment as one consignment with one delivery note: an item per rack and part."""
    note = short_number(shipment_id, 8)
    day = at.astimezone(profile.zone).date().isoformat()
    totals: dict[tuple[str, str], int] = {}
    for rack, _, ln in packed:
        totals[(rack, ln.part_number)] = totals.get((rack, ln.part_number), 0) + ln.quantity
    unloading_point = vda_unloading_point(packed[0][2].unloading_point if packed else "")
    items = tuple(
        DespatchItem("", note, part, "", Decimal(quantity), "ST", None, short_number(rack, 9), note, day, unloading_point)
        for (rack, part), quantity in totals.items()
    )
    return Vda4913Transmission(receiver, supplier, short_number(shipment_id, 5), (note,), items, day)


def despatch_advice(payload: Mapping[str, Any], profile: PartnerProfile, receiver: str) -> tuple[str, str]:
    """(file name, interchange text) of the despatch advice for a ``shipment.despatched`` payload."""
    shipment_id, supplier = payload["shipment_id"], payload["supplier"]
    at = datetime.fromisoformat(payload["departed_at"])
    packed = packed_lines(payload)
    if not packed:
        raise ValidationError(f"shipment {shipment_id} carries no part: there is nothing to advise")
    fmt = profile.despatch_format
    if fmt == "desadv":
        local = at.astimezone(profile.zone)
        text = serialize_interchange(supplier, receiver, ("D" + shipment_id)[:14], (local.strftime("%y%m%d"), local.strftime("%H%M")),
                                     [desadv_packed(shipment_id, packed, at, profile)])
    elif fmt == "x12_856":
        control = control_number_for(shipment_id)
        text = serialize_x12(supplier, receiver, control, at, [OutboundGroup("SH", str(int(control)), (asn_856_packed(shipment_id, packed, at, profile),))])
    else:
        text = vda4913_text(vda4913_of(shipment_id, packed, supplier, receiver, at, profile))
    return f"{shipment_id}.{SUFFIXES[fmt]}", text

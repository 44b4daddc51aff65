"""VDA 4913 delivery note and despatch data (Lieferschein- und Transportdaten).

Records: 711 header (customer, supplier, transmission numbers), 712 transport (consignment),
713 delivery note (number, despatch date, unloading point), 714 item (customer's and
supplier's part number, quantity with three implied decimals, unit), 715 packaging (package
type, number of packages, package numbers), 716/718 texts and references, 719 trailer. A
transmission without its 719 trailer is truncated and rejected.

``vda4913_text`` writes a transmission back (711, then per consignment its 712, per delivery
note its 713, per item its 714 and a 715 with its package number, 719 with the record counts),
so that parsing it gives the same objects. VDA 4913 has no field for a sequence number: a
sequenced (JIS) despatch needs DESADV or X12 856 when the receiver matches parts to vehicles.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from jisflow.adapters.edi.vda import RECORD_LENGTH, FieldReader, Layout, tokenize
from jisflow.domain.errors import ProblemCollector, ValidationError

R711: Layout = (("customer", 9), ("supplier", 9), ("old_transmission", 5), ("new_transmission", 5), ("transmission_date", 6))
R712: Layout = (("consignment", 8),)
R713: Layout = (("delivery_note", 8), ("despatch_date", 6), ("unloading_point", 5))
R714: Layout = (("customer_part", 22), ("supplier_part", 22), ("origin", 3), ("quantity", 13), ("unit", 2))
R715: Layout = (("package_type", 22), ("supplier_package_type", 22), ("packages", 13), ("item", 3), ("max_quantity", 13),
                ("package_from", 9), ("package_to", 9))


@dataclass(frozen=True)
class DespatchItem:
    where: str
    delivery_note: str
    part_number: str
    supplier_part_number: str
    quantity: Decimal
    unit: str
    sequence_number: int | None
    package_id: str | None
    consignment: str = ""
    despatch_date: str | None = None  # ISO date of the delivery note (or a VDA special date as sent)
    unloading_point: str = ""


@dataclass(frozen=True)
class Vda4913Transmission:
    customer: str
    supplier: str
    transmission_number: str
    consignments: tuple[str, ...]
    items: tuple[DespatchItem, ...]
    transmission_date: str | None = None
    old_transmission_number: str = ""


def parse_vda4913(text: str) -> Vda4913Transmission:
    records = tokenize(text, "4913")
    fr = FieldReader()
    header: dict[str, str] = {}
    consignments: list[str] = []
    items: list[dict] = []
    note = ""
    note_data: dict = {}
    trailer = False
    for rec in records:
        if trailer:
            fr.found.add(rec.where, "record after the 719 trailer")
        if rec.type == "711":
            header = rec.fields(R711)
        elif rec.type == "712":
            consignments.append(rec.fields(R712)["consignment"])
        elif rec.type == "713":
            f = rec.fields(R713)
            note = f["delivery_note"]
            note_data = dict(despatch_date=fr.day(rec, f["despatch_date"], "despatch date"), unloading_point=f["unloading_point"])
        elif rec.type == "714":
            f = rec.fields(R714)
            if not note:
                fr.found.add(rec.where, "714 item before any 713 delivery note")
            if not f["customer_part"]:
                fr.found.add(rec.where, "customer part number is blank")
            items.append(dict(
                where=rec.where, delivery_note=note, part_number=f["customer_part"], supplier_part_number=f["supplier_part"],
                quantity=fr.thousandths(rec, f["quantity"], "quantity"), unit=f["unit"], sequence_number=None, package_id=None,
                consignment=consignments[-1] if consignments else "", **note_data,
            ))
        elif rec.type == "715":
            f = rec.fields(R715)
            if items and items[-1]["package_id"] is None and f["package_from"]:
                items[-1]["package_id"] = f["package_from"]
        elif rec.type == "719":
            trailer = True
        elif rec.type not in ("716", "717", "718"):
            fr.found.add(rec.where, f"record type {rec.type} does not belong to VDA 4913")
    if records[0].type != "711":
        fr.found.add(records[0].where, "a VDA 4913 transmission starts with a 711 record")
    if not trailer:
        fr.found.add("transmission", "no 719 trailer: it is truncated")
    fr.found.raise_if_any(f"VDA 4913 transmission rejected: {len(fr.found.problems)} problem(s)")
    return Vda4913Transmission(header.get("customer", ""), header.get("supplier", ""), header.get("new_transmission", ""),
                               tuple(consignments), tuple(DespatchItem(**i) for i in items),
                               fr.day(records[0], header.get("transmission_date", ""), "transmission date"), header.get("old_transmission", ""))


def _yymmdd(value: str | None) -> str:
    if value is None:
        return ""
    try:
        return date.fromisoformat(value).strftime("%y%m%d")
    except ValueError:
        return value  # a VDA special date, kept as sent


class _Writer:
    def __init__(self) -> None:
        self.found = ProblemCollector()
        self.records: list[str] = []

    def record(self, rtype: str, layout: Layout, values: dict[str, str], where: str, numeric: tuple[str, ...] = ()) -> None:
        text = f"{rtype}02"
        for name, width in layout:
            value = values.get(name, "")
            if len(value) > width:
                self.found.add(where, f"{name.replace('_', ' ')} {value!r} is longer than its {width} characters")
            text += value.rjust(width, "0") if name in numeric else value.ljust(width)
        self.records.append(text.ljust(RECORD_LENGTH))


def vda4913_text(tx: Vda4913Transmission) -> str:
    """The VDA 4913 transmission for ``tx``: its items grouped by consignment (in the order of
    ``tx.consignments``) and delivery note. A value that does not fit its field, an item of an
    unknown consignment or a quantity with more than three decimals is a ValidationError."""
    w = _Writer()
    w.record("711", R711, {"customer": tx.customer, "supplier": tx.supplier, "old_transmission": tx.old_transmission_number,
                           "new_transmission": tx.transmission_number, "transmission_date": _yymmdd(tx.transmission_date)}, "711 header")
    for i, item in enumerate(tx.items, start=1):
        if item.consignment not in tx.consignments:
            w.found.add(f"item {i}", f"its consignment {item.consignment!r} is not one of the transmission's ({', '.join(tx.consignments)})")
        if item.sequence_number is not None:
            w.found.add(f"item {i}", "VDA 4913 has no field for a sequence number: send a DESADV or an X12 856")
    for consignment in tx.consignments:
        w.record("712", R712, {"consignment": consignment}, f"consignment {consignment}")
        notes: dict[str, list[DespatchItem]] = {}
        for item in tx.items:
            if item.consignment == consignment:
                notes.setdefault(item.delivery_note, []).append(item)
        for note, items in notes.items():
            first = items[0]
            w.record("713", R713, {"delivery_note": note, "despatch_date": _yymmdd(first.despatch_date), "unloading_point": first.unloading_point},
                     f"delivery note {note}")
            for item in items:
                where = f"delivery note {note}, part {item.part_number}"
                if (item.despatch_date, item.unloading_point) != (first.despatch_date, first.unloading_point):
                    w.found.add(where, "the items of one delivery note share its despatch date and unloading point")
                thousandths = item.quantity * 1000
                if item.quantity < 0 or thousandths != thousandths.to_integral_value():
                    w.found.add(where, f"quantity {item.quantity} is negative or has more than three decimals")
                    thousandths = Decimal(0)
                w.record("714", R714, {"customer_part": item.part_number, "supplier_part": item.supplier_part_number,
                                       "quantity": str(int(thousandths)), "unit": item.unit}, where, numeric=("quantity",))
                if item.package_id:
                    w.record("715", R715, {"packages": "1", "package_from": item.package_id, "package_to": item.package_id}, where,
                             numeric=("packages",))
    counts = Counter(r[:3] for r in w.records)
    w.records.append(("71902" + "".join(f"{counts[t]:07d}" for t in ("711", "712", "713", "714", "715", "716", "717", "718"))).ljust(RECORD_LENGTH))
    w.found.raise_if_any(f"VDA 4913 transmission {tx.transmission_number} cannot be written: {len(w.found.problems)} problem(s)", ValidationError)
    return "\r\n".join(w.records) + "\r\n"

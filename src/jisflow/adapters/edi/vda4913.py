"""VDA 4913 delivery note and despatch data (Lieferschein- und Transportdaten).

Records: 711 header (customer, supplier, transmission numbers), 712 transport (consignment),
713 delivery note (number, despatch date, unloading point), 714 item (customer's and
supplier's part number, quantity with three implied decimals, unit), 715 packaging (package
type, number of packages, package numbers), 716/718 texts and references, 719 trailer. A
transmission without its 719 trailer is truncated and rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from jisflow.adapters.edi.vda import FieldReader, Layout, tokenize

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


@dataclass(frozen=True)
class Vda4913Transmission:
    customer: str
    supplier: str
    transmission_number: str
    consignments: tuple[str, ...]
    items: tuple[DespatchItem, ...]


def parse_vda4913(text: str) -> Vda4913Transmission:
    records = tokenize(text, "4913")
    fr = FieldReader()
    header: dict[str, str] = {}
    consignments: list[str] = []
    items: list[dict] = []
    note = ""
    trailer = False
    for rec in records:
        if trailer:
            fr.found.add(rec.where, "record after the 719 trailer")
        if rec.type == "711":
            header = rec.fields(R711)
        elif rec.type == "712":
            consignments.append(rec.fields(R712)["consignment"])
        elif rec.type == "713":
            note = rec.fields(R713)["delivery_note"]
        elif rec.type == "714":
            f = rec.fields(R714)
            if not note:
                fr.found.add(rec.where, "714 item before any 713 delivery note")
            if not f["customer_part"]:
                fr.found.add(rec.where, "customer part number is blank")
            items.append(dict(
                where=rec.where, delivery_note=note, part_number=f["customer_part"], supplier_part_number=f["supplier_part"],
                quantity=fr.thousandths(rec, f["quantity"], "quantity"), unit=f["unit"], sequence_number=None, package_id=None,
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
                               tuple(consignments), tuple(DespatchItem(**i) for i in items))

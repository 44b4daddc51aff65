"""X12 850 purchase order, read for its order number, lines and declared totals.

``BEG03`` is the order number and ``BEG05`` its date; each ``PO1`` is a line (PO102 quantity,
PO103 unit, then pairs of product id qualifier and value: ``BP`` buyer's, ``VP`` vendor's part
number); ``CTT01`` declares the number of line items and ``CTT02`` the hash total of the
quantities, reported as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from jisflow.adapters.edi.segments import Reader
from jisflow.adapters.edi.x12 import X12Transaction


@dataclass(frozen=True)
class OrderLine:
    where: str
    line_number: str
    part_number: str
    supplier_part_number: str | None
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class PurchaseOrder:
    reference: str
    number: str
    date: str
    lines: tuple[OrderLine, ...]
    declared_line_count: int | None
    declared_quantity_total: Decimal | None


def parse_850(transaction: X12Transaction) -> PurchaseOrder:
    r = Reader()
    number = date = ""
    lines: list[OrderLine] = []
    count: int | None = None
    total: Decimal | None = None
    for seg in transaction.body:
        if seg.tag == "BEG":
            number, date = r.required(seg, 3, 0, "BEG03 purchase order number"), seg.get(5)
        elif seg.tag == "PO1":
            ids = {seg.get(i): seg.get(i + 1) for i in range(6, len(seg.elements), 2)}
            part = ids.get("BP") or ids.get("VP") or ""
            if not part:
                r.add(seg.where, "the line has no buyer's (BP) or vendor's (VP) part number")
            lines.append(OrderLine(seg.where, seg.get(1), part, ids.get("VP"),
                                   r.decimal(seg, r.required(seg, 2, 0, "PO102 quantity"), "PO102 quantity"), seg.get(3)))
        elif seg.tag == "CTT":
            count = r.integer(seg, seg.get(1), "CTT01 number of line items")
            total = r.decimal(seg, seg.get(2), "CTT02 hash total") if seg.get(2) else None
    if not number:
        r.add(f"transaction set {transaction.control_number} (850)", "no BEG segment with the order number")
    r.raise_if_any(f"850 {number or transaction.control_number} rejected")
    return PurchaseOrder(transaction.control_number, number, date, tuple(lines), count, total)

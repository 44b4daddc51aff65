"""VDA 4905 delivery schedule (Lieferabruf): a forecast of quantities per part and date.

Records: 511 header (customer, supplier, transmission numbers), 512 one schedule per part
(plant, call-off number and date, customer's and supplier's part number, unloading point,
unit), 513/514 the schedule's dates and quantities (513 also the last receipt and the
cumulative quantity), 515/517/518 further data, 519 trailer. A transmission without its 519
trailer is truncated and rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

from jisflow.adapters.edi.vda import FieldReader, Layout, Record, tokenize

R511: Layout = (("customer", 9), ("supplier", 9), ("old_transmission", 5), ("new_transmission", 5), ("transmission_date", 6))
R512: Layout = (
    ("plant", 3), ("calloff_number", 9), ("calloff_date", 6), ("old_calloff_number", 9), ("old_calloff_date", 6),
    ("customer_part", 22), ("supplier_part", 22), ("order_number", 12), ("unloading_point", 5), ("customer_code", 4),
    ("unit", 2), ("interval", 1),
)
R513: Layout = (
    ("last_receipt_date", 6), ("last_delivery_note", 8), ("last_delivery_note_date", 6), ("last_receipt_quantity", 12),
    ("cumulative_quantity", 10),
) + tuple((f"{kind}{i}", width) for i in range(1, 6) for kind, width in (("date", 6), ("quantity", 9)))
R514: Layout = tuple((f"{kind}{i}", width) for i in range(6, 14) for kind, width in (("date", 6), ("quantity", 9)))


@dataclass(frozen=True)
class ScheduleEntry:
    due: str  # ISO date, or a VDA special date code as sent
    quantity: int


@dataclass(frozen=True)
class DeliverySchedule:
    where: str
    plant: str
    calloff_number: str
    calloff_date: str | None
    part_number: str  # the customer's
    supplier_part_number: str
    unloading_point: str
    unit: str
    last_delivery_note: str
    cumulative_quantity: int
    entries: tuple[ScheduleEntry, ...]


@dataclass(frozen=True)
class Vda4905Transmission:
    customer: str
    supplier: str
    transmission_number: str
    transmission_date: str | None
    schedules: tuple[DeliverySchedule, ...]


def parse_vda4905(text: str) -> Vda4905Transmission:
    records = tokenize(text, "4905")
    fr = FieldReader()
    header: dict[str, str] = {}
    schedules: list[DeliverySchedule] = []
    current: dict | None = None
    trailer = False

    def close() -> None:
        if current is not None:
            schedules.append(DeliverySchedule(entries=tuple(current.pop("entries")), **current))

    for rec in records:
        if trailer:
            fr.found.add(rec.where, "record after the 519 trailer")
        if rec.type == "511":
            header = rec.fields(R511)
        elif rec.type == "512":
            close()
            f = rec.fields(R512)
            if not f["customer_part"]:
                fr.found.add(rec.where, "customer part number is blank")
            current = dict(
                where=rec.where, plant=f["plant"], calloff_number=f["calloff_number"],
                calloff_date=fr.day(rec, f["calloff_date"], "call-off date"), part_number=f["customer_part"],
                supplier_part_number=f["supplier_part"], unloading_point=f["unloading_point"], unit=f["unit"],
                last_delivery_note="", cumulative_quantity=0, entries=[],
            )
        elif rec.type in ("513", "514"):
            if current is None:
                fr.found.add(rec.where, f"{rec.type} before any 512 schedule")
                continue
            f = rec.fields(R513 if rec.type == "513" else R514)
            if rec.type == "513":
                current["last_delivery_note"] = f["last_delivery_note"]
                current["cumulative_quantity"] = fr.integer(rec, f["cumulative_quantity"], "cumulative quantity")
            first, last = (1, 5) if rec.type == "513" else (6, 13)
            current["entries"].extend(_entries(fr, rec, f, first, last))
        elif rec.type == "519":
            trailer = True
        elif rec.type not in ("515", "517", "518"):
            fr.found.add(rec.where, f"record type {rec.type} does not belong to VDA 4905")
    close()
    if not records or records[0].type != "511":
        fr.found.add(records[0].where, "a VDA 4905 transmission starts with a 511 record")
    if not trailer:
        fr.found.add("transmission", "no 519 trailer: it is truncated")
    fr.found.raise_if_any(f"VDA 4905 transmission rejected: {len(fr.found.problems)} problem(s)")
    return Vda4905Transmission(header.get("customer", ""), header.get("supplier", ""), header.get("new_transmission", ""),
                               fr.day(records[0], header.get("transmission_date", ""), "transmission date"), tuple(schedules))


def _entries(fr: FieldReader, rec: Record, f: dict[str, str], first: int, last: int) -> list[ScheduleEntry]:
    out = []
    for i in range(first, last + 1):
        due = fr.day(rec, f[f"date{i}"], f"date {i}")
        if due is not None:
            out.append(ScheduleEntry(due, fr.integer(rec, f[f"quantity{i}"], f"quantity {i}")))
    return out

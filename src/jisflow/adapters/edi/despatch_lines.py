"""A line of a despatch advice as the receiving side reads it, whatever the syntax.

EDIFACT DESADV (a LIN in its CPS level) and X12 856 (an item HL) both say: this part, this
quantity, in this package, for this vehicle, sequence number and call-off, to this line and
station. They parse into the same :class:`DespatchLine`; a value the message does not carry
is None (an 856 names no supplier's part number).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DespatchLine:
    where: str
    part_number: str
    supplier_part_number: str | None
    quantity: int
    sequence_number: int | None
    package_id: str | None
    rack_slot: int | None
    vin: str | None
    order_id: str | None
    calloff_number: str | None
    line: str | None
    station: str | None


def line_being_read(where: str, part_number: str = "", package_id: str | None = None) -> dict[str, Any]:
    """The fields of a line whose segments are still to be read (quantity None: not yet seen)."""
    return dict(where=where, part_number=part_number, supplier_part_number=None, quantity=None, sequence_number=None,
                package_id=package_id, rack_slot=None, vin=None, order_id=None, calloff_number=None, line=None, station=None)

"""VDA fixed-length records: a small tokenizer of our own.

A VDA transmission (4905 delivery schedule, 4913 delivery note / despatch data) is a run of
128-character records, one per line (or back to back without line breaks). Characters 1-3
give the record type (511, 712, ...), 4-5 its version; the rest are fields of fixed width
described by a layout. Positions in problems name the record (``record 3 (513)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from jisflow.adapters.edi.segments import DEFAULT_MAX_BYTES, rejected
from jisflow.domain.errors import ProblemCollector

RECORD_LENGTH = 128

Layout = tuple[tuple[str, int], ...]  # (field name, width) after type and version


@dataclass(frozen=True)
class Record:
    position: int
    type: str
    version: str
    text: str  # the whole record, padded to 128 characters

    @property
    def where(self) -> str:
        return f"record {self.position} ({self.type})"

    def fields(self, layout: Layout) -> dict[str, str]:
        out, start = {}, 5
        for name, width in layout:
            out[name] = self.text[start : start + width].strip()
            start += width
        return out


def tokenize(text: str, family: str, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Record, ...]:
    """Cut a VDA transmission into records; a line that is no record is a ValidationError."""
    message = f"VDA {family} transmission rejected"
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise rejected(message, "transmission", f"it is larger than the limit of {max_bytes} bytes")
    lines = [ln.rstrip("\r") for ln in text.lstrip("\ufeff").split("\n")]
    if len(lines) == 1 and len(lines[0]) > RECORD_LENGTH:
        lines = [lines[0][i : i + RECORD_LENGTH] for i in range(0, len(lines[0]), RECORD_LENGTH)]
    found = ProblemCollector()
    records = []
    for position, line in enumerate((ln for ln in lines if ln.strip()), start=1):
        head = line[:5]
        if len(line) > RECORD_LENGTH:
            found.add(f"record {position}", f"it has {len(line)} characters, a VDA record has {RECORD_LENGTH}")
        elif len(head) < 5 or not head.isdigit() or not head.isascii():
            found.add(f"record {position}", f"{head!r} is not a record type and version (five digits)")
        else:
            records.append(Record(position, head[:3], head[3:5], line.ljust(RECORD_LENGTH)))
    if not records and not found:
        found.add("transmission", "it is empty")
    found.raise_if_any(f"{message}: {len(found.problems)} problem(s)")
    return tuple(records)


class FieldReader:
    """Typed values out of record fields, collecting problems."""

    def __init__(self) -> None:
        self.found = ProblemCollector()

    def integer(self, rec: Record, value: str, name: str) -> int:
        if not value:
            return 0
        if not value.isdigit() or not value.isascii():
            self.found.add(rec.where, f"{name} {value!r} is not a whole number")
            return 0
        return int(value)

    def thousandths(self, rec: Record, value: str, name: str) -> Decimal:
        """A quantity with three implied decimals (0000000012000 is 12)."""
        return (Decimal(self.integer(rec, value, name)) / 1000).normalize()

    def day(self, rec: Record, value: str, name: str) -> str | None:
        """A YYMMDD date as ISO 8601; None when blank or zero. VDA special dates (e.g. 333333
        for 'backlog', 444444 for 'immediately') are kept as sent."""
        if not value or set(value) == {"0"}:
            return None
        if len(value) != 6 or not value.isdigit() or not value.isascii():
            self.found.add(rec.where, f"{name} {value!r} is not a date (YYMMDD)")
            return None
        try:
            return date(2000 + int(value[:2]), int(value[2:4]), int(value[4:])).isoformat()
        except ValueError:
            return value

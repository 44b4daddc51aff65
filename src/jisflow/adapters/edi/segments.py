"""Segments as the EDI parsers see them: a tag, its data elements and its place.

EDIFACT and X12 both cut an interchange into segments, segments into data elements and data
elements into components. After tokenising, both give a tuple of :class:`Segment`; every
message parser reads from it and names the segment's position in each problem it reports
(``segment 14 (QTY)``), counting from 1 at the first segment after the service string advice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from jisflow.domain.errors import Problem, ProblemCollector, ValidationError

DEFAULT_MAX_BYTES = 5_000_000  # a larger interchange is refused before it is read


@dataclass(frozen=True)
class Segment:
    position: int
    tag: str
    elements: tuple[tuple[str, ...], ...]  # data elements, each a tuple of its components

    @property
    def where(self) -> str:
        return f"segment {self.position} ({self.tag})"

    def get(self, element: int, component: int = 0) -> str:
        """The component (0-based) of the data element (1-based, after the tag); '' if absent."""
        if element < 1 or element > len(self.elements):
            return ""
        parts = self.elements[element - 1]
        return parts[component] if component < len(parts) else ""

    def element(self, element: int) -> tuple[str, ...]:
        return self.elements[element - 1] if 1 <= element <= len(self.elements) else ()


class Reader:
    """Reads typed values out of segments and collects every problem before one raise."""

    def __init__(self) -> None:
        self.found = ProblemCollector()

    def add(self, where: str, what: str) -> None:
        self.found.add(where, what)

    def required(self, seg: Segment, element: int, component: int, name: str) -> str:
        value = seg.get(element, component).strip()
        if not value:
            self.add(seg.where, f"{name} (element {element}, component {component + 1}) is missing")
        return value

    def integer(self, seg: Segment, text: str, name: str, minimum: int = 0) -> int:
        if not text.isdigit() or not text.isascii():
            self.add(seg.where, f"{name} {text!r} is not a whole number")
            return minimum
        value = int(text)
        if value < minimum:
            self.add(seg.where, f"{name} {value} is below {minimum}")
        return value

    def decimal(self, seg: Segment, text: str, name: str) -> Decimal:
        try:
            value = Decimal(text.replace(",", "."))
        except InvalidOperation:
            self.add(seg.where, f"{name} {text!r} is not a number")
            return Decimal(0)
        if not value.is_finite():
            self.add(seg.where, f"{name} {text!r} is not a number")
            return Decimal(0)
        return value

    def timestamp(self, seg: Segment, text: str, fmt: str, name: str, tz) -> datetime | None:
        try:
            t = datetime.strptime(text, fmt)
        except ValueError:
            self.add(seg.where, f"{name} {text!r} does not match the format {fmt}")
            return None
        return t.replace(tzinfo=tz)

    def raise_if_any(self, message: str) -> None:
        self.found.raise_if_any(f"{message}: {len(self.found.problems)} problem(s)")


def rejected(message: str, where: str, what: str) -> ValidationError:
    return ValidationError(message, problems=[Problem(where, what)])

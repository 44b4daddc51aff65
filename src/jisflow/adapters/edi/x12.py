"""ANSI ASC X12 interchanges: tokenising, the envelope and its integrity checks, serialising.

X12 has no service string advice: the interchange header ISA declares its own separators.
The character right after ``ISA`` is the element separator, ISA16 (the last element) is the
component separator and the character after ISA16 is the segment terminator. Line breaks
after a terminator are ignored. X12 has no escape character, so a value that contains a
separator cannot be written and is refused.

The envelope checks (walked by :mod:`jisflow.adapters.edi.envelope`, as EDIFACT's are), all
collected before one ``ValidationError``:

- the interchange runs from ISA to IEA; IEA01 counts the functional groups and IEA02 repeats
  the ISA13 control number;
- every functional group runs from GS to GE; GE01 counts its transaction sets and GE02
  repeats GS06;
- every transaction set runs from ST to SE; SE01 counts the segments from ST to SE inclusive
  and SE02 repeats ST02;
- an interchange above ``max_bytes`` is refused before it is read; one whose last segment has
  no terminator is truncated and refused whole.

Segment positions count from 1 at ISA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from jisflow.adapters.edi.envelope import Envelope, Level, walk_envelope
from jisflow.adapters.edi.segments import DEFAULT_MAX_BYTES, Reader, Segment, rejected
from jisflow.domain.errors import ValidationError

Element = str | Sequence[str]
REJECTED = "X12 interchange rejected"
_ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1)  # ISA01..ISA15, fixed width


@dataclass(frozen=True)
class Separators:
    element: str = "*"
    component: str = ">"
    segment: str = "~"


@dataclass(frozen=True)
class X12Transaction:
    type: str  # ST01, e.g. 866
    control_number: str  # ST02
    header: Segment
    body: tuple[Segment, ...]  # the segments between ST and SE

    @property
    def reference(self) -> str:
        return self.control_number


@dataclass(frozen=True)
class X12Group:
    functional_id: str  # GS01, e.g. SS (866), SH (856), FA (997)
    sender: str
    receiver: str
    date: str
    time: str
    control_number: str  # GS06
    version: str  # GS08, e.g. 004010
    transactions: tuple[X12Transaction, ...]


@dataclass(frozen=True)
class X12Interchange:
    sender_qualifier: str
    sender: str
    receiver_qualifier: str
    receiver: str
    date: str  # ISA09 YYMMDD, as sent
    time: str  # ISA10 HHMM
    version: str  # ISA12, e.g. 00401
    control_reference: str  # ISA13, nine digits
    usage: str  # ISA15: P production, T test
    separators: Separators
    groups: tuple[X12Group, ...]
    segments: tuple[Segment, ...]

    @property
    def prepared(self) -> str:
        return f"{self.date}:{self.time}"

    @property
    def key(self) -> str:
        """The idempotency key of the interchange: sender, receiver, ISA13."""
        return f"x12:{self.sender}:{self.receiver}:{self.control_reference}"

    @property
    def transactions(self) -> tuple[X12Transaction, ...]:
        return tuple(t for g in self.groups for t in g.transactions)


def separators_of(text: str) -> tuple[Separators, int]:
    """The separators the ISA declares, and where the segments after ISA start."""
    body = text.lstrip("\ufeff\r\n\t ")
    offset = len(text) - len(body)
    if not body.startswith("ISA"):
        raise rejected(REJECTED, "segment 1", "an X12 interchange starts with ISA")
    if len(body) < 4:
        raise rejected(REJECTED, "segment 1 (ISA)", "it is truncated")
    element = body[3]
    at = 3  # the separator before ISA01; ISA16 follows the 16th
    for _ in range(15):
        at = body.find(element, at + 1)
        if at < 0:
            raise rejected(REJECTED, "segment 1 (ISA)", "it has fewer than 16 elements: it is truncated or damaged")
    if len(body) < at + 3:
        raise rejected(REJECTED, "segment 1 (ISA)", "ISA16 or the segment terminator is missing: it is truncated")
    component, segment = body[at + 1], body[at + 2]
    chosen = (element, component, segment)
    if len(set(chosen)) != 3 or any(ch.isalnum() or ch == " " for ch in chosen):
        raise rejected(REJECTED, "segment 1 (ISA)", f"separators {chosen!r} must be three distinct characters, neither letters, digits nor spaces")
    return Separators(element, component, segment), offset + at + 3


def tokenize(text: str, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[tuple[Segment, ...], Separators]:
    """Cut an X12 interchange into segments; syntax errors are ValidationErrors."""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise rejected(REJECTED, "interchange", f"it is larger than the limit of {max_bytes} bytes")
    seps, end_of_isa = separators_of(text)
    start = len(text) - len(text.lstrip("\ufeff\r\n\t "))
    pieces = [text[start:end_of_isa - 1]] + text[end_of_isa:].split(seps.segment)
    if pieces[-1].strip("\r\n\t "):
        raise rejected(REJECTED, f"segment {len(pieces)}", "it is truncated: the last segment has no terminator")
    r = Reader()
    segments = []
    for position, raw in enumerate(pieces[:-1], start=1):
        raw = raw.strip("\r\n")
        values = raw.split(seps.element)
        tag = values[0]
        if not (2 <= len(tag) <= 3 and tag.isascii() and tag.isalnum() and tag.upper() == tag):
            r.add(f"segment {position}", f"{tag[:10]!r} is not a segment tag (two or three upper-case letters or digits)")
            continue
        if position == 1:
            elements = tuple((v,) for v in values[1:])
        else:
            elements = tuple(tuple(v.split(seps.component)) for v in values[1:])
        segments.append(Segment(position, tag, elements))
    r.raise_if_any(REJECTED)
    return tuple(segments), seps


def _transaction(r: Reader, st: Segment, values: tuple[str, ...], body: list[Segment]) -> X12Transaction:
    return X12Transaction(r.required(st, 1, 0, "ST01 transaction set identifier"), values[0], st, tuple(body))


def _group(r: Reader, gs: Segment, values: tuple[str, ...], transactions: list[X12Transaction]) -> X12Group:
    return X12Group(r.required(gs, 1, 0, "GS01 functional identifier"), gs.get(2), gs.get(3), gs.get(4), gs.get(5),
                    values[0], gs.get(8), tuple(transactions))


_GROUP = Level(opener="GS", closer="GE", name="group", full_name="functional group", required=((6, "GS06 group control number"),),
               control_at_closer="GE02 group control number", control_at_opener="GS06", build=_group)
_TRANSACTION = Level(opener="ST", closer="SE", name="transaction set", article="an", required=((2, "ST02 transaction set control number"),),
                     control_at_closer="SE02 control number", control_at_opener="ST02", build=_transaction)
_ENVELOPE = Envelope(header="ISA", trailer="IEA", control_at_trailer="IEA02 control number", control_at_header="ISA13",
                     levels=(_GROUP, _TRANSACTION))


def parse_interchange(text: str, max_bytes: int = DEFAULT_MAX_BYTES) -> X12Interchange:
    """Tokenise and check the envelope; every integrity problem is named with its segment."""
    segments, seps = tokenize(text, max_bytes)
    r = Reader()
    isa = segments[0]
    if len(isa.elements) != 16:
        r.add(isa.where, f"ISA has {len(isa.elements)} elements, not 16")
    control = isa.get(13).strip()
    if not (len(control) == 9 and control.isdigit() and control.isascii()):
        r.add(isa.where, f"ISA13 interchange control number {control!r} must be nine digits")
    groups = walk_envelope(r, segments, _ENVELOPE, control)
    r.raise_if_any(f"{REJECTED} (control number {control or '?'})")
    return X12Interchange(
        isa.get(5).strip(), isa.get(6).strip(), isa.get(7).strip(), isa.get(8).strip(), isa.get(9), isa.get(10),
        isa.get(12), control, isa.get(15), seps, tuple(groups), segments,
    )


# --------------------------------------------------------------------------- writing
@dataclass(frozen=True)
class OutboundTransaction:
    """A transaction set to serialise: its identifier, control number and body segments."""

    type: str
    control_number: str
    body: tuple[tuple[str, tuple[Element, ...]], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class OutboundGroup:
    functional_id: str
    control_number: str
    transactions: tuple[OutboundTransaction, ...]
    version: str = "004010"


def control_number_for(text: str) -> str:
    """A nine-digit ISA13 derived from a reference (its digits, else a stable checksum)."""
    digits = "".join(ch for ch in text if ch.isdigit() and ch.isascii())[-9:]
    if not digits:
        digits = str(sum((i + 1) * ord(ch) for i, ch in enumerate(text)) % 1_000_000_000)
    return digits.zfill(9)


def serialize_interchange(
    sender: str, receiver: str, control_number: str, prepared: datetime, groups: Sequence[OutboundGroup],
    qualifiers: tuple[str, str] = ("ZZ", "ZZ"), usage: str = "P", seps: Separators = Separators(),
) -> str:
    """One interchange ISA..IEA with its groups and transaction sets, all counted, one segment a line."""
    if not (len(control_number) == 9 and control_number.isdigit()):
        raise ValidationError(f"ISA13 interchange control number {control_number!r} must be nine digits")
    at = prepared.astimezone(timezone.utc)
    isa_values = ("00", "", "00", "", qualifiers[0], sender, qualifiers[1], receiver, at.strftime("%y%m%d"),
                  at.strftime("%H%M"), "U", "00401", control_number, "0", usage)
    for value, width in zip(isa_values, _ISA_WIDTHS, strict=True):
        if len(value) > width:
            raise ValidationError(f"ISA value {value!r} is longer than its {width} characters")
        if any(ch in value for ch in (seps.element, seps.component, seps.segment)):
            raise ValidationError(f"ISA value {value!r} contains an X12 separator; X12 cannot escape it")
    segments: list[tuple[str, tuple[Element, ...]]] = [
        ("ISA", tuple(v.ljust(w) for v, w in zip(isa_values, _ISA_WIDTHS, strict=True)) + (seps.component,)),
    ]
    for g in groups:
        segments.append(("GS", (g.functional_id, sender, receiver, at.strftime("%Y%m%d"), at.strftime("%H%M"),
                                g.control_number, "X", g.version)))
        for t in g.transactions:
            segments.append(("ST", (t.type, t.control_number)))
            segments.extend(t.body)
            segments.append(("SE", (str(len(t.body) + 2), t.control_number)))
        segments.append(("GE", (str(len(g.transactions)), g.control_number)))
    segments.append(("IEA", (str(len(groups)), control_number)))
    return render(segments, seps)


def render(segments: Sequence[tuple[str, tuple[Element, ...]]], seps: Separators = Separators()) -> str:
    """Write segments with the separators; trailing empty elements are dropped (except in ISA)."""
    lines = []
    for tag, elements in segments:
        values = []
        for element in elements:
            parts = (element,) if isinstance(element, str) else tuple(element)
            for part in parts:
                if tag != "ISA" and any(ch in part for ch in (seps.element, seps.component, seps.segment)):
                    raise ValidationError(f"{tag} value {part!r} contains an X12 separator; X12 cannot escape it")
            values.append(seps.component.join(parts).rstrip(seps.component) if tag != "ISA" else parts[0])
        while tag != "ISA" and values and not values[-1]:
            values.pop()
        lines.append(seps.element.join((tag, *values)) + seps.segment)
    return "\n".join(lines) + "\n"


def segments_of(interchange: X12Interchange) -> list[tuple[str, tuple[Element, ...]]]:
    """The interchange's segments as (tag, elements), to render it again unchanged."""
    return [(s.tag, tuple(e[0] if len(e) == 1 else e for e in s.elements)) for s in interchange.segments]

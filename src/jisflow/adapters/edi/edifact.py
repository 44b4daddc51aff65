"""UN/EDIFACT interchanges: tokenising, the envelope and its integrity checks, serialising.

Tokenising and serialising use pydifact (service string advice, escapes, separators). pydifact
silently drops a last segment that lacks its terminator, so a truncated interchange is caught
here before tokenising: the text must end with an unescaped segment terminator.

The envelope checks (walked by :mod:`jisflow.adapters.edi.envelope`, as X12's are), all collected
before one ``ValidationError``:

- the interchange starts with UNB and ends with UNZ; UNZ counts the messages and repeats the
  UNB control reference;
- every message runs from UNH to UNT; UNT counts the segments from UNH to UNT inclusive and
  repeats the UNH message reference;
- functional groups (UNG/UNE) are refused with a clear problem;
- an interchange above ``max_bytes`` is refused before it is read.

Segment positions count from 1 at UNB (the UNA service string advice is not a segment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydifact.control.characters import Characters
from pydifact.exceptions import EDISyntaxError
from pydifact.parser import Parser, TokenIterator
from pydifact.segments import Segment as PydifactSegment
from pydifact.serializer import Serializer
from pydifact.tokenizer import Tokenizer

from jisflow.adapters.edi.envelope import Envelope, Level, walk_envelope
from jisflow.adapters.edi.segments import DEFAULT_MAX_BYTES, Reader, Segment, rejected
from jisflow.domain.errors import ValidationError

Element = str | Sequence[str]
REJECTED = "EDIFACT interchange rejected"


@dataclass(frozen=True)
class EdifactMessage:
    reference: str
    type: str
    version: str
    release: str
    agency: str
    association: str
    header: Segment
    body: tuple[Segment, ...]  # the segments between UNH and UNT

    @property
    def identifier(self) -> str:
        parts = [self.type, self.version, self.release, self.agency] + ([self.association] if self.association else [])
        return ":".join(parts)


@dataclass(frozen=True)
class EdifactInterchange:
    syntax: str
    syntax_version: str
    sender: str
    receiver: str
    prepared: str  # UNB date and time as sent (CCYYMMDD or YYMMDD, HHMM), no time zone
    control_reference: str
    messages: tuple[EdifactMessage, ...]
    segment_count: int

    @property
    def key(self) -> str:
        """The idempotency key of the interchange: sender, receiver, control reference."""
        return f"edifact:{self.sender}:{self.receiver}:{self.control_reference}"


@dataclass(frozen=True)
class OutboundMessage:
    """A message to serialise: its type identifier and its body segments (tag, elements)."""

    reference: str
    type: str
    version: str
    release: str
    agency: str = "UN"
    association: str = ""
    body: tuple[tuple[str, tuple[Element, ...]], ...] = field(default_factory=tuple)


def tokenize(text: str, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Segment, ...]:
    """Cut an EDIFACT interchange into segments; syntax errors are ValidationErrors."""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise rejected(REJECTED, "interchange", f"it is larger than the limit of {max_bytes} bytes")
    body = text.lstrip("\ufeff\r\n\t ")
    characters = Characters()
    if body.startswith("UNA"):
        advice = body[3:9]
        if len(advice) < 6 or len(set(advice[:2] + advice[3:])) != 5 or any(ch.isalnum() for ch in advice[:2] + advice[3:]):
            raise rejected(REJECTED, "UNA", f"service string advice {advice!r} needs six characters with distinct, non-alphanumeric separators")
        characters = Characters.from_str("UNA" + advice)
        body = body[9:].lstrip("\r\n")
    content = body.rstrip("\r\n\t ")
    if not content:
        raise rejected(REJECTED, "interchange", "it is empty")
    if not _ends_with_terminator(content, characters):
        raise rejected(REJECTED, "interchange", "it is truncated: the last segment has no terminator")
    try:
        raw = list(Parser().convert_tokens_to_raw_segments(TokenIterator(Tokenizer().get_tokens(content, characters))))
    except (EDISyntaxError, ValueError, IndexError, TypeError, AttributeError) as exc:
        raise rejected(REJECTED, "interchange", f"syntax error: {exc}") from None
    segments = []
    reader = Reader()
    for position, elements in enumerate(raw, start=1):
        tag = elements[0] if elements else ""
        if not isinstance(tag, str) or len(tag) != 3 or not tag.isalnum() or not tag.isascii() or not tag.isupper():
            reader.add(f"segment {position}", f"{tag!r} is not a segment tag (three upper-case letters or digits)")
            continue
        segments.append(Segment(position, tag, tuple((e,) if isinstance(e, str) else tuple(e) for e in elements[1:])))
    reader.raise_if_any(REJECTED)
    return tuple(segments)


def _ends_with_terminator(content: str, characters: Characters) -> bool:
    if not content.endswith(characters.segment_terminator):
        return False
    escapes = len(content[:-1]) - len(content[:-1].rstrip(characters.escape_character))
    return escapes % 2 == 0


def _message(r: Reader, header: Segment, values: tuple[str, ...], body: list[Segment]) -> EdifactMessage:
    reference, mtype = values
    return EdifactMessage(reference, mtype, header.get(2, 1), header.get(2, 2), header.get(2, 3), header.get(2, 4), header, tuple(body))


_MESSAGE = Level(opener="UNH", closer="UNT", name="message", required=((1, "message reference"), (2, "message type")),
                 control_at_closer="UNT message reference", control_at_opener="the UNH reference", build=_message)
_ENVELOPE = Envelope(header="UNB", trailer="UNZ", control_at_trailer="UNZ control reference", control_at_header="the UNB reference",
                     levels=(_MESSAGE,), refused=("UNG", "UNE"), refused_why="functional groups (UNG/UNE) are not supported")


def parse_interchange(text: str, max_bytes: int = DEFAULT_MAX_BYTES) -> EdifactInterchange:
    """Tokenise and check the envelope; every integrity problem is named with its segment."""
    segments = tokenize(text, max_bytes)
    r = Reader()
    first = segments[0]
    if first.tag != "UNB":
        raise rejected(REJECTED, first.where, "an interchange starts with UNB")
    syntax = r.required(first, 1, 0, "syntax identifier")
    syntax_version = r.required(first, 1, 1, "syntax version")
    sender = first.get(2).strip()
    receiver = first.get(3).strip()
    prepared = ":".join(first.element(4))
    reference = r.required(first, 5, 0, "interchange control reference")
    messages = walk_envelope(r, segments, _ENVELOPE, reference)
    r.raise_if_any(f"{REJECTED} (control reference {reference or '?'})")
    return EdifactInterchange(syntax, syntax_version, sender, receiver, prepared, reference, tuple(messages), len(segments))


def serialize_interchange(
    sender: str, receiver: str, control_reference: str, prepared: tuple[str, str],
    messages: Sequence[OutboundMessage], syntax: tuple[str, str] = ("UNOC", "3"),
) -> str:
    """One interchange with UNA, UNB, the messages (UNH..UNT, counted) and UNZ, one segment a line."""
    if not control_reference or len(control_reference) > 14:
        raise ValidationError(f"interchange control reference {control_reference!r} must have 1 to 14 characters")
    segs: list[PydifactSegment] = [PydifactSegment("UNB", list(syntax), sender, receiver, list(prepared), control_reference)]
    for m in messages:
        identifier = [m.type, m.version, m.release, m.agency] + ([m.association] if m.association else [])
        segs.append(PydifactSegment("UNH", m.reference, identifier))
        segs.extend(PydifactSegment(tag, *[e if isinstance(e, str) else list(e) for e in elements]) for tag, elements in m.body)
        segs.append(PydifactSegment("UNT", str(len(m.body) + 2), m.reference))
    segs.append(PydifactSegment("UNZ", str(len(messages)), control_reference))
    return Serializer().serialize(segs, with_una_header=True, break_lines=True)

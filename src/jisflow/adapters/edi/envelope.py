"""The envelope walk that EDIFACT and X12 share: nested units, each counted and cross-checked.

An interchange runs from its header to its trailer segment (UNB..UNZ, ISA..IEA); inside it
units nest (EDIFACT: messages UNH..UNT; X12: functional groups GS..GE holding transaction
sets ST..SE). Each closing segment counts what its unit holds (the innermost unit: its
segments, opening and closing ones included; any other: its units) and repeats the control
reference of its opening segment. An :class:`Envelope` describes one standard's segment
tags, control elements and names; :func:`walk_envelope` reads the segments against it,
reports every problem with its segment to the ``Reader`` and gives the outermost units, each
built by its level. The header's own fields are read by each standard before the walk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jisflow.adapters.edi.segments import Reader, Segment


@dataclass(frozen=True)
class Level:
    """One kind of unit in an interchange, running from its opening to its closing segment."""

    opener: str  # UNH, GS, ST
    closer: str  # UNT, GE, SE
    name: str  # as a problem names the unit: message, group, transaction set
    required: tuple[tuple[int, str], ...]  # opener elements that must be present, its control reference first
    control_at_closer: str  # how a problem names the closer's repeat of it: "UNT message reference"
    control_at_opener: str  # and the opener's own: "the UNH reference"
    build: Callable[[Reader, Segment, tuple[str, ...], list[Any]], Any]  # (reader, opener, required values, contents) -> unit
    full_name: str = ""  # its name where it stands alone, when longer (functional group)
    article: str = "a"  # before the opener's tag: "a UNH", "an ST"

    @property
    def called(self) -> str:
        return self.full_name or self.name


@dataclass(frozen=True)
class Envelope:
    header: str  # UNB, ISA
    trailer: str  # UNZ, IEA
    control_at_trailer: str  # "UNZ control reference", "IEA02 control number"
    control_at_header: str  # "the UNB reference", "ISA13"
    levels: tuple[Level, ...]  # outermost first
    refused: tuple[str, ...] = ()  # tags this reader does not support
    refused_why: str = ""


def walk_envelope(r: Reader, segments: Sequence[Segment], envelope: Envelope, control: str) -> list[Any]:
    """The outermost units between the header (``segments[0]``, its control reference
    ``control``) and the trailer; each problem is added to ``r``, none is raised."""
    last = segments[-1]
    closed = last.tag == envelope.trailer
    if not closed:
        r.add(last.where, f"the interchange does not end with {envelope.trailer}: it is truncated or damaged")
    walk = _Walk(r, envelope.levels)
    for seg in segments[1:-1] if closed else segments[1:]:
        if seg.tag in (envelope.header, envelope.trailer):
            r.add(seg.where, f"{seg.tag} inside the interchange")
        elif seg.tag in envelope.refused:
            r.add(seg.where, envelope.refused_why)
        else:
            walk.place(seg)
    walk.unclosed(0)
    if closed:
        _check_closer(r, last, envelope.levels[0].called, "interchange holds", len(walk.contents[0]), control,
                      envelope.control_at_trailer, envelope.control_at_header)
    return walk.contents[0]


class _Walk:
    """The units open at each level and what each holds so far (``contents[i + 1]`` is what the
    open unit of level ``i`` holds; ``contents[0]`` the interchange's units)."""

    def __init__(self, r: Reader, levels: tuple[Level, ...]) -> None:
        self.r = r
        self.levels = levels
        self.opened: list[Segment | None] = [None] * len(levels)
        self.contents: list[list[Any]] = [[] for _ in range(len(levels) + 1)]

    def place(self, seg: Segment) -> None:
        r = self.r
        for i, level in enumerate(self.levels):
            opener = self.opened[i]
            if seg.tag == level.opener:
                if opener is not None:
                    r.add(seg.where, f"{level.opener} before the {level.closer} of the {level.name} opened at {opener.where}")
                self.opened[i + 1:] = [None] * (len(self.levels) - i - 1)
                self.opened[i], self.contents[i + 1] = seg, []
                return
            if seg.tag == level.closer:
                if opener is None:
                    r.add(seg.where, f"{level.closer} without {level.article} {level.opener}")
                    return
                self.unclosed(i + 1)
                self.contents[i].append(self._close(i, opener, seg))
                self.opened[i] = None
                return
            if opener is None:
                r.add(seg.where, f"segment outside a {level.called} (between {level.closer} and {level.opener})")
                return
        self.contents[-1].append(seg)

    def unclosed(self, start: int) -> None:
        """Name every unit still open from level ``start`` inwards (innermost first) and drop it."""
        for i in reversed(range(start, len(self.levels))):
            opener = self.opened[i]
            if opener is not None:
                level = self.levels[i]
                self.r.add(opener.where, f"the {level.called} has no {level.closer}: it is truncated")
                self.opened[i] = None

    def _close(self, i: int, opener: Segment, closer: Segment) -> Any:
        level, held = self.levels[i], self.contents[i + 1]
        values = tuple(self.r.required(opener, element, 0, name) for element, name in level.required)
        innermost = i == len(self.levels) - 1
        counted, count = ("segment", len(held) + 2) if innermost else (self.levels[i + 1].called, len(held))
        scope = f"{level.name} from {opener.where} {'has' if innermost else 'holds'}"
        _check_closer(self.r, closer, counted, scope, count, values[0], level.control_at_closer, level.control_at_opener)
        return level.build(self.r, opener, values, held)


def _check_closer(r: Reader, closer: Segment, counted: str, scope: str, count: int, control: str,
                  control_at_closer: str, control_at_opener: str) -> None:
    """The closer's count (element 1) and its repeat of the control reference (element 2)."""
    stated = closer.get(1)
    if not (stated.isascii() and stated.isdigit() and int(stated) == count):
        r.add(closer.where, f"{closer.tag} counts {stated or 'no'} {counted}(s) but the {scope} {count}")
    if closer.get(2) != control:
        r.add(closer.where, f"{control_at_closer} {closer.get(2)!r} differs from {control_at_opener} {control!r}")

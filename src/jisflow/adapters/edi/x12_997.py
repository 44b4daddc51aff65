"""X12 997 functional acknowledgement, for accepted and rejected interchanges.

One 997 answers each functional group (AK1 with GS01 and GS06)::

    AK1*<functional id>*<group control number>~
    AK2*<transaction set id>*<control number>~      per transaction set
      AK3*<segment tag>*<position in the set>**8~   per segment a problem names
      AK5*A~ (accepted) or AK5*R*5~ (rejected: segments in error)
    AK9*A|R*<sets>*<received>*<accepted>~

An interchange is accepted or rejected whole: when any problem is found every set is
answered R. The acknowledgement goes from the receiver back to the sender.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from jisflow.adapters.edi.segments import Reader, Segment
from jisflow.adapters.edi.x12 import (
    OutboundGroup,
    OutboundTransaction,
    Separators,
    X12Transaction,
    serialize_interchange,
    tokenize,
)
from jisflow.domain.errors import JisflowError, Problem

_POSITION = re.compile(r"^segment (\d+)\b")


@dataclass(frozen=True)
class SetAcknowledgement:
    type: str
    control_number: str
    status: str  # A accepted, R rejected
    segment_errors: tuple[tuple[str, int], ...]  # (tag, position in the set)


@dataclass(frozen=True)
class FunctionalAcknowledgement:
    reference: str
    functional_id: str
    group_control_number: str
    sets: tuple[SetAcknowledgement, ...]
    status: str
    received: int
    accepted: int

    @property
    def accepted_whole(self) -> bool:
        return self.status == "A"


def _groups(segments: Sequence[Segment]) -> list[tuple[Segment, list[list[Segment]]]]:
    """Each GS with the segments of its transaction sets (ST..SE), as far as they can be read."""
    groups: list[tuple[Segment, list[list[Segment]]]] = []
    for seg in segments:
        if seg.tag == "GS":
            groups.append((seg, []))
        elif seg.tag == "ST" and groups:
            groups[-1][1].append([seg])
        elif groups and groups[-1][1] and groups[-1][1][-1][-1].tag != "SE" and seg.tag not in ("GE", "IEA"):
            groups[-1][1][-1].append(seg)
    return groups


def ack_997(text: str, problems: Sequence[Problem], at: datetime, control_number: str) -> str:
    """The 997 interchange answering ``text`` (its ISA sender and receiver swapped)."""
    try:
        segments, _ = tokenize(text)
    except JisflowError:
        segments = ()
    isa = segments[0] if segments and segments[0].tag == "ISA" else None
    sender, receiver = (_echo(isa.get(6), 15), _echo(isa.get(8), 15)) if isa else ("", "")
    positions = {int(m.group(1)) for p in problems if (m := _POSITION.match(p.where))}
    status = "R" if problems else "A"
    groups = []
    for n, (gs, sets) in enumerate(_groups(segments) or [(None, [])], start=1):
        body: list[tuple[str, tuple]] = [("AK1", (_echo(gs.get(1)), _echo(gs.get(6))) if gs else ("", ""))]
        for segs in sets:
            st = segs[0]
            body.append(("AK2", (_echo(st.get(1)), _echo(st.get(2)))))
            body += [("AK3", (s.tag, str(i), "", "8")) for i, s in enumerate(segs, start=1) if s.position in positions]
            body.append(("AK5", ("R", "5") if problems else ("A",)))
        body.append(("AK9", (status, str(len(sets)), str(len(sets)), "0" if problems else str(len(sets)))))
        groups.append(OutboundGroup("FA", str(n), (OutboundTransaction("997", f"{n:04d}", tuple(body)),)))
    return serialize_interchange(receiver or "UNKNOWN", sender or "UNKNOWN", control_number, at, groups)


def _echo(value: str, width: int = 30) -> str:
    """A value of the received interchange, made safe to write back (no separators, bounded)."""
    seps = Separators()
    kept = "".join(ch for ch in value if ch.isprintable() and ch not in (seps.element, seps.component, seps.segment))
    return kept.strip()[:width]


def parse_997(transaction: X12Transaction) -> FunctionalAcknowledgement:
    r = Reader()
    functional_id = group = status = ""
    received = accepted = 0
    sets: list[dict] = []
    for seg in transaction.body:
        if seg.tag == "AK1":
            functional_id, group = seg.get(1), seg.get(2)
        elif seg.tag == "AK2":
            sets.append(dict(type=seg.get(1), control_number=seg.get(2), status="", segment_errors=[]))
        elif seg.tag == "AK3" and sets:
            sets[-1]["segment_errors"].append((seg.get(1), r.integer(seg, seg.get(2), "AK302 segment position")))
        elif seg.tag == "AK5" and sets:
            sets[-1]["status"] = r.required(seg, 1, 0, "AK501 status")
        elif seg.tag == "AK9":
            status = r.required(seg, 1, 0, "AK901 status")
            received = r.integer(seg, seg.get(3), "AK903 sets received")
            accepted = r.integer(seg, seg.get(4), "AK904 sets accepted")
    if not status:
        r.add(f"transaction set {transaction.control_number} (997)", "no AK9 segment with the group status")
    r.raise_if_any("997 rejected")
    return FunctionalAcknowledgement(transaction.control_number, functional_id, group, tuple(
        SetAcknowledgement(s["type"], s["control_number"], s["status"], tuple(s["segment_errors"])) for s in sets),
        status, received, accepted)

"""EDIFACT CONTRL: the syntax and service report that acknowledges an interchange.

An accepted interchange is answered with ``UCI+<reference>+<sender>+<receiver>+7``
(acknowledged); a rejected one with action ``4`` (rejected), error code 12 (invalid value)
and one ``UCS+<position>+12`` per segment a problem names. The acknowledgement goes from the
receiver back to the sender.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from jisflow.adapters.edi.edifact import EdifactMessage, OutboundMessage, serialize_interchange
from jisflow.adapters.edi.segments import Reader
from jisflow.domain.errors import Problem

ACCEPTED, REJECTED = "7", "4"
_POSITION = re.compile(r"^segment (\d+)\b")


@dataclass(frozen=True)
class Acknowledgement:
    interchange_reference: str
    sender: str  # of the acknowledged interchange
    receiver: str
    action: str  # 7 acknowledged, 4 rejected
    segment_errors: tuple[int, ...]

    @property
    def accepted(self) -> bool:
        return self.action == ACCEPTED


def contrl_interchange(reference: str, sender: str, receiver: str, problems: Sequence[Problem], at: datetime,
                       control_reference: str) -> str:
    """The CONTRL interchange answering ``reference`` from ``sender`` to ``receiver``."""
    positions = sorted({int(m.group(1)) for p in problems if (m := _POSITION.match(p.where))})
    action = REJECTED if problems else ACCEPTED
    uci: tuple = (reference, sender, receiver, action) + (("12",) if problems else ())
    body = (("UCI", uci),) + tuple(("UCS", (str(pos), "12")) for pos in positions)
    message = OutboundMessage("1", "CONTRL", "D", "3", "UN", body=body)
    return serialize_interchange(receiver or "UNKNOWN", sender or "UNKNOWN", control_reference,
                                 (at.strftime("%y%m%d"), at.strftime("%H%M")), [message])


def parse_contrl(message: EdifactMessage) -> Acknowledgement:
    r = Reader()
    uci = next((seg for seg in message.body if seg.tag == "UCI"), None)
    if uci is None:
        r.add(f"message {message.reference} (CONTRL)", "no UCI segment")
        r.raise_if_any("CONTRL rejected")
    assert uci is not None
    action = r.required(uci, 4, 0, "action code")
    errors = tuple(r.integer(seg, seg.get(1), "segment position") for seg in message.body if seg.tag == "UCS")
    r.raise_if_any("CONTRL rejected")
    return Acknowledgement(uci.get(1), uci.get(2), uci.get(3), action, errors)

"""The EDI publisher: an outbox Publisher that writes a DELJIT file per issued call-off.

It implements the outbox ``Publisher`` protocol; the relay hands it every pending message and
marks the call-off SENT only after the file is written, so a call-off and its message are
never apart. Other topics pass through to an optional next publisher. The file name is the
call-off number; writing goes through a temporary name and a rename, so a partner that polls
the folder never reads half a file, and a re-published message rewrites the same file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jisflow.adapters.edi.deljit import control_reference_for, deljit_interchange
from jisflow.adapters.edi.profiles import PartnerProfile
from jisflow.domain.calloff import CallOff, CallOffLine, CallOffState
from jisflow.services.outbox import Publisher


def calloff_from_payload(payload: dict[str, Any], issued_at: datetime) -> CallOff:
    """The call-off of a ``calloff.issued`` event payload."""
    number = payload["number"]
    lines = [
        CallOffLine(
            number=number, supplier=payload["supplier"], unloading_point=payload["unloading_point"], line=payload["line"],
            order_id=ln["order_id"], family=ln["family"], seq_no=ln["seq_no"], rolling_no=ln["rolling_no"], vin=ln["vin"],
            part_number=ln["part_number"], quantity=ln["quantity"], station=ln["station"],
            need_time=datetime.fromisoformat(ln["need_time"]), ship_by=datetime.fromisoformat(ln["ship_by"]),
            state=CallOffState.SENT,
        )
        for ln in payload["lines"]
    ]
    return CallOff(number, payload["supplier"], payload["unloading_point"], payload["line"], issued_at, lines)


class EdiFilePublisher:
    def __init__(self, folder: Path, profile: PartnerProfile, sender: str, clock_now, next_publisher: Publisher | None = None) -> None:
        self.folder = folder
        self.profile = profile
        self.sender = sender
        self.now = clock_now
        self.next = next_publisher

    def publish(self, topic: str, key: str, message_id: int, payload: dict[str, Any]) -> None:
        if topic == "calloff.issued":
            now = self.now()
            calloff = calloff_from_payload(payload, now)
            text = deljit_interchange([calloff], self.profile, self.sender, calloff.supplier,
                                      control_reference_for(calloff.number), now)
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / f"{calloff.number}.edi"
            partial = target.with_suffix(".part")
            partial.write_text(text, encoding="utf-8")
            partial.replace(target)
        if self.next is not None:
            self.next.publish(topic, key, message_id, payload)

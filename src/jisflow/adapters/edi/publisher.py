"""The EDI publisher: an outbox Publisher that writes a DELJIT file per issued call-off and a
despatch advice per despatched shipment.

It implements the outbox ``Publisher`` protocol; the relay hands it every pending message and
marks the call-off SENT only after the file is written, so a call-off and its message are
never apart. The despatch of a shipment writes its ``shipment.despatched`` event to the outbox
in the same transaction; from it the publisher writes the despatch advice in the format of the
receiving partner's profile (DESADV, X12 856 or VDA 4913) into that partner's folder
(``<folder>/<profile code>/<shipment id>.edi|.x12|.vda``). Until the file is written the
message stays pending, so a despatch and its advice are never apart either. The profile of a
shipment is the one ``despatch_profiles`` gives for its unloading point or its line, else the
publisher's own. Other topics pass through to an optional next publisher. Writing goes through a
temporary name and a rename, so a partner that polls the folder never reads half a file, and a
re-published message rewrites the same file.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from jisflow.adapters.edi.deljit import control_reference_for, deljit_interchange
from jisflow.adapters.edi.despatch import despatch_advice
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


def write_file(target: Path, text: str) -> None:
    """Write through a temporary name and a rename: a reader never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)


class EdiFilePublisher:
    def __init__(self, folder: Path, profile: PartnerProfile, sender: str, clock_now, next_publisher: Publisher | None = None,
                 despatch_profiles: Mapping[str, PartnerProfile] | None = None) -> None:
        self.folder = folder
        self.profile = profile
        self.sender = sender  # our interchange id towards the suppliers; the receiver of despatch advices by default
        self.now = clock_now
        self.next = next_publisher
        self.despatch_profiles = dict(despatch_profiles or {})

    def despatch_profile(self, payload: dict[str, Any]) -> PartnerProfile:
        found = self.despatch_profiles
        return found.get(payload["unloading_point"]) or found.get(payload["line"]) or self.profile

    def publish(self, topic: str, key: str, message_id: int, payload: dict[str, Any]) -> None:
        if topic == "calloff.issued":
            now = self.now()
            calloff = calloff_from_payload(payload, now)
            text = deljit_interchange([calloff], self.profile, self.sender, calloff.supplier,
                                      control_reference_for(calloff.number), now)
            write_file(self.folder / f"{calloff.number}.edi", text)
        elif topic == "shipment.despatched":
            profile = self.despatch_profile(payload)
            name, text = despatch_advice(payload, profile, profile.despatch_receiver or self.sender)
            write_file(self.folder / profile.code / name, text)
        if self.next is not None:
            self.next.publish(topic, key, message_id, payload)

    def flush(self) -> None:
        """Deliver what the next publisher queued (the relay calls it before marking a batch published)."""
        flush = getattr(self.next, "flush", None)
        if flush is not None:
            flush()

"""Key performance indicators of the floor, computed from execution records only.

- on-time-in-sequence: share of received parts that arrived before their need time *and* in
  their planned rack position;
- sequence accuracy: share of received parts found in their planned position;
- rack fill rate: filled slots / slots of the closed racks;
- truck utilisation: racks carried / truck capacity over regular (not emergency) shipments;
- emergency deliveries: how many were ordered;
- mean call-off-to-despatch time: from the issue of a call-off to the despatch of its part;
- wrong parts fitted: consumed parts whose line-side check did not pass.

Rates are Decimals rounded to four places (None when there is nothing to measure yet).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from jisflow.domain.execution import ExecutionRecord, RecordKind

_PLACES = Decimal("0.0001")


def _rate(num: int, den: int) -> Decimal | None:
    return (Decimal(num) / Decimal(den)).quantize(_PLACES, ROUND_HALF_EVEN) if den else None


@dataclass(frozen=True)
class Kpis:
    on_time_in_sequence: Decimal | None
    sequence_accuracy: Decimal | None
    rack_fill_rate: Decimal | None
    truck_utilisation: Decimal | None
    emergency_deliveries: int
    mean_calloff_to_despatch: timedelta | None
    wrong_parts_fitted: int
    parts_received: int
    parts_consumed: int

    def to_json(self) -> dict[str, object]:
        def num(v: Decimal | None) -> float | None:
            return float(v) if v is not None else None

        minutes = self.mean_calloff_to_despatch
        return {
            "on_time_in_sequence": num(self.on_time_in_sequence), "sequence_accuracy": num(self.sequence_accuracy),
            "rack_fill_rate": num(self.rack_fill_rate), "truck_utilisation": num(self.truck_utilisation),
            "emergency_deliveries": self.emergency_deliveries,
            "mean_calloff_to_despatch_minutes": round(minutes.total_seconds() / 60, 1) if minutes is not None else None,
            "wrong_parts_fitted": self.wrong_parts_fitted, "parts_received": self.parts_received, "parts_consumed": self.parts_consumed,
        }


def compute(records: Iterable[ExecutionRecord]) -> Kpis:
    received = in_position = on_time_in_seq = 0
    filled = slots = 0
    carried = capacity = 0
    emergencies = 0
    lead_times: list[timedelta] = []
    consumed = wrong = 0
    for r in records:
        if r.kind is RecordKind.RECEIVED:
            received += 1
            in_position += bool(r.data.get("in_position"))
            on_time_in_seq += bool(r.data.get("in_position") and r.data.get("on_time"))
        elif r.kind is RecordKind.RACK_CLOSED:
            filled += int(r.data["filled"])
            slots += int(r.data["capacity"])
        elif r.kind is RecordKind.SHIPMENT_DESPATCHED and not r.data.get("emergency"):
            carried += int(r.data["racks"])
            capacity += int(r.data["capacity"])
        elif r.kind is RecordKind.EMERGENCY:
            emergencies += 1
        elif r.kind is RecordKind.DESPATCHED and r.data.get("issued_at"):
            lead_times.append(r.at - datetime.fromisoformat(r.data["issued_at"]))
        elif r.kind is RecordKind.CONSUMED:
            consumed += 1
            wrong += not r.data.get("checked", False)
    mean = sum(lead_times, timedelta(0)) / len(lead_times) if lead_times else None
    return Kpis(
        _rate(on_time_in_seq, received), _rate(in_position, received), _rate(filled, slots), _rate(carried, capacity),
        emergencies, mean, wrong, received, consumed,
    )

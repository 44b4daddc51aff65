"""Alerts: facts a planner must look at (integrity of the sequence feed, frozen-zone overrides,
late call-offs). An alert is raised once, kept, and acknowledged by a person."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Severity(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertKind(str, enum.Enum):
    GAP = "gap"  # a broadcast skipped vehicles that are still planned before it
    DUPLICATE = "duplicate"  # a vehicle (or a telegram number) broadcast twice
    OUT_OF_ORDER = "out_of_order"  # a vehicle broadcast after a later one
    UNKNOWN_VEHICLE = "unknown_vehicle"  # a broadcast of a vehicle not in the pearl chain
    NUMBER_MISMATCH = "number_mismatch"  # the feed's rolling number disagrees with the chain
    SILENT_FEED = "silent_feed"  # no broadcast for N takts of working time
    FROZEN_ZONE_OVERRIDE = "frozen_zone_override"  # a change inside the frozen zone, overridden
    LATE_CALL_OFF = "late_call_off"  # a call-off issued after its latest despatch time
    EXPLOSION_FAILED = "explosion_failed"  # a broadcast vehicle whose parts could not be determined
    CHANGE_AFTER_SHIPMENT = "change_after_shipment"  # a sequence change hits a part already shipped
    SHORTAGE_PROJECTED = "shortage_projected"  # an item's projected coverage fell below its threshold
    WRONG_SCAN = "wrong_scan"  # a picker scanned a wrong part or a wrong rack slot
    RESEQUENCE_AFTER_PICK = "resequence_after_pick"  # a change hit a picked part: a physical action
    LATE_RISK = "late_risk"  # a shipment's ETA passes its latest safe arrival
    RECEIPT_DISCREPANCY = "receipt_discrepancy"  # what arrived differs from the despatch advice
    LINE_SIDE_REFUSED = "line_side_refused"  # a part out of sequence or for another vehicle at the station


SEVERITY: dict[AlertKind, Severity] = {
    AlertKind.GAP: Severity.CRITICAL,
    AlertKind.DUPLICATE: Severity.WARNING,
    AlertKind.OUT_OF_ORDER: Severity.CRITICAL,
    AlertKind.UNKNOWN_VEHICLE: Severity.CRITICAL,
    AlertKind.NUMBER_MISMATCH: Severity.WARNING,
    AlertKind.SILENT_FEED: Severity.CRITICAL,
    AlertKind.FROZEN_ZONE_OVERRIDE: Severity.WARNING,
    AlertKind.LATE_CALL_OFF: Severity.CRITICAL,
    AlertKind.EXPLOSION_FAILED: Severity.CRITICAL,
    AlertKind.CHANGE_AFTER_SHIPMENT: Severity.CRITICAL,
    AlertKind.SHORTAGE_PROJECTED: Severity.CRITICAL,
    AlertKind.WRONG_SCAN: Severity.WARNING,
    AlertKind.RESEQUENCE_AFTER_PICK: Severity.WARNING,
    AlertKind.LATE_RISK: Severity.CRITICAL,
    AlertKind.RECEIPT_DISCREPANCY: Severity.CRITICAL,
    AlertKind.LINE_SIDE_REFUSED: Severity.CRITICAL,
}


@dataclass
class Alert:
    kind: AlertKind
    line: str
    message: str
    raised_at: datetime
    order_id: str | None = None
    seq_no: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    severity: Severity | None = None
    id: int | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None

    def __post_init__(self) -> None:
        if self.severity is None:
            self.severity = SEVERITY[self.kind]

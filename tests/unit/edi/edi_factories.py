"""Call-offs to write and read back in the EDI tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from jisflow.domain.calloff import CallOff, CallOffLine, CallOffState

ISSUED = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)


def calloff(count: int = 3, number: str = "CO-00000000000000A1") -> CallOff:
    lines = [
        CallOffLine(
            number=number, supplier="SITZ", unloading_point="DOCK-A", line="L1", order_id=f"ORD{n:06d}", family="SEAT",
            seq_no=10_000 + n, rolling_no=n, vin=f"WJFHA0M1XTM{n:06d}" if n % 2 else None,
            part_number=f"SEAT-{n % 3}", quantity=1 + n % 2, station="T040",
            need_time=ISSUED + timedelta(minutes=30 + n), ship_by=ISSUED + timedelta(minutes=n),
            state=CallOffState.SENT,
        )
        for n in range(1, count + 1)
    ]
    return CallOff(number, "SITZ", "DOCK-A", "L1", ISSUED, lines)

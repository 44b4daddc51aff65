"""``jisflow purchasing plan`` end to end on a SQLite file: a DELFOR imported with ``jisflow edi
import`` feeds the plan; ``--no-forecasts`` plans for the pearl chain alone."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

from test_cli_edi import SMALL_PLANT, database, run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "edi"))
from test_edi_forecasts import written  # noqa: E402

from jisflow.adapters.edi.forecasts import Commitment, Forecast, ForecastPeriod, PartForecast  # noqa: E402

MONDAY = date(2026, 12, 7)
MONDAY_7 = "2026-12-07T07:00:00+01:00"



def test_an_imported_delfor_feeds_the_purchasing_plan_unless_forecasts_are_left_out(tmp_path: Path):
    url = database(tmp_path, "supplier.db")
    run("plant", "load", str(SMALL_PLANT), "--db", url)
    run("stock", "item", "SEAT-C", "--description", "Cloth seat set", "--db", url)
    # weekly periods from Monday: 100, 101, 102, 103 seat sets
    periods = tuple(ForecastPeriod("", MONDAY + timedelta(weeks=w), 100 + w, Commitment.FIRM if w < 2 else Commitment.PLANNING) for w in range(4))
    delfor = tmp_path / "delfor.edi"
    delfor.write_text(written(Forecast("DELFOR", "1", "FC-9", MONDAY, "PLANT", "SITZ", (PartForecast("", "SEAT-C", None, "DOCK-1", "EA", periods),))),
                      encoding="utf-8")
    run("edi", "import", str(delfor), "--db", url)
    # eight days of lead time from Monday 06:00 UTC reach the first two weeks: 100 + 101 due, nothing on hand
    run("purchasing", "policy", "SEAT-C", "--kind", "reorder_point", "--supplier", "SEATCO", "--lead-time", str(8 * 24 * 60),
        "--reorder-point", "0", "--order-quantity", "50", "--db", url)

    planned = run("purchasing", "plan", "--at", MONDAY_7, "--db", url).stdout
    assert "│ SEAT-C │ SEATCO   │ 250      │ 2026-12-15 06:00 │ reorder_point │" in planned
    assert "0 from the chain, 201 from the forecast" in planned and "│ forecast │" in planned

    chain_only = run("purchasing", "plan", "--no-forecasts", "--at", MONDAY_7, "--db", url).stdout
    assert "│ SEAT-C │ SEATCO   │ 50       │" in chain_only and "forecast" not in chain_only

    placed = run("purchasing", "plan", "--place", "--at", MONDAY_7, "--db", url).stdout
    assert "placed 1 order(s): PO000001" in placed
    assert "│ SEAT-C │" not in run("purchasing", "plan", "--at", MONDAY_7, "--db", url).stdout  # 250 on order cover the 201 due

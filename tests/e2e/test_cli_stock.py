"""``jisflow stock``, ``jisflow projection`` and ``jisflow purchasing`` end to end on a SQLite
file. Times are given with ``--at`` so the figures do not depend on the day the tests run."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from jisflow.entrypoints.cli.main import app

SMALL_PLANT = Path(__file__).resolve().parents[1] / "data" / "plants" / "small_plant.yaml"
MONDAY_7 = "2026-12-07T07:00:00+01:00"

runner = CliRunner()



@pytest.fixture
def jisflow(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'stock.db'}"

    def run(*args: str, exit_code: int = 0) -> str:
        result = runner.invoke(app, [*args, "--db", url])
        assert result.exit_code == exit_code, f"jisflow {' '.join(args)} -> {result.exit_code}\n{result.output}"
        return result.output

    run("db", "upgrade")
    run("plant", "load", str(SMALL_PLANT))
    run("stock", "item", "DOC-1", "--description", "Vehicle documents")
    run("stock", "location", "WH", "--kind", "warehouse")
    run("stock", "location", "WH-A1", "--kind", "bin", "--parent", "WH")
    run("stock", "location", "SHELF", "--kind", "supermarket")
    return run


def broadcast_city_vehicles(jisflow, tmp_path: Path, count: int) -> None:
    """Import ``count`` city vehicles V1, V2... into line L1 and broadcast them at 07:00."""
    csv = tmp_path / "day.csv"
    csv.write_text("order_id,model,trim,roof\n" + "".join(f"V{n},CITY,BASE,CLOSED\n" for n in range(1, count + 1)))
    jisflow("sequence", "import", str(csv), "--line", "L1")
    jisflow("broadcast", "--line", "L1", "--next", str(count), "--at", MONDAY_7)


def test_receive_move_count_and_show_keep_the_books(jisflow):
    jisflow("stock", "receive", "DOC-1", "5", "-l", "WH-A1", "--by", "dock")
    jisflow("stock", "move", "DOC-1", "2", "--from", "WH-A1", "--to", "SHELF")
    assert "correction -1" in jisflow("stock", "count", "DOC-1", "2", "-l", "WH-A1")
    jisflow("stock", "adjust", "DOC-1", "-q", "-1", "-l", "SHELF", "--reason", "scrap", "--note", "torn")
    shown = jisflow("stock", "show", "DOC-1")
    assert "│ DOC-1 │ Vehicle documents │ 3       │ 0          │ 0        │ 3         │" in shown
    assert "count_correction" in shown and "scrap" in shown


def test_an_issue_beyond_the_stock_is_refused_with_what_and_where(jisflow):
    jisflow("stock", "receive", "DOC-1", "1", "-l", "WH-A1")
    out = jisflow("stock", "adjust", "DOC-1", "-q", "-2", "-l", "WH-A1", "--reason", "issue_to_line", exit_code=1)
    assert "insufficient_stock" in out and "DOC-1 at WH-A1: holds 1, cannot give 2" in out


def test_the_projection_table_and_chart_mark_the_first_shortage(jisflow, tmp_path: Path):
    jisflow("stock", "receive", "DOC-1", "2", "-l", "WH-A1")
    broadcast_city_vehicles(jisflow, tmp_path, 4)
    chart = tmp_path / "doc.svg"
    out = jisflow("projection", "DOC-1", "--at", MONDAY_7, "--plot", str(chart))
    # 4 vehicles broadcast at 06:00Z need one each 20 takts (30 min) later; 2 in stock: V3 is
    # the first short, after 0.5 h of coverage; V3 and V4 short, 90 s of production each
    assert "│ DOC-1 │ 2       │ 0        │ 4      │ 2026-12-07 06:30     │ V3      │ 3   │ 0.50       │ 2     │ 3  " in out
    svg = chart.read_text()
    assert svg.startswith("<svg") and "first shortage 07 06:30Z, V3 (seq 3)" in svg
    assert "name one item or give --all" in jisflow("projection", exit_code=1)


def test_purchasing_plan_orders_and_kanban(jisflow):
    jisflow("purchasing", "policy", "DOC-1", "--kind", "reorder_point", "--supplier", "DOCS", "--reorder-point", "5", "--order-quantity", "4")
    assert "│ DOC-1 │ DOCS     │ 8        │" in jisflow("purchasing", "plan")
    assert "placed 1 order(s): PO000001" in jisflow("purchasing", "plan", "--place")
    jisflow("purchasing", "order", "DOC-1", "3", "--supplier", "DOCS", "--due", MONDAY_7)
    jisflow("stock", "receive", "DOC-1", "3", "-l", "WH-A1", "--po", "PO000002", "--at", MONDAY_7)
    assert "│ DOCS     │ 1               │ 100%    │ 100%           │" in jisflow("purchasing", "performance")
    out = jisflow("purchasing", "kanban", "DOC-1", exit_code=1)
    assert "not replenished by kanban" in out


def test_a_jit_delivery_is_received_against_its_call_and_a_malformed_call_is_refused(jisflow, tmp_path: Path):
    jisflow("stock", "item", "BMP-C", "--description", "City bumper")
    broadcast_city_vehicles(jisflow, tmp_path, 3)
    window = "2026-12-07T07:00:00+01:00"  # the hour of the city bumpers' call (windows of 60 minutes)
    out = jisflow("stock", "receive", "BMP-C", "3", "-l", "SHELF", "--jit-call", f"L1/BUMPER/{window}", "--at", MONDAY_7)
    assert "against JIT call L1/BUMPER/" in out
    assert "is not LINE/FAMILY/WINDOW-START" in jisflow("stock", "receive", "BMP-C", "3", "-l", "SHELF", "--jit-call", "L1-BUMPER", exit_code=2)
    refused = jisflow("stock", "receive", "BMP-C", "3", "-l", "SHELF", "--jit-call", "L1/BUMPER/2026-12-08T07:00:00+01:00", exit_code=1)
    assert "no summarized call of BMP-C" in refused
    assert "│ BMP-C │ City bumper │ 3 " in jisflow("stock", "show", "BMP-C")


def test_vehicles_are_backflushed_together_or_not_at_all(jisflow, tmp_path: Path):
    jisflow("stock", "receive", "DOC-1", "3", "-l", "WH-A1")
    broadcast_city_vehicles(jisflow, tmp_path, 3)
    refused = jisflow("stock", "backflush", "--line", "L1", "--order", "V1", "--order", "V9", exit_code=1)
    assert "vehicle V9" in refused and "nothing was backflushed" in refused
    assert "backflushed V1, V2: 2 movement(s)" in jisflow("stock", "backflush", "--line", "L1", "--order", "V1", "--order", "V2")
    assert "│ DOC-1 │ Vehicle documents │ 1 " in jisflow("stock", "show", "DOC-1")

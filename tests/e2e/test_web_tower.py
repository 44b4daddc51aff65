"""The control tower in a real browser: Playwright drives Debian's chromium against the tower
served by ``tower_server.py`` (a small seeded plant) in a process of its own. Screenshots
at tablet size go to tests/e2e/screenshots/ for a person to look at."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).parent
SHOTS = HERE / "screenshots"
TABLET = {"width": 820, "height": 1180}

if not CHROMIUM.exists():
    pytest.skip(f"the browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need the playwright package (the dev extra)")
expect = sync_api.expect


@pytest.fixture(scope="module")
def tower(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    where = tmp_path_factory.mktemp("tower")
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"} | {"NICEGUI_STORAGE_PATH": str(where / "sessions")}
    db_file = where / "tower.db"
    process = subprocess.Popen([sys.executable, str(HERE / "tower_server.py"), str(db_file)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        first = process.stdout.readline()
        if not first:
            pytest.fail(f"the tower server stopped before it served (exit {process.wait(5)})")
        info = json.loads(first)
        for _ in range(100):
            try:
                httpx.get(info["url"] + "/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None:
                    pytest.fail("the tower server stopped")
                import time

                time.sleep(0.1)
        yield info
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=TABLET)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def planner_context(browser, tower: dict):
    """A browser signed in as the planner once for the module (the session cookie stays)."""
    context = browser.new_context(viewport=TABLET)
    sign_in(context.new_page(), tower, tower["planner"], "anna")
    yield context
    context.close()


@pytest.fixture
def planner(planner_context):
    page = planner_context.new_page()
    yield page
    page.close()


def sign_in(page, tower: dict, key: str, user: str = "") -> None:
    page.goto(tower["url"] + "/")
    if user:
        page.get_by_test_id("user").fill(user)
    page.get_by_test_id("key").fill(key)
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_test_id("who")).to_be_visible()


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_the_api_and_its_documentation_answer_beside_the_tower(tower: dict) -> None:
    assert httpx.get(tower["url"] + "/openapi.json").json()["info"]["title"] == "jisflow"
    assert httpx.get(tower["url"] + "/docs").status_code == 200
    assert httpx.get(tower["url"] + "/calloff-lines").status_code == 401
    assert httpx.get(tower["url"] + "/", follow_redirects=False).headers["location"] == "/tower/"


def test_a_wrong_key_is_refused_at_the_sign_in(page, tower: dict) -> None:
    page.goto(tower["url"] + "/tower/board")
    page.get_by_test_id("key").fill("jf_000000000000_not-a-key")
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_text("The API key is unknown, revoked or wrong.")).to_be_visible()
    expect(page.get_by_test_id("who")).to_have_count(0)


def test_the_overview_shows_the_line_position_alerts_and_kpis(planner, tower: dict) -> None:
    page = planner
    page.goto(tower["url"] + "/tower/")
    expect(page.get_by_test_id("position")).to_contain_text("last broadcast: seq 28")
    expect(page.get_by_text("Open alerts", exact=True)).to_be_visible()
    expect(page.get_by_text("Shift KPIs", exact=True)).to_be_visible()
    shot(page, "overview")


def test_the_board_moves_live_when_a_vehicle_is_broadcast(planner, tower: dict) -> None:
    page = planner
    page.goto(tower["url"] + "/tower/board")
    board = page.get_by_test_id("board")
    head = board.locator("tbody tr").nth(2)
    order = head.get_attribute("data-order")
    expect(head).to_contain_text("frozen")
    answer = httpx.post(f"{tower['url']}/lines/{tower['line']}/broadcast-next", json={"count": 1},
                        headers={"Authorization": f"Bearer {tower['planner']}"})
    assert answer.status_code == 200, answer.text
    expect(board.locator(f'tr[data-order="{order}"]')).to_contain_text("broadcast", timeout=5000)
    shot(page, "board")


def test_a_planner_resequences_a_vehicle_and_sees_its_calloff_amended_on_the_board(planner, tower: dict) -> None:
    page = planner
    page.goto(tower["url"] + "/tower/chain")
    rows = page.get_by_test_id("chain").locator("tbody tr")
    expect(rows.first).to_be_visible()
    texts = rows.all_inner_texts()
    orders = [rows.nth(i).get_attribute("data-order") for i in range(len(texts))]
    pick = next(i for i, t in enumerate(texts) if "frozen" not in t and re.search(r"\b(SENT|ACKNOWLEDGED)\b", t))
    vehicle, after = orders[pick], orders[pick + 1]
    page.get_by_test_id("move-order").fill(vehicle)
    page.get_by_test_id("move-after").fill(after)
    page.get_by_test_id("resequence").click()
    expect(page.get_by_text(f"{vehicle} moved after {after}")).to_be_visible()
    order_now = page.get_by_test_id("chain").locator("tbody tr")
    expect(order_now.nth(pick)).to_have_attribute("data-order", after)
    page.goto(f"{tower['url']}/tower/board?start={vehicle}")
    row = page.get_by_test_id("board").locator(f'tr[data-order="{vehicle}"]')
    expect(row).to_contain_text("AMENDED")
    shot(page, "board-amended")


def test_a_move_inside_the_frozen_zone_asks_for_an_override_and_is_flagged(planner, tower: dict) -> None:
    page = planner
    page.goto(tower["url"] + "/tower/chain")
    rows = page.get_by_test_id("chain").locator("tbody tr")
    expect(rows.first).to_contain_text("frozen")
    second, fourth = rows.nth(1).get_attribute("data-order"), rows.nth(3).get_attribute("data-order")
    page.get_by_test_id("move-order").fill(second)
    page.get_by_test_id("move-after").fill(fourth)
    page.get_by_test_id("resequence").click()
    expect(page.get_by_text("Frozen zone", exact=True)).to_be_visible()
    shot(page, "chain-frozen-warning")
    page.get_by_test_id("override").click()
    expect(page.get_by_text(f"{second} moved after {fourth}")).to_be_visible()
    expect(page.get_by_test_id("chain").locator(f'tr[data-order="{second}"]')).to_contain_text("flagged")


def test_a_planner_acknowledges_an_alert_in_the_inbox(planner, tower: dict) -> None:
    page = planner
    page.goto(tower["url"] + "/tower/alerts")
    first = page.locator("[data-alert]").first
    expect(first).to_be_visible()
    alert_id = first.get_attribute("data-alert")
    first.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text(f"alert {alert_id} acknowledged")).to_be_visible()
    expect(page.locator(f'[data-alert="{alert_id}"]')).to_have_count(0)


def test_a_supplier_sees_only_its_own_calloffs_acknowledges_one_and_records_a_despatch(page, tower: dict) -> None:
    sign_in(page, tower, tower["supplier"], "sitz")
    expect(page).to_have_url(re.compile(r"/tower/portal$"))
    own = tower["supplier_code"]
    suppliers = page.get_by_test_id("by-state").locator("tbody tr td:first-child")
    expect(suppliers).to_have_text([own])
    listed = page.get_by_test_id("open-lines").locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert listed and set(listed) == {own}
    waiting = page.get_by_test_id("to-acknowledge").locator("[data-calloff]")
    before = waiting.count()
    assert before > 0
    number = waiting.first.get_attribute("data-calloff")
    waiting.first.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text(re.compile(rf"{number}: \d+ line\(s\) acknowledged"))).to_be_visible()
    expect(page.locator(f'[data-calloff="{number}"]')).to_have_count(0)
    shot(page, "supplier-portal")
    truck = page.locator("[data-shipment]").first
    shipment = truck.get_attribute("data-shipment")
    truck.get_by_role("button", name="Record despatch").click()
    expect(page.get_by_text(f"{shipment} despatched; the ASN is out")).to_be_visible()
    expect(page.locator(f'[data-shipment="{shipment}"]')).to_have_count(0)
    page.goto(tower["url"] + "/tower/board")
    board = page.get_by_test_id("board")
    expect(board).to_be_visible()
    families = set(board.locator("[data-family]").evaluate_all("els => els.map(e => e.dataset.family)"))
    assert families and families <= {"SEAT-FR", "SEAT-RR"}


def test_the_inventory_chart_marks_the_first_shortage_and_the_vehicle_it_hits(planner, tower: dict) -> None:
    page = planner
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(tower["url"] + "/tower/inventory")
    shortage = page.get_by_test_id("shortage")
    expect(shortage).to_contain_text("First shortage at")
    vehicle = re.search(r"hits (\S+) \(seq (\d+)\)", shortage.inner_text())
    assert vehicle is not None
    chart = page.get_by_test_id("stock-chart")
    expect(chart.locator("svg path").first).to_be_attached()
    expect(chart.locator("svg text", has_text=f"short: {vehicle.group(1)} (seq {vehicle.group(2)})")).to_have_count(1)
    expect(page.get_by_role("cell", name=vehicle.group(1)).first).to_be_visible()
    elsewhere = [url for url in asked if not url.startswith(tower["url"]) and not url.startswith(tower["url"].replace("http", "ws"))]
    assert asked and elsewhere == [], "every asset comes from the tower itself"
    shot(page, "inventory")


def test_the_pipeline_transport_kpi_and_alert_pages_render_for_a_planner(planner, tower: dict) -> None:
    page = planner
    for path, title, shown in (("calloffs", "Call-off pipeline", "Lines by state"), ("transport", "Racks and trucks", "Trucks planned and on the road"),
                               ("kpis", "KPIs over time", "on time in sequence"), ("alerts", "Alerts inbox", "late_call_off")):
        page.goto(f"{tower['url']}/tower/{path}")
        expect(page.get_by_text(title, exact=True)).to_be_visible()
        expect(page.get_by_text(shown).first).to_be_attached()
        page.wait_for_timeout(300)
        shot(page, path)

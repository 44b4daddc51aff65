"""``jisflow demo`` starts the control tower with the simulated plant feeding it, and stops
cleanly on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _wait(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{what} did not happen within {seconds} s")


def test_the_demo_serves_the_tower_while_the_plant_calls_parts_off_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    jisflow = Path(sys.executable).parent / "jisflow"
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"} | {"NICEGUI_STORAGE_PATH": str(tmp_path / "sessions")}
    process = subprocess.Popen(
        [str(jisflow), "demo", "--port", "0", "--speed", "600", "--db-file", str(tmp_path / "demo.db")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        printed = ""
        while "planner" not in printed:
            line = process.stdout.readline()
            assert line, f"the demo stopped before it served:\n{printed}"
            printed += line
        url = re.search(r"open\s+(http://\S+)", printed).group(1)
        key = re.search(r"planner\s+(jf_\S+)", printed).group(1)
        _wait(lambda: _answers(url + "/health"), 30, "the server answering")
        assert httpx.get(url + "/tower/login").status_code == 200
        headers = {"Authorization": f"Bearer {key}"}

        def issued() -> int:
            """Every call-off line so far, page after page (a page holds 500 at most)."""
            count, cursor = 0, None
            while True:
                params = {"limit": 500} | ({"cursor": cursor} if cursor else {})
                answer = httpx.get(url + "/calloff-lines", params=params, headers=headers, timeout=10)
                if answer.status_code != 200:
                    return 0
                page = answer.json()
                count += len(page["items"])
                cursor = page["next_cursor"]
                if cursor is None:
                    return count

        first = _wait(issued, 60, "a call-off going out")
        _wait(lambda: issued() > first, 30, "more call-offs going out")
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, rest
    assert "control tower stopped" in rest


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False

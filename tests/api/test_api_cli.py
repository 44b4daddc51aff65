"""``jisflow users ...`` makes users and keys that open the API; ``jisflow serve`` answers
with its OpenAPI document; ``jisflow worker`` relays and delivers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from jisflow.adapters.plant_file import load_plant_file
from jisflow.bootstrap import bootstrap
from jisflow.entrypoints.api import create_app
from jisflow.entrypoints.cli.main import app as cli
from jisflow.services import commands as c

PLANT = Path(__file__).parent.parent / "data" / "plants" / "small_plant.yaml"

runner = CliRunner()


def test_a_user_and_key_made_on_the_command_line_open_the_api(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert runner.invoke(cli, ["db", "upgrade", "--db", db]).exit_code == 0
    made = runner.invoke(cli, ["users", "create", "sitz", "--role", "supplier", "--supplier", "SEATS", "--db", db])
    assert made.exit_code == 0, made.output
    issued = runner.invoke(cli, ["users", "key", "sitz", "--scope", "calloffs:read", "--db", db])
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip().splitlines()[-1]
    me = TestClient(create_app(bootstrap(database_url=db))).get("/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["name"], me["role"], me["partner"], me["scopes"]) == ("sitz", "supplier", "SEATS", ["calloffs:read"])
    listed = runner.invoke(cli, ["users", "list", "--db", db])
    assert "sitz" in listed.output and token not in listed.output


def test_a_supplier_user_without_its_supplier_is_refused_with_the_reason(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner.invoke(cli, ["db", "upgrade", "--db", db])
    result = runner.invoke(cli, ["users", "create", "sitz", "--role", "supplier", "--db", db])
    assert result.exit_code == 1
    assert "a supplier user is bound to one supplier" in result.output


def test_a_key_cannot_carry_a_scope_its_role_lacks(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner.invoke(cli, ["db", "upgrade", "--db", db])
    runner.invoke(cli, ["users", "create", "truck", "--role", "carrier", "--carrier", "TRUCKCO", "--db", db])
    result = runner.invoke(cli, ["users", "key", "truck", "--scope", "audit:read", "--db", db])
    assert result.exit_code == 1
    assert "a carrier cannot hold the scope(s) audit:read" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_with_the_openapi_document_and_the_docs_on_sqlite(tmp_path: Path):
    port = _free_port()
    env = {**os.environ, "JISFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}"}
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("jisflow")), "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                document = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).json()
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "jisflow serve did not come up"
                time.sleep(0.2)
        assert document["info"]["title"] == "jisflow"
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_one_worker_round_relays_the_outbox_and_reports_it(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'worker.db'}"
    jf = bootstrap(database_url=db, migrate=True)
    definition = load_plant_file(PLANT)
    jf.bus.handle(c.LoadPlant(definition.plant, definition.data))
    result = runner.invoke(cli, ["worker", "--once", "--db", db])
    assert result.exit_code == 0, result.output
    assert "1 published" in result.output
    with jf.uow:
        assert jf.uow.outbox.pending() == []

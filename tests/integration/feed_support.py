"""Shared pieces of the worker tests: a NATS JetStream stream of their own, plants with a
generated sequence, broadcast feeds published to JetStream, and `jisflow worker` processes."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from jisflow.adapters.broker.feed import broadcast_subject
from jisflow.adapters.plant_file import PlantDefinition
from jisflow.bootstrap import App
from jisflow.domain.sequence import Vehicle
from jisflow.domain.vehicle_mix import generate_vehicles
from jisflow.services import commands as c

NATS_URL = "nats://127.0.0.1:4222"
T0 = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)
JISFLOW = [str(Path(sys.executable).parent / "jisflow")]


def nats_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=1):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class Stream:
    name: str
    prefix: str

    @classmethod
    def fresh(cls) -> Stream:
        token = secrets.token_hex(4)
        return cls(f"JISFLOWT{token.upper()}", f"jisflowt{token}")

    def options(self) -> list[str]:
        return ["--nats", NATS_URL, "--stream", self.name, "--prefix", self.prefix]

    def last_message(self, subject: str) -> tuple[bytes, dict[str, str]]:
        """The body and headers of the last message the stream holds on ``subject``."""
        async def run() -> tuple[bytes, dict[str, str]]:
            nc = await _nats()
            try:
                stored = await nc.jetstream().get_last_msg(self.name, subject)
                return stored.data, dict(stored.headers or {})
            finally:
                await nc.close()

        return asyncio.run(run())

    def delete(self) -> None:
        async def run() -> None:
            nc = await _nats()
            try:
                await nc.jetstream().delete_stream(self.name)
            except Exception:
                pass
            await nc.close()

        asyncio.run(run())


async def _nats() -> Any:
    import nats

    return await nats.connect(NATS_URL, connect_timeout=5)


def feed(definition: PlantDefinition, line: str, count: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """``count`` broadcasts of a line's generated vehicles, one takt apart: (message id, payload)."""
    vehicles = generate_vehicles(definition.mix, count, seed)
    return [
        (f"mes-{line}-{i + 1}", {"order_id": f"{line}-{v.order_id}", "at": (T0 + timedelta(minutes=i)).isoformat(), "rolling_no": i + 1})
        for i, v in enumerate(vehicles)
    ]


def load(app: App, definition: PlantDefinition, lines: list[str], count: int, seed: int) -> None:
    """The plant and, on every line, the vehicles its feed will broadcast."""
    app.bus.handle(c.LoadPlant(definition.plant, definition.data))
    for line in lines:
        vehicles = generate_vehicles(definition.mix, count, seed)
        rows = tuple(
            c.SequenceRow(f"vehicle {i + 1}", Vehicle(f"{line}-{v.order_id}", v.model, dict(v.options), None))
            for i, v in enumerate(vehicles)
        )
        app.bus.handle(c.ImportSequence(line, rows, source="test feed"))


def publish(stream: Stream, plant: str, feeds: dict[str, list[tuple[str, dict[str, Any]]]]) -> None:
    """Publish the feeds of several lines to JetStream, the lines interleaved."""
    from nats.js.api import StreamConfig

    async def run() -> None:
        nc = await _nats()
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name=stream.name, subjects=[f"{stream.prefix}.>"], duplicate_window=600))
        acks = []
        for i in range(max(len(f) for f in feeds.values())):
            for line, messages in feeds.items():
                if i < len(messages):
                    message_id, payload = messages[i]
                    subject = broadcast_subject(plant, line, stream.prefix)
                    acks.append(await js.publish_async(subject, json.dumps(payload).encode(), headers={"Nats-Msg-Id": message_id}))
        await asyncio.gather(*acks)
        await nc.close()

    asyncio.run(run())


def stream_message_ids(stream: Stream) -> list[str]:
    """The ``Nats-Msg-Id`` of every message in the stream, in stream order."""

    async def run() -> list[str]:
        nc = await _nats()
        js = nc.jetstream()
        info = await js.stream_info(stream.name)
        subscription = await js.pull_subscribe(f"{stream.prefix}.>", stream=stream.name)
        ids: list[str] = []
        while len(ids) < info.state.messages:
            for message in await subscription.fetch(500, timeout=5):
                ids.append((message.headers or {}).get("Nats-Msg-Id", ""))
                await message.ack()
        await subscription.unsubscribe()
        await nc.close()
        return ids

    return asyncio.run(run())


def start_worker(db_url: str, stream: Stream, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("ab") as out:
        return subprocess.Popen([*JISFLOW, "worker", "--db", db_url, *stream.options(), "--interval", "0.2", "--ack-wait", "1", *extra], stdout=out, stderr=subprocess.STDOUT, env=env)


def applied_count(engine: sa.Engine, line: str) -> int:
    """How many broadcast messages of the line the inbox holds (applied and committed)."""
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT count(*) FROM inbox WHERE key LIKE :k"), {"k": f"broadcast:{line}:%"}).scalar_one()


def another_plant(plant: str, line: str) -> PlantDefinition:
    """The demo plant under another plant code, its one line renamed ``line`` (family codes get
    the line's code), to be loaded beside the demo plant."""
    import copy

    from jisflow.adapters.plant_file import demo_plant_path, load_plant_file, parse_plant_definition

    data = copy.deepcopy(load_plant_file(demo_plant_path()).data)
    [template] = data["lines"]
    data["plant"] = {**data["plant"], "code": plant, "name": f"Plant {plant}"}
    data["lines"] = [{**template, "code": line, "name": f"Line {line}"}]
    data["families"] = [{**f, "code": f"{f['code']}-{line}", "line": line} for f in data["families"] if f["line"] == template["code"]]
    return parse_plant_definition(data, source=f"demo plant as {plant} with line {line}")


def wait_until(condition: Any, what: str, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> None:
    """Return once ``condition()`` holds; fail with ``what`` after ``timeout`` seconds, or as
    soon as ``process`` ended (with its log)."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker ended (exit code {process.returncode}) while waiting for {what}" + (f":\n{log.read_text()}" if log else ""))
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what} in vain" + (f":\n{log.read_text()}" if log else ""))
        time.sleep(0.05)

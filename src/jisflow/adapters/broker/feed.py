"""The plants' broadcast feeds from NATS JetStream, applied line by line, plus the outbox relay.

A plant's MES publishes each vehicle passing the broadcast point to
``jisflow.<plant>.<line>.broadcast`` with a ``Nats-Msg-Id``. Every line has one durable pull
consumer (``<group>-broadcast-<plant>-<line>``) that allows a single unacknowledged message:
JetStream hands out the line's next message only once the previous one is acknowledged, to
whichever worker asks, so the line's order holds even when two workers pull from it (during a
re-assignment, or by mistake). Workers share the lines by owning disjoint sets of them
(``share``, ``owned_lines``); a worker given ``discover`` works its set out again every
``rescan`` seconds, starts consuming the lines that came into it (a plant loaded since) and lets
a line that left it finish the message in hand before it stops pulling that line.

A message is applied in one transaction together with its id in the inbox and acknowledged
only after the commit: a worker killed in between leaves the message unacknowledged, it comes
again, is recognised as applied and is only acknowledged. A message that can never be applied
(``Rejected``: malformed, unknown line) is kept on the line's dead-letter subject
(``jisflow.<plant>.<line>.broadcast.rejected``, with the reason in the ``Jisflow-Rejected-Reason``
header) and then terminated, so it does not hold up its line and is not lost; any other failure (the database is away) makes it come again after a pause.

All NATS traffic runs on one asyncio loop; the applying and the relaying (plain synchronous
code with one unit of work) run one after the other on a single thread beside it, so the loop
keeps listening while the database works.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import NotFoundError

from jisflow.adapters.broker.nats import DUPLICATE_WINDOW, PREFIX, STREAM, message_id, subject_for, token
from jisflow.services.outbox import Publisher

log = logging.getLogger(__name__)

BROADCAST = "broadcast"
REJECTED = "rejected"
GROUP = "jisflow"


def broadcast_subject(plant: str, line: str, prefix: str = PREFIX) -> str:
    """Where a plant's feed publishes the broadcasts of one line."""
    return f"{prefix}.{token(plant)}.{token(line)}.{BROADCAST}"


def rejected_subject(plant: str, line: str, prefix: str = PREFIX) -> str:
    """Where the broadcasts of a line that can never be applied are kept, with their reason."""
    return f"{broadcast_subject(plant, line, prefix)}.{REJECTED}"


def durable_name(plant: str, line: str, group: str = GROUP) -> str:
    """The one durable consumer of a line's broadcasts that every worker of ``group`` shares."""
    return token(f"{group}-broadcast-{plant}-{line}")


def share(lines: Sequence[str], index: int, workers: int) -> list[str]:
    """The lines worker ``index`` of ``workers`` owns: the sorted lines dealt out in turn, so
    every worker computes the same split and each line has exactly one owner."""
    if workers < 1 or not 0 <= index < workers:
        raise ValueError(f"worker index {index} is not one of {workers} worker(s) (0 to {workers - 1})")
    return [line for position, line in enumerate(sorted(set(lines))) if position % workers == index]


class Rejected(Exception):
    """The message can never be applied; it goes to its line's dead-letter subject so its line
    goes on."""


@dataclass(frozen=True)
class FeedLine:
    plant: str
    line: str


def owned_lines(plant_of: Mapping[str, str], index: int, workers: int, named: Sequence[str] = ()) -> list[FeedLine]:
    """The lines worker ``index`` of ``workers`` consumes, from the lines of the loaded plants
    (line code -> plant code): its ``share`` of the ``named`` lines that are loaded, or of all
    of them when none are named. Worked out the same way at start and on every rescan, so
    workers that read the same plants agree on the split without talking to each other."""
    codes = [code for code in named if code in plant_of] if named else list(plant_of)
    return [FeedLine(plant_of[code], code) for code in share(codes, index, workers)]


Handle = Callable[[str, str, dict[str, Any]], bool]
"""Applies one broadcast (line, message id, payload); False when it was applied before."""
Relay = Callable[[Publisher], int]
"""Relays the outbox through the publisher it is given; returns how many messages went out."""


@dataclass
class FeedStats:
    applied: dict[str, int] = field(default_factory=dict)  # per line
    duplicates: int = 0
    rejected: int = 0
    retried: int = 0
    published: int = 0

    @property
    def total_applied(self) -> int:
        return sum(self.applied.values())


class _LoopPublisher:
    """The outbox ``Publisher`` for the relay's thread. ``publish`` only collects; ``flush``
    sends the batch on the worker's loop in order without waiting message by message, and
    returns once JetStream acknowledged every one of them (or raises)."""

    def __init__(self, js: Any, loop: asyncio.AbstractEventLoop, plant_of_line: Callable[[str], str], prefix: str) -> None:
        self._js, self._loop, self._plant_of_line, self._prefix = js, loop, plant_of_line, prefix
        self._batch: list[tuple[str, bytes, dict[str, str]]] = []

    def publish(self, topic: str, key: str, message_id_: int, payload: dict[str, Any]) -> None:
        subject = subject_for(topic, payload, self._plant_of_line, self._prefix)
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._batch.append((subject, body, {"Nats-Msg-Id": message_id(message_id_)}))

    def flush(self) -> None:
        batch, self._batch = self._batch, []
        if batch:
            asyncio.run_coroutine_threadsafe(self._send(batch), self._loop).result(timeout=60)

    async def _send(self, batch: list[tuple[str, bytes, dict[str, str]]]) -> None:
        acks = [await self._js.publish_async(subject, body, headers=headers) for subject, body, headers in batch]
        await asyncio.wait_for(asyncio.gather(*acks), timeout=30)


class FeedWorker:
    """Consumes the broadcasts of ``lines`` and relays the outbox, until stopped (SIGTERM,
    SIGINT) or, with ``idle_stop``, until nothing happened for that many seconds.

    With ``discover`` (run on the apply thread, returns the lines this worker owns now) the
    lines are looked up again every ``rescan`` seconds (0: never): a line that came in gets its
    consumer, a line that left finishes the message in hand, is acknowledged after its commit
    as always, and is no longer pulled."""

    def __init__(
        self, url: str, lines: Sequence[FeedLine], handle: Handle, *,
        relay: Relay | None = None, plant_of_line: Callable[[str], str] | None = None, prepare: Callable[[], None] | None = None,
        stream: str = STREAM, prefix: str = PREFIX, group: str = GROUP, ack_wait: float = 10.0, relay_interval: float = 1.0,
        idle_stop: float | None = None, poll: float = 1.0, connect_timeout: float = 5.0,
        discover: Callable[[], Sequence[FeedLine]] | None = None, rescan: float = 10.0,
    ) -> None:
        if relay is not None and plant_of_line is None:
            raise ValueError("the relay needs plant_of_line to build its subjects")
        self.url, self.lines, self.handle, self.relay, self.plant_of_line, self.prepare = url, list(lines), handle, relay, plant_of_line, prepare
        self.stream, self.prefix, self.group = stream, prefix, group
        self.ack_wait, self.relay_interval, self.idle_stop, self.poll, self.connect_timeout = ack_wait, relay_interval, idle_stop, poll, connect_timeout
        self.discover, self.rescan = discover, rescan
        self.stats = FeedStats()
        self._stopping = False
        self._consumers: dict[FeedLine, asyncio.Task[None]] = {}
        self._leaving: set[FeedLine] = set()  # left the share: stop after the message in hand
        self._last_activity = time.monotonic()
        self._busy = 0  # messages and relay rounds being worked on: never idle meanwhile
        self._js: Any = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jisflow-apply")

    def stop(self) -> None:
        self._stopping = True

    def run(self) -> FeedStats:
        try:
            asyncio.run(self._main())
        finally:
            self._executor.shutdown(wait=True)
        return self.stats

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        self._busy += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            self._busy -= 1

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError):  # not the main thread
                pass
        nc = await nats.connect(self.url, connect_timeout=self.connect_timeout, max_reconnect_attempts=-1, allow_reconnect=True)
        try:
            js = self._js = nc.jetstream()
            await self._ensure_stream(js)
            if self.prepare is not None:
                await self._in_thread(self.prepare)
            self._last_activity = time.monotonic()
            for feed in self.lines:
                self._consumers[feed] = asyncio.create_task(self._consume(js, feed))
            tasks: list[asyncio.Task[None]] = []
            if self.discover is not None and self.rescan > 0:
                tasks.append(asyncio.create_task(self._rescan_rounds(js)))
            if self.relay is not None:
                assert self.plant_of_line is not None
                publisher = _LoopPublisher(js, loop, self.plant_of_line, self.prefix)
                tasks.append(asyncio.create_task(self._relay_rounds(publisher)))
            while not self._stopping:
                await asyncio.sleep(0.05)
                if self.idle_stop is not None and not self._busy and time.monotonic() - self._last_activity > self.idle_stop:
                    self._stopping = True
            await asyncio.gather(*tasks)  # the rescans first: no consumer starts after them
            await asyncio.gather(*self._consumers.values())
            if self.relay is not None:
                self.stats.published += await self._in_thread(self.relay, publisher)  # what the last messages wrote
        finally:
            await nc.close()

    async def _ensure_stream(self, js: Any) -> None:
        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            config = StreamConfig(name=self.stream, subjects=[f"{self.prefix}.>"], duplicate_window=DUPLICATE_WINDOW.total_seconds())
            await js.add_stream(config)

    async def _consume(self, js: Any, feed: FeedLine) -> None:
        subject = broadcast_subject(feed.plant, feed.line, self.prefix)
        durable = durable_name(feed.plant, feed.line, self.group)
        config = ConsumerConfig(
            durable_name=durable, deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT,
            max_ack_pending=1, ack_wait=self.ack_wait, filter_subject=subject,
        )
        subscription = await js.pull_subscribe(subject, durable=durable, stream=self.stream, config=config)
        self.stats.applied.setdefault(feed.line, 0)
        self._last_activity = time.monotonic()  # idle counts from when the line is listened to
        try:
            while not self._stopping and feed not in self._leaving:
                try:
                    [message] = await subscription.fetch(1, timeout=self.poll)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                except Exception:  # the connection is being re-established: pull again in a moment
                    log.warning("pulling the broadcasts of %s failed; trying again", feed.line, exc_info=True)
                    await asyncio.sleep(1.0)
                    continue
                self._last_activity = time.monotonic()
                await self._apply(feed, message)  # a line that left its share still finishes this one
                self._last_activity = time.monotonic()
        finally:
            try:
                await subscription.unsubscribe()  # the durable consumer stays for the line's next owner
            except Exception:
                pass
        if feed in self._leaving:
            log.info("line %s (plant %s) dropped: no longer consumed by this worker", feed.line, feed.plant)

    async def _rescan_rounds(self, js: Any) -> None:
        assert self.discover is not None
        while not self._stopping:
            deadline = time.monotonic() + self.rescan
            while not self._stopping and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if self._stopping:
                return
            try:
                owned = list(await self._in_thread(self.discover))
            except Exception:
                log.exception("reading the lines of the loaded plants again failed; keeping lines %s", ", ".join(f.line for f in self.lines) or "none")
                continue
            if not self._stopping:
                self._take_lines(js, owned)

    def _take_lines(self, js: Any, owned: Sequence[FeedLine]) -> None:
        """Consume exactly ``owned`` from now on: start the lines that came in, let the lines
        that left stop after the message in hand."""
        for feed, task in list(self._consumers.items()):
            if task.done():  # stopped: it left the share, or could not subscribe (tried again below)
                del self._consumers[feed]
                self._leaving.discard(feed)
                if not task.cancelled() and task.exception() is not None:
                    log.error("consuming line %s (plant %s) stopped", feed.line, feed.plant, exc_info=task.exception())
        wanted = dict.fromkeys(owned)
        for feed in wanted:
            if feed in self._leaving:
                self._leaving.discard(feed)
                log.info("line %s (plant %s) is back in this worker's share: consuming it on", feed.line, feed.plant)
            elif feed not in self._consumers:
                log.info("line %s (plant %s) added: consuming %s", feed.line, feed.plant, broadcast_subject(feed.plant, feed.line, self.prefix))
                self._consumers[feed] = asyncio.create_task(self._consume(js, feed))
        for feed in self._consumers:
            if feed not in wanted and feed not in self._leaving:
                log.info("line %s (plant %s) left this worker's share: it stops after the message in hand", feed.line, feed.plant)
                self._leaving.add(feed)
        self.lines = list(wanted)

    async def _apply(self, feed: FeedLine, message: Any) -> None:
        id_ = (message.headers or {}).get("Nats-Msg-Id")
        try:
            payload = json.loads(message.data)
            if not isinstance(payload, dict):
                raise Rejected(f"the payload is a JSON {type(payload).__name__}, not an object")
            id_ = id_ or payload.get("message_id") or f"{self.stream}-{message.metadata.sequence.stream}"
            applied = await self._while_in_progress(message, self._in_thread(self.handle, feed.line, str(id_), payload))
        except (Rejected, ValueError) as exc:
            if not await self._dead_letter(feed, message, str(id_), exc):
                self.stats.retried += 1
                await message.nak(delay=1.0)
                return
            log.error("broadcast %s on %s rejected, kept on %s: %s", id_, message.subject, rejected_subject(feed.plant, feed.line, self.prefix), exc)
            self.stats.rejected += 1
            await message.term()
            return
        except Exception:
            log.exception("broadcast %s on %s failed; it comes again", id_, message.subject)
            self.stats.retried += 1
            await message.nak(delay=1.0)
            return
        await message.ack_sync()
        if applied:
            self.stats.applied[feed.line] += 1
        else:
            self.stats.duplicates += 1

    async def _dead_letter(self, feed: FeedLine, message: Any, id_: str, reason: Exception) -> bool:
        """Keep a message that can never be applied on its line's dead-letter subject, body
        unchanged, with its id and the reason; False when that failed (it then comes again)."""
        headers = {
            "Nats-Msg-Id": f"{REJECTED}-{id_}",
            "Jisflow-Original-Id": id_,
            "Jisflow-Original-Subject": message.subject,
            "Jisflow-Rejected-Reason": " ".join(str(reason).split())[:2000],
        }
        try:
            await self._js.publish(rejected_subject(feed.plant, feed.line, self.prefix), message.data, headers=headers)
        except Exception:
            log.exception("could not keep the rejected broadcast %s on its dead-letter subject; it comes again", id_)
            return False
        return True

    async def _while_in_progress(self, message: Any, work: Any) -> Any:
        """Await ``work``, telling JetStream every half acknowledgement wait that the message is
        still being worked on: a short wait brings a dead worker's message back soon, and a
        long transaction does not have its message handed out again meanwhile."""
        task = asyncio.ensure_future(work)
        while True:
            done, _ = await asyncio.wait({task}, timeout=self.ack_wait / 2)
            if done:
                return task.result()
            try:
                await message.in_progress()
            except Exception:
                log.warning("could not extend the acknowledgement wait of %s", message.subject)

    async def _relay_rounds(self, publisher: Publisher) -> None:
        assert self.relay is not None
        while not self._stopping:
            try:
                published = await self._in_thread(self.relay, publisher)
            except Exception:
                log.exception("relaying the outbox failed; trying again")
                published = 0
            self.stats.published += published
            if published:
                self._last_activity = time.monotonic()
            deadline = time.monotonic() + self.relay_interval
            while not self._stopping and time.monotonic() < deadline:
                await asyncio.sleep(0.05)

"""``jisflow serve`` (the HTTP API) and ``jisflow worker`` (broadcast feeds from NATS JetStream,
outbox relay and webhook deliveries)."""

from __future__ import annotations

import time

import typer

from jisflow.entrypoints.cli.common import DbOption, console, reports_errors


@reports_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=1, max=65535),
    migrate: bool = typer.Option(True, help="Upgrade the schema before serving."),
    tower: bool = typer.Option(True, "--tower/--no-tower", help="Serve the control tower (web pages under /tower) beside the API."),
    db: str = DbOption,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, interactive docs at /docs) and the
    control tower (/tower; sign in with an API key)."""
    import uvicorn

    from jisflow.bootstrap import bootstrap
    from jisflow.config import get_settings
    from jisflow.entrypoints.api import create_app
    from jisflow.entrypoints.api.app import ApiSettings

    settings = get_settings()
    api = create_app(bootstrap(database_url=db, migrate=migrate), ApiSettings(concurrency=settings.api_concurrency))
    if tower:
        from jisflow.entrypoints.web import mount_tower

        mount_tower(api, storage_secret=settings.web_secret)
        console.print(f"jisflow control tower on http://{host}:{port}/tower")
    console.print(f"jisflow API on http://{host}:{port} (docs at /docs)")
    from jisflow.entrypoints.process import freeze_startup_objects

    freeze_startup_objects()
    uvicorn.run(api, host=host, port=port, log_level="info")


class _Dropped:
    """Without a broker, events reach the in-process handlers and webhooks only; the relay
    still marks them published and sends the call-offs."""

    def publish(self, topic: str, key: str, message_id: int, payload: dict) -> None:
        return None


@reports_errors
def worker(
    nats: str = typer.Option(None, "--nats", envvar="JISFLOW_NATS_URL", help="NATS server: consume the plants' broadcast feeds from JetStream and publish outbox events to it (e.g. nats://127.0.0.1:4222)."),
    lines: str = typer.Option(None, "--lines", help="With --nats: consume these lines (comma-separated, e.g. TF1,TF2); default: every line of the loaded plants, shared by --workers."),
    workers: int = typer.Option(1, "--workers", min=1, help="With --nats: how many workers share the lines."),
    worker_index: int = typer.Option(0, "--worker-index", min=0, help="With --nats: which of the --workers this one is (0-based); it takes every n-th of the sorted lines."),
    relay: bool = typer.Option(True, "--relay/--no-relay", help="Also relay the outbox and deliver webhooks."),
    group: str = typer.Option("jisflow", "--group", help="With --nats: consumer group; workers of one group share each line's durable consumer."),
    stream: str = typer.Option("JISFLOW", "--stream", help="With --nats: the JetStream stream."),
    prefix: str = typer.Option("jisflow", "--prefix", help="With --nats: the first subject token."),
    ack_wait: float = typer.Option(10.0, "--ack-wait", min=0.5, help="With --nats: seconds before JetStream hands the unacknowledged message of a dead worker out again."),
    rescan: float = typer.Option(10.0, "--rescan", min=0.0, help="With --nats: seconds between two looks at the loaded plants; lines that came into this worker's share since are consumed without a restart, lines that left it are let go after the message in hand (0: never look again)."),
    until_idle: float = typer.Option(None, "--until-idle", min=0.1, help="Stop once nothing arrived or went out for this many seconds."),
    interval: float = typer.Option(1.0, min=0.05, help="Seconds between two relay rounds."),
    once: bool = typer.Option(False, "--once", help="Without --nats: one round, then stop."),
    edi_outbox: str = typer.Option(None, "--edi-outbox", help="Also write the EDI of the relayed messages into this folder: a DELJIT per issued call-off, a despatch advice per despatched shipment (in <folder>/<profile code>/, in the profile's despatch format)."),
    edi_profile: str = typer.Option("default", "--edi-profile", help="With --edi-outbox: the partner profile (built-in name or YAML file)."),
    edi_sender: str = typer.Option("PLANT", "--edi-sender", help="With --edi-outbox: the plant's interchange id."),
    db: str = DbOption,
) -> None:
    """Consume the broadcast feeds from NATS JetStream (with --nats), relay the outbox and
    deliver webhooks."""
    from jisflow.adapters.webhooks_http import HttpSender
    from jisflow.bootstrap import bootstrap
    from jisflow.services import webhooks

    app = bootstrap(database_url=db, publisher=_Dropped())
    sender = HttpSender()

    edi = None
    if edi_outbox:
        from pathlib import Path

        from jisflow.adapters.edi.profiles import load_profile
        from jisflow.adapters.edi.publisher import EdiFilePublisher

        edi = (Path(edi_outbox), load_profile(edi_profile), edi_sender)

    def relay_round(publisher) -> int:
        app.publisher = publisher if edi is None else EdiFilePublisher(*edi, app.clock.now, publisher)
        report = app.relay()
        fanned = webhooks.fan_out(app.uow, app.clock)
        sent = webhooks.deliver_due(app.uow, app.clock, sender)
        if report.published or fanned or sent:
            delivered = sum(d.status == "delivered" for d in sent)
            console.print(f"{report.published} published, {report.calloffs_sent} call-off(s) sent, {fanned} webhook(s) queued, {delivered}/{len(sent)} delivered")
        return report.published

    if not nats and (lines or workers != 1 or worker_index):
        from jisflow.domain.errors import ValidationError

        raise ValidationError("--lines, --workers and --worker-index choose the broadcast feeds to consume from NATS: give --nats too")
    if nats:
        _consume(app, nats, lines, workers, worker_index, relay_round if relay else None, group, stream, prefix, until_idle, interval, ack_wait, rescan)
        return
    idle_since = time.monotonic()
    while True:
        if relay_round(_Dropped()):
            idle_since = time.monotonic()
        if once or (until_idle is not None and time.monotonic() - idle_since > until_idle):
            return
        time.sleep(interval)


def _consume(app, url: str, lines: str | None, workers: int, worker_index: int, relay_round, group: str, stream: str, prefix: str, until_idle: float | None, interval: float, ack_wait: float, rescan: float) -> None:
    import logging

    from jisflow.adapters.broker.feed import FeedLine, FeedWorker, Rejected, owned_lines
    from jisflow.adapters.broker.nats import plant_of_line_from
    from jisflow.domain.errors import Contention, JisflowError, ValidationError
    from jisflow.services.feed import apply_broadcast
    from jisflow.services.inventory import SyncReservations

    if worker_index >= workers:
        raise ValidationError(f"--worker-index {worker_index} is not one of {workers} worker(s): give 0 to {workers - 1}")

    def loaded_lines() -> dict[str, str]:
        with app.uow:
            return {line.code: plant.code for plant in app.uow.plants.list() for line in plant.lines}

    plant_of = loaded_lines()
    named: list[str] = []
    if lines:
        named = [code.strip() for code in lines.split(",") if code.strip()]
        unknown = [code for code in named if code not in plant_of]
        if unknown:
            raise ValidationError(f"--lines: no line {', '.join(map(repr, unknown))} in any loaded plant (known: {', '.join(sorted(plant_of)) or 'none'})")
    start_lines = owned_lines(plant_of, worker_index, workers, named)
    owned = [feed.line for feed in start_lines]
    synced = set(owned)

    def prepare() -> None:
        """Bring each owned line's reservations in step (they commit with every broadcast;
        this covers items registered or stock booked while no worker ran); what that loaded
        (plants, their calendars) stays for good."""
        from jisflow.entrypoints.process import freeze_startup_objects

        for code in owned:
            app.bus.handle(SyncReservations(code))
        freeze_startup_objects()

    def discover() -> list[FeedLine]:
        """The share of the plants loaded now, worked out as at start; a line that came into
        it is caught up on first, as ``prepare`` did for the lines at start."""
        found = owned_lines(loaded_lines(), worker_index, workers, named)
        for feed in found:
            if feed.line not in synced:
                app.bus.handle(SyncReservations(feed.line))
                synced.add(feed.line)
        return found

    def handle(line: str, message_id: str, payload: dict) -> bool:
        try:
            return apply_broadcast(app.bus, line, message_id, payload)
        except Contention:
            raise  # lost a race and rolled back: the message comes again
        except JisflowError as exc:
            raise Rejected(str(exc)) from exc

    feed = FeedWorker(
        url, start_lines, handle,
        relay=relay_round, plant_of_line=plant_of_line_from(app.uow), prepare=prepare,
        stream=stream, prefix=prefix, group=group, ack_wait=ack_wait, relay_interval=interval, idle_stop=until_idle,
        discover=discover, rescan=rescan,
    )
    console.print(
        f"worker {worker_index + 1}/{workers} of group {group}: lines {', '.join(owned) or 'none'}" + (", relaying the outbox" if relay_round else "")
        + (f", looking for new lines every {rescan:g} s" if rescan else "")
    )
    feed_log = logging.getLogger("jisflow.adapters.broker.feed")
    if not feed_log.handlers:  # lines added and dropped while running, beside the warnings
        shown = logging.StreamHandler()
        shown.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        feed_log.addHandler(shown)
        feed_log.setLevel(logging.INFO)
    stats = feed.run()
    per_line = ", ".join(f"{line} {n}" for line, n in stats.applied.items()) or "none"
    console.print(f"applied {stats.total_applied} broadcast(s) ({per_line}), {stats.duplicates} redelivered duplicate(s), {stats.rejected} rejected, {stats.published} published")

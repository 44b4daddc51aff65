"""``jisflow serve`` (the HTTP API) and ``jisflow worker`` (outbox relay and webhook deliveries)."""

from __future__ import annotations

import time

import typer

from jisflow.entrypoints.cli.common import DbOption, console, reports_errors


@reports_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=1, max=65535),
    migrate: bool = typer.Option(True, help="Upgrade the schema before serving."),
    db: str = DbOption,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, interactive docs at /docs)."""
    import uvicorn

    from jisflow.bootstrap import bootstrap
    from jisflow.entrypoints.api import create_app

    api = create_app(bootstrap(database_url=db, migrate=migrate))
    console.print(f"jisflow API on http://{host}:{port} (docs at /docs)")
    uvicorn.run(api, host=host, port=port, log_level="info")


class _Dropped:
    """Without a broker, events reach the in-process handlers and webhooks only; the relay
    still marks them published and sends the call-offs."""

    def publish(self, topic: str, key: str, message_id: int, payload: dict) -> None:
        return None


@reports_errors
def worker(
    nats: str = typer.Option(None, "--nats", envvar="JISFLOW_NATS_URL", help="NATS server: publish outbox events to JetStream (e.g. nats://127.0.0.1:4222)."),
    interval: float = typer.Option(1.0, min=0.05, help="Seconds between two rounds."),
    once: bool = typer.Option(False, "--once", help="One round, then stop."),
    db: str = DbOption,
) -> None:
    """Relay the outbox (to NATS JetStream when --nats is given) and deliver webhooks, in rounds."""
    from jisflow.adapters.webhooks_http import HttpSender
    from jisflow.bootstrap import bootstrap
    from jisflow.services import webhooks

    app = bootstrap(database_url=db, publisher=_Dropped())
    publisher = None
    if nats:
        from jisflow.adapters.broker.nats import JetStreamPublisher, plant_of_line_from

        publisher = JetStreamPublisher.connect(nats, plant_of_line_from(app.uow))
        app.publisher = publisher
    sender = HttpSender()
    try:
        while True:
            report = app.relay()
            fanned = webhooks.fan_out(app.uow, app.clock)
            sent = webhooks.deliver_due(app.uow, app.clock, sender)
            if report.published or fanned or sent:
                delivered = sum(d.status == "delivered" for d in sent)
                console.print(f"{report.published} published, {report.calloffs_sent} call-off(s) sent, {fanned} webhook(s) queued, {delivered}/{len(sent)} delivered")
            if once:
                return
            time.sleep(interval)
    finally:
        if publisher is not None:
            publisher.close()

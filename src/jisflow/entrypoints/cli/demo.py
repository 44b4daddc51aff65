"""``jisflow demo``: a fresh SQLite database, the demo plant, a day's sequence, and one shift
run in accelerated simulated time through the real services, shown live: in the control tower
(the default; the shift plays in a background thread while the web server answers) or in the
terminal (``--headless``; ``--json`` prints only the summary)."""

from __future__ import annotations

import json
import time as walltime
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.console import Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from jisflow.entrypoints.cli.common import console, reports_errors


@reports_errors
def demo(
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON instead of the live view (implies --headless)."),
    headless: bool = typer.Option(False, "--headless", help="Show the run in the terminal instead of the control tower."),
    host: str = typer.Option("127.0.0.1", help="Control tower: address to listen on."),
    port: int = typer.Option(8080, min=0, max=65535, help="Control tower: port (a free one when taken; 0: any free port)."),
    db_file: Path = typer.Option(Path("jisflow-demo.db"), "--db-file", help="SQLite file to create (replaced if it exists)."),
    seed: int = typer.Option(7, help="Seed of the vehicle mix and the disturbances."),
    speed: float = typer.Option(None, help="Simulated seconds per real second (default: 60 in the control tower, the settings' demo_speed in the terminal)."),
    start: str = typer.Option(None, help="Start the run at the first shift from this ISO date (default: next Monday)."),
) -> None:
    """Run one shift of the demo plant through the real services, live in the control tower
    (or in the terminal with --headless, summarised at the end)."""
    from jisflow.adapters.plant_file import demo_plant_path, load_plant_file
    from jisflow.bootstrap import bootstrap
    from jisflow.config import get_settings
    from jisflow.services import commands as c
    from jisflow.services.clock import SimulatedClock
    from jisflow.simulation.shift_run import ShiftRun, first_shift_start, lead_in_span, next_monday

    settings = get_settings()
    if not (headless or as_json):
        speed = speed or TOWER_SPEED
    speed = speed or settings.demo_speed
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db_file}"
    definition = load_plant_file(demo_plant_path())
    plant = definition.plant
    line = plant.lines[0]
    if start:
        try:
            begin = datetime.fromisoformat(start)
        except ValueError:
            raise typer.BadParameter(f"--start {start!r} is not an ISO date") from None
        begin = begin if begin.tzinfo else begin.replace(tzinfo=timezone.utc)
    else:
        begin = next_monday(datetime.now(timezone.utc).date())
    shift, shift_start, shift_end = first_shift_start(line, begin)
    lead = lead_in_span(plant, line.code)
    clock = SimulatedClock(shift_start - lead)
    app = bootstrap(database_url=url, clock=clock, migrate=True)
    app.bus.handle(c.LoadPlant(plant, definition.data))
    if not (headless or as_json):
        from jisflow.simulation.live_plant import PlantPlay

        play = PlantPlay(url, demo_plant_path(), line.code, seed, shift, shift_start, shift_end, clock.now(), speed)
        _tower(play, plant, host, port)
        return
    run = ShiftRun(app, clock, plant, definition.mix, line=line.code, seed=seed)
    t0 = walltime.perf_counter()
    planned = run.plan_day(shift_start)
    run.floor.stock_line(shift_start, shift_end)
    from jisflow.entrypoints.process import freeze_startup_objects

    freeze_startup_objects()  # the plant and the day's plan stay for the whole run
    if not as_json:
        console.print(f"planned {planned} vehicles; letting the {lead} before the shift pass (lead-time call-offs go out)...")
    issued_before = run.lead_in(shift_start)
    if as_json:
        summary = run.run(shift, shift_start, shift_end)
        data = summary.to_json()
        data["calloff_lines_before_shift"] = issued_before
        data["wall_seconds"] = round(walltime.perf_counter() - t0, 1)
        data["database"] = url
        print(json.dumps(data, indent=2, default=str))
        return
    console.print(f"{issued_before} call-off lines went out before the shift")
    console.print(f"[bold]jisflow demo[/]: plant {plant.code} ({plant.name}), line {line.code}, {planned} vehicles planned; "
                  f"shift {shift} {shift_start:%Y-%m-%d %H:%M}Z - {shift_end:%H:%M}Z at {speed:.0f}x")
    sim_t0 = shift_start
    with Live(console=console, refresh_per_second=8, transient=False) as live:
        def on_takt(snap) -> None:
            live.update(_view(snap, plant.timezone))
            ahead = (snap.now - sim_t0).total_seconds() / speed - (walltime.perf_counter() - t0)
            if ahead > 0:
                walltime.sleep(min(ahead, 0.5))

        summary = run.run(shift, shift_start, shift_end, on_takt=on_takt)
    _print_summary(summary, walltime.perf_counter() - t0, url)


TOWER_SPEED = 60
"""Simulated seconds per real second when the demo feeds the control tower: a vehicle a second."""


def _free_port(host: str, port: int) -> int:
    import socket

    for candidate in ([port] if port else []) + [0]:
        with socket.socket() as s:
            try:
                s.bind((host, candidate))
            except OSError:
                continue
            return s.getsockname()[1]
    raise typer.BadParameter(f"no free port on {host}")


def _tower(play, plant, host: str, port: int) -> None:
    """Serve the control tower on the demo database while the plant plays the shift in a
    process of its own, through the real services; Ctrl-C stops both."""
    import secrets

    import uvicorn
    from nicegui import app as tower_app

    from jisflow.bootstrap import bootstrap
    from jisflow.domain.auth import Role
    from jisflow.domain.plant import SupplyMode
    from jisflow.entrypoints.web import create_tower_app
    from jisflow.services import auth
    from jisflow.simulation.live_plant import LivePlant

    live = LivePlant(play)
    web = bootstrap(database_url=play.database_url, clock=live.clock)
    web.uow.actor = "demo"
    auth.create_user(web.uow, web.clock, "planner", Role.PLANNER)
    token = auth.issue_key(web.uow, web.clock, "planner").token
    code = next(f.route.supplier for f in plant.families_of_line(play.line) if f.route.mode is SupplyMode.JIS)
    auth.create_user(web.uow, web.clock, code.lower(), Role.SUPPLIER, code)
    supplier = auth.issue_key(web.uow, web.clock, code.lower()).token
    port = _free_port(host, port)
    api = create_tower_app(web, storage_secret=secrets.token_urlsafe(32))
    console.print(f"[bold]jisflow control tower[/] (the demo plant runs at {play.speed:.0f}x; Ctrl-C stops it):")
    print(f"  open       http://{host}:{port}", flush=True)
    print(f"  planner    {token}", flush=True)
    print(f"  supplier   {supplier}  ({code})", flush=True)
    console.print(f"sign in with one of these API keys; database {play.database_url}; the terminal-only run: jisflow demo --headless")
    tower_app.on_startup(live.start)
    try:
        uvicorn.run(api, host=host, port=port, log_level="warning")
    finally:
        live.stop()
        console.print("control tower stopped")


def _view(snap, tz: str):
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    head = Table(title="next vehicles at the broadcast point", expand=True)
    for col in ("seq", "order", "model", "trim", "colour", "planned", "zone"):
        head.add_column(col)
    for v in snap.next_vehicles:
        head.add_row(str(v["seq_no"]), v["order_id"], v["model"], v["options"].get("trim", ""), v["options"].get("colour", ""),
                     f"{v['planned_at'].astimezone(zone):%H:%M:%S}", ("[cyan]frozen[/]" if v["frozen"] else "") + (" [yellow]flagged[/]" if v["flagged"] else ""))
    states = ["CREATED", "SENT", "ACKNOWLEDGED", "AMENDED", "CANCELLED"]
    co = Table(title="call-off lines per supplier", expand=True)
    co.add_column("supplier")
    for s in states:
        co.add_column(s.lower(), justify="right")
    for supplier, counts in sorted(snap.lines_by_supplier.items()):
        co.add_row(supplier, *(str(counts.get(s, 0)) for s in states))
    al = Table(title="alerts (newest first): " + ", ".join(f"{k} {n}" for k, n in sorted(snap.alert_counts.items())), expand=True)
    al.add_column("time")
    al.add_column("kind")
    al.add_column("message")
    colour = {"critical": "red", "warning": "yellow", "info": "white"}
    for a in snap.alerts[:6]:
        al.add_row(f"{a['raised_at'].astimezone(zone):%H:%M:%S}", f"[{colour[a['severity']]}]{a['kind']}[/]", a["message"])
    status = (f"[bold]{snap.now.astimezone(zone):%a %Y-%m-%d %H:%M:%S}[/] ({tz})  shift {snap.shift}  takt {snap.takts_done}/{snap.takts_total}  "
              f"broadcast {snap.broadcast}" + (f"  [magenta]{snap.event}[/]" if snap.event else ""))
    return Panel(Group(status, head, co, al), title="jisflow control: line live")


def _print_summary(summary, wall: float, url: str) -> None:
    data = summary.to_json()
    table = Table(title=f"shift {summary.shift} on line {summary.line}: summary")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("vehicles broadcast", str(data["vehicles_broadcast"]))
    table.add_row("call-offs", str(data["calloffs"]))
    table.add_row("call-off lines", str(data["calloff_lines"]["total"]))
    for supplier, n in data["calloff_lines"]["by_supplier"].items():
        table.add_row(f"  to {supplier}", str(n))
    for state, n in data["calloff_lines"]["by_state"].items():
        table.add_row(f"  {state}", str(n))
    table.add_row("JIT summarized calls", str(data["jit_calls"]))
    table.add_row("sequence changes", ", ".join(f"{k} {n}" for k, n in data["sequence_changes"].items()) or "0")
    table.add_row("alerts", str(data["alerts"]["total"]))
    for kind, n in data["alerts"]["by_kind"].items():
        table.add_row(f"  {kind}", str(n))
    table.add_row("messages published", str(data["messages_published"]))
    for key in ("on_time_in_sequence", "sequence_accuracy", "rack_fill_rate", "truck_utilisation"):
        table.add_row(key.replace("_", " "), "-" if data.get(key) is None else f"{data[key]:.1%}")
    table.add_row("emergency deliveries", str(data.get("emergency_deliveries", 0)))
    table.add_row("wrong parts fitted", str(data.get("wrong_parts_fitted", 0)))
    stock = data.get("inventory")
    if stock is not None:
        table.add_row("average stock on hand", f"{stock['average_stock']} units")
        table.add_row("peak stock on hand", f"{stock['peak_stock']} units")
        table.add_row("items projected short", str(len(stock["projected_shortages"])))
        for s in stock["projected_shortages"][:5]:
            table.add_row(f"  {s['item']}", f"{s['order_id']} (seq {s['seq_no']})")
    table.add_row("wall time", f"{wall:.1f} s")
    console.print(table)
    console.print(f"explore it: [bold]jisflow calloffs list --db {url}[/], [bold]jisflow alerts list --db {url}[/], [bold]jisflow sequence show --line {summary.line} --db {url}[/]")

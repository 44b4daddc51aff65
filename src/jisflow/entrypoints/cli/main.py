"""The ``jisflow`` command line."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from jisflow.domain.alerts import AlertKind
from jisflow.domain.calloff import CallOffState
from jisflow.domain.sequence import Vehicle, VehicleStatus
from jisflow.entrypoints.cli import edi as edi_cli
from jisflow.entrypoints.cli import execution as execution_cli
from jisflow.entrypoints.cli import serve as serve_cli
from jisflow.entrypoints.cli import simulate as simulate_cli
from jisflow.entrypoints.cli import stock as stock_cli
from jisflow.entrypoints.cli import users as users_cli
from jisflow.entrypoints.cli.common import DbOption, app_for, console, parse_time, reports_errors
from jisflow.services import commands as c
from jisflow.services.unit_of_work import AlertFilter, CallOffLineFilter

app = typer.Typer(help="jisflow: Just-in-Sequence logistics from pearl chain to call-off.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
plant_app = typer.Typer(help="Plant master data.", no_args_is_help=True)
sequence_app = typer.Typer(help="The pearl chain of a line.", no_args_is_help=True)
change_app = typer.Typer(help="Change the pearl chain: insert, cancel, move, swap, spec.", no_args_is_help=True)
calloffs_app = typer.Typer(help="JIS call-offs and JIT calls.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(plant_app, name="plant")
app.add_typer(sequence_app, name="sequence")
sequence_app.add_typer(change_app, name="change")
app.add_typer(calloffs_app, name="calloffs")
app.add_typer(alerts_app, name="alerts")
app.add_typer(stock_cli.stock_app, name="stock")
app.command("projection")(stock_cli.projection)
app.add_typer(stock_cli.purchasing_app, name="purchasing")
app.add_typer(edi_cli.app, name="edi")
app.add_typer(execution_cli.pick_app, name="pick")
app.add_typer(execution_cli.rack_app, name="rack")
app.add_typer(execution_cli.ship_app, name="ship")
app.add_typer(execution_cli.receive_app, name="receive")
app.add_typer(execution_cli.lineside_app, name="lineside")
app.add_typer(execution_cli.kpi_app, name="kpi")
app.add_typer(users_cli.app, name="users")
app.command("serve")(serve_cli.serve)
app.command("worker")(serve_cli.worker)
app.add_typer(simulate_cli.simulate_app, name="simulate")


def _mount_optional() -> None:
    from jisflow.entrypoints.cli import demo

    app.command("demo")(demo.demo)
    try:
        from jisflow.entrypoints.cli import plan
    except ImportError:  # the planning extra is not installed
        return
    app.add_typer(plan.app, name="plan")


# --------------------------------------------------------------------------- db
@db_app.command("upgrade")
@reports_errors
def db_upgrade(db: str = DbOption, revision: str = typer.Option("head", help="Target revision.")) -> None:
    """Create or upgrade the schema with the migrations."""
    from jisflow.adapters.db.migrate import current, upgrade
    from jisflow.config import get_settings

    url = db or get_settings().database_url
    upgrade(url, revision)
    console.print(f"database {url} at revision [bold]{current(url)}[/]")


# --------------------------------------------------------------------------- plant
@plant_app.command("load")
@reports_errors
def plant_load(file: Path = typer.Argument(..., help="Plant definition (YAML or TOML)."), db: str = DbOption) -> None:
    """Validate a plant definition file and store it (replacing the plant's master data)."""
    from jisflow.adapters.plant_file import load_plant_file

    definition = load_plant_file(file)
    jf = app_for(db)
    jf.bus.handle(c.LoadPlant(definition.plant, definition.data))
    jf.relay()
    p = definition.plant
    console.print(
        f"plant [bold]{p.code}[/] ({p.name}) loaded: {len(p.lines)} line(s), "
        f"{sum(len(line.stations) for line in p.lines)} stations, {len(p.families)} part families, {len(p.suppliers)} suppliers"
    )


@plant_app.command("show")
@reports_errors
def plant_show(code: str = typer.Argument(None, help="Plant code (default: every plant)."), db: str = DbOption) -> None:
    """Show a plant's lines, stations and part families with their routes."""
    jf = app_for(db)
    with jf.uow:
        plants = [jf.uow.plants.get(code)] if code else jf.uow.plants.list()
    for p in plants:
        console.print(f"[bold]{p.code}[/] {p.name} ({p.timezone})")
        for line in p.lines:
            console.print(f"  line {line.code}: takt {line.takt_seconds} s, frozen zone {line.frozen_zone.size} {line.frozen_zone.kind.value}")
            table = Table("family", "station", "offset", "mode", "supplier", "lead time", "trigger")
            for f in p.families_of_line(line.code):
                st = line.station(f.station)
                table.add_row(f.code, f.station, str(st.offset_takts), f.route.mode.value, f.route.supplier or "-", str(f.route.lead_time), f.route.trigger.value)
            console.print(table)


# --------------------------------------------------------------------------- sequence
@sequence_app.command("import")
@reports_errors
def sequence_import(
    file: Path = typer.Argument(..., help="CSV: order_id, model, optional vin/seq_no/rolling_no, one column per option."),
    line: str = typer.Option(..., "--line", "-l", help="Line code."),
    db: str = DbOption,
) -> None:
    """Append vehicles to a line's pearl chain. All rows are checked first; one bad row
    rejects the file (row and column named) and nothing is applied."""
    from jisflow.adapters.sequence_csv import read_sequence_csv

    rows = read_sequence_csv(file)
    jf = app_for(db)
    outcome = jf.bus.handle(c.ImportSequence(line, tuple(rows), source=file.name))
    jf.relay()
    d = outcome.details
    console.print(f"imported {d['vehicles']} vehicle(s) into line {line}: seq {d['first_seq_no']}..{d['last_seq_no']}")


@sequence_app.command("generate")
@reports_errors
def sequence_generate(
    output: Path = typer.Argument(..., help="CSV file to write."),
    plant: str = typer.Option(None, "--plant-file", help="Plant definition with a mix (default: the demo plant)."),
    count: int = typer.Option(960, min=1, help="Vehicles to generate."),
    seed: int = typer.Option(1, help="Seed: the same seed gives the same vehicles."),
    start: int = typer.Option(1, min=1, help="First order number."),
) -> None:
    """Generate a realistic, reproducible vehicle mix as a sequence CSV."""
    from jisflow.adapters.plant_file import demo_plant_path, load_plant_file
    from jisflow.adapters.sequence_csv import write_sequence_csv
    from jisflow.domain.vehicle_mix import generate_vehicles

    definition = load_plant_file(plant or demo_plant_path())
    if definition.mix is None:
        raise typer.BadParameter("the plant definition has no mix section")
    generated = generate_vehicles(definition.mix, count, seed, start_order=start)
    write_sequence_csv(output, [Vehicle(g.order_id, g.model, dict(g.options), g.vin) for g in generated])
    console.print(f"wrote {count} vehicles to {output} (seed {seed})")


@sequence_app.command("show")
@reports_errors
def sequence_show(
    line: str = typer.Option(..., "--line", "-l"),
    limit: int = typer.Option(20, min=1, help="How many planned vehicles to show."),
    broadcast: int = typer.Option(3, min=0, help="How many of the last broadcast vehicles to show."),
    db: str = DbOption,
) -> None:
    """Show the head of a line's pearl chain: the last broadcast vehicles and the next planned ones."""
    jf = app_for(db)
    with jf.uow:
        plant = jf.uow.plants.of_line(line)
        chain = jf.uow.chains.get(plant.line(line))
    now = jf.clock.now()
    frozen = chain.frozen_count(now)
    times = chain.planned_broadcast_times(now)
    done = [e for e in chain.entries() if e.status is VehicleStatus.BROADCAST][-broadcast:] if broadcast else []
    table = Table("seq", "rolling", "order", "model", "status", "broadcast / planned", "zone", title=f"line {line}")
    for e in done:
        table.add_row(str(e.seq_no), f"{chain.rolling_no(e.seq_no):0{chain.line.rolling_digits}d}", e.order_id, e.vehicle.model, "broadcast", f"{e.broadcast_at:%Y-%m-%d %H:%M:%S}Z", "done")
    for i, e in enumerate(chain.planned()[:limit]):
        table.add_row(
            str(e.seq_no), f"{chain.rolling_no(e.seq_no):0{chain.line.rolling_digits}d}", e.order_id, e.vehicle.model,
            "planned" + (" (flagged)" if e.flagged else ""), f"{times[e.order_id]:%Y-%m-%d %H:%M:%S}Z", "frozen" if i < frozen else "",
        )
    console.print(table)
    console.print(f"{len(chain.planned())} planned, frozen zone: the next {frozen}")


def _change_opts(override: bool, actor: str, reason: str) -> dict:
    return {"override": override, "actor": actor, "reason": reason}


Override = typer.Option(False, "--override", help="Force a change inside the frozen zone (it is flagged and alerted).")
Actor = typer.Option("cli", "--by", help="Who makes the change.")
Reason = typer.Option("", "--reason", help="Why (kept in the change log).")


def _print_change(outcome) -> None:
    ch = outcome.change
    if ch.old_seq_no is None or ch.new_seq_no is None or ch.old_seq_no == ch.new_seq_no:
        seq = f"seq {ch.new_seq_no if ch.new_seq_no is not None else ch.old_seq_no}"
    else:
        seq = f"seq {ch.old_seq_no} -> {ch.new_seq_no}"
    console.print(
        f"{ch.kind.value} of {ch.order_id} on line {ch.line}: {seq}, {len(ch.renumbered)} other vehicle(s) renumbered, "
        f"{outcome.lines_changed} call-off line(s) amended or cancelled, {outcome.lines_issued} issued"
        + (" [yellow](frozen zone overridden)[/]" if ch.overridden else "")
    )


@change_app.command("insert")
@reports_errors
def change_insert(
    line: str = typer.Option(..., "--line", "-l"),
    order: str = typer.Option(..., "--order"),
    model: str = typer.Option(..., "--model"),
    option: list[str] = typer.Option([], "--option", "-o", help="KEY=VALUE, repeatable."),
    vin: str = typer.Option(None, "--vin"),
    before: str = typer.Option(None, "--before"),
    after: str = typer.Option(None, "--after"),
    override: bool = Override, by: str = Actor, reason: str = Reason, db: str = DbOption,
) -> None:
    """Insert a new vehicle before or after a planned one (neither: at the tail)."""
    vehicle = Vehicle(order, model, _options(option), vin)
    jf = app_for(db)
    _print_change(jf.bus.handle(c.InsertVehicle(line, vehicle=vehicle, before=before, after=after, **_change_opts(override, by, reason))))
    jf.relay()


@change_app.command("cancel")
@reports_errors
def change_cancel(line: str = typer.Option(..., "--line", "-l"), order: str = typer.Option(..., "--order"), override: bool = Override, by: str = Actor, reason: str = Reason, db: str = DbOption) -> None:
    """Cancel a vehicle (its call-off lines are cancelled)."""
    jf = app_for(db)
    _print_change(jf.bus.handle(c.CancelVehicle(line, order_id=order, **_change_opts(override, by, reason))))
    jf.relay()


@change_app.command("move")
@reports_errors
def change_move(
    line: str = typer.Option(..., "--line", "-l"), order: str = typer.Option(..., "--order"),
    before: str = typer.Option(None, "--before"), after: str = typer.Option(None, "--after"),
    override: bool = Override, by: str = Actor, reason: str = Reason, db: str = DbOption,
) -> None:
    """Resequence a planned vehicle before or after another one."""
    jf = app_for(db)
    _print_change(jf.bus.handle(c.MoveVehicle(line, order_id=order, before=before, after=after, **_change_opts(override, by, reason))))
    jf.relay()


@change_app.command("swap")
@reports_errors
def change_swap(line: str = typer.Option(..., "--line", "-l"), first: str = typer.Argument(...), second: str = typer.Argument(...), override: bool = Override, by: str = Actor, reason: str = Reason, db: str = DbOption) -> None:
    """Swap two planned vehicles."""
    jf = app_for(db)
    _print_change(jf.bus.handle(c.SwapVehicles(line, first=first, second=second, **_change_opts(override, by, reason))))
    jf.relay()


@change_app.command("spec")
@reports_errors
def change_spec(
    line: str = typer.Option(..., "--line", "-l"), order: str = typer.Option(..., "--order"),
    model: str = typer.Option(None, "--model"), option: list[str] = typer.Option([], "--option", "-o", help="KEY=VALUE (KEY= removes it), repeatable."),
    vin: str = typer.Option(None, "--vin"), override: bool = Override, by: str = Actor, reason: str = Reason, db: str = DbOption,
) -> None:
    """Change a vehicle's model, options or VIN (its call-off lines are amended)."""
    options = {k: (v or None) for k, v in _options(option, allow_empty=True).items()}
    jf = app_for(db)
    _print_change(jf.bus.handle(c.ChangeVehicleSpec(line, order_id=order, model=model, options=options, vin=vin, **_change_opts(override, by, reason))))
    jf.relay()


def _options(pairs: list[str], allow_empty: bool = False) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or (not value.strip() and not allow_empty):
            raise typer.BadParameter(f"option {pair!r} must be KEY=VALUE")
        options[key.strip()] = value.strip()
    return options


# --------------------------------------------------------------------------- broadcast
@app.command("broadcast")
@reports_errors
def broadcast(
    line: str = typer.Option(..., "--line", "-l"),
    order: str = typer.Option(None, "--order", help="The vehicle that passed the broadcast point."),
    next_: int = typer.Option(0, "--next", min=0, help="Broadcast the next N planned vehicles instead."),
    at: str = typer.Option(None, "--at", help="ISO time with zone (default: now)."),
    rolling: int = typer.Option(None, "--rolling", help="The feed's rolling number, checked against the chain."),
    message_id: str = typer.Option(None, "--message-id", help="Idempotency key: a replay is not applied twice."),
    db: str = DbOption,
) -> None:
    """Report vehicles passing the broadcast point: integrity checks, then call-offs."""
    if bool(order) == bool(next_):
        raise typer.BadParameter("give either --order ID or --next N")
    jf = app_for(db)
    when = parse_time(at)
    if order:
        outcome = jf.bus.handle(c.BroadcastVehicle(line, order, when, rolling, message_id))
    else:
        outcome = jf.bus.handle(c.BroadcastNext(line, next_, when))
    jf.relay()
    if outcome.duplicate:
        console.print("message already applied; nothing done")
    elif not outcome.applied:
        console.print("[red]broadcast refused[/]")
    else:
        console.print(f"broadcast {outcome.details}: {outcome.lines_issued} call-off line(s) issued in {len(outcome.calloffs)} call-off(s)")
    for alert in outcome.alerts:
        console.print(f"[yellow]alert[/] {alert.kind.value}: {alert.message}", highlight=False)


@app.command("tick")
@reports_errors
def tick(at: str = typer.Option(None, "--at", help="ISO time with zone (default: now)."), db: str = DbOption) -> None:
    """Let time pass: check for silent feeds and issue call-offs whose lead time has come."""
    jf = app_for(db)
    outcome = jf.bus.handle(c.Tick(parse_time(at)))
    jf.relay()
    console.print(f"{outcome.lines_issued} call-off line(s) issued, {len(outcome.alerts)} alert(s)")
    for alert in outcome.alerts:
        console.print(f"[yellow]alert[/] {alert.kind.value}: {alert.message}", highlight=False)


# --------------------------------------------------------------------------- call-offs
@calloffs_app.command("list")
@reports_errors
def calloffs_list(
    line: str = typer.Option(None, "--line", "-l"),
    supplier: str = typer.Option(None, "--supplier", "-s"),
    state: list[CallOffState] = typer.Option([], "--state", help="Repeatable."),
    number: str = typer.Option(None, "--number"),
    limit: int = typer.Option(50, min=1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
    db: str = DbOption,
) -> None:
    """List call-off lines in sequence order."""
    jf = app_for(db)
    with jf.uow:
        lines = jf.uow.calloffs.lines(CallOffLineFilter(line=line, supplier=supplier, states=tuple(state), number=number, limit=limit))
        counts = jf.uow.calloffs.count_by_supplier_and_state(line)
    if as_json:
        for ln in lines:
            print(json.dumps({
                "number": ln.number, "supplier": ln.supplier, "unloading_point": ln.unloading_point, "line": ln.line,
                "seq_no": ln.seq_no, "rolling_no": ln.rolling_no, "order_id": ln.order_id, "vin": ln.vin, "family": ln.family,
                "part_number": ln.part_number, "quantity": ln.quantity, "station": ln.station,
                "need_time": ln.need_time.isoformat(), "ship_by": ln.ship_by.isoformat(), "state": ln.state.value, "amendments": ln.amendments,
            }))
        return
    table = Table("call-off", "supplier", "seq", "order", "family", "part", "qty", "station", "need (UTC)", "ship by (UTC)", "state")
    for ln in lines:
        table.add_row(ln.number, ln.supplier, str(ln.seq_no), ln.order_id, ln.family, ln.part_number, str(ln.quantity), ln.station,
                      f"{ln.need_time:%m-%d %H:%M:%S}", f"{ln.ship_by:%m-%d %H:%M:%S}", ln.state.value + (f" x{ln.amendments}" if ln.amendments else ""))
    console.print(table)
    total = sum(counts.values())
    console.print(f"{len(lines)} shown of {total} call-off line(s)")


@calloffs_app.command("transition")
@reports_errors
def calloffs_transition(
    number: str = typer.Argument(...), to: CallOffState = typer.Argument(..., help="ACKNOWLEDGED, PICKED, PACKED, SHIPPED, DELIVERED, CONSUMED, CANCELLED"),
    order: list[str] = typer.Option([], "--order", help="Only these vehicles (repeatable)."),
    by: str = Actor, db: str = DbOption,
) -> None:
    """Move the lines of a call-off to a new state (the state machine refuses illegal moves)."""
    jf = app_for(db)
    outcome = jf.bus.handle(c.TransitionCallOffLines(number, to, order_ids=tuple(order), actor=by))
    jf.relay()
    console.print(f"{outcome.lines_changed} line(s) of {number} now {to.value}")


@calloffs_app.command("jit")
@reports_errors
def calloffs_jit(line: str = typer.Option(None, "--line", "-l"), supplier: str = typer.Option(None, "--supplier", "-s"), db: str = DbOption) -> None:
    """List JIT summarized calls (quantity per part and time window)."""
    jf = app_for(db)
    with jf.uow:
        calls = jf.uow.jit_calls.list(line, supplier)
    table = Table("supplier", "family", "part", "window (UTC)", "qty", "vehicles")
    for call in calls:
        table.add_row(call.supplier, call.family, call.part_number, f"{call.window_start:%m-%d %H:%M}-{call.window_end:%H:%M}", str(call.quantity), str(len(call.contributions)))
    console.print(table)


# --------------------------------------------------------------------------- alerts
@alerts_app.command("list")
@reports_errors
def alerts_list(
    line: str = typer.Option(None, "--line", "-l"), kind: list[AlertKind] = typer.Option([], "--kind"),
    open_only: bool = typer.Option(False, "--open", help="Only unacknowledged alerts."), limit: int = typer.Option(50, min=1), db: str = DbOption,
) -> None:
    """List alerts, newest first."""
    jf = app_for(db)
    with jf.uow:
        alerts = jf.uow.alerts.list(AlertFilter(line=line, kinds=tuple(kind), open_only=open_only, limit=limit))
    table = Table("id", "raised (UTC)", "severity", "kind", "line", "message", "ack")
    for a in alerts:
        table.add_row(str(a.id), f"{a.raised_at:%m-%d %H:%M:%S}", a.severity.value, a.kind.value, a.line, a.message, a.acknowledged_by or "")
    console.print(table)


@alerts_app.command("ack")
@reports_errors
def alerts_ack(alert_id: int = typer.Argument(...), by: str = typer.Option(..., "--by"), db: str = DbOption) -> None:
    """Acknowledge an alert."""
    jf = app_for(db)
    jf.bus.handle(c.AcknowledgeAlert(alert_id, by))
    console.print(f"alert {alert_id} acknowledged by {by}")


@app.command("relay")
@reports_errors
def relay(db: str = DbOption) -> None:
    """Publish what waits in the outbox (call-off messages, events)."""
    report = app_for(db).relay()
    console.print(f"{report.published} message(s) published, {report.calloffs_sent} call-off(s) sent, {report.failed} failure(s)")


_mount_optional()

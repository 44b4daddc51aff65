"""``jisflow pick|rack|ship|receive|lineside|kpi ...``: the floor, from pick list to fitted part."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from jisflow.domain.execution import LineSideScan, ReceivedSlot, Scan
from jisflow.domain.racks import RackState
from jisflow.domain.transport import ShipmentState
from jisflow.entrypoints.cli.common import DbOption, app_for, console, parse_time, reports_errors
from jisflow.services import execution as x

pick_app = typer.Typer(help="Pick lists in sequence, pick confirmation, scan verification.", no_args_is_help=True)
rack_app = typer.Typer(help="Sequence racks: list, close at cut-off, label.", no_args_is_help=True)
ship_app = typer.Typer(help="Load plans, despatch with ASN, ETA updates, emergency deliveries.", no_args_is_help=True)
receive_app = typer.Typer(help="Goods receipt against the despatch advice.", no_args_is_help=True)
lineside_app = typer.Typer(help="Line-side check, consumption (backflush) and traceability.", no_args_is_help=True)
kpi_app = typer.Typer(help="KPIs of the floor, computed from the execution records.", invoke_without_command=True)

LineOption = typer.Option(..., "--line", help="Line code.")
AtOption = typer.Option(None, "--at", help="ISO time with zone (default: now).")


def _key(text: str) -> tuple[str, str]:
    order, sep, family = text.partition("/")
    if not sep or not order or not family:
        raise typer.BadParameter(f"{text!r} is not ORDER/FAMILY (e.g. V0001/SEAT)")
    return order, family


# --------------------------------------------------------------------------- pick
@pick_app.command("list")
@reports_errors
def pick_list(line: str = LineOption, supplier: str = typer.Option(None, "--supplier"), as_json: bool = typer.Option(False, "--json"), at: str = AtOption, db: str = DbOption) -> None:
    """Plan acknowledged call-off lines into rack slots and print what to pick, in sequence."""
    out = app_for(db).bus.handle(x.CreatePickList(line, supplier, parse_time(at)))
    items = out.details["items"]
    if as_json:
        print(json.dumps(items, indent=2))
        return
    table = Table(title=f"pick list, line {line}" + (f", supplier {supplier}" if supplier else ""))
    for col in ("seq", "vehicle", "family", "part", "location", "rack", "slot", "need"):
        table.add_column(col)
    for i in items:
        table.add_row(str(i["seq_no"]), i["order_id"], i["family"], i["part_number"], i["location"], i["rack_id"], str(i["slot"]), i["need_time"])
    console.print(table)


@pick_app.command("confirm")
@reports_errors
def pick_confirm(keys: list[str] = typer.Argument(..., help="ORDER/FAMILY of each part picked."), line: str = LineOption, at: str = AtOption, db: str = DbOption) -> None:
    """Confirm picks: the call-off lines go to PICKED."""
    out = app_for(db).bus.handle(x.ConfirmPick(line, tuple(_key(k) for k in keys), at=parse_time(at)))
    console.print(f"{out.details['picked']} part(s) picked")


@pick_app.command("scan")
@reports_errors
def pick_scan(
    line: str = LineOption, rack: str = typer.Option(..., "--rack"), slot: int = typer.Option(..., "--slot"),
    part: str = typer.Option(..., "--part"), serial: str = typer.Option(..., "--serial"), at: str = AtOption, db: str = DbOption,
) -> None:
    """Scan a part into a rack slot: a wrong part or slot is refused, raises an alert, changes nothing."""
    out = app_for(db).bus.handle(x.VerifyScans(line, (Scan(rack, slot, part, serial),), at=parse_time(at)))
    closed = out.details["racks_closed"]
    console.print(f"{part} {serial} in rack {rack} slot {slot}" + (f"; rack {', '.join(closed)} full and closed" if closed else ""))


# --------------------------------------------------------------------------- rack
@rack_app.command("list")
@reports_errors
def rack_list(line: str = LineOption, state: list[RackState] = typer.Option([], "--state"), db: str = DbOption) -> None:
    """Racks with their sequence range and fill."""
    jf = app_for(db)
    with jf.uow:
        racks = jf.uow.execution.racks(line, tuple(state))
    table = Table(title=f"racks, line {line}")
    for col in ("rack", "type", "supplier", "point", "family", "seq range", "filled", "state", "shipment"):
        table.add_column(col)
    for r in racks:
        filled, capacity = r.fill_rate
        table.add_row(r.id, r.rack_type, r.supplier, r.unloading_point, r.family, f"{r.first_seq}-{r.last_seq}", f"{filled}/{capacity}" + (" partial" if r.partial else ""), r.state.value, r.shipment or "")
    console.print(table)


@rack_app.command("close")
@reports_errors
def rack_close(rack_ids: list[str] = typer.Argument(None, help="Racks to close now (default: only those past their cut-off)."), line: str = LineOption, at: str = AtOption, db: str = DbOption) -> None:
    """Close racks: the given ones, and every open rack whose cut-off has come (partial racks are flagged)."""
    out = app_for(db).bus.handle(x.CloseRacks(line, tuple(rack_ids or ()), parse_time(at)))
    console.print(f"closed: {', '.join(out.details['closed']) or 'none'}; partial: {', '.join(out.details['partial']) or 'none'}")


@rack_app.command("label")
@reports_errors
def rack_label(rack_id: str = typer.Argument(...), out: Path = typer.Option(..., "--out", help="PDF file to write."), db: str = DbOption) -> None:
    """Render the rack's transport label (with a Code 128 barcode of the rack id) as PDF."""
    from jisflow.adapters.labels import render_rack_label
    from jisflow.domain.errors import NotFound

    jf = app_for(db)
    with jf.uow:
        rack = jf.uow.execution.rack(rack_id)
        if rack is None:
            raise NotFound(f"no rack {rack_id!r}")
        plant = jf.uow.plants.of_line(rack.line)
    out.write_bytes(render_rack_label(rack, plant.supplier(rack.supplier).name, plant.name))
    console.print(f"label of rack {rack_id} written to {out}")


# --------------------------------------------------------------------------- ship
@ship_app.command("plan")
@reports_errors
def ship_plan(line: str = LineOption, until: str = typer.Option(None, "--until", help="Also load part-filled trucks due to leave by then."), at: str = AtOption, db: str = DbOption) -> None:
    """Put closed racks on trucks, in reverse unloading order."""
    out = app_for(db).bus.handle(x.PlanLoads(line, parse_time(until), parse_time(at)))
    for s in out.details["shipments"]:
        console.print(f"{s['id']} on {s['lane']}, leaves by {s['departure']}: load {' -> '.join(s['loading_order'])}")
    if not out.details["shipments"]:
        console.print("no truck to load yet")


@ship_app.command("despatch")
@reports_errors
def ship_despatch(shipment_id: str = typer.Argument(...), at: str = AtOption, db: str = DbOption) -> None:
    """Despatch a planned shipment: its parts go to SHIPPED and its ASN goes out."""
    out = app_for(db).bus.handle(x.DespatchShipment(shipment_id, parse_time(at)))
    console.print(f"{shipment_id} despatched, ETA {out.details['eta']}" + (" [red]late risk[/]" if out.details["late_risk"] else ""))


@ship_app.command("eta")
@reports_errors
def ship_eta(shipment_id: str = typer.Argument(...), eta: str = typer.Option(..., "--eta"), db: str = DbOption) -> None:
    """Update a truck's ETA; one past its latest safe arrival raises a late-risk alert."""
    out = app_for(db).bus.handle(x.UpdateEta(shipment_id, parse_time(eta)))  # type: ignore[arg-type]
    console.print(f"{shipment_id}: ETA updated" + (" [red]late risk[/]" if out.details["late_risk"] else ""))


@ship_app.command("emergency")
@reports_errors
def ship_emergency(key: str = typer.Argument(..., help="ORDER/FAMILY"), line: str = LineOption, reason: str = typer.Option("", "--reason"), at: str = AtOption, db: str = DbOption) -> None:
    """Expedite one vehicle's part on its own express lane."""
    order_id, family = _key(key)
    out = app_for(db).bus.handle(x.OrderEmergencyDelivery(line, order_id, family, reason, parse_time(at)))
    console.print(f"emergency delivery {out.details['shipment_id']} for {order_id}/{family}, ETA {out.details['eta']}")


@ship_app.command("list")
@reports_errors
def ship_list(line: str = LineOption, state: list[ShipmentState] = typer.Option([], "--state"), db: str = DbOption) -> None:
    """Shipments with their lane, racks in loading order, departure and ETA."""
    jf = app_for(db)
    with jf.uow:
        shipments = jf.uow.execution.shipments(line, tuple(state))
    table = Table(title=f"shipments, line {line}")
    for col in ("shipment", "lane", "racks (loading order)", "departure", "eta", "state"):
        table.add_column(col)
    for s in shipments:
        table.add_row(s.id + (" [magenta]express[/]" if s.emergency else ""), s.lane, " ".join(s.racks), f"{s.departure:%Y-%m-%d %H:%M}Z", f"{s.eta:%H:%M}Z" + (" [red]late[/]" if s.late_risk else ""), s.state.value)
    console.print(table)


# --------------------------------------------------------------------------- receive
@receive_app.command("shipment")
@reports_errors
def receive_shipment(
    shipment_id: str = typer.Argument(...),
    missing: list[str] = typer.Option([], "--missing", help="RACK:SLOT not found (repeatable); the rest arrived as advised."),
    at: str = AtOption, db: str = DbOption,
) -> None:
    """Goods receipt against the ASN; discrepancies are recorded and raise an alert."""
    jf = app_for(db)
    found = None
    if missing:
        gone = {(m.partition(":")[0], m.partition(":")[2]) for m in missing}
        with jf.uow:
            shipment = jf.uow.execution.shipment(shipment_id)
        if shipment is not None:
            found = {r["rack_id"]: tuple(ReceivedSlot(s["position"], s["part_number"], s["serial"]) for s in r["slots"] if (r["rack_id"], str(s["position"])) not in gone)
                     for r in shipment.asn if (r["rack_id"], "") not in gone}
    out = jf.bus.handle(x.ReceiveShipment(shipment_id, found, parse_time(at)))
    console.print(f"{shipment_id}: {out.details['in_position']}/{out.details['parts']} part(s) received in position")
    for d in out.details["discrepancies"]:
        console.print(f"  [red]discrepancy[/] {d}")


# --------------------------------------------------------------------------- line side
@lineside_app.command("check")
@reports_errors
def lineside_check(
    line: str = LineOption, station: str = typer.Option(..., "--station"), order_id: str = typer.Option(..., "--order"),
    part: str = typer.Option(..., "--part"), serial: str = typer.Option(..., "--serial"), at: str = AtOption, db: str = DbOption,
) -> None:
    """Scan at the station: right part, right vehicle, right order; refused before it is fitted."""
    app_for(db).bus.handle(x.CheckLineSide(line, station, (LineSideScan(order_id, part, serial),), parse_time(at)))
    console.print(f"[green]ok[/]: fit {part} {serial} to {order_id}")


@lineside_app.command("consume")
@reports_errors
def lineside_consume(order_ids: list[str] = typer.Argument(..., help="Vehicles that passed the station."), line: str = LineOption, station: str = typer.Option(None, "--station"), at: str = AtOption, db: str = DbOption) -> None:
    """Backflush the vehicles' delivered parts (at one station, or all)."""
    out = app_for(db).bus.handle(x.ConsumeVehicles(line, tuple(order_ids), station, parse_time(at)))
    console.print(f"{out.details['consumed']} part(s) of {out.details['vehicles']} vehicle(s) consumed")


@lineside_app.command("trace")
@reports_errors
def lineside_trace(serial: str = typer.Argument(...), db: str = DbOption) -> None:
    """Where a serial number went: rack, shipment, receipt, check and the VIN it was fitted into."""
    records = x.trace(app_for(db).uow, serial)
    if not records:
        console.print(f"no record of serial {serial}")
        raise typer.Exit(1)
    table = Table(title=f"serial {serial}")
    for col in ("time", "step", "vehicle", "vin", "part", "rack", "shipment"):
        table.add_column(col)
    for r in records:
        table.add_row(f"{r.at:%Y-%m-%d %H:%M:%S}Z", r.kind.value, r.order_id or "", r.vin or "", r.part_number or "", r.rack_id or "", r.shipment_id or "")
    console.print(table)


# --------------------------------------------------------------------------- kpi
@kpi_app.callback()
@reports_errors
def kpi(line: str = typer.Option(None, "--line"), as_json: bool = typer.Option(False, "--json"), db: str = DbOption) -> None:
    """On-time-in-sequence, sequence accuracy, rack fill, truck utilisation, emergencies."""
    data = x.kpis(app_for(db).uow, line).to_json()
    if as_json:
        print(json.dumps(data, indent=2))
        return
    table = Table(title="floor KPIs" + (f", line {line}" if line else ""))
    table.add_column("kpi")
    table.add_column("value", justify="right")
    for k, v in data.items():
        table.add_row(k.replace("_", " "), "-" if v is None else f"{v:.1%}" if isinstance(v, float) and k not in ("mean_calloff_to_despatch_minutes",) else str(v))
    console.print(table)

"""``jisflow stock ...``, ``jisflow projection ...`` and ``jisflow purchasing ...``: the
inventory ledger, the shortage projection (as a table, and as an SVG chart with ``--plot``)
and the purchasing plan."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

import typer
from rich.table import Table

from jisflow.domain.errors import NotFound, ValidationError
from jisflow.domain.forecast import ForecastLine
from jisflow.domain.inventory import Item, Location, LocationKind, ReasonCode
from jisflow.domain.projection import ItemProjection
from jisflow.domain.purchasing import BomLine, Policy, PolicyKind, supplier_performance
from jisflow.entrypoints.cli.common import DbOption, app_for, console, parse_time, reports_errors
from jisflow.services import edi
from jisflow.services import inventory as inv

stock_app = typer.Typer(help="The inventory ledger: items, locations, receipts, moves, adjustments, counts.", no_args_is_help=True)
purchasing_app = typer.Typer(help="Replenishment policies, purchase orders, the purchasing plan and customer forecasts.", no_args_is_help=True)

ByOption = typer.Option("cli", "--by", help="Who does it (recorded with the movement).")
LotOption = typer.Option("", "--lot", help="Lot or serial number.")


# --------------------------------------------------------------------------- stock
@stock_app.command("item")
@reports_errors
def item_add(
    code: str,
    description: str = typer.Option("", help="What the item is."),
    unit: str = typer.Option("pcs", help="Unit of measure."),
    threshold: int = typer.Option(0, "--threshold", help="Alert when coverage drops below this many minutes."),
    db: str = DbOption,
) -> None:
    """Register an item."""
    app_for(db).bus.handle(inv.RegisterItems((Item(code, description, unit, threshold),)))
    console.print(f"item [bold]{code}[/] registered")


@stock_app.command("location")
@reports_errors
def location_add(
    code: str,
    kind: LocationKind = typer.Option(..., help="warehouse, zone, aisle, bin, supermarket, in_transit or rack_slot."),
    parent: str = typer.Option(None, help="The location it lies in."),
    name: str = typer.Option("", help="A readable name."),
    db: str = DbOption,
) -> None:
    """Add a location to the location tree."""
    app_for(db).bus.handle(inv.AddLocations((Location(code, kind, name, parent),)))
    console.print(f"location [bold]{code}[/] ({kind.value}) added" + (f" in {parent}" if parent else ""))


@stock_app.command("receive")
@reports_errors
def receive(
    item: str,
    quantity: int,
    location: str = typer.Option(..., "--location", "-l", help="Where the goods go."),
    lot: str = LotOption,
    po: str = typer.Option(None, "--po", help="The purchase order the goods arrive on."),
    jit_call: str = typer.Option(None, "--jit-call", help="A JIT delivery: the summarized call it answers, LINE/FAMILY/WINDOW-START (e.g. L1/BUMPER/2026-12-07T08:00:00+01:00)."),
    by: str = ByOption,
    at: str = typer.Option(None, help="When (ISO 8601 with offset; default now)."),
    db: str = DbOption,
) -> None:
    """Book a receipt (against its purchase order or its JIT call, when named)."""
    call = _jit_call(jit_call)
    jf = app_for(db)
    jf.bus.handle(inv.ReceiveStock(item, location, quantity, lot, purchase_order=po, actor=by, at=parse_time(at), jit_call=call))
    console.print(f"received {quantity} {item} at {location}" + (f" on {po}" if po else "") + (f" against JIT call {jit_call}" if call else ""))
    jf.relay()


def _jit_call(text: str | None) -> inv.JitCallRef | None:
    if text is None:
        return None
    line, sep, rest = text.partition("/")
    family, sep2, start = rest.partition("/")
    if not (sep and sep2 and line and family and start):
        raise typer.BadParameter(f"--jit-call {text!r} is not LINE/FAMILY/WINDOW-START")
    return inv.JitCallRef(line, family, parse_time(start))  # type: ignore[arg-type]


@stock_app.command("move")
@reports_errors
def move(
    item: str,
    quantity: int,
    source: str = typer.Option(..., "--from", help="Location the goods leave."),
    target: str = typer.Option(..., "--to", help="Location the goods go to."),
    lot: str = LotOption,
    by: str = ByOption,
    db: str = DbOption,
) -> None:
    """Move stock between two locations (a transfer: one movement out, one in)."""
    app_for(db).bus.handle(inv.MoveStock(item, source, target, quantity, lot, actor=by))
    console.print(f"moved {quantity} {item} from {source} to {target}")


@stock_app.command("adjust")
@reports_errors
def adjust(
    item: str,
    quantity: int = typer.Option(..., "--quantity", "-q", help="Signed quantity: -q -3 takes three away."),
    location: str = typer.Option(..., "--location", "-l"),
    reason: ReasonCode = typer.Option(ReasonCode.ADJUSTMENT, help="adjustment, scrap or issue_to_line."),
    lot: str = LotOption,
    note: str = typer.Option("", help="Why."),
    by: str = ByOption,
    db: str = DbOption,
) -> None:
    """Adjust stock, scrap it or issue it to the line."""
    app_for(db).bus.handle(inv.AdjustStock(item, location, quantity, reason, lot, actor=by, note=note))
    console.print(f"{reason.value}: {quantity:+d} {item} at {location}")


@stock_app.command("count")
@reports_errors
def count(
    item: str,
    counted: int,
    location: str = typer.Option(..., "--location", "-l"),
    lot: str = LotOption,
    by: str = ByOption,
    db: str = DbOption,
) -> None:
    """Record a physical count; the difference to the book is booked as a count correction."""
    outcome = app_for(db).bus.handle(inv.CountStock(item, location, counted, lot, actor=by))
    difference = outcome.details["difference"]
    console.print(f"counted {counted} {item} at {location}: " + (f"correction {difference:+d}" if difference else "agrees with the book"))


@stock_app.command("backflush")
@reports_errors
def backflush(
    line: str = typer.Option(..., "--line"),
    order: list[str] = typer.Option(..., "--order", help="A vehicle that passed its stations; repeat for several, backflushed together."),
    by: str = ByOption,
    db: str = DbOption,
) -> None:
    """Vehicles passed their stations: their reserved parts leave stock (all of them or, when
    one has no open demand line, none)."""
    outcome = app_for(db).bus.handle(inv.BackflushVehicles(line, tuple(order), actor=by))
    console.print(f"backflushed {', '.join(order)}: {outcome.details['movements']} movement(s)")


@stock_app.command("show")
@reports_errors
def show(item: str = typer.Argument(None, help="One item (default: every item)."), movements: int = typer.Option(10, help="Last movements to list."), db: str = DbOption) -> None:
    """Balances (on hand, in transit, reserved, available), stock by location and lot, and the
    last movements."""
    jf = app_for(db)
    with jf.uow:
        items = jf.uow.inventory.items()
        if item is not None and item not in items:
            raise NotFound(f"{item} is not a registered item")
        balances = jf.uow.inventory.balances([item] if item else None)
        rows = jf.uow.inventory.stock(item)
        moves = jf.uow.inventory.movements(item, limit=movements)
    table = Table("item", "description", "on hand", "in transit", "reserved", "available", title="balances")
    for code, b in balances.items():
        table.add_row(code, items[code].description, str(b.on_hand), str(b.in_transit), str(b.reserved), str(b.available))
    console.print(table)
    table = Table("item", "location", "lot", "on hand", title="stock by location")
    for r in rows:
        table.add_row(r.item, r.location, r.lot or "-", str(r.on_hand))
    console.print(table)
    table = Table("#", "when (UTC)", "item", "location", "lot", "qty", "reason", "by", "reference", title=f"last {movements} movements")
    for m in moves:
        table.add_row(str(m.id), f"{m.at:%Y-%m-%d %H:%M}", m.item, m.location, m.lot or "-", f"{m.quantity:+d}", m.reason.value, m.actor, m.reference)
    console.print(table)


# --------------------------------------------------------------------------- projection
@reports_errors
def projection(
    item: str = typer.Argument(None, help="The item to project."),
    every: bool = typer.Option(False, "--all", help="Project every item."),
    plot: Path = typer.Option(None, "--plot", help="Also draw the projected stock over time into this SVG file."),
    at: str = typer.Option(None, help="Project from this time (ISO 8601 with offset; default now)."),
    db: str = DbOption,
) -> None:
    """The time-phased projection: first shortage, the vehicle it hits, coverage, line-stop risk."""
    if (item is None) == (not every):
        raise ValidationError("name one item or give --all")
    jf = app_for(db)
    now = parse_time(at) or jf.clock.now()
    with jf.uow:
        result = inv.projections(jf.uow, now, None if every else [item], with_steps=plot is not None)
    table = Table("item", "on hand", "expected", "demand", "first shortage (UTC)", "vehicle", "seq", "coverage h", "short", "line-stop risk min", title=f"projection from {now:%Y-%m-%d %H:%M}Z")
    for p in sorted(result.values(), key=lambda p: (p.first_shortage_at is None, p.first_shortage_at or now, p.item)):
        table.add_row(
            p.item, str(p.on_hand), str(p.expected), str(p.demand),
            f"{p.first_shortage_at:%Y-%m-%d %H:%M}" if p.first_shortage_at else "-",
            p.first_shortage_order_id or "-", str(p.first_shortage_seq_no or "-"),
            str(p.coverage_hours) if p.coverage_hours is not None else "covered",
            str(p.short_quantity), str(p.line_stop_risk_minutes.normalize()),
        )
    console.print(table)
    if plot is not None:
        charted = [p for p in result.values() if p.first_shortage_at is not None] or list(result.values())
        plot.write_text(projection_svg(sorted(charted, key=lambda p: p.item)[:MAX_CHARTS], now), encoding="utf-8")
        console.print(f"chart of {min(len(charted), MAX_CHARTS)} item(s) written to {plot}")


MAX_CHARTS = 20
WIDTH, HEIGHT, MARGIN = 720, 180, 48


def projection_svg(projections: list[ItemProjection], now: datetime) -> str:
    """One step chart per item, stacked: projected stock over time, the zero line, and the
    first shortage marked in red with its vehicle."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT * len(projections)}" font-family="sans-serif" font-size="11">']
    for row, p in enumerate(projections):
        parts.append(_chart(p, now, row * HEIGHT))
    parts.append("</svg>")
    return "\n".join(parts)


def _chart(p: ItemProjection, now: datetime, top: int) -> str:
    steps = list(p.steps) or [(now, p.on_hand)]
    end = max(max(t for t, _ in steps), now + timedelta(hours=1))
    low, high = min(0, *(q for _, q in steps)), max(1, *(q for _, q in steps))
    span = (end - now).total_seconds() or 1
    plot_w, plot_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN + 20

    def x(t: datetime) -> float:
        return MARGIN + (t - now).total_seconds() / span * plot_w

    def y(q: int) -> float:
        return top + MARGIN - 10 + (high - q) / (high - low) * plot_h

    points, level = [], steps[0][1]
    points.append(f"{x(steps[0][0]):.1f},{y(level):.1f}")
    for t, q in steps[1:]:
        points.append(f"{x(t):.1f},{y(level):.1f}")
        points.append(f"{x(t):.1f},{y(q):.1f}")
        level = q
    points.append(f"{x(end):.1f},{y(level):.1f}")
    out = [
        f'<text x="{MARGIN}" y="{top + 20}" font-weight="bold">{escape(p.item)}</text>',
        f'<text x="{MARGIN}" y="{top + HEIGHT - 8}">{now:%Y-%m-%d %H:%M}Z</text>',
        f'<text x="{WIDTH - MARGIN}" y="{top + HEIGHT - 8}" text-anchor="end">{end:%Y-%m-%d %H:%M}Z</text>',
        f'<text x="{MARGIN - 6}" y="{y(high) + 4:.1f}" text-anchor="end">{high}</text>',
        f'<text x="{MARGIN - 6}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>',
        f'<line x1="{MARGIN}" y1="{y(0):.1f}" x2="{WIDTH - MARGIN}" y2="{y(0):.1f}" stroke="#888" stroke-dasharray="4 3"/>',
        f'<polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" points="{" ".join(points)}"/>',
    ]
    if p.first_shortage_at is not None:
        sx = x(p.first_shortage_at)
        label = f"first shortage {p.first_shortage_at:%d %H:%M}Z, {p.first_shortage_order_id} (seq {p.first_shortage_seq_no})"
        out += [
            f'<line x1="{sx:.1f}" y1="{y(high):.1f}" x2="{sx:.1f}" y2="{y(low):.1f}" stroke="#c62828"/>',
            f'<circle cx="{sx:.1f}" cy="{y(0):.1f}" r="4" fill="#c62828"/>',
            f'<text x="{min(sx + 6, WIDTH - MARGIN):.1f}" y="{top + 20}" fill="#c62828">{escape(label)}</text>',
        ]
    return "\n".join(out)


# --------------------------------------------------------------------------- purchasing
@purchasing_app.command("plan")
@reports_errors
def plan_cmd(
    place: bool = typer.Option(False, "--place", help="Place the proposed orders."),
    forecasts: bool = typer.Option(True, "--forecasts/--no-forecasts", help="Count the customers' forecasts beyond the pearl chain (default) or the chain alone."),
    at: str = typer.Option(None, help="As of this time (ISO 8601 with offset; default now)."),
    db: str = DbOption,
) -> None:
    """What every item's replenishment policy proposes to order now, for the pearl chain's
    demand and the customers' forecasts beyond it (net of the chain, and their components by
    the bill of material); the demand column tells which one a proposal answers."""
    jf = app_for(db)
    outcome = jf.bus.handle(inv.PlanPurchasing(place=place, at=parse_time(at), forecasts=forecasts))
    table = Table("item", "supplier", "quantity", "due (UTC)", "policy", "reason", "demand", title="purchasing plan")
    for p in outcome.details["proposals"]:
        table.add_row(p.item, p.supplier, str(p.quantity), f"{p.due_at:%Y-%m-%d %H:%M}", p.source.value, p.reason, p.demand.value if p.demand else "-")
    console.print(table)
    for problem in outcome.details["unresolved"]:
        console.print(f"[yellow]{problem.where}: {problem.what}[/]")
    if place:
        console.print(f"placed {len(outcome.details['orders'])} order(s): {', '.join(outcome.details['orders']) or '-'}")


@purchasing_app.command("policy")
@reports_errors
def policy_cmd(
    item: str,
    kind: PolicyKind = typer.Option(..., help="reorder_point, kanban or schedule."),
    supplier: str = typer.Option(..., help="Supplier code."),
    lead_time: int = typer.Option(0, "--lead-time", help="Minutes from order to delivery."),
    reorder_point: int = typer.Option(0, "--reorder-point"),
    order_quantity: int = typer.Option(0, "--order-quantity"),
    cards: int = typer.Option(0, "--cards", help="Kanban cards in the loop."),
    container: int = typer.Option(0, "--container", help="Quantity per kanban container."),
    db: str = DbOption,
) -> None:
    """Set an item's replenishment policy."""
    app_for(db).bus.handle(inv.SetPolicy(Policy(item, kind, supplier, lead_time, reorder_point, order_quantity, cards, container)))
    console.print(f"{item}: {kind.value} policy with {supplier}")


@purchasing_app.command("order")
@reports_errors
def order_cmd(
    item: str,
    quantity: int,
    supplier: str = typer.Option(..., help="Supplier code."),
    due: str = typer.Option(..., help="Due time (ISO 8601 with offset)."),
    confirmed: str = typer.Option(None, help="The supplier's confirmed delivery time."),
    db: str = DbOption,
) -> None:
    """Place a purchase order."""
    outcome = app_for(db).bus.handle(inv.PlacePurchaseOrder(item, supplier, quantity, parse_time(due), parse_time(confirmed)))
    console.print(f"purchase order [bold]{outcome.details['number']}[/] placed")


@purchasing_app.command("kanban")
@reports_errors
def kanban_cmd(item: str, db: str = DbOption) -> None:
    """An empty container's kanban card was scanned: order one container."""
    outcome = app_for(db).bus.handle(inv.ScanKanbanCard(item))
    console.print(f"kanban order [bold]{outcome.details['number']}[/] placed")


@purchasing_app.command("performance")
@reports_errors
def performance_cmd(db: str = DbOption) -> None:
    """On-time rate and quantity accuracy per supplier, over the orders fully received."""
    jf = app_for(db)
    with jf.uow:
        orders = jf.uow.purchasing.orders()
    table = Table("supplier", "orders received", "on time", "exact quantity", title="supplier performance")
    for s in supplier_performance(orders).values():
        table.add_row(s.supplier, str(s.orders), f"{s.on_time_rate:.0%}", f"{s.quantity_accuracy:.0%}")
    console.print(table)


BUCKETS = {"day": timedelta(days=1), "shift": timedelta(hours=8), "hour": timedelta(hours=1)}


@purchasing_app.command("schedule")
@reports_errors
def schedule_cmd(
    bucket: str = typer.Option("day", help="day, shift (8 hours from midnight UTC) or hour."),
    at: str = typer.Option(None, help="As of this time (ISO 8601 with offset; default now)."),
    forecasts: bool = typer.Option(True, "--forecasts/--no-forecasts", help="Extend the schedules past the chain by the customers' forecasts (default)."),
    db: str = DbOption,
) -> None:
    """Delivery schedules of the items with a schedule policy: demand beyond the frozen zone,
    per bucket, with cumulative quantities; past the chain the forecasts' (planning, not firm)."""
    if bucket not in BUCKETS:
        raise ValidationError(f"bucket must be one of {', '.join(BUCKETS)}, not {bucket!r}")
    jf = app_for(db)
    now = parse_time(at) or jf.clock.now()
    with jf.uow:
        schedules = inv.delivery_schedules(jf.uow, now, BUCKETS[bucket], forecasts)
    table = Table("item", "from (UTC)", "to (UTC)", "quantity", "cumulative", "commitment", title="delivery schedules")
    for item, lines in schedules.items():
        for ln in lines:
            table.add_row(item, f"{ln.start:%Y-%m-%d %H:%M}", f"{ln.end:%Y-%m-%d %H:%M}", str(ln.quantity), str(ln.cumulative), ln.commitment.value)
    console.print(table)


@purchasing_app.command("bom")
@reports_errors
def bom_cmd(
    parent: str,
    component: str = typer.Argument(..., help="Component part; may name vehicle options, e.g. 'COVER-{trim}'."),
    quantity: int = typer.Option(1, "--quantity", "-q"),
    supplier: str = typer.Option(..., help="The sub-supplier of the component."),
    db: str = DbOption,
) -> None:
    """Add a component to a JIS part's bill of material."""
    app_for(db).bus.handle(inv.SetBom((BomLine(parent, component, quantity, supplier),)))
    console.print(f"{parent} needs {quantity} x {component} from {supplier}")


@purchasing_app.command("forward")
@reports_errors
def forward_cmd(
    line: str = typer.Option(..., "--line"),
    lead_time: int = typer.Option(0, "--lead-time", help="Minutes the components are needed before the part."),
    db: str = DbOption,
) -> None:
    """The line's JIS demand broken down into components for the sub-suppliers."""
    jf = app_for(db)
    with jf.uow:
        forwarded = inv.forwarded_demand(jf.uow, line, jf.clock.now(), timedelta(minutes=lead_time))
    table = Table("seq", "vehicle", "part", "component", "quantity", "supplier", "need (UTC)", title=f"forwarded demand of line {line}")
    for f in forwarded:
        table.add_row(str(f.seq_no), f.order_id, f.parent, f.component, str(f.quantity), f.supplier, f"{f.need_time:%Y-%m-%d %H:%M}")
    console.print(table)


@purchasing_app.command("forecasts")
@reports_errors
def forecasts_cmd(
    supplier: str = typer.Option(None, help="Only the forecasts sent to this supplier."),
    partner: str = typer.Option(None, help="Only the forecasts of this customer (the sender)."),
    item: str = typer.Option(None, help="Only this part number."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    db: str = DbOption,
) -> None:
    """The customers' forecasts received as DELFOR, VDA 4905 or X12 830/862 (``jisflow edi import``),
    per period with cumulative quantities; a newer forecast has replaced the older one within its horizon."""
    lines = edi.forecasts(app_for(db).uow, supplier=supplier, partner=partner, item=item)
    if as_json:
        typer.echo(json.dumps([forecast_json(ln) for ln in lines], indent=2))
        return
    table = Table("partner", "supplier", "item", "unloading point", "due", "quantity", "cumulative", "commitment", "message", "reference", "issued",
                  title="forecasts")
    for ln in lines:
        table.add_row(ln.partner, ln.supplier, ln.item, ln.unloading_point, ln.due.isoformat(), str(ln.quantity), str(ln.cumulative),
                      ln.commitment.value, ln.message, ln.reference, ln.issued.isoformat() if ln.issued else "")
    console.print(table)


def forecast_json(ln: ForecastLine) -> dict:
    return {
        "partner": ln.partner, "supplier": ln.supplier, "item": ln.item, "supplier_item": ln.supplier_item, "unloading_point": ln.unloading_point,
        "due": ln.due.isoformat(), "quantity": ln.quantity, "cumulative": ln.cumulative, "unit": ln.unit, "commitment": ln.commitment.value,
        "message": ln.message, "reference": ln.reference, "issued": ln.issued.isoformat() if ln.issued else None,
        "interchange": ln.interchange, "received_at": ln.received_at.isoformat(),
    }

"""The control tower's pages (NiceGUI): each reads its data through ``views`` in a worker
thread, under the API's lock, and redraws itself when the data changed (a timer per page,
over NiceGUI's websocket). Every change is a command on the bus in the signed-in user's name.
"""

from __future__ import annotations

import html
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import app as ng_app
from nicegui import run, ui

from jisflow.domain.auth import Principal, Scope
from jisflow.domain.calloff import CallOffState
from jisflow.domain.errors import JisflowError
from jisflow.entrypoints.api.deps import Context
from jisflow.entrypoints.web import views as v
from jisflow.services import auth
from jisflow.services import commands as c
from jisflow.services import execution as x

BASE = "/tower"
REFRESH_SECONDS = 1.0


class Tower:
    """What the pages of this process use: the API's context (its wired jisflow and lock)."""

    context: Context | None = None


def href(path: str) -> str:
    """A page's address for links and navigation inside the tower: NiceGUI puts the mount
    path (``BASE``) in front by itself."""
    return path


def _ctx() -> Context:
    if Tower.context is None:
        raise RuntimeError("the control tower is not mounted")
    return Tower.context


# --------------------------------------------------------------------------- data access
def _read(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with _ctx().borrow() as app:
        return fn(app, *args, **kwargs)


async def load(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await run.io_bound(_read, fn, *args, **kwargs)


def _handle(who: Principal, command: c.Command) -> Any:
    return _ctx().handle(who, command)


async def act(who: Principal, command: c.Command, done: str) -> bool:
    """Run a command as ``who``; tell the user what happened. True when it was applied."""
    try:
        outcome = await run.io_bound(_handle, who, command)
    except JisflowError as exc:
        ui.notify(exc.message, type="negative", multi_line=True, timeout=8000)
        return False
    ui.notify(done + (f" ({outcome.lines_changed} call-off line(s) changed)" if getattr(outcome, "lines_changed", 0) else ""), type="positive")
    return True


def _authenticate(token: str) -> Principal:
    with _ctx().borrow() as app:
        return auth.authenticate(app.uow, token)


RECHECK_SECONDS = 60.0
_SESSIONS: dict[str, tuple[str, Principal, float]] = {}
"""Session id -> (API key, its principal, when the key was last checked). Kept in this
process's memory only: the browser's session storage holds just the random id."""


def _open_session(token: str, who: Principal) -> None:
    session = secrets.token_urlsafe(24)
    _SESSIONS[session] = (token, who, time.monotonic())
    ng_app.storage.user["session"] = session


async def signed_in() -> Principal | None:
    """The principal of this browser session; its key is checked again every minute, so a
    revoked key or a deactivated user is signed out."""
    session = ng_app.storage.user.get("session")
    entry = _SESSIONS.get(session) if session else None
    if entry is None:
        return None
    token, who, checked = entry
    if time.monotonic() - checked < RECHECK_SECONDS:
        return who
    try:
        who = await run.io_bound(_authenticate, token)
    except auth.Unauthenticated:
        _SESSIONS.pop(session, None)
        return None
    _SESSIONS[session] = (token, who, time.monotonic())
    return who


_ZONE: dict[str, ZoneInfo] = {}


def _timezone() -> ZoneInfo:
    """The plant's time zone, for display (read once per process)."""
    if "zone" not in _ZONE:
        plants = _read(v.plants)
        if not plants:
            return ZoneInfo("UTC")
        _ZONE["zone"] = ZoneInfo(plants[0].timezone)
    return _ZONE["zone"]


def _plant_now() -> datetime:
    return _ctx().app.clock.now()


# --------------------------------------------------------------------------- formatting
def hm(at: datetime | None, tz: ZoneInfo) -> str:
    return "-" if at is None else at.astimezone(tz).strftime("%H:%M")


def hms(at: datetime | None, tz: ZoneInfo) -> str:
    return "-" if at is None else at.astimezone(tz).strftime("%a %H:%M:%S")


def plant_time(at: datetime, tz: ZoneInfo) -> str:
    """A time for a chart axis, in plant time whatever the browser's time zone (no offset)."""
    return at.astimezone(tz).replace(tzinfo=None).isoformat()


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


STATE_COLOUR = {
    "CREATED": "bg-gray-200 text-gray-800", "SENT": "bg-sky-200 text-sky-900", "ACKNOWLEDGED": "bg-blue-200 text-blue-900",
    "PICKED": "bg-indigo-200 text-indigo-900", "PACKED": "bg-violet-200 text-violet-900", "SHIPPED": "bg-teal-200 text-teal-900",
    "DELIVERED": "bg-green-200 text-green-900", "CONSUMED": "bg-green-600 text-white", "AMENDED": "bg-amber-300 text-amber-950",
    "CANCELLED": "bg-red-200 text-red-900",
}
SEVERITY_COLOUR = {"critical": "negative", "warning": "warning", "info": "info"}


def chip(text: str, classes: str) -> str:
    return f'<span class="inline-block rounded px-1.5 py-0.5 text-xs font-semibold {classes}">{html.escape(text)}</span>'


# --------------------------------------------------------------------------- frame
NAV = [
    ("/", "Overview", Scope.SEQUENCE_READ), ("/board", "Sequence board", Scope.SEQUENCE_READ), ("/chain", "Pearl chain", Scope.SEQUENCE_WRITE),
    ("/calloffs", "Call-offs", Scope.CALLOFFS_READ), ("/transport", "Racks & trucks", Scope.SHIPMENTS_READ),
    ("/inventory", "Inventory", Scope.INVENTORY_READ), ("/kpis", "KPIs", Scope.KPIS_READ), ("/alerts", "Alerts", Scope.ALERTS_READ),
]


def frame(who: Principal, title: str) -> None:
    ui.page_title(f"{title} - jisflow control tower")
    with ui.header().classes("items-center gap-x-4 gap-y-1 flex-wrap bg-slate-800 px-4 py-2"):
        ui.label("jisflow").classes("text-lg font-bold")
        clock = ui.label("").classes("text-sm font-mono text-amber-200").props('data-testid="plant-time"')

        async def tick() -> None:
            clock.text = hms(await run.io_bound(_plant_now), await run.io_bound(_timezone))

        ui.timer(REFRESH_SECONDS, tick)
        if who.supplier is not None:
            ui.link("Supplier portal", href("/portal")).classes("text-white")
            ui.link("Sequence board", href("/board")).classes("text-white")
        else:
            for path, text, scope in NAV:
                if who.can(scope):
                    ui.link(text, href(path)).classes("text-white no-underline hover:underline")
        ui.space()
        ui.label(f"{who.name} ({who.role.value}{', ' + who.partner if who.partner else ''})").classes("text-sm").props('data-testid="who"')
        ui.button("Sign out", on_click=_sign_out).props("flat dense color=white")
    ui.label(title).classes("text-2xl font-semibold")


def _sign_out() -> None:
    _SESSIONS.pop(ng_app.storage.user.pop("session", None) or "", None)
    ui.navigate.to(href("/login"))


def live(loader: Callable[[], Any], render: Callable[[Any], None], interval: float = REFRESH_SECONDS) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """Draw ``render(data)`` as soon as ``loader`` (async) gives the data, and again whenever
    it gives other data (polled every ``interval`` seconds); the page itself answers at once.
    Gives (start, force): start the polling, draw again now."""
    state: dict[str, Any] = {}

    @ui.refreshable
    def view() -> None:
        if "data" in state:
            render(state["data"])
        else:
            ui.spinner(size="lg")

    async def tick() -> None:
        data = await loader()
        if "data" not in state or data != state["data"]:
            state["data"] = data
            view.refresh()

    async def force() -> None:
        state["data"] = await loader()
        view.refresh()

    async def start() -> None:
        view()
        ui.timer(interval, tick)

    return start, force


async def guard(scope: Scope | None = None) -> Principal | None:
    who = await signed_in()
    if who is None:
        ui.navigate.to(href("/login"))
        return None
    if scope is not None and not who.can(scope):
        frame(who, "Not allowed")
        ui.label(f"This page needs the scope {scope.value}, which {who.name} ({who.role.value}) does not hold.")
        return None
    return who


async def line_page(scope: Scope, title: str, line: str | None) -> tuple[Principal, list[str], str, ZoneInfo] | None:
    """The start of a page about one line: the caller allowed, the frame drawn, the lines, the
    line asked for (else the first) and the plant's time zone; None when there is nothing to show."""
    who = await guard(scope)
    if who is None:
        return None
    frame(who, title)
    lines = await load(v.line_codes)
    if not lines:
        ui.label("No plant is loaded yet.")
        return None
    return who, lines, line if line in lines else lines[0], await run.io_bound(_timezone)


# --------------------------------------------------------------------------- pages
def register() -> None:
    """Declare the pages (once per process)."""

    @ui.page("/login")
    async def login_page() -> None:
        ui.page_title("Sign in - jisflow control tower")
        with ui.card().classes("absolute-center w-96 max-w-full"):
            ui.label("jisflow control tower").classes("text-xl font-bold")
            ui.label("Sign in with your API key (from `jisflow users key NAME`).").classes("text-sm text-gray-600")
            name = ui.input("User (optional)").props('data-testid="user" autocomplete=username').classes("w-full")
            key = ui.input("API key", password=True, password_toggle_button=True).props('data-testid="key"').classes("w-full")
            message = ui.label("").classes("text-negative")

            async def submit() -> None:
                token = (key.value or "").strip()
                try:
                    who = await run.io_bound(_authenticate, token)
                except auth.Unauthenticated:
                    message.text = "The API key is unknown, revoked or wrong."
                    return
                if name.value and name.value.strip() != who.name:
                    message.text = "The API key is unknown, revoked or wrong."
                    return
                _open_session(token, who)
                ui.navigate.to(href("/portal" if who.supplier is not None else "/"))

            key.on("keydown.enter", submit)
            ui.button("Sign in", on_click=submit).props('data-testid="sign-in"').classes("w-full")

    @ui.page("/")
    async def overview_page() -> None:
        who = await guard()
        if who is None:
            return
        if who.supplier is not None:
            ui.navigate.to(href("/portal"))
            return
        if not who.can(Scope.SEQUENCE_READ):
            ui.navigate.to(href("/transport" if who.can(Scope.SHIPMENTS_READ) else "/login"))
            return
        frame(who, "Overview")
        tz = await run.io_bound(_timezone)

        def render(o: v.Overview) -> None:
            ui.label(f"plant time {hms(o.now, tz)}").classes("text-gray-600").props('data-testid="clock"')
            with ui.row().classes("w-full gap-4 flex-wrap"):
                for ln in o.lines:
                    with ui.card().classes("min-w-72"):
                        ui.label(f"Line {ln.line}: {ln.name}").classes("text-lg font-semibold")
                        ui.label(f"takt {ln.takt_seconds} s").classes("text-sm text-gray-600")
                        ui.label(f"last broadcast: seq {ln.last_seq_no or '-'} {ln.last_order_id or ''} at {hm(ln.last_broadcast_at, tz)}").props('data-testid="position"')
                        ui.label(f"next: {ln.next_order_id or '-'} at {hm(ln.next_at, tz)}")
                        ui.label(f"{ln.broadcast} broadcast, {ln.planned} planned, {ln.frozen} in the frozen zone")
                with ui.card().classes("min-w-60"):
                    ui.label("Open alerts").classes("text-lg font-semibold")
                    for severity in ("critical", "warning", "info"):
                        with ui.row().classes("items-center"):
                            ui.badge(str(o.open_alerts.get(severity, 0)), color=SEVERITY_COLOUR[severity]).classes("text-base")
                            ui.label(severity)
                    ui.link("to the inbox", href("/alerts"))
                with ui.card().classes("min-w-60"):
                    ui.label("Shift KPIs").classes("text-lg font-semibold")
                    for key, text in (("on_time_in_sequence", "on time in sequence"), ("sequence_accuracy", "sequence accuracy"),
                                      ("rack_fill_rate", "rack fill rate"), ("truck_utilisation", "truck utilisation")):
                        ui.label(f"{text}: {pct(o.kpis.get(key))}")
                    ui.label(f"emergency deliveries: {o.kpis.get('emergency_deliveries', 0)}")
                    ui.label(f"parts received: {o.kpis.get('parts_received', 0)}, consumed: {o.kpis.get('parts_consumed', 0)}")
            with ui.card().classes("w-full"):
                ui.label("Call-off lines by state").classes("text-lg font-semibold")
                ui.html(" ".join(chip(f"{s.value} {o.calloff_lines.get(s.value, 0)}", STATE_COLOUR[s.value]) for s in v.PIPELINE_STATES))
            if o.latest_alerts:
                with ui.card().classes("w-full"):
                    ui.label("Latest open alerts").classes("text-lg font-semibold")
                    for a in o.latest_alerts:
                        with ui.row().classes("items-center no-wrap"):
                            ui.badge(a.severity.value, color=SEVERITY_COLOUR[a.severity.value])
                            ui.label(f"{hm(a.raised_at, tz)} {a.kind.value}: {a.message}").classes("text-sm")

        start, _ = live(lambda: load(v.overview, who), render)
        await start()

    @ui.page("/board")
    async def board_page(line: str | None = None, station: str | None = None, start: str | None = None, count: int = 16) -> None:
        page = await line_page(Scope.CALLOFFS_READ, "Sequence board", line)
        if page is None:
            return
        who, lines, line, tz = page
        first = await load(v.board, who, line, None, 1)
        choice = {"station": station, "start": start or None}
        with ui.row().classes("items-end gap-4 flex-wrap"):
            ui.select(lines, value=line, label="Line", on_change=lambda e: ui.navigate.to(href(f"/board?line={e.value}"))).classes("w-32")
            options = {"": "every station"} | {code: f"{code} {name}" for code, name in first.stations}
            ui.select(options, value=station or "", label="Station", on_change=lambda e: _set(choice, "station", e.value or None)).classes("w-72").props('data-testid="station"')
            jump = ui.input("From order or seq no.", value=start or "").props('data-testid="from" clearable').classes("w-56")
            ui.button("Show", on_click=lambda: _set(choice, "start", (jump.value or "").strip() or None)).props('data-testid="show"')

        def render(b: v.Board) -> None:
            ui.label(f"plant time {hms(b.now, tz)}; frozen rows are shaded, a flagged change is marked").classes("text-gray-600 text-sm")
            rows = []
            for r in b.rows:
                shade = "bg-slate-100" if r.frozen else ""
                status = "broadcast" if r.status == "broadcast" else ("frozen" if r.frozen else "planned")
                parts = " ".join(
                    f'<span class="inline-flex items-center gap-1 mr-2 mb-1 whitespace-nowrap" data-family="{html.escape(p.family)}">'
                    f'<b>{html.escape(p.family)}</b> {html.escape(p.part_number)} '
                    + (chip(p.state + (f" x{p.amendments}" if p.amendments else ""), STATE_COLOUR.get(p.state, "")) if p.state else chip(p.mode, "bg-white border text-gray-600"))
                    + "</span>"
                    for p in r.parts
                )
                options = ", ".join(html.escape(val) for key, val in sorted(r.options.items()) if key in ("trim", "colour", "roof", "engine"))
                rows.append(
                    f'<tr class="border-b align-top {shade}" data-order="{html.escape(r.order_id)}">'
                    f'<td class="p-2 text-lg font-bold">{r.seq_no}<div class="text-xs text-gray-500">#{r.rolling_no:04d}</div></td>'
                    f'<td class="p-2"><div class="font-semibold">{html.escape(r.order_id)}</div><div class="text-sm">{html.escape(r.model)} {options}</div></td>'
                    f'<td class="p-2 whitespace-nowrap">{hm(r.at, tz)}<div class="text-xs">{status}{" <b class=text-amber-700>flagged</b>" if r.flagged else ""}</div></td>'
                    f'<td class="p-2">{parts or "<span class=text-gray-400>no parts here</span>"}</td></tr>'
                )
            ui.html(
                '<table class="w-full text-left border-collapse" data-testid="board"><thead><tr class="border-b-2">'
                '<th class="p-2">seq</th><th class="p-2">vehicle</th><th class="p-2">time</th><th class="p-2">parts and call-off state</th></tr></thead>'
                f'<tbody>{"".join(rows)}</tbody></table>'
            ).classes("w-full")

        start_view, force = live(lambda: load(v.board, who, line, choice["station"], count, choice["start"]), render)

        def _set(state: dict, key: str, value: Any) -> None:
            state[key] = value
            ui.timer(0, force, once=True)

        await start_view()

    @ui.page("/chain")
    async def chain_page(line: str | None = None) -> None:
        page = await line_page(Scope.SEQUENCE_WRITE, "Pearl chain", line)
        if page is None:
            return
        who, lines, line, tz = page
        ui.label("Resequence a planned vehicle: move it after another one. Inside the frozen zone a move needs an override, "
                 "which is flagged and alerted.").classes("text-gray-700")
        with ui.row().classes("items-end gap-4 flex-wrap"):
            vehicle = ui.input("Vehicle (order)").props('data-testid="move-order"').classes("w-48")
            target = ui.input("Place after (order)").props('data-testid="move-after"').classes("w-48")
            reason = ui.input("Reason", value="resequenced in the control tower").classes("w-72")
            ui.button("Resequence", on_click=lambda: resequence()).props('data-testid="resequence" color=primary')
        holder: dict[str, v.ChainView] = {}

        async def resequence() -> None:
            order, after = (vehicle.value or "").strip(), (target.value or "").strip()
            view = holder.get("chain") or await load(v.chain, line)
            index = {r.order_id: r for r in view.rows}
            frozen = (order in index and index[order].frozen) or (after in index and index[after].frozen and index[after].index < view.frozen - 1)
            if frozen:
                with ui.dialog() as dialog, ui.card():
                    ui.label("Frozen zone").classes("text-lg font-bold text-negative")
                    ui.label(f"{order} or its new place lies inside the frozen zone ({view.frozen} vehicles): the suppliers may be "
                             "picking or shipping already. Override? The change is flagged and alerted.")
                    with ui.row():
                        ui.button("Cancel", on_click=dialog.close).props("flat")
                        ui.button("Override and move", on_click=lambda: dialog.submit(True)).props('color=negative data-testid="override"')
                if not await dialog:
                    return
            command = c.MoveVehicle(line, order_id=order, after=after, override=frozen, actor=who.name, reason=reason.value or "")
            if await act(who, command, f"{order} moved after {after}"):
                await force()

        def render(view: v.ChainView) -> None:
            holder["chain"] = view
            ui.label(f"{len(view.rows)} planned vehicles shown; the first {view.frozen} are frozen").classes("text-sm text-gray-600")
            rows = []
            for r in view.rows:
                states = " ".join(chip(f"{k} {n}", STATE_COLOUR.get(k, "")) for k, n in sorted(r.calloff_states.items()))
                rows.append(
                    f'<tr class="border-b {"bg-slate-100" if r.frozen else ""}" data-order="{html.escape(r.order_id)}">'
                    f'<td class="p-1">{r.index + 1}</td><td class="p-1">{r.seq_no}</td><td class="p-1 font-semibold">{html.escape(r.order_id)}</td>'
                    f'<td class="p-1">{html.escape(r.model)}</td><td class="p-1">{hm(r.planned_at, tz)}</td>'
                    f'<td class="p-1">{"frozen" if r.frozen else ""}{" flagged" if r.flagged else ""}</td><td class="p-1">{states}</td></tr>'
                )
            ui.html(
                '<table class="w-full text-left text-sm" data-testid="chain"><thead><tr class="border-b-2"><th>#</th><th>seq</th><th>order</th>'
                f'<th>model</th><th>planned</th><th>zone</th><th>call-off lines</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            ).classes("w-full")

        start, force = live(lambda: load(v.chain, line), render, interval=2.0)
        await start()

    @ui.page("/calloffs")
    async def calloffs_page(supplier: str | None = None) -> None:
        who = await guard(Scope.CALLOFFS_READ)
        if who is None:
            return
        if who.supplier is not None:
            ui.navigate.to(href("/portal"))
            return
        frame(who, "Call-off pipeline")
        await _pipeline(who, supplier)

    @ui.page("/portal")
    async def portal_page() -> None:
        who = await guard(Scope.CALLOFFS_READ)
        if who is None:
            return
        frame(who, f"Supplier portal{': ' + who.supplier if who.supplier else ''}")
        await _pipeline(who, who.supplier, portal=True)

    @ui.page("/transport")
    async def transport_page() -> None:
        who = await guard(Scope.SHIPMENTS_READ)
        if who is None:
            return
        frame(who, "Racks and trucks")
        tz = await run.io_bound(_timezone)

        def render(t: v.Transport) -> None:
            ui.label(f"plant time {hms(t.now, tz)}").classes("text-gray-600 text-sm")
            ui.label(f"Trucks planned and on the road ({len(t.trucks)})").classes("text-lg font-semibold")
            if t.trucks:
                chart({
                    "tooltip": {"trigger": "axis"}, "grid": {"left": 110, "right": 20, "top": 20, "bottom": 30},
                    "xAxis": {"type": "value", "name": "minutes of slack (latest safe arrival - ETA)"},
                    "yAxis": {"type": "category", "data": [tr.id[-10:] for tr in t.trucks[:30]]},
                    "series": [{"type": "bar", "data": [
                        {"value": tr.slack_minutes, "itemStyle": {"color": "#dc2626" if tr.slack_minutes < 0 else "#0d9488"}} for tr in t.trucks[:30]
                    ]}],
                }).classes("w-full").style(f"height: {max(160, 22 * min(len(t.trucks), 30) + 60)}px")
            ui.table(
                columns=[_col("id", "truck"), _col("supplier", "supplier"), _col("state", "state"), _col("racks", "racks"),
                         _col("departure", "departure"), _col("eta", "ETA"), _col("latest", "latest safe arrival"), _col("slack", "slack min")],
                rows=[{"id": tr.id, "supplier": tr.supplier, "state": tr.state + (" (emergency)" if tr.emergency else ""), "racks": tr.racks,
                       "departure": hm(tr.departure, tz), "eta": hm(tr.eta, tz), "latest": hm(tr.latest_arrival, tz), "slack": tr.slack_minutes}
                      for tr in t.trucks],
                row_key="id", pagination=15,
            ).classes("w-full").props("dense")
            ui.label(f"Racks being filled and waiting ({len(t.racks)})").classes("text-lg font-semibold")
            ui.table(
                columns=[_col("id", "rack"), _col("supplier", "supplier"), _col("family", "family"), _col("state", "state"), _col("fill", "filled"),
                         _col("seq", "sequence"), _col("cut_off", "cut-off"), _col("shipment", "truck")],
                rows=[{"id": r.id, "supplier": r.supplier, "family": r.family, "state": r.state, "fill": f"{r.filled}/{r.capacity}",
                       "seq": f"{r.first_seq or '-'}-{r.last_seq or '-'}", "cut_off": hm(r.cut_off, tz), "shipment": r.shipment or ""}
                      for r in t.racks],
                row_key="id", pagination=15,
            ).classes("w-full").props("dense")

        start, _ = live(lambda: load(v.transport, who), render, interval=2.0)
        await start()

    @ui.page("/inventory")
    async def inventory_page(item: str | None = None) -> None:
        who = await guard(Scope.INVENTORY_READ)
        if who is None:
            return
        frame(who, "Inventory")
        tz = await run.io_bound(_timezone)
        rows = await load(v.coverage)
        if not rows:
            ui.label("No item is in the ledger yet.")
            return
        codes = [r.item for r in rows]
        chosen = {"item": item if item in codes else codes[0]}
        ui.select(codes, value=chosen["item"], label="Item", on_change=lambda e: (chosen.update(item=e.value), ui.timer(0, force, once=True))).classes("w-72").props('data-testid="item"')

        def render(curve: v.StockCurve) -> None:
            points = [[plant_time(t, tz), q] for t, q in curve.steps]
            mark: dict[str, Any] = {}
            if curve.first_shortage_at is not None:
                label = f"short: {curve.first_shortage_order_id} (seq {curve.first_shortage_seq_no}) at {hm(curve.first_shortage_at, tz)}"
                mark = {"markLine": {"symbol": "none", "lineStyle": {"color": "#dc2626", "width": 2},
                                     "label": {"formatter": label, "color": "#dc2626", "fontWeight": "bold", "position": "end", "rotate": 0},
                                     "data": [{"xAxis": plant_time(curve.first_shortage_at, tz)}]}}
                ui.label(f"First shortage at {hms(curve.first_shortage_at, tz)}, hits {curve.first_shortage_order_id} "
                         f"(seq {curve.first_shortage_seq_no})").classes("text-negative font-semibold").props('data-testid="shortage"')
            else:
                ui.label("Covered over the whole horizon").classes("text-positive").props('data-testid="shortage"')
            chart({
                "title": {"text": f"projected stock of {curve.item}", "textStyle": {"fontSize": 14}},
                "tooltip": {"trigger": "axis"}, "grid": {"left": 50, "right": 30, "top": 60, "bottom": 40},
                "xAxis": {"type": "time"}, "yAxis": {"type": "value", "name": "units"},
                "series": [{"type": "line", "step": "end", "showSymbol": False, "data": points, "color": "#2563eb", "lineStyle": {"width": 2},
                            "areaStyle": {"color": "rgba(37, 99, 235, 0.08)"}, **mark}],
            }).classes("w-full h-80").props('data-testid="stock-chart"')

        start, force = live(lambda: load(v.stock_curve, chosen["item"]), render, interval=2.0)
        await start()
        ui.label("Coverage by item (click a column to sort)").classes("text-lg font-semibold mt-4")

        def render_table(items: list[v.ItemCoverage]) -> None:
            ui.table(
                columns=[_col("item", "item"), _col("on_hand", "on hand"), _col("demand", "demand"), _col("expected", "expected"),
                         _col("coverage", "coverage min"), _col("short_at", "first shortage"), _col("vehicle", "vehicle hit"),
                         _col("short", "short units"), _col("risk", "line-stop risk min")],
                rows=[{"item": r.item, "on_hand": r.on_hand, "demand": r.demand, "expected": r.expected,
                       "coverage": r.coverage_minutes if r.coverage_minutes is not None else "covered",
                       "short_at": hm(r.first_shortage_at, tz), "vehicle": r.first_shortage_order_id or "", "short": r.short_quantity,
                       "risk": r.line_stop_risk_minutes} for r in items],
                row_key="item", pagination=20,
            ).classes("w-full").props("dense")

        start_table, _ = live(lambda: load(v.coverage), render_table, interval=5.0)
        await start_table()

    @ui.page("/kpis")
    async def kpis_page() -> None:
        who = await guard(Scope.KPIS_READ)
        if who is None:
            return
        frame(who, "KPIs over time")
        tz = await run.io_bound(_timezone)

        def render(k: v.KpiSeries) -> None:
            if not k.times:
                ui.label("Nothing has happened on the floor yet.")
                return
            axis = [hm(t, tz) for t in k.times]
            base = {"tooltip": {"trigger": "axis"}, "grid": {"left": 50, "right": 20, "top": 40, "bottom": 50}, "xAxis": {"type": "category", "data": axis}}
            with ui.grid(columns="repeat(auto-fit, minmax(340px, 1fr))").classes("w-full gap-4"):
                chart(base | {"title": {"text": "on time in sequence and sequence accuracy (%)", "textStyle": {"fontSize": 13}},
                                  "legend": {"bottom": 0}, "yAxis": {"type": "value", "min": 0, "max": 100},
                                  "series": [{"name": "on time in sequence", "type": "line", "connectNulls": True, "data": k.on_time_in_sequence},
                                             {"name": "sequence accuracy", "type": "line", "connectNulls": True, "data": k.sequence_accuracy}]}).classes("h-72")
                chart(base | {"title": {"text": "line-stop minutes", "textStyle": {"fontSize": 13}}, "yAxis": {"type": "value"},
                                  "series": [{"type": "bar", "data": k.line_stop_minutes, "itemStyle": {"color": "#dc2626"}}]}).classes("h-72")
                chart(base | {"title": {"text": "stock on hand (units)", "textStyle": {"fontSize": 13}}, "yAxis": {"type": "value"},
                                  "series": [{"type": "line", "areaStyle": {}, "data": k.stock_on_hand}]}).classes("h-72")

        start, _ = live(lambda: load(v.kpi_series), render, interval=5.0)
        await start()

    @ui.page("/alerts")
    async def alerts_page(open: bool = True) -> None:
        who = await guard(Scope.ALERTS_READ)
        if who is None:
            return
        frame(who, "Alerts inbox")
        tz = await run.io_bound(_timezone)
        only = {"open": open}
        ui.switch("open alerts only", value=open, on_change=lambda e: (only.update(open=e.value), ui.timer(0, force, once=True)))

        async def acknowledge(alert_id: int) -> None:
            if await act(who, c.AcknowledgeAlert(alert_id, who.name), f"alert {alert_id} acknowledged"):
                await force()

        def render(found: list) -> None:
            if not found:
                ui.label("No alert.")
            for a in found:
                with ui.row().classes("w-full items-center no-wrap border-b py-1 gap-3").props(f'data-alert="{a.id}"'):
                    ui.badge(a.severity.value, color=SEVERITY_COLOUR[a.severity.value])
                    ui.label(hms(a.raised_at, tz)).classes("text-sm w-28 shrink-0")
                    ui.label(a.kind.value).classes("text-sm font-semibold w-40 shrink-0")
                    ui.label(a.message).classes("text-sm grow")
                    if a.acknowledged_at is not None:
                        ui.label(f"acknowledged by {a.acknowledged_by}").classes("text-xs text-gray-500 shrink-0")
                    elif who.can(Scope.ALERTS_WRITE):
                        ui.button("Acknowledge", on_click=lambda _, i=a.id: acknowledge(i)).props("dense outline")

        start, force = live(lambda: load(v.alerts, only["open"]), render, interval=2.0)
        await start()


def chart(options: dict[str, Any]) -> ui.echart:
    """An ECharts chart drawn as SVG (crisp on a tablet, its texts in the page), without
    animation: a live chart redraws often."""
    return ui.echart({"animation": False} | options, renderer="svg")


def _col(name: str, label: str) -> dict[str, Any]:
    return {"name": name, "label": label, "field": name, "sortable": True, "align": "left"}


async def _pipeline(who: Principal, supplier: str | None, portal: bool = False) -> None:
    tz = await run.io_bound(_timezone)
    can_write = who.can(Scope.CALLOFFS_WRITE)

    async def acknowledge(number: str) -> None:
        try:
            lines = await load(v.calloff_lines, who, number)
        except JisflowError as exc:
            ui.notify(exc.message, type="negative")
            return
        keys = tuple(sorted((ln.order_id, ln.family) for ln in lines if ln.state is CallOffState.SENT))
        if not keys:
            ui.notify(f"{number} has no line waiting for an acknowledgement", type="warning")
            return
        if await act(who, c.TransitionCallOffLines(number, CallOffState.ACKNOWLEDGED, keys=keys, actor=who.name), f"{number}: {len(keys)} line(s) acknowledged"):
            await force()

    async def despatch(shipment_id: str) -> None:
        allowed = await load(v.transport, who)
        if shipment_id not in {t.id for t in allowed.trucks}:
            ui.notify(f"no shipment {shipment_id!r}", type="negative")
            return
        if await act(who, x.DespatchShipment(shipment_id), f"{shipment_id} despatched; the ASN is out"):
            await force()

    def render(data: tuple[v.Pipeline, v.Transport | None]) -> None:
        p, t = data
        ui.label(f"plant time {hms(p.now, tz)}; {p.late} line(s) late for despatch").classes("text-gray-600 text-sm")
        ui.label("Lines by state").classes("text-lg font-semibold")
        states = [s.value for s in v.PIPELINE_STATES]
        ui.table(
            columns=[_col("supplier", "supplier")] + [_col(s, s.lower()) for s in states],
            rows=[{"supplier": s, **{k: counts.get(k, 0) for k in states}} for s, counts in p.by_supplier.items()],
            row_key="supplier",
        ).classes("w-full").props('dense data-testid="by-state"')
        ui.label(f"Call-offs waiting for an acknowledgement ({len(p.to_acknowledge)})").classes("text-lg font-semibold")
        with ui.column().classes("w-full gap-1").props('data-testid="to-acknowledge"'):
            for number, n, need in p.to_acknowledge[:40]:
                with ui.row().classes("items-center gap-3").props(f'data-calloff="{number}"'):
                    ui.label(number).classes("font-mono")
                    ui.label(f"{n} line(s), first needed {hm(need, tz)}").classes("text-sm")
                    if can_write:
                        ui.button("Acknowledge", on_click=lambda _, num=number: acknowledge(num)).props("dense outline")
        if t is not None and who.can(Scope.EXECUTION_WRITE):
            planned = [tr for tr in t.trucks if tr.state == "PLANNED"]
            ui.label(f"Trucks to despatch ({len(planned)})").classes("text-lg font-semibold")
            for tr in planned[:20]:
                with ui.row().classes("items-center gap-3").props(f'data-shipment="{tr.id}"'):
                    ui.label(tr.id).classes("font-mono")
                    ui.label(f"{tr.racks} rack(s), depart by {hm(tr.departure, tz)}, latest arrival {hm(tr.latest_arrival, tz)}").classes("text-sm")
                    ui.button("Record despatch", on_click=lambda _, sid=tr.id: despatch(sid)).props("dense outline")
        ui.label(f"Open lines by ship-by time ({len(p.open_lines)})").classes("text-lg font-semibold")
        ui.table(
            columns=[_col("number", "call-off"), _col("supplier", "supplier"), _col("seq", "seq"), _col("order", "order"), _col("family", "family"),
                     _col("part", "part"), _col("state", "state"), _col("need", "need"), _col("ship_by", "ship by"), _col("late", "late min")],
            rows=[{"key": f"{ln.number}/{ln.order_id}/{ln.family}", "number": ln.number, "supplier": ln.supplier, "seq": ln.seq_no, "order": ln.order_id,
                   "family": ln.family, "part": ln.part_number, "state": ln.state + (f" x{ln.amendments}" if ln.amendments else ""),
                   "need": hm(ln.need_time, tz), "ship_by": hm(ln.ship_by, tz), "late": ln.late_minutes} for ln in p.open_lines],
            row_key="key", pagination=20,
        ).classes("w-full").props('dense data-testid="open-lines"')

    async def loader() -> tuple[v.Pipeline, v.Transport | None]:
        return await load(v.pipeline, who, supplier), (await load(v.transport, who) if portal else None)

    start, force = live(loader, render, interval=2.0)
    await start()

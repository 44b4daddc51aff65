"""``jisflow edi``: parse, import and export EDI files; watch an inbox folder.

Only these commands touch files; parsing and building messages are pure functions in
``jisflow.adapters.edi``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import typer

from jisflow.adapters.edi.contrl import contrl_interchange
from jisflow.adapters.edi.deljit import control_reference_for, deljit_interchange, received_calloffs
from jisflow.adapters.edi.desadv import desadv_message
from jisflow.adapters.edi.despatch import despatch_advice, vda_unloading_point
from jisflow.adapters.edi.documents import FORECAST_MESSAGES, detect, forecasts_of, parse_document, to_json
from jisflow.adapters.edi.edifact import parse_interchange, serialize_interchange, tokenize
from jisflow.adapters.edi.profiles import load_profile
from jisflow.adapters.edi.x12 import OutboundGroup, control_number_for
from jisflow.adapters.edi.x12 import parse_interchange as parse_x12
from jisflow.adapters.edi.x12 import serialize_interchange as serialize_x12
from jisflow.adapters.edi.x12_856 import asn_856
from jisflow.adapters.edi.x12_866 import sequence_rows
from jisflow.adapters.edi.vda4913 import DespatchItem, Vda4913Transmission, vda4913_text
from jisflow.adapters.edi.x12_997 import ack_997
from jisflow.domain.errors import JisflowError, Problem, ValidationError
from jisflow.entrypoints.cli.common import DbOption, app_for, console, err_console, reports_errors
from jisflow.services.commands import ImportSequence
from jisflow.services.edi import ReceiveCallOffs, ReceiveForecasts, calloffs_for_export, despatched_shipment

app = typer.Typer(help="EDI: EDIFACT DELJIT/DELFOR/DESADV/CONTRL, X12 830/850/856/862/866/997, VDA 4905/4913.", no_args_is_help=True)
export_app = typer.Typer(help="Write DELJIT, DESADV, X12 856 or VDA 4913 for stored call-offs, or a shipment's despatch advice.", no_args_is_help=True)
app.add_typer(export_app, name="export")

ProfileOption = typer.Option("default", "--profile", "-p", help="Partner profile: a built-in name or a YAML file.")
CustomerOption = typer.Option("", "--customer", help="The customer of a forecast that names none (VDA 4905 often does not).")
SupplierOption = typer.Option("", "--supplier", help="The supplier of a forecast that names none.")


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return file.read_text(encoding="latin-1")
    except OSError as exc:
        raise ValidationError(f"{file} cannot be read: {exc.strerror}") from None


@app.command("parse")
@reports_errors
def parse(file: Path = typer.Argument(..., help="EDI file."), as_json: bool = typer.Option(False, "--json", help="Print JSON."),
          profile: str = ProfileOption) -> None:
    """Print the normalised content of an EDI file without changing anything."""
    doc = to_json(parse_document(_read(file), load_profile(profile)))
    if as_json:
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    console.print(f"[bold]{doc['syntax']}[/] {file.name}")
    for m in doc.get("messages", []):
        count = len(m.get("lines", m.get("items", [])))
        console.print(f"  {m['type']} {m['reference']}: {count} line(s)")


def _envelope(text: str) -> tuple[str, str, str]:
    """Reference, sender and receiver of an interchange, as far as they can be read."""
    try:
        unb = tokenize(text)[0]
    except JisflowError:
        return "UNKNOWN", "", ""
    return (unb.get(5) or "UNKNOWN", unb.get(2).strip(), unb.get(3).strip()) if unb.tag == "UNB" else ("UNKNOWN", "", "")


def _forecast_summary(outcome, reference: str, sender: str) -> str:
    if outcome.duplicate:
        return f"interchange {reference} from {sender or '?'} was applied before: acknowledged, not applied again"
    d = outcome.details
    summary = f"interchange {reference}: forecasts of {d['parts']} part(s), {d['periods']} period(s) stored, {d['superseded']} older period(s) superseded"
    if d["stale"]:
        summary += f"; older than what is stored, not applied: {', '.join(d['stale'])}"
    return summary


def _is_forecast(text: str, syntax: str) -> bool:
    """Whether an interchange carries forecasts (DELFOR, X12 830/862) rather than call-offs or sequences."""
    if syntax == "EDIFACT":
        return any(seg.tag == "UNH" and seg.get(2, 0) == "DELFOR" for seg in tokenize(text))
    return any(t.type in FORECAST_MESSAGES for t in parse_x12(text).transactions)


def import_text(text: str, source: str, profile_name: str, db: str | None, parties: tuple[str, str] = ("", "")) -> tuple[bool, str, str]:
    """Apply one interchange: (accepted, CONTRL or 997 text, summary). Nothing is applied when rejected.

    A VDA 4905 transmission has no acknowledgement message: its acknowledgement text is empty.
    ``parties`` (customer, supplier) stand in for those a forecast leaves blank."""
    now = datetime.now(timezone.utc)
    head = text.lstrip("\ufeff\r\n\t ")[:3]
    if head == "511":
        return import_vda4905(text, source, profile_name, db, parties)
    if head == "ISA":
        return import_x12(text, source, profile_name, db, now, parties)
    reference, sender, receiver = _envelope(text)
    ack_ref = ("A" + reference)[:14]
    try:
        syntax = detect(text)
        if syntax != "EDIFACT":
            raise ValidationError(f"{source}: {syntax} despatch data are parsed only, not imported")
        profile = load_profile(profile_name)
        if _is_forecast(text, syntax):
            key, received = forecasts_of(parse_document(text, profile), *parties)
            outcome = app_for(db).bus.handle(ReceiveForecasts(key, received, source))
            return True, contrl_interchange(reference, sender, receiver, [], now, ack_ref), _forecast_summary(outcome, reference, sender)
        interchange = parse_interchange(text)
        calloffs = received_calloffs(interchange, profile)
        outcome = app_for(db).bus.handle(ReceiveCallOffs(interchange.key, calloffs, source))
    except JisflowError as exc:
        problems = exc.problems or [Problem(source, exc.message)]
        return False, contrl_interchange(reference, sender, receiver, problems, now, ack_ref), str(exc)
    if outcome.duplicate:
        summary = f"interchange {reference} from {sender or '?'} was applied before: acknowledged, not applied again"
    else:
        summary = f"interchange {reference}: {len(outcome.calloffs)} call-off(s), {outcome.lines_issued} line(s) stored"
        if outcome.details.get("known"):
            summary += f"; known already: {', '.join(outcome.details['known'])}"
    return True, contrl_interchange(reference, sender, receiver, [], now, ack_ref), summary


def import_vda4905(text: str, source: str, profile_name: str, db: str | None, parties: tuple[str, str]) -> tuple[bool, str, str]:
    """Store a VDA 4905 delivery schedule as forecasts: (accepted, "", summary)."""
    try:
        key, received = forecasts_of(parse_document(text, load_profile(profile_name)), *parties)
        outcome = app_for(db).bus.handle(ReceiveForecasts(key, received, source))
    except JisflowError as exc:
        return False, "", str(exc)
    return True, "", _forecast_summary(outcome, f"VDA 4905 transmission {key.rsplit(':', 1)[-1]}", key.split(":")[1])


def import_x12(text: str, source: str, profile_name: str, db: str | None, now: datetime, parties: tuple[str, str] = ("", "")) -> tuple[bool, str, str]:
    """Apply an X12 866 interchange to its line's pearl chain, or store 830/862 forecasts: (accepted, 997 text, summary)."""
    ack_number = control_number_for(now.strftime("%H%M%S%f"))
    try:
        profile = load_profile(profile_name)
        if _is_forecast(text, "X12"):
            doc = parse_document(text, profile)
            key, received = forecasts_of(doc, *parties)
            outcome = app_for(db).bus.handle(ReceiveForecasts(key, received, source))
            return True, ack_997(text, [], now, ack_number), _forecast_summary(outcome, doc.interchange.control_reference, doc.interchange.sender)
        interchange = parse_x12(text)
        line, rows = sequence_rows(interchange, profile)
        outcome = app_for(db).bus.handle(ImportSequence(line, rows, message_id=interchange.key, source=source))
    except JisflowError as exc:
        problems = exc.problems or [Problem(source, exc.message)]
        return False, ack_997(text, problems, now, ack_number), str(exc)
    ack = ack_997(text, [], now, ack_number)
    if outcome.duplicate:
        return True, ack, f"interchange {interchange.control_reference} from {interchange.sender} was applied before: acknowledged, not applied again"
    d = outcome.details
    return True, ack, f"interchange {interchange.control_reference}: {d['vehicles']} vehicle(s) into line {line}, seq {d['first_seq_no']}..{d['last_seq_no']}"


@app.command("import")
def import_file(file: Path = typer.Argument(..., help="EDIFACT DELJIT or DELFOR, X12 866, 830 or 862, or VDA 4905."),
                profile: str = ProfileOption, db: str = DbOption,
                customer: str = CustomerOption, supplier: str = SupplierOption) -> None:
    """Apply an interchange once (a replay is acknowledged, not applied again); print the CONTRL or 997.

    Call-offs (DELJIT) and production sequences (866) go to the call-offs and the pearl chain;
    forecasts (DELFOR, 830, 862, VDA 4905) to the forecast schedules (``jisflow purchasing forecasts``)."""
    try:
        text = _read(file)
    except JisflowError as exc:
        err_console.print(f"[bold red]error[/]: {exc}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    accepted, ack, summary = import_text(text, file.name, profile, db, (customer, supplier))
    typer.echo(ack, nl=False)
    if not accepted:
        err_console.print(f"rejected, nothing applied: {summary}", highlight=False, markup=False)
        raise typer.Exit(1)
    err_console.print(summary, highlight=False, markup=False)


@app.command("watch")
def watch(inbox: Path = typer.Argument(..., help="Folder a partner drops interchanges into."),
          profile: str = ProfileOption, db: str = DbOption,
          customer: str = CustomerOption, supplier: str = SupplierOption,
          once: bool = typer.Option(False, "--once", help="Process what is there and stop."),
          interval: float = typer.Option(5.0, help="Seconds between looks.")) -> None:
    """Import every file dropped into INBOX; move it to done/ or rejected/ and write its CONTRL or 997 to acks/."""
    while True:
        for file in sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.endswith(".part")):
            accepted, ack, summary = import_text(_read(file), file.name, profile, db, (customer, supplier))
            for sub in ("acks", "done", "rejected"):
                (inbox / sub).mkdir(exist_ok=True)
            if ack:
                suffix = ".997" if ack.startswith("ISA") else ".contrl"
                (inbox / "acks" / f"{file.stem}{suffix}").write_text(ack, encoding="utf-8")
            file.replace(inbox / ("done" if accepted else "rejected") / file.name)
            console.print(f"{file.name}: {'accepted' if accepted else 'rejected'}: {summary}", highlight=False, markup=False)
        if once:
            return
        time.sleep(interval)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"written {output}", highlight=False, markup=False)


@export_app.command("deljit")
@reports_errors
def export_deljit(number: list[str] = typer.Option(..., "--number", "-n", help="Call-off number (repeat for several)."),
                  output: Path = typer.Option(None, "--output", "-o", help="File to write (default: standard output)."),
                  sender: str = typer.Option(..., "--sender", help="Our interchange id (the plant)."),
                  profile: str = ProfileOption, db: str = DbOption) -> None:
    """Write one interchange with a DELJIT per call-off (one receiver: the call-offs' supplier)."""
    p = load_profile(profile)
    calloffs = calloffs_for_export(app_for(db).uow, number)
    suppliers = {co.supplier for co in calloffs}
    if len(suppliers) > 1:
        raise ValidationError(f"the call-offs go to several suppliers ({', '.join(sorted(suppliers))}): export one supplier at a time")
    text = deljit_interchange(calloffs, p, sender, calloffs[0].supplier, control_reference_for(calloffs[0].number),
                              datetime.now(timezone.utc))
    _write(text, output)


def _live_lines(db: str, number: str, verb: str):
    """A call-off and its live lines, in sequence; refused when none is left to ``verb``."""
    calloff = calloffs_for_export(app_for(db).uow, [number])[0]
    lines = [ln for ln in calloff.lines if ln.live]
    if not lines:
        raise ValidationError(f"call-off {number} has no live line to {verb}")
    return calloff, lines


@export_app.command("desadv")
@reports_errors
def export_desadv(number: str = typer.Option(..., "--number", "-n", help="Call-off whose live lines are despatched."),
                  despatch: str = typer.Option(..., "--despatch", help="Despatch (delivery note) number."),
                  rack: str = typer.Option(..., "--rack", help="Sequence rack id; slot k holds the k-th line."),
                  receiver: str = typer.Option(..., "--receiver", help="The plant's interchange id."),
                  output: Path = typer.Option(None, "--output", "-o"),
                  profile: str = ProfileOption, db: str = DbOption) -> None:
    """Write a DESADV for a call-off's lines packed in one rack, in sequence."""
    p = load_profile(profile)
    calloff, lines = _live_lines(db, number, "despatch")
    now = datetime.now(timezone.utc)
    local = now.astimezone(p.zone)
    message = desadv_message(despatch, lines, rack, now, p)
    text = serialize_interchange(calloff.supplier, receiver, ("D" + despatch)[:14], (local.strftime("%y%m%d"), local.strftime("%H%M")), [message])
    _write(text, output)


@export_app.command("asn856")
@reports_errors
def export_asn856(number: str = typer.Option(..., "--number", "-n", help="Call-off whose live lines are shipped."),
                  shipment: str = typer.Option(..., "--shipment", help="Shipment id (BSN02)."),
                  rack: str = typer.Option(..., "--rack", help="Sequence rack id; slot k holds the k-th line."),
                  receiver: str = typer.Option(..., "--receiver", help="The plant's interchange id."),
                  output: Path = typer.Option(None, "--output", "-o"),
                  profile: str = ProfileOption, db: str = DbOption) -> None:
    """Write an X12 856 ship notice for a call-off's lines packed in one rack, in sequence."""
    p = load_profile(profile)
    calloff, lines = _live_lines(db, number, "ship")
    now = datetime.now(timezone.utc)
    control = control_number_for(shipment)
    group = OutboundGroup("SH", str(int(control)), (asn_856(shipment, lines, rack, now, p),))
    _write(serialize_x12(calloff.supplier, receiver, control, now, [group]), output)


@export_app.command("vda4913")
@reports_errors
def export_vda4913(number: str = typer.Option(..., "--number", "-n", help="Call-off whose live lines are despatched."),
                   despatch: str = typer.Option(..., "--despatch", help="Delivery note number (at most 8 characters)."),
                   rack: str = typer.Option(..., "--rack", help="Package (rack) number of the parts (at most 9 characters)."),
                   receiver: str = typer.Option(..., "--receiver", help="The customer's id (at most 9 characters)."),
                   transmission: str = typer.Option("00001", "--transmission", help="Transmission number (at most 5 characters)."),
                   output: Path = typer.Option(None, "--output", "-o"),
                   profile: str = ProfileOption, db: str = DbOption) -> None:
    """Write a VDA 4913 delivery note for a call-off's live lines: one item per part number with its total quantity
    (an unloading point longer than the 5 characters of its field is left blank)."""
    p = load_profile(profile)
    calloff, lines = _live_lines(db, number, "despatch")
    day = datetime.now(timezone.utc).astimezone(p.zone).date().isoformat()
    totals: dict[str, int] = {}
    for ln in lines:
        totals[ln.part_number] = totals.get(ln.part_number, 0) + ln.quantity
    items = tuple(DespatchItem("", despatch, part, "", Decimal(q), "ST", None, rack, despatch, day, vda_unloading_point(calloff.unloading_point))
                  for part, q in totals.items())
    _write(vda4913_text(Vda4913Transmission(receiver, calloff.supplier, transmission, (despatch,), items, day)), output)


@export_app.command("despatch")
@reports_errors
def export_despatch(shipment: str = typer.Option(..., "--shipment", "-s", help="A shipment that left."),
                    receiver: str = typer.Option(None, "--receiver", help="The plant's interchange id (default: the profile's despatch.receiver)."),
                    output: Path = typer.Option(None, "--output", "-o"),
                    profile: str = ProfileOption, db: str = DbOption) -> None:
    """Write a shipment's despatch advice again, in the profile's despatch format (DESADV, X12 856 or VDA 4913)."""
    p = load_profile(profile)
    who = receiver or p.despatch_receiver
    if not who:
        raise ValidationError(f"no receiver: give --receiver or despatch.receiver in the profile {p.code}")
    _, text = despatch_advice(despatched_shipment(app_for(db).uow, shipment), p, who)
    _write(text, output)

"""EDI on the service layer: applying received messages, reading what goes out.

A JIS supplier receives the plant's sequenced call-offs (DELJIT). Each becomes a call-off of
its own, stored with the call-off repository under the sender's call-off number, its lines
in state SENT (sent to us, not yet acknowledged), so picking in sequence starts from it like
from any call-off. An interchange is applied once: its key (sender, receiver, control
reference) goes to the inbox, and a replay is acknowledged without being applied again. A
call-off number already stored with the same lines is a replay too; with other lines it is a
conflict and the whole interchange is refused. Nothing of a refused interchange is applied.

Forecasts (DELFOR, VDA 4905, X12 830/862) go to the purchasing side's forecast schedules
(``ReceiveForecasts``): one line per partner, supplier, item, unloading point and period; a
newer forecast supersedes the older one for the same item within its horizon
(``jisflow.domain.forecast``). They are idempotent by the interchange key in the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from jisflow.domain.calloff import CallOff, CallOffLine, CallOffState
from jisflow.domain import forecast as fc
from jisflow.domain.errors import ConflictError, NotFound, ProblemCollector
from jisflow.domain.sequence import unroll
from jisflow.services.clock import Clock
from jisflow.services.commands import Command
from jisflow.services.handlers import Outcome
from jisflow.services.unit_of_work import AbstractUnitOfWork, CallOffLineFilter


@dataclass(frozen=True)
class ReceivedCallOffLine:
    order_id: str
    family: str
    seq_no: int | None  # None when the partner sends only the rolling number
    rolling_no: int
    vin: str | None
    part_number: str
    quantity: int
    station: str
    need_time: datetime
    ship_by: datetime


@dataclass(frozen=True)
class ReceivedCallOff:
    number: str
    supplier: str
    unloading_point: str
    line: str
    issued_at: datetime
    rolling_modulus: int
    lines: tuple[ReceivedCallOffLine, ...]


@dataclass(frozen=True)
class ReceiveCallOffs(Command):
    """Store the sequenced call-offs of one received interchange (idempotent by its key)."""

    interchange_key: str
    calloffs: tuple[ReceivedCallOff, ...]
    source: str = ""


def _signature(lines: list[CallOffLine] | tuple) -> set[tuple]:
    return {(ln.order_id, ln.family, ln.part_number, ln.quantity, ln.vin) for ln in lines}


def receive_calloffs(cmd: ReceiveCallOffs, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = clock.now()
    with uow:
        if not uow.inbox.claim(cmd.interchange_key, now):  # (a refusal below rolls the claim back)
            return Outcome(applied=False, duplicate=True, details={"interchange": cmd.interchange_key, "calloffs": []})
        found = ProblemCollector()
        new: list[CallOff] = []
        known: list[str] = []
        last_seq: dict[str, int] = {}
        for rc in cmd.calloffs:
            where = f"call-off {rc.number}"
            try:
                stored = uow.calloffs.get(rc.number)
            except NotFound:
                stored = None
            if stored is not None:
                if _signature([ln for ln in stored.lines if ln.live]) == _signature(rc.lines):
                    known.append(rc.number)
                else:
                    found.add(where, "is stored already with other lines; an amended call-off needs a new number")
                continue
            taken = uow.calloffs.live_lines_for(rc.line, {ln.order_id for ln in rc.lines})
            for ln in rc.lines:
                if (ln.order_id, ln.family) in taken:
                    other = taken[(ln.order_id, ln.family)].number
                    found.add(f"{where}, vehicle {ln.order_id}/{ln.family}", f"is called off already by {other}")
            if rc.line not in last_seq:
                stored_lines = uow.calloffs.lines(CallOffLineFilter(line=rc.line))
                last_seq[rc.line] = max((ln.seq_no for ln in stored_lines), default=0)
            lines = []
            for ln in rc.lines:
                seq_no = ln.seq_no if ln.seq_no is not None else unroll(ln.rolling_no, last_seq[rc.line], rc.rolling_modulus)
                last_seq[rc.line] = max(last_seq[rc.line], seq_no)
                lines.append(CallOffLine(
                    number=rc.number, supplier=rc.supplier, unloading_point=rc.unloading_point, line=rc.line,
                    order_id=ln.order_id, family=ln.family, seq_no=seq_no, rolling_no=ln.rolling_no, vin=ln.vin,
                    part_number=ln.part_number, quantity=ln.quantity, station=ln.station, need_time=ln.need_time,
                    ship_by=ln.ship_by, state=CallOffState.SENT, updated_at=now,
                ))
            new.append(CallOff(rc.number, rc.supplier, rc.unloading_point, rc.line, rc.issued_at, lines))
        found.raise_if_any(
            f"interchange {cmd.interchange_key}{' (' + cmd.source + ')' if cmd.source else ''} refused: "
            f"{len(found.problems)} problem(s), nothing applied", ConflictError,
        )
        for calloff in new:
            uow.calloffs.add(calloff)
        uow.commit()
    return Outcome(
        calloffs=[co.number for co in new], lines_issued=sum(len(co.lines) for co in new),
        details={"interchange": cmd.interchange_key, "calloffs": [co.number for co in new], "known": known},
    )


def calloffs_for_export(uow: AbstractUnitOfWork, numbers: list[str]) -> list[CallOff]:
    """The stored call-offs to write out, each with all its lines; NotFound names the first unknown."""
    with uow:
        return [uow.calloffs.get(number) for number in numbers]


@dataclass(frozen=True)
class ReceiveForecasts(Command):
    """Store the forecasts of one received interchange (idempotent by its key)."""

    interchange_key: str
    forecasts: tuple[fc.ReceivedForecast, ...]
    source: str = ""


def receive_forecasts(cmd: ReceiveForecasts, uow: AbstractUnitOfWork, clock: Clock) -> Outcome:
    now = clock.now()
    with uow:
        if not uow.inbox.claim(cmd.interchange_key, now):  # (a refusal below rolls the claim back)
            return Outcome(applied=False, duplicate=True, details={"interchange": cmd.interchange_key, "periods": 0, "parts": 0})
        fc.check(cmd.forecasts)
        stored: list[fc.ForecastLine] = []
        for partner, supplier, item in sorted({rf.scope[:3] for rf in cmd.forecasts}):
            stored.extend(uow.purchasing.forecasts(partner=partner, supplier=supplier, item=item))
        plan = fc.supersede(stored, cmd.forecasts, cmd.interchange_key, now)
        uow.purchasing.replace_forecasts(plan.remove, plan.add)
        uow.commit()
    return Outcome(details={
        "interchange": cmd.interchange_key, "parts": len(cmd.forecasts) - len(plan.stale), "periods": plan.periods,
        "superseded": len(plan.remove), "stale": plan.stale,
    })


def despatched_shipment(uow: AbstractUnitOfWork, shipment_id: str) -> dict:
    """The despatch advice data of a shipment that left, as its ``shipment.despatched`` event
    carried it (to write the advice again); NotFound or ConflictError otherwise."""
    with uow:
        shipment = uow.execution.shipment(shipment_id)
    if shipment is None:
        raise NotFound(f"no shipment {shipment_id!r}")
    if shipment.departed_at is None:
        raise ConflictError(f"shipment {shipment_id} is {shipment.state.value}: it has not left, so it has no despatch advice")
    return {
        "shipment_id": shipment.id, "line": shipment.line, "supplier": shipment.supplier, "unloading_point": shipment.unloading_point,
        "lane": shipment.lane, "departed_at": shipment.departed_at.isoformat(), "racks": list(shipment.asn),
    }


def forecasts(uow: AbstractUnitOfWork, *, supplier: str | None = None, partner: str | None = None, item: str | None = None) -> list[fc.ForecastLine]:
    """The stored forecast lines (a supplier's own ones when ``supplier`` is given)."""
    with uow:
        return uow.purchasing.forecasts(supplier=supplier, partner=partner, item=item)


COMMAND_HANDLERS: dict[type[Command], Callable[..., Outcome]] = {
    ReceiveCallOffs: receive_calloffs,
    ReceiveForecasts: receive_forecasts,
}

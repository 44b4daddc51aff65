"""A line's stations and calendar, and its sequenced demand: the explosion of the pearl chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from jisflow.domain.auth import Principal, Scope
from jisflow.domain.errors import ExplosionError, ValidationError
from jisflow.domain.explosion import explode_vehicle
from jisflow.domain.sequence import VehicleStatus
from jisflow.entrypoints.api import schemas_ops as o
from jisflow.entrypoints.api.deps import Ctx, Cursor, Limit, decode_cursor, encode_cursor, requires
from jisflow.entrypoints.api.schemas import Page

router = APIRouter(tags=["plants"])
PlantReader = Annotated[Principal, Depends(requires(Scope.PLANTS_READ))]
SequenceReader = Annotated[Principal, Depends(requires(Scope.SEQUENCE_READ))]


@router.get("/lines/{line}/stations", response_model=Page[o.StationDetailOut], summary="The stations of a line in line order")
def list_stations(line: str, ctx: Ctx, caller: PlantReader) -> Page[o.StationDetailOut]:
    with ctx.acting_as(caller) as app, app.uow:
        found = app.uow.plants.of_line(line).line(line)
    items = [o.StationDetailOut(code=s.code, name=s.name, offset_takts=s.offset_takts, offset_seconds=s.offset_takts * found.takt_seconds) for s in found.stations]
    return Page[o.StationDetailOut](items=items, next_cursor=None)


@router.get("/lines/{line}/calendar", response_model=o.CalendarOut, summary="The working windows of a line: shifts, breaks, non-working days")
def get_calendar(line: str, ctx: Ctx, caller: PlantReader) -> o.CalendarOut:
    with ctx.acting_as(caller) as app, app.uow:
        calendar = app.uow.plants.of_line(line).line(line).calendar
    return o.CalendarOut(
        line=line, timezone=calendar.timezone, non_working_days=sorted(calendar.non_working_days),
        shifts=[
            o.ShiftOut(name=s.name, start=s.start, end=s.end, weekdays=sorted(s.weekdays), breaks=[o.BreakOut(name=b.name, start=b.start, end=b.end) for b in s.breaks])
            for s in calendar.shifts
        ],
    )


@router.get("/lines/{line}/demand", response_model=Page[o.DemandLineOut], summary="Sequenced demand: the pearl chain exploded into parts per station")
def list_demand(line: str, ctx: Ctx, caller: SequenceReader, family: str | None = None, cursor: Cursor = None, limit: Limit = 100) -> Page[o.DemandLineOut]:
    """One line per vehicle and part family, in sequence order, with its need time: from the
    actual broadcast for a broadcast vehicle, from the planned broadcast for the others.
    Vehicles that cannot be exploded are left out (the pearl chain alerts on them)."""
    after = decode_cursor(cursor, [0, ""])
    if not (isinstance(after[0], int) and isinstance(after[1], str)):
        raise ValidationError("the cursor is not one this API handed out", problems=[])
    with ctx.acting_as(caller) as app, app.uow:
        plant = app.uow.plants.of_line(line)
        chain = app.uow.chains.get(plant.line(line))
        now = app.clock.now()
    families = [f for f in plant.families_of_line(line) if family is None or f.code == family]
    planned = chain.planned_broadcast_times(now)
    found: list[o.DemandLineOut] = []
    for entry in chain.entries():
        if entry.seq_no < after[0]:
            continue
        broadcast = entry.status is VehicleStatus.BROADCAST
        at = entry.broadcast_at if broadcast else planned.get(entry.order_id)
        if at is None:
            continue
        try:
            exploded = explode_vehicle(chain.line, families, entry.vehicle, entry.seq_no, at)
        except ExplosionError:
            continue
        for d in sorted(exploded, key=lambda d: d.family):
            if [d.seq_no, d.family] > after:
                found.append(o.DemandLineOut(
                    line=d.line, order_id=d.order_id, seq_no=d.seq_no, family=d.family, station=d.station, part_number=d.part_number,
                    quantity=d.quantity, need_time=d.need_time, mode=d.mode, supplier=d.supplier, broadcast=broadcast,
                ))
        if len(found) > limit:
            break
    page = found[:limit]
    return Page[o.DemandLineOut](items=page, next_cursor=encode_cursor([page[-1].seq_no, page[-1].family]) if len(found) > limit else None)

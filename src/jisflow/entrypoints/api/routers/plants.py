"""Plants and their lines, stations and suppliers (master data, read only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from jisflow.domain.auth import Principal, Scope
from jisflow.domain.plant import Plant
from jisflow.entrypoints.api.deps import Ctx, requires
from jisflow.entrypoints.api.schemas import LineOut, Page, PlantOut, StationOut, SupplierOut

router = APIRouter(tags=["plants"])
Reader = Annotated[Principal, Depends(requires(Scope.PLANTS_READ))]


def plant_out(plant: Plant) -> PlantOut:
    return PlantOut(
        code=plant.code,
        name=plant.name,
        timezone=plant.timezone,
        lines=[
            LineOut(
                code=line.code, name=line.name, takt_seconds=line.takt_seconds,
                frozen_zone={"kind": line.frozen_zone.kind.value, "size": line.frozen_zone.size},
                stations=[StationOut(code=s.code, name=s.name, offset_takts=s.offset_takts) for s in line.stations],
            )
            for line in plant.lines
        ],
        suppliers=[SupplierOut(code=s.code, name=s.name) for s in plant.suppliers],
    )


@router.get("/plants", response_model=Page[PlantOut], summary="List the plants")
def list_plants(ctx: Ctx, caller: Reader) -> Page[PlantOut]:
    with ctx.acting_as(caller) as app, app.uow:
        plants = app.uow.plants.list()
    return Page[PlantOut](items=[plant_out(p) for p in plants], next_cursor=None)


@router.get("/plants/{code}", response_model=PlantOut, summary="One plant with its lines and stations")
def get_plant(code: str, ctx: Ctx, caller: Reader) -> PlantOut:
    with ctx.acting_as(caller) as app, app.uow:
        return plant_out(app.uow.plants.get(code))


@router.get("/lines/{line}", response_model=LineOut, summary="One line with its stations")
def get_line(line: str, ctx: Ctx, caller: Reader) -> LineOut:
    with ctx.acting_as(caller) as app, app.uow:
        plant = app.uow.plants.of_line(line)
    return next(out for out in plant_out(plant).lines if out.code == line)

"""Scenario files of the digital twin: which plant, for how long, with which supply settings.

A scenario is a small YAML file::

    plant: demo                  # the demo plant, or a plant file (relative to the scenario)
    line: TF1                    # default: the plant's first line
    seed: 7
    start: 2026-03-02            # the run begins with the first shift on or after this date
    duration: {shifts: 2}        # or {hours: 8}
    supply_modes: {EXHAUST: STOCK}
    defaults:                    # for every supplier not listed under suppliers
      truck_interval_minutes: 30
      truck_capacity: 48
      build_minutes: 10
      transit_minutes: {min: 20, mode: 30, max: 50}
    suppliers:
      SITZ: {truck_interval_minutes: 90}
    line_side: {capacity: 40}    # parts per family at the line; more wait at the dock
    line_stoppages: {per_hour: 0.5, mean_minutes: 3}
    emergency: {lead_minutes: 30} # expedite a part not on the road this close to its need
    stock_fed:                   # JIT, KANBAN and STOCK families (sizes per part number)
      container_quantity: 20     # parts per container (bin, tote, kanban)
      safety_minutes: 60         # cover on top of the replenishment lead time
      families:
        FASTENERS: {container_quantity: 200, kanban_cards: 4}

Every problem of a scenario is reported at once, each with the path of its field
(``suppliers.SITZ.transit_minutes.max``).
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from jisflow.adapters.plant_file import PlantDefinition, demo_plant_path, load_plant_file
from jisflow.domain.errors import NotFound, Problem, ValidationError
from jisflow.domain.plant import Plant, SupplyMode


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Triangular(_Schema):
    """A triangular distribution in minutes: the shortest, the most likely and the longest."""

    min: float = Field(ge=0)
    mode: float = Field(ge=0)
    max: float = Field(ge=0)

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.min <= self.mode <= self.max:
            raise ValueError(f"needs min <= mode <= max, got {self.min}, {self.mode}, {self.max}")
        return self


class SupplierSettings(_Schema):
    """How a supplier answers its call-offs and ships: build time, truck cadence and size, lane."""

    truck_interval_minutes: int = Field(30, gt=0)
    truck_capacity: int = Field(48, gt=0)  # places per truck: a JIS part or a JIT container each
    build_minutes: int = Field(10, ge=0)  # from call-off received to part ready for loading
    transit_minutes: Triangular = Triangular(min=20, mode=30, max=45)
    first_departure_minutes: float = Field(0, ge=0)  # after the start of the run


class PartialSupplierSettings(_Schema):
    truck_interval_minutes: int | None = Field(None, gt=0)
    truck_capacity: int | None = Field(None, gt=0)
    build_minutes: int | None = Field(None, ge=0)
    transit_minutes: Triangular | None = None
    first_departure_minutes: float | None = Field(None, ge=0)


class Duration(_Schema):
    shifts: int | None = Field(None, gt=0)
    hours: float | None = Field(None, gt=0)

    @pydantic.model_validator(mode="after")
    def _one(self) -> Duration:
        if (self.shifts is None) == (self.hours is None):
            raise ValueError("give either shifts or hours")
        return self


class LineSide(_Schema):
    capacity: int | None = Field(None, gt=0)  # parts per family; None: unlimited


class LineStoppages(_Schema):
    per_hour: float = Field(0, ge=0)  # random stoppages of the line itself per working hour
    mean_minutes: float = Field(3, gt=0)  # their mean length (exponential)


class Emergency(_Schema):
    lead_minutes: float = Field(30, gt=0)  # a part not on its way this close to its need is expedited


class StockFedSettings(_Schema):
    """How a JIT, KANBAN or STOCK family is sized; ``None`` fields are worked out from the
    part's demand rate over the replenishment lead time plus the safety cover."""

    container_quantity: int = Field(20, gt=0)
    safety_minutes: float = Field(60, ge=0)
    kanban_cards: int | None = Field(None, gt=0)
    reorder_point: int | None = Field(None, ge=0)
    order_quantity: int | None = Field(None, gt=0)
    order_cover_minutes: float = Field(480, gt=0)  # STOCK: an order covers this much demand
    replenish_minutes: float = Field(20, ge=0)  # STOCK: warehouse to line side (tugger)
    review_minutes: float = Field(60, gt=0)  # STOCK: how often purchasing is planned


class PartialStockFedSettings(_Schema):
    container_quantity: int | None = Field(None, gt=0)
    safety_minutes: float | None = Field(None, ge=0)
    kanban_cards: int | None = Field(None, gt=0)
    reorder_point: int | None = Field(None, ge=0)
    order_quantity: int | None = Field(None, gt=0)
    order_cover_minutes: float | None = Field(None, gt=0)
    replenish_minutes: float | None = Field(None, ge=0)
    review_minutes: float | None = Field(None, gt=0)


class StockFed(StockFedSettings):
    families: dict[str, PartialStockFedSettings] = {}


class _ScenarioSchema(_Schema):
    plant: str = "demo"
    line: str | None = None
    seed: int = 1
    start: date = date(2026, 3, 2)
    duration: Duration = Duration(shifts=1)
    supply_modes: dict[str, SupplyMode] = {}
    defaults: SupplierSettings = SupplierSettings()
    suppliers: dict[str, PartialSupplierSettings] = {}
    line_side: LineSide = LineSide()
    line_stoppages: LineStoppages = LineStoppages()
    emergency: Emergency | None = None
    stock_fed: StockFed = StockFed()


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A checked scenario with its plant (supply mode overrides already applied)."""

    name: str
    definition: PlantDefinition
    line: str
    seed: int
    start: date
    shifts: int | None
    hours: float | None
    suppliers: dict[str, SupplierSettings]
    line_side_capacity: int | None
    stoppages_per_hour: float
    stoppage_mean_minutes: float
    emergency_lead_minutes: float | None = None
    stock_fed: dict[str, StockFedSettings] = dataclasses.field(default_factory=dict)  # by family
    raw: Any = None  # the scenario as data, for variants
    base: Path | None = None

    @property
    def plant(self) -> Plant:
        return self.definition.plant

    def supplier(self, code: str) -> SupplierSettings:
        return self.suppliers[code]

    def with_seed(self, seed: int) -> Scenario:
        return dataclasses.replace(self, seed=seed)

    def stock_settings(self, family: str) -> StockFedSettings:
        return self.stock_fed.get(family) or StockFedSettings()

    def with_variant(self, key: str, value: Any) -> Scenario:
        """The same scenario with one field changed, given by its dotted path
        (``suppliers.SITZ.truck_interval_minutes``); checked like a scenario file."""
        raw = copy.deepcopy(self.raw if isinstance(self.raw, dict) else {})
        raw["seed"] = self.seed
        node = raw
        parts = key.split(".")
        if not key or any(not p for p in parts):
            raise ValidationError(f"variant {key}={value} names no field", problems=[Problem(key or "<empty>", "give a dotted field path")])
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
        return dataclasses.replace(parse_scenario(raw, source=f"{self.name} with {key}={value}", base=self.base), name=self.name)

    def with_mode(self, mode: SupplyMode | str) -> Scenario:
        """Every family of the line supplied by a supplier switched to one supply mode (a
        family with no supplier is only ever STOCK)."""
        mode = SupplyMode(mode)
        raw = copy.deepcopy(self.raw if isinstance(self.raw, dict) else {})
        raw["seed"] = self.seed
        modes = dict(raw.get("supply_modes") or {})
        for f in self.definition.plant.families_of_line(self.line):
            if f.route.supplier is not None or mode is SupplyMode.STOCK:
                modes[f.code] = mode.value
        raw["supply_modes"] = modes
        return dataclasses.replace(parse_scenario(raw, source=f"{self.name} in {mode.value}", base=self.base), name=self.name)

    def with_supplier(self, code: str, **changes: Any) -> Scenario:
        """The same scenario with some settings of one supplier changed (a what-if)."""
        suppliers = dict(self.suppliers)
        suppliers[code] = _merged(suppliers[code], changes)
        return dataclasses.replace(self, suppliers=suppliers)


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"scenario file {path} does not exist") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}: line {mark.line + 1}" if mark else str(path)
        raise ValidationError(f"scenario file {path} is not valid YAML", problems=[Problem(where, str(exc))]) from None
    return parse_scenario(raw if raw is not None else {}, source=str(path), base=path.parent)


def parse_scenario(raw: Any, source: str = "<scenario>", base: Path | None = None) -> Scenario:
    """Check a scenario given as data; plant paths are relative to ``base``."""
    try:
        schema = _ScenarioSchema.model_validate(raw)
    except pydantic.ValidationError as exc:
        problems = [Problem(f"{source}: {_path(e['loc'])}" if e["loc"] else source, _what(e)) for e in exc.errors(include_url=False)]
        raise ValidationError(f"scenario {source} is not valid", problems=problems) from None
    definition = _plant(schema.plant, base)
    plant = definition.plant
    problems: list[Problem] = []
    line = schema.line or plant.lines[0].code
    if line not in {ln.code for ln in plant.lines}:
        problems.append(Problem(f"{source}: line", f"plant {plant.code} has no line {line!r}"))
    families = {f.code for f in plant.families}
    for code in schema.supply_modes:
        if code not in families:
            problems.append(Problem(f"{source}: supply_modes.{code}", f"plant {plant.code} has no part family {code!r}"))
    known = {s.code for s in plant.suppliers}
    for code in schema.suppliers:
        if code not in known:
            problems.append(Problem(f"{source}: suppliers.{code}", f"plant {plant.code} has no supplier {code!r}"))
    for code in schema.stock_fed.families:
        if code not in families:
            problems.append(Problem(f"{source}: stock_fed.families.{code}", f"plant {plant.code} has no part family {code!r}"))
    by_code = {f.code: f for f in plant.families}
    for code, mode in schema.supply_modes.items():
        if code in by_code and mode is not SupplyMode.STOCK and by_code[code].route.supplier is None:
            problems.append(Problem(f"{source}: supply_modes.{code}", f"family {code} has no supplier, so it can only be STOCK, not {mode.value}"))
    if problems:
        raise ValidationError(f"scenario {source} is not valid", problems=problems)
    suppliers = {
        code: _merged(schema.defaults, schema.suppliers[code].model_dump(exclude_none=True)) if code in schema.suppliers else schema.defaults
        for code in sorted(known)
    }
    plant = _with_modes(plant, schema.supply_modes)
    defaults = StockFedSettings.model_validate(schema.stock_fed.model_dump(exclude={"families"}))
    stock_fed = {
        f.code: StockFedSettings.model_validate({**defaults.model_dump(), **schema.stock_fed.families[f.code].model_dump(exclude_none=True)})
        if f.code in schema.stock_fed.families else defaults
        for f in plant.families
    }
    return Scenario(
        name=Path(source).stem, definition=dataclasses.replace(definition, plant=plant), line=line, seed=schema.seed,
        start=schema.start, shifts=schema.duration.shifts, hours=schema.duration.hours, suppliers=suppliers,
        line_side_capacity=schema.line_side.capacity, stoppages_per_hour=schema.line_stoppages.per_hour,
        stoppage_mean_minutes=schema.line_stoppages.mean_minutes,
        emergency_lead_minutes=schema.emergency.lead_minutes if schema.emergency else None,
        stock_fed=stock_fed, raw=raw, base=base,
    )


def _merged(base: SupplierSettings, changes: dict[str, Any]) -> SupplierSettings:
    return SupplierSettings.model_validate({**base.model_dump(), **changes})


def demo_scenario_path() -> Path:
    """The demo scenario shipped with jisflow."""
    return demo_plant_path().parent / "scenarios" / "demo.yaml"


def _plant(name: str, base: Path | None) -> PlantDefinition:
    if name == "demo":
        return load_plant_file(demo_plant_path())
    path = Path(name)
    if not path.is_absolute() and base is not None:
        path = base / path
    return load_plant_file(path)


def _with_modes(plant: Plant, modes: dict[str, SupplyMode]) -> Plant:
    """The plant with the supply mode of some families replaced."""
    if not modes:
        return plant
    families = tuple(
        dataclasses.replace(f, route=dataclasses.replace(f.route, mode=modes[f.code])) if f.code in modes else f
        for f in plant.families
    )
    return dataclasses.replace(plant, families=families)


def _path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _what(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field here (check the spelling)"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{message}, got {error['input']!r}" if kind != "value_error" else message


__all__ = ["Scenario", "StockFedSettings", "SupplierSettings", "Triangular", "demo_scenario_path", "load_scenario", "parse_scenario"]

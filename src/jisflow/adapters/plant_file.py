"""Plant definition files: one YAML (or TOML) file describes a plant's master data.

``load_plant_file`` reads a file, checks it completely and returns a ``PlantDefinition``: the
domain ``Plant``, the optional ``VehicleMix`` and the validated data as a plain JSON-ready dict
(``parse_plant_definition(definition.data)`` rebuilds the same plant, which is how a stored
definition is read back). Every problem of a file is reported at once, in one
``ValidationError`` whose problems say where (``plant.yaml: lines[0].stations[3].offset_takts``,
plus the line number for YAML files) and what is wrong.

The format, by example::

    plant:
      code: DEMO
      name: Musterstadt Assembly
      timezone: Europe/Berlin              # the plant's zone: shifts are local wall-clock time
      unloading_points: [DOCK-A, WH-01]
      vin_check_digit: true                # VINs must carry the ISO 3779 check digit in position
                                           # 9 (default; North America); false where position 9
                                           # is free (many European makers)

    lines:
      - code: TF1
        name: Trim and final line 1
        takt_seconds: 60                   # durations carry their unit in the field name
        frozen_zone: {kind: count, size: 30}   # or {kind: time, size: <minutes>}
        rolling_digits: 4                  # the external rolling sequence number wraps at 10**4
        silent_feed_takts: 5
        calendar:
          shifts:
            - name: early
              start: "06:00"               # HH:MM; end <= start means the shift ends next day
              end: "14:00"
              weekdays: [MON, TUE, WED, THU, FRI]
              breaks: [{name: meal, start: "11:30", end: "12:00"}]
          non_working_days: [2025-12-24, 2025-12-25]
        stations:                          # in line order; offsets never decrease
          - {code: T000, name: Trim entry, offset_takts: 0}     # offset 0: the broadcast point
          - {code: T180, name: Front seats, offset_takts: 180}

    suppliers:
      - {code: SITZ, name: Sitzwerk Musterstadt, location: Musterstadt-Sued, distance_km: 12}

    families:
      - code: SEAT-FR
        name: Front seat set
        line: TF1
        station: T180
        route:
          mode: JIS                        # JIS, JIT, KANBAN or STOCK
          supplier: SITZ                   # required except for STOCK
          lead_time_minutes: 120           # from call-off to need time at the station
          trigger: broadcast               # JIS only: broadcast (default) or lead_time
          unloading_point: DOCK-A
          line_side_location: T180-L
          rack_type: RK-SEAT-FR            # required for JIS
          # jit_window_minutes: 60         # required for JIT, only there
        rules:
          - {name: cloth, when: {seats: CLOTH}, part: "1J0-881-105-AA"}
          - {name: leather, when: {seats: LEATHER, "not market": US}, part: "1J0-881-105-LB"}
          - {name: leather-us, when: {seats: LEATHER, market: US}, part: "1J0-881-105-LU", quantity: 1}

    mix:                                   # optional: the vehicle mix (see vehicle_mix)
      vin: {wmi: WJF, model_year: T, plant: M}
      options:
        - key: model
          weights: {HATCH: 45, WAGON: 30, SUV: 25}
        - key: seats
          given: model                     # weights depend on the value of an earlier option
          weights_given:
            HATCH: {CLOTH: 70, LEATHER: 30}
            WAGON: {CLOTH: 50, LEATHER: 50}
          weights: {CLOTH: 40, LEATHER: 60}   # for the values of ``given`` without a table
        - key: market
          weights: {EU: 75, UK: 15, US: 10}
      exclusions:                          # combinations that are never built
        - {market: US, seats: CLOTH}

Variant rule conditions (``when``, and the entries of ``exclusions``) map an option key to one
value or a list of values: the vehicle's option must be one of them. A key written
``not <key>`` inverts the condition (the option must be none of the values). All conditions of
a rule must hold; a rule without ``when`` matches every vehicle. ``model`` is the vehicle's
model. ``part: null`` (in TOML, which has no null: ``part = ""``) means the family has no part
for such vehicles. With a mix, every vehicle the mix can produce must match exactly one rule
of every family; the check enumerates the combinations, or draws a seeded sample of 20,000
vehicles when there are more combinations than that.

YAML is read without the surprises of YAML 1.1: ``14:00`` stays text (not 840), ``NO`` and
``on`` stay text (not booleans), numbers are decimal only, and a key given twice is an error.
"""

from __future__ import annotations

import copy
import random
import re
import tomllib
from dataclasses import dataclass
from datetime import date, time, timedelta
from importlib.resources import files
from itertools import islice, pairwise
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from jisflow.domain.calendar import Break, LineCalendar, Shift
from jisflow.domain.errors import CalendarError, NotFound, Problem, ValidationError
from jisflow.domain.plant import (
    CallOffTrigger,
    FrozenZone,
    FrozenZoneKind,
    Line,
    OptionCondition,
    PartFamily,
    Plant,
    RatioRule,
    SequencingRules,
    Station,
    Supplier,
    SupplyMode,
    SupplyRoute,
    VariantRule,
)
from jisflow.domain.vehicle_mix import MODEL_KEY, Exclusion, MixOption, VehicleMix, VinPattern

COMBINATION_LIMIT = 20_000  # enumerate the mix up to this many combinations, else sample
SAMPLE_SIZE = 20_000
SAMPLE_SEED = 3779
FAULTS_SHOWN = 3  # rule coverage faults reported per family before a summary line

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class PlantDefinition:
    """A checked plant definition: the plant, its vehicle mix and the data it was built from."""

    plant: Plant
    mix: VehicleMix | None
    source: str
    data: dict[str, Any]


def demo_plant_path() -> Path:
    """The demo plant shipped with jisflow."""
    return Path(str(files("jisflow.data").joinpath("demo_plant.yaml")))


def demo_plant_with_lines(count: int) -> PlantDefinition:
    """The demo plant with ``count`` identical lines TF1, TF2...: every family of TF1 again on
    each further line (family codes get the line's code). Scale-out runs and tests use it."""
    data = copy.deepcopy(load_plant_file(demo_plant_path()).data)
    [template] = data["lines"]
    families = [f for f in data["families"] if f["line"] == template["code"]]
    for n in range(2, count + 1):
        code = f"TF{n}"
        data["lines"].append({**copy.deepcopy(template), "code": code, "name": f"Trim and final line {n}"})
        data["families"].extend({**copy.deepcopy(f), "code": f"{f['code']}-{code}", "line": code} for f in families)
    return parse_plant_definition(data, source=f"demo plant with {count} lines")


def load_plant_file(path: str | Path) -> PlantDefinition:
    """Read and check a plant definition file (``.toml`` is TOML, anything else YAML)."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"plant file {source} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read plant file {source}", problems=[Problem(source, str(exc))]) from None
    if path.suffix.lower() == ".toml":
        return _parse(_read_toml(text, source), source, root=None)
    raw, root = _read_yaml(text, source)
    return _parse(raw, source, root)


def parse_plant_definition(data: dict[str, Any], source: str = "<data>") -> PlantDefinition:
    """Check a plant definition given as data (e.g. ``PlantDefinition.data`` read back)."""
    return _parse(data, source, root=None)


# --- reading -------------------------------------------------------------------------------


class _YamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML whose plain scalars are text unless they are null, true/false or decimal."""


_NULL, _BOOL, _INT, _FLOAT = (f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float"))
_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == _NULL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_YamlLoader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
_YamlLoader.add_implicit_resolver(
    _FLOAT, re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"), list("-+0123456789.")
)


def _read_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    loader = _YamlLoader(text)
    try:
        root = loader.get_single_node()
        return (loader.construct_document(root) if root is not None else None), root
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}: line {mark.line + 1}, column {mark.column + 1}" if mark else source
        what = exc.problem or exc.context or "is not valid YAML"
        if exc.problem and exc.context:
            started = exc.context_mark
            at = f" started at line {started.line + 1}, column {started.column + 1}" if started else ""
            what += f" ({exc.context}{at})"
        raise ValidationError(f"plant file {source} is not valid YAML", problems=[Problem(where, what)]) from None
    except yaml.YAMLError as exc:
        raise ValidationError(f"plant file {source} is not valid YAML", problems=[Problem(source, str(exc))]) from None
    finally:
        loader.dispose()


def _read_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"plant file {source} is not valid TOML", problems=[Problem(source, str(exc))]) from None


# --- problems ------------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LEADING_PATH = re.compile(r"^[^\s.\[\]]+(?:\[\d+\]|\.[^\s.\[\]]+)*")


class _Report:
    """The problems found in one plant definition, each at a path inside it."""

    def __init__(self, source: str, root: yaml.Node | None) -> None:
        self.source = source
        self.root = root
        self._found: list[tuple[int, Problem]] = []  # (line in the file or 0, problem)

    @property
    def count(self) -> int:
        return len(self._found)

    def add(self, loc: Loc, what: str, line: int | None = None) -> None:
        line = line or _line_of(self.root, loc)
        if line is not None:
            what = f"{what} (line {line})"
        self._found.append((line or 0, Problem(f"{self.source}: {_format_loc(loc)}" if loc else self.source, what)))

    def add_domain(self, loc: Loc, error: ValidationError | CalendarError) -> None:
        """The problems a domain object refused to be built with, placed under ``loc``.

        A problem's ``where`` that starts with a path (``options[1].weights``) extends ``loc``;
        the rest of it, if any, stays in the sentence.
        """
        for problem in error.problems or [Problem("", error.message)]:
            place = _LEADING_PATH.match(problem.where)
            if place is None:
                self.add(loc, str(problem))
            elif place.group(0) == problem.where:
                self.add(loc + _parse_loc(problem.where), problem.what)
            else:
                self.add(loc + _parse_loc(place.group(0)), str(problem))

    def validate(self, schema: type[M], value: Any, loc: Loc) -> M | None:
        try:
            return schema.model_validate(value)
        except pydantic.ValidationError as exc:
            for error in exc.errors(include_url=False):
                self.add(loc + tuple(p for p in error["loc"] if p != "[key]"), _describe(error))
            return None

    def validate_items(self, schema: type[M], value: Any, loc: Loc) -> list[M | None]:
        if not isinstance(value, list):
            self.add(loc, f"should be a list, got {_show(value)}")
            return []
        return [self.validate(schema, item, loc + (i,)) for i, item in enumerate(value)]

    def raise_if_any(self) -> None:
        """Raise every problem found at once, in the order of their lines in the file."""
        if self._found:
            problems = [problem for _, problem in sorted(self._found, key=lambda found: found[0])]
            raise ValidationError(f"plant file {self.source} is not valid", problems=problems)


def _describe(error: Any) -> str:
    kind, message, ctx = error["type"], error["msg"], error.get("ctx", {})
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field here (check the spelling)"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"should be a mapping, got {_show(error['input'])}"
    if kind == "value_error":
        return str(message).removeprefix("Value error, ")
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "too_short":
        return f"needs at least {ctx['min_length']} entries"
    text = str(message)
    text = "should " + text.split(" should ", 1)[1] if " should " in text else text
    return text if ", got " in text else f"{text}, got {_show(error['input'])}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _format_loc(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text


def _parse_loc(where: str) -> Loc:
    return tuple(int(i) if i else k for i, k in re.findall(r"\[(\d+)\]|([^.\[\]]+)", where))


def _line_of(node: yaml.Node | None, loc: Loc) -> int | None:
    """The line of the deepest node of the YAML tree on the path ``loc``."""
    if node is None:
        return None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)]
            if not found:
                break
            node = found[-1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node.start_mark.line + 1


def _check_duplicate_keys(node: yaml.Node, loc: Loc, report: _Report) -> None:
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in first_line:
                    report.add(loc + (key.value,), f"is given twice, first at line {first_line[key.value]}", line)
                first_line.setdefault(key.value, line)
                _check_duplicate_keys(value, loc + (key.value,), report)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_duplicate_keys(item, loc + (i,), report)


# --- schema --------------------------------------------------------------------------------

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")
_OPTION_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_CLOCK = re.compile(r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$")
Weekday = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
_WEEKDAYS: tuple[str, ...] = get_args(Weekday)


def _code(value: str) -> str:
    if not _CODE.match(value):
        raise ValueError(f"should be a code of letters, digits and - _ . / without spaces, got {value!r}")
    return value


def _option_key(value: str) -> str:
    if not _OPTION_KEY.match(value):
        raise ValueError(f"should be an option key of letters, digits and _ starting with a letter, got {value!r}")
    return value


def _clock(value: str) -> str:
    if not _CLOCK.match(value):
        raise ValueError(f"should be a time of day written HH:MM (quoted), got {value!r}")
    return value


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _no_part(value: Any) -> Any:
    return None if value == "" else value


Code = Annotated[StrictStr, AfterValidator(_code)]
OptionKey = Annotated[StrictStr, AfterValidator(_option_key)]
ClockTime = Annotated[StrictStr, AfterValidator(_clock)]
Text = Annotated[StrictStr, Field(min_length=1)]
Count = Annotated[StrictInt, Field(ge=0)]
PositiveCount = Annotated[StrictInt, Field(gt=0)]
Values = Annotated[list[Text], BeforeValidator(_listed)]
Conditions = dict[StrictStr, Values]
Weights = dict[Text, StrictInt]  # the mix itself checks that weights are above 0


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _PlantSchema(_Schema):
    code: Code
    name: Text
    timezone: Text
    unloading_points: list[Code] = Field(min_length=1)
    vin_check_digit: StrictBool = True


class _StationSchema(_Schema):
    code: Code
    name: Text
    offset_takts: Count


class _FrozenZoneSchema(_Schema):
    kind: Literal["count", "time"]
    size: PositiveCount


class _BreakSchema(_Schema):
    start: ClockTime
    end: ClockTime
    name: str = ""


class _ShiftSchema(_Schema):
    name: Text
    start: ClockTime
    end: ClockTime
    weekdays: list[Weekday] = Field(default=list(_WEEKDAYS[:5]), min_length=1)
    breaks: list[_BreakSchema] = []


class _CalendarSchema(_Schema):
    shifts: list[_ShiftSchema] = Field(min_length=1)
    non_working_days: list[date] = []


class _RatioRuleSchema(_Schema):
    key: Text
    values: list[Text] = Field(min_length=1)
    p: Annotated[StrictInt, Field(ge=0)]
    q: PositiveCount
    priority: Literal["high", "low"] = "high"


class _SequencingSchema(_Schema):
    ratio_rules: list[_RatioRuleSchema] = []
    colour_key: Text | None = None
    paint_batch_limit: PositiveCount | None = None
    smoothing_keys: list[Text] = []


class _LineSchema(_Schema):
    code: Code
    name: Text
    takt_seconds: PositiveCount
    frozen_zone: _FrozenZoneSchema = _FrozenZoneSchema(kind="count", size=20)
    rolling_digits: Annotated[StrictInt, Field(ge=1, le=9)] = 4
    silent_feed_takts: PositiveCount = 5
    calendar: _CalendarSchema
    stations: list[_StationSchema] = Field(min_length=1)
    sequencing: _SequencingSchema | None = None


class _SupplierSchema(_Schema):
    code: Code
    name: Text
    location: str = ""
    distance_km: Count = 0
    duns: str = ""


class _RouteSchema(_Schema):
    mode: Literal["JIS", "JIT", "KANBAN", "STOCK"]
    supplier: Code | None = None
    lead_time_minutes: Count
    trigger: Literal["broadcast", "lead_time"] | None = None
    unloading_point: Code
    line_side_location: Text
    rack_type: Code | None = None
    jit_window_minutes: PositiveCount | None = None


class _RuleSchema(_Schema):
    name: Text
    when: Conditions = {}
    part: Annotated[Text | None, BeforeValidator(_no_part)]
    quantity: PositiveCount = 1
    description: str = ""


class _FamilySchema(_Schema):
    code: Code
    name: Text
    line: Code
    station: Code
    route: _RouteSchema
    rules: list[_RuleSchema] = Field(min_length=1)


class _VinSchema(_Schema):
    wmi: str = VinPattern.wmi
    model_year: str = VinPattern.model_year
    plant: str = VinPattern.plant


class _MixOptionSchema(_Schema):
    key: OptionKey
    weights: Weights = {}
    given: OptionKey | None = None
    weights_given: dict[Text, Weights] = {}


class _MixSchema(_Schema):
    vin: _VinSchema = _VinSchema()
    options: list[_MixOptionSchema] = Field(min_length=1)
    exclusions: list[Conditions] = []


# --- checking and building -----------------------------------------------------------------

_SECTIONS = ("plant", "lines", "suppliers", "families", "mix")
_REQUIRED_SECTIONS = ("plant", "lines", "families")


@dataclass(frozen=True)
class _References:
    """What a part family may refer to: lines, suppliers, unloading points, mix options."""

    lines: dict[str, _LineSchema]
    line_codes: set[str]  # every line code written, including lines with problems of their own
    supplier_codes: set[str]
    unloading_points: set[str] | None
    mix_values: dict[str, set[str]] | None  # option key -> values, when a valid mix is given


def _parse(raw: Any, source: str, root: yaml.Node | None) -> PlantDefinition:
    report = _Report(source, root)
    if root is not None:
        _check_duplicate_keys(root, (), report)
    if not isinstance(raw, dict):
        report.add((), f"should be a mapping with the sections {', '.join(_SECTIONS)}")
        report.raise_if_any()
    for key in raw:
        if key not in _SECTIONS:
            report.add((key,), f"is not a section of a plant file ({', '.join(_SECTIONS)})")
    for key in _REQUIRED_SECTIONS:
        if key not in raw:
            report.add((key,), "is required")
    header = report.validate(_PlantSchema, raw["plant"], ("plant",)) if "plant" in raw else None
    line_items = report.validate_items(_LineSchema, raw.get("lines", []), ("lines",))
    supplier_items = report.validate_items(_SupplierSchema, raw.get("suppliers", []), ("suppliers",))
    family_items = report.validate_items(_FamilySchema, raw.get("families", []), ("families",))
    mix_schema = report.validate(_MixSchema, raw["mix"], ("mix",)) if raw.get("mix") is not None else None

    timezone = _check_plant(header, report)
    lines = _build_lines(line_items, timezone, report)
    suppliers = _build_suppliers(supplier_items, report)
    mix = _build_mix(mix_schema, report)
    references = _References(
        lines={item.code: item for item in reversed(line_items) if item is not None},
        line_codes=_written_codes(raw.get("lines")),
        supplier_codes=_written_codes(raw.get("suppliers")),
        unloading_points=set(header.unloading_points) if header is not None else None,
        mix_values={o.key: set(o.values) for o in mix.options} if mix is not None else None,
    )
    families = _build_families(family_items, references, report)
    if mix is not None:
        _check_rule_coverage(mix, families, report)
    report.raise_if_any()

    assert header is not None  # a missing or broken plant section is a problem raised above
    plant = Plant(
        code=header.code,
        name=header.name,
        timezone=header.timezone,
        lines=tuple(lines),
        suppliers=tuple(suppliers),
        families=tuple(family for _, family in families),
        unloading_points=tuple(header.unloading_points),
        vin_check_digit=header.vin_check_digit,
    )
    data: dict[str, Any] = {
        "plant": header.model_dump(mode="json"),
        "lines": [item.model_dump(mode="json") for item in line_items if item is not None],
        "suppliers": [item.model_dump(mode="json") for item in supplier_items if item is not None],
        "families": [item.model_dump(mode="json") for item in family_items if item is not None],
    }
    if mix_schema is not None:
        data["mix"] = mix_schema.model_dump(mode="json")
    return PlantDefinition(plant=plant, mix=mix, source=source, data=data)


def _written_codes(items: Any) -> set[str]:
    """The codes written in a section, whether or not their item is valid otherwise."""
    if not isinstance(items, list):
        return set()
    return {item["code"] for item in items if isinstance(item, dict) and isinstance(item.get("code"), str)}


def _check_unique(codes: list[tuple[Loc, str]], kind: str, report: _Report) -> None:
    first: dict[str, Loc] = {}
    for loc, code in codes:
        if code in first:
            report.add(loc, f"{kind} {code} is already defined at {_format_loc(first[code][:-1])}")
        first.setdefault(code, loc)


def _check_plant(header: _PlantSchema | None, report: _Report) -> str | None:
    """The plant's time zone when the plant section is valid and the zone is known."""
    if header is None:
        return None
    _check_unique(
        [(("plant", "unloading_points", i), p) for i, p in enumerate(header.unloading_points)],
        "unloading point",
        report,
    )
    try:
        ZoneInfo(header.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        report.add(("plant", "timezone"), f"{header.timezone!r} is not a known time zone (e.g. Europe/Berlin)")
        return None
    return header.timezone


def _build_lines(items: list[_LineSchema | None], timezone: str | None, report: _Report) -> list[Line]:
    _check_unique([(("lines", i, "code"), x.code) for i, x in enumerate(items) if x is not None], "line", report)
    lines = []
    for i, item in enumerate(items):
        if item is None:
            continue
        loc: Loc = ("lines", i)
        _check_unique(
            [(loc + ("stations", k, "code"), s.code) for k, s in enumerate(item.stations)], "station", report
        )
        for k, (before, station) in enumerate(pairwise(item.stations), start=1):
            if station.offset_takts < before.offset_takts:
                report.add(
                    loc + ("stations", k, "offset_takts"),
                    f"is {station.offset_takts} takts, less than the {before.offset_takts} of the station "
                    f"before it ({before.code}): stations are listed in line order",
                )
        calendar = _build_calendar(item.calendar, timezone, loc + ("calendar",), report)
        sequencing = None
        if item.sequencing is not None:
            seq = item.sequencing
            for k, rule in enumerate(seq.ratio_rules):
                if rule.p > rule.q:
                    report.add(loc + ("sequencing", "ratio_rules", k, "p"), f"is {rule.p}, more than q = {rule.q}")
            if seq.paint_batch_limit is not None and seq.colour_key is None:
                report.add(loc + ("sequencing", "paint_batch_limit"), "needs a colour_key naming the colour option")
            sequencing = SequencingRules(
                tuple(RatioRule(r.key, frozenset(r.values), r.p, r.q, r.priority == "high") for r in seq.ratio_rules),
                seq.colour_key, seq.paint_batch_limit, tuple(seq.smoothing_keys),
            )
        if calendar is not None:
            lines.append(
                Line(
                    code=item.code,
                    name=item.name,
                    takt_seconds=item.takt_seconds,
                    stations=tuple(Station(s.code, s.name, s.offset_takts) for s in item.stations),
                    calendar=calendar,
                    frozen_zone=FrozenZone(FrozenZoneKind(item.frozen_zone.kind), item.frozen_zone.size),
                    rolling_digits=item.rolling_digits,
                    silent_feed_takts=item.silent_feed_takts,
                    sequencing=sequencing,
                )
            )
    return lines


def _build_calendar(item: _CalendarSchema, timezone: str | None, loc: Loc, report: _Report) -> LineCalendar | None:
    found = report.count
    for s, shift in enumerate(item.shifts):
        _check_breaks(shift, loc + ("shifts", s), report)
    if timezone is None or report.count > found:
        return None
    shifts = tuple(
        Shift(
            name=shift.name,
            start=time.fromisoformat(shift.start),
            end=time.fromisoformat(shift.end),
            weekdays=frozenset(_WEEKDAYS.index(day) for day in shift.weekdays),
            breaks=tuple(Break(time.fromisoformat(b.start), time.fromisoformat(b.end), b.name) for b in shift.breaks),
        )
        for shift in item.shifts
    )
    try:
        return LineCalendar(timezone=timezone, shifts=shifts, non_working_days=frozenset(item.non_working_days))
    except CalendarError as exc:
        report.add_domain(loc, exc)
        return None


def _check_breaks(shift: _ShiftSchema, loc: Loc, report: _Report) -> None:
    """Every break lies inside its shift and no two breaks overlap (in minutes from shift start)."""
    start = _minutes(shift.start)
    length = (_minutes(shift.end) - start) % 1440 or 1440
    spans = []
    for b, pause in enumerate(shift.breaks):
        begin = (_minutes(pause.start) - start) % 1440
        duration = (_minutes(pause.end) - _minutes(pause.start)) % 1440
        if duration == 0:
            report.add(loc + ("breaks", b), "starts and ends at the same time")
        elif begin + duration > length:
            report.add(
                loc + ("breaks", b),
                f"{pause.start}-{pause.end} is not inside shift {shift.name} ({shift.start}-{shift.end})",
            )
        else:
            spans.append((begin, begin + duration, b))
    for (_, end, first), (begin, _, second) in pairwise(sorted(spans)):
        if begin < end:
            report.add(loc + ("breaks", second), f"overlaps breaks[{first}] of the same shift")


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _build_suppliers(items: list[_SupplierSchema | None], report: _Report) -> list[Supplier]:
    _check_unique(
        [(("suppliers", i, "code"), x.code) for i, x in enumerate(items) if x is not None], "supplier", report
    )
    return [Supplier(x.code, x.name, x.location, x.distance_km, x.duns) for x in items if x is not None]


def _build_mix(item: _MixSchema | None, report: _Report) -> VehicleMix | None:
    if item is None:
        return None
    found = report.count
    exclusions = tuple(
        Exclusion(tuple(c for _, c in _conditions(written, ("mix", "exclusions", j), report)))
        for j, written in enumerate(item.exclusions)
    )
    if report.count > found:
        return None
    options = tuple(
        MixOption(
            key=o.key,
            weights=_weights(o.weights),
            given=o.given,
            weights_given=tuple(sorted((value, _weights(table)) for value, table in o.weights_given.items())),
        )
        for o in item.options
    )
    try:
        return VehicleMix(options=options, exclusions=exclusions, vin=VinPattern(**item.vin.model_dump()))
    except ValidationError as exc:
        report.add_domain(("mix",), exc)
        return None


def _weights(table: dict[str, int]) -> tuple[tuple[str, int], ...]:
    """A weight table in a fixed order, so that a seed draws the same vehicles whatever order
    the mapping was written or stored in."""
    return tuple(sorted(table.items()))


def _conditions(written: dict[str, list[str]], loc: Loc, report: _Report) -> list[tuple[str, OptionCondition]]:
    """The well-written option conditions of a ``when`` (or exclusion) mapping, each with the
    key it was written as; the others are reported."""
    conditions = []
    for text, values in written.items():
        negate = text.startswith("not ")
        key = text[4:].strip() if negate else text
        if not _OPTION_KEY.match(key):
            report.add(loc + (text,), f"{text!r} should be an option key, or 'not' and an option key")
        elif not values:
            report.add(loc + (text,), "lists no value")
        else:
            conditions.append((text, OptionCondition(key, frozenset(values), negate)))
    return conditions


def _build_families(
    items: list[_FamilySchema | None], refs: _References, report: _Report
) -> list[tuple[int, PartFamily]]:
    _check_unique(
        [(("families", i, "code"), x.code) for i, x in enumerate(items) if x is not None], "part family", report
    )
    families = []
    for i, item in enumerate(items):
        if item is None:
            continue
        loc: Loc = ("families", i)
        found = report.count
        line = refs.lines.get(item.line)
        station = None
        if line is not None:
            station = next((s for s in line.stations if s.code == item.station), None)
            if station is None:
                report.add(loc + ("station",), f"line {item.line} has no station {item.station}")
        elif item.line not in refs.line_codes:
            report.add(loc + ("line",), f"line {item.line} is not defined in lines")
        route = _build_route(item.route, line, station, loc + ("route",), refs, report)
        rules = _build_rules(item.rules, loc + ("rules",), refs.mix_values, report)
        if report.count == found and station is not None:
            families.append((i, PartFamily(item.code, item.name, item.line, item.station, rules, route)))
    return families


def _build_route(
    item: _RouteSchema,
    line: _LineSchema | None,
    station: _StationSchema | None,
    loc: Loc,
    refs: _References,
    report: _Report,
) -> SupplyRoute:
    mode = SupplyMode(item.mode)
    trigger = CallOffTrigger(item.trigger or CallOffTrigger.BROADCAST.value)
    if item.supplier is None and mode is not SupplyMode.STOCK:
        report.add(
            loc + ("supplier",),
            f"is required for a {mode.value} route (only STOCK comes from the plant's own warehouse)",
        )
    elif item.supplier is not None and item.supplier not in refs.supplier_codes:
        report.add(loc + ("supplier",), f"supplier {item.supplier} is not defined in suppliers")
    if refs.unloading_points is not None and item.unloading_point not in refs.unloading_points:
        known = ", ".join(sorted(refs.unloading_points))
        report.add(
            loc + ("unloading_point",), f"{item.unloading_point} is not one of the plant's unloading points ({known})"
        )
    if mode is SupplyMode.JIS and item.rack_type is None:
        report.add(loc + ("rack_type",), "is required for a JIS route: the sequence rack the parts travel in")
    if mode is SupplyMode.JIT and item.jit_window_minutes is None:
        report.add(loc + ("jit_window_minutes",), "is required for a JIT route: the minutes one summarized call covers")
    if mode is not SupplyMode.JIT and item.jit_window_minutes is not None:
        report.add(loc + ("jit_window_minutes",), "applies only to JIT routes")
    if mode is not SupplyMode.JIS and item.trigger is not None:
        report.add(loc + ("trigger",), "applies only to JIS routes")
    if mode is SupplyMode.JIS and trigger is CallOffTrigger.LEAD_TIME and item.lead_time_minutes == 0:
        report.add(loc + ("lead_time_minutes",), "must be above 0 for a route triggered by lead time")
    if mode is SupplyMode.JIS and trigger is CallOffTrigger.BROADCAST and line is not None and station is not None:
        reach = station.offset_takts * line.takt_seconds
        if item.lead_time_minutes * 60 > reach:
            report.add(
                loc + ("lead_time_minutes",),
                f"is {item.lead_time_minutes} minutes, but station {station.code} is reached {station.offset_takts} "
                f"takts ({_duration(reach)} of working time) after the broadcast point, so a call-off at broadcast "
                "would always be late: trigger it by lead_time or shorten the lead time",
            )
    window = {"jit_window": timedelta(minutes=item.jit_window_minutes)} if item.jit_window_minutes else {}
    return SupplyRoute(
        mode=mode,
        supplier=item.supplier,
        lead_time=timedelta(minutes=item.lead_time_minutes),
        unloading_point=item.unloading_point,
        line_side_location=item.line_side_location,
        rack_type=item.rack_type,
        trigger=trigger,
        **window,
    )


def _duration(seconds: int) -> str:
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"


def _build_rules(
    items: list[_RuleSchema], loc: Loc, mix_values: dict[str, set[str]] | None, report: _Report
) -> tuple[VariantRule, ...]:
    _check_unique([(loc + (r, "name"), rule.name) for r, rule in enumerate(items)], "rule", report)
    rules = []
    for r, item in enumerate(items):
        conditions = _conditions(item.when, loc + (r, "when"), report)
        if mix_values is not None:
            _check_known_options(conditions, loc + (r, "when"), mix_values, report)
        rules.append(
            VariantRule(
                name=item.name,
                conditions=tuple(c for _, c in conditions),
                part_number=item.part,
                quantity=item.quantity,
                description=item.description,
            )
        )
    return tuple(rules)


def _check_known_options(
    conditions: list[tuple[str, OptionCondition]], loc: Loc, mix_values: dict[str, set[str]], report: _Report
) -> None:
    for text, condition in conditions:
        values = mix_values.get(condition.key)
        if values is None:
            report.add(loc + (text,), f"{condition.key} is not an option of the mix ({', '.join(mix_values)})")
            continue
        unknown = sorted(condition.values - values)
        if unknown:
            report.add(
                loc + (text,),
                f"{', '.join(unknown)} is not a value of option {condition.key} in the mix "
                f"({', '.join(sorted(values))})",
            )


def _check_rule_coverage(mix: VehicleMix, families: list[tuple[int, PartFamily]], report: _Report) -> None:
    """Every vehicle the mix can produce matches exactly one rule of every family.

    The check looks at each distinct combination of the options a family's rules mention, so
    it costs little even for a mix with many combinations.
    """
    try:
        vehicles = list(islice(mix.combinations(), COMBINATION_LIMIT + 1))
        if len(vehicles) > COMBINATION_LIMIT:
            rng = random.Random(SAMPLE_SEED)
            vehicles = [mix.draw(rng) for _ in range(SAMPLE_SIZE)]
    except ValidationError as exc:
        report.add_domain(("mix",), exc)
        return
    for index, family in families:
        mentioned = {c.key for rule in family.rules for c in rule.conditions}
        keys = [key for key in mix.keys if key in mentioned]
        seen: set[tuple[str, ...]] = set()
        faults = []
        for options in vehicles:
            combination = tuple(options[key] for key in keys)
            if combination in seen:
                continue
            seen.add(combination)
            matched = [rule.name for rule in family.rules if rule.matches(options[MODEL_KEY], options)]
            if len(matched) != 1:
                faults.append((combination, matched))
        for combination, matched in faults[:FAULTS_SHOWN]:
            spec = ", ".join(f"{k}={v}" for k, v in zip(keys, combination))
            vehicles_text = f"vehicles with {spec}" if spec else "every vehicle"
            if matched:
                names = ", ".join(repr(name) for name in matched)
                what = f"family {family.code}: rules {names} all match {vehicles_text}; exactly one must"
            else:
                what = f"family {family.code}: no rule matches {vehicles_text}"
            report.add(("families", index, "rules"), what)
        if len(faults) > FAULTS_SHOWN:
            report.add(
                ("families", index, "rules"),
                f"family {family.code}: {len(faults) - FAULTS_SHOWN} more option combinations match "
                "no rule or several rules",
            )

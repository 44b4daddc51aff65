"""Partner profiles: how one trading partner writes its messages, as a data file.

A new OEM variant is a new YAML file in ``jisflow/data/partners/`` (or anywhere, by path), not
new code. A profile says which qualifiers and segments carry the sequence number (SEQ, with
its source code DE 1159, and whether the partner sends the line's internal sequence number or
the rolling number), the VIN, the production number and the module (GIR), the unloading
point and the line/station (LOC), the call-off number (RFF), the times (DTM qualifiers, format
and the partner's time zone), the quantity qualifier and the message version. Example::

    code: default
    name: jisflow default (VDA 4986 style DELJIT)
    time_zone: Europe/Berlin
    message_version: {directory: D, release: 04A, agency: UN, association: ""}
    sequence: {number: seq_no, source: "1", rolling_digits: 4}
    gir: {set_qualifier: "3", vin: VV, production_number: BN, module: ML}
    loc: {unloading_point: "11", station: "159"}
    rff: {calloff_number: AAN}
    dtm: {document: "137", need_time: "2", ship_by: "10", format: "204"}
    qty: {quantity: "113"}

Two sections are optional (defaults shown): where despatch advices for the partner go and in
which format (``desadv``, ``x12_856`` or ``vda4913``; ``receiver`` is the partner's
interchange id), and the X12 866 qualifiers (the N1 entity naming the line, the DTM of the
need time, the LIN product id qualifiers, and the REF qualifiers carrying vehicle options)::

    despatch: {format: desadv, receiver: ""}
    x12_866: {line_party: ST, need_time: "118", order_id: "ON", vin: VV, model: MO,
              options: {TR: trim, RF: roof, CL: colour}}

Every problem of a file is reported at once, with its path inside the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from jisflow.domain.errors import ProblemCollector, ValidationError

DTM_FORMATS = {"203": "%Y%m%d%H%M", "204": "%Y%m%d%H%M%S"}
SEQUENCE_NUMBERS = ("seq_no", "rolling_no")
DESPATCH_FORMATS = ("desadv", "x12_856", "vda4913")
GENERIC_OPTION = "ZZ"  # REF*ZZ*<code>*<option key>: an option no qualifier of the profile names


@dataclass(frozen=True)
class SequenceMapping:
    """Which X12 866 qualifiers carry the line, the need time, the vehicle ids and its options."""

    line_party: str = "ST"
    need_time: str = "118"
    order_id: str = "ON"
    vin: str = "VV"
    model: str = "MO"
    options: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({"TR": "trim", "RF": "roof", "CL": "colour"}))

    def qualifier_of(self, key: str) -> str:
        return next((q for q, k in self.options.items() if k == key), GENERIC_OPTION)


_DESPATCH_DEFAULTS = {"format": "desadv", "receiver": ""}
_X12_866_KEYS = ("line_party", "need_time", "order_id", "vin", "model", "options")

_SCHEMA: dict[str, tuple[str, ...]] = {
    "message_version": ("directory", "release", "agency", "association"),
    "sequence": ("number", "source", "rolling_digits"),
    "gir": ("set_qualifier", "vin", "production_number", "module"),
    "loc": ("unloading_point", "station"),
    "rff": ("calloff_number",),
    "dtm": ("document", "need_time", "ship_by", "format"),
    "qty": ("quantity",),
}


@dataclass(frozen=True)
class PartnerProfile:
    code: str
    name: str
    time_zone: str
    directory: str
    release: str
    agency: str
    association: str
    sequence_number: str  # "seq_no" (the line's internal number) or "rolling_no"
    sequence_source: str  # DE 1159, e.g. "1" broadcast / production sequence
    rolling_digits: int
    gir_set_qualifier: str
    vin_qualifier: str
    production_number_qualifier: str
    module_qualifier: str
    unloading_point_qualifier: str
    station_qualifier: str
    calloff_reference_qualifier: str
    document_date_qualifier: str
    need_time_qualifier: str
    ship_by_qualifier: str
    time_format: str  # DTM format code: 203 or 204
    quantity_qualifier: str
    despatch_format: str = "desadv"  # the despatch advice the partner receives: desadv, x12_856, vda4913
    despatch_receiver: str = ""  # the partner's interchange id on despatch advices ("" : the sender's counterpart)
    x12_866: SequenceMapping = field(default_factory=SequenceMapping)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def strftime(self) -> str:
        return DTM_FORMATS[self.time_format]


def profile_from_dict(data: Any, source: str = "profile") -> PartnerProfile:
    """Validate a profile definition; every problem is named (``source: gir.vin``)."""
    found = ProblemCollector()
    if not isinstance(data, dict):
        raise ValidationError(f"partner profile {source} rejected", problems=[])
    known = {"code", "name", "time_zone", "despatch", "x12_866", *_SCHEMA}
    for key in sorted(set(data) - known, key=str):
        found.add(f"{source}: {key}", f"unknown key (known: {', '.join(sorted(known))})")
    values: dict[str, str] = {}
    for key in ("code", "name", "time_zone"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            found.add(f"{source}: {key}", "is required and must be text")
        else:
            values[key] = value.strip()
    for section, keys in _SCHEMA.items():
        block = data.get(section)
        if not isinstance(block, dict):
            found.add(f"{source}: {section}", f"is required: a mapping with {', '.join(keys)}")
            continue
        for extra in sorted(set(block) - set(keys), key=str):
            found.add(f"{source}: {section}.{extra}", f"unknown key (known: {', '.join(keys)})")
        for key in keys:
            value = block.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or (not value and key != "association"):
                found.add(f"{source}: {section}.{key}", "is required and must be text (quote codes such as \"11\")")
            else:
                values[f"{section}.{key}"] = value
    zone = values.get("time_zone")
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            found.add(f"{source}: time_zone", f"{zone!r} is not an IANA time zone (e.g. Europe/Berlin)")
    if values.get("sequence.number", "seq_no") not in SEQUENCE_NUMBERS:
        found.add(f"{source}: sequence.number", f"must be one of {', '.join(SEQUENCE_NUMBERS)}")
    digits = values.get("sequence.rolling_digits", "4")
    if not digits.isdigit() or not 1 <= int(digits) <= 9:
        found.add(f"{source}: sequence.rolling_digits", "must be a whole number from 1 to 9")
    if values.get("dtm.format", "204") not in DTM_FORMATS:
        found.add(f"{source}: dtm.format", f"must be one of {', '.join(DTM_FORMATS)}")
    despatch = _despatch(data.get("despatch", {}), source, found)
    mapping = _x12_866(data.get("x12_866", {}), source, found)
    found.raise_if_any(f"partner profile {source} rejected: {len(found.problems)} problem(s)")
    v = values
    return PartnerProfile(
        code=v["code"], name=v["name"], time_zone=v["time_zone"],
        directory=v["message_version.directory"], release=v["message_version.release"],
        agency=v["message_version.agency"], association=v["message_version.association"],
        sequence_number=v["sequence.number"], sequence_source=v["sequence.source"], rolling_digits=int(v["sequence.rolling_digits"]),
        gir_set_qualifier=v["gir.set_qualifier"], vin_qualifier=v["gir.vin"],
        production_number_qualifier=v["gir.production_number"], module_qualifier=v["gir.module"],
        unloading_point_qualifier=v["loc.unloading_point"], station_qualifier=v["loc.station"],
        calloff_reference_qualifier=v["rff.calloff_number"], document_date_qualifier=v["dtm.document"],
        need_time_qualifier=v["dtm.need_time"], ship_by_qualifier=v["dtm.ship_by"], time_format=v["dtm.format"],
        quantity_qualifier=v["qty.quantity"], despatch_format=despatch["format"], despatch_receiver=despatch["receiver"],
        x12_866=mapping,
    )


def _text(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else None


def _despatch(block: Any, source: str, found: ProblemCollector) -> dict[str, str]:
    out = dict(_DESPATCH_DEFAULTS)
    if not isinstance(block, dict):
        found.add(f"{source}: despatch", "must be a mapping with format, receiver")
        return out
    for key in sorted(set(block) - set(out), key=str):
        found.add(f"{source}: despatch.{key}", f"unknown key (known: {', '.join(out)})")
    for key in out:
        if key in block:
            value = _text(block[key])
            if value is None:
                found.add(f"{source}: despatch.{key}", "must be text")
            else:
                out[key] = value
    if out["format"] not in DESPATCH_FORMATS:
        found.add(f"{source}: despatch.format", f"must be one of {', '.join(DESPATCH_FORMATS)}, not {out['format']!r}")
    return out


def _x12_866(block: Any, source: str, found: ProblemCollector) -> SequenceMapping:
    default = SequenceMapping()
    if not isinstance(block, dict):
        found.add(f"{source}: x12_866", f"must be a mapping with {', '.join(_X12_866_KEYS)}")
        return default
    for key in sorted(set(block) - set(_X12_866_KEYS), key=str):
        found.add(f"{source}: x12_866.{key}", f"unknown key (known: {', '.join(_X12_866_KEYS)})")
    values: dict[str, Any] = {}
    for key in _X12_866_KEYS[:-1]:
        if key in block:
            value = _text(block[key])
            if not value:
                found.add(f"{source}: x12_866.{key}", "must be a qualifier (text; quote codes such as \"118\")")
            else:
                values[key] = value
    if "options" in block:
        options = block["options"]
        if not isinstance(options, dict) or not options:
            found.add(f"{source}: x12_866.options", "must be a mapping of REF qualifier to option key, e.g. {TR: trim}")
        else:
            mapped: dict[str, str] = {}
            for qualifier, key in options.items():
                q, k = _text(qualifier), _text(key)
                if not q or not k:
                    found.add(f"{source}: x12_866.options.{qualifier}", "qualifier and option key must be text")
                elif q == GENERIC_OPTION:
                    found.add(f"{source}: x12_866.options.{q}", f"{GENERIC_OPTION} is kept for options no qualifier names")
                elif k in mapped.values():
                    found.add(f"{source}: x12_866.options.{q}", f"option {k!r} has a qualifier already")
                else:
                    mapped[q] = k
            values["options"] = MappingProxyType(mapped)
    ids = [values.get(key, getattr(default, key)) for key in ("order_id", "vin", "model")]
    if len(set(ids)) < 3:
        found.add(f"{source}: x12_866", f"order_id, vin and model need three different qualifiers, not {', '.join(ids)}")
    return SequenceMapping(**values)


def load_profile_file(path: Path) -> PartnerProfile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(f"partner profile {path} cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ValidationError(f"partner profile {path} is not valid YAML: {exc}") from None
    return profile_from_dict(data, str(path))


def builtin_profiles() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("jisflow.data").joinpath("partners").iterdir() if p.name.endswith(".yaml"))


def load_profile(name_or_path: str | None = None) -> PartnerProfile:
    """A built-in profile by name (``default``, ``oem-rolling``) or a profile file by path."""
    name = name_or_path or "default"
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return load_profile_file(path)
    entry = resources.files("jisflow.data").joinpath("partners", f"{name}.yaml")
    if not entry.is_file():
        raise ValidationError(f"no partner profile {name!r}: built in are {', '.join(builtin_profiles())}, or give a YAML file")
    return profile_from_dict(yaml.safe_load(entry.read_text(encoding="utf-8")), f"{name}.yaml")

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

Every problem of a file is reported at once, with its path inside the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from jisflow.domain.errors import ProblemCollector, ValidationError

DTM_FORMATS = {"203": "%Y%m%d%H%M", "204": "%Y%m%d%H%M%S"}
SEQUENCE_NUMBERS = ("seq_no", "rolling_no")

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
    known = {"code", "name", "time_zone", *_SCHEMA}
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
        quantity_qualifier=v["qty.quantity"],
    )


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

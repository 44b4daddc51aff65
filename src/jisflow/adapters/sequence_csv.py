"""Reading and writing a line's sequence as CSV.

The header names the columns. ``order_id`` and ``model`` are required; ``vin``, ``seq_no``
(internal number) and ``rolling_no`` (the external rolling number, unrolled after the chain's
last number) are optional; every other column is an option code (an empty cell means the
vehicle has no such option)::

    order_id,vin,model,trim,colour,market,engine,roof
    ORD000001,WVWZZZ1KZ8W000012,HATCH,COMFORT,WHITE,EU,PETROL,STANDARD

Every row is checked before anything is returned; the error names each bad row and column.
"""

from __future__ import annotations

import csv
from pathlib import Path

from jisflow.domain.errors import NotFound, Problem, ProblemCollector, ValidationError, at
from jisflow.domain.sequence import Vehicle
from jisflow.services.commands import SequenceRow

FIXED = ("order_id", "model", "vin", "seq_no", "rolling_no")


def read_sequence_csv(path: str | Path) -> list[SequenceRow]:
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"sequence file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"sequence file {path} is not UTF-8 text (byte {exc.start})") from None
    return parse_sequence_csv(text, source=path.name)


def parse_sequence_csv(text: str, source: str = "<csv>") -> list[SequenceRow]:
    found = ProblemCollector()
    reader = csv.reader(text.splitlines())
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ValidationError(f"{source} is empty: a header line is needed") from None
    for required in ("order_id", "model"):
        if required not in header:
            found.add(f"{source}, row 1", f"the header has no {required} column")
    dupes = sorted({h for h in header if header.count(h) > 1})
    for name in dupes:
        found.add(f"{source}, row 1, column {name}", "appears twice in the header")
    if any(not h for h in header):
        found.add(f"{source}, row 1", "a column has no name")
    found.raise_if_any(f"{source} cannot be read as a sequence")
    rows: list[SequenceRow] = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        where = f"{source}, row {number}"
        if len(cells) != len(header):
            found.add(where, f"has {len(cells)} cells, the header has {len(header)}")
            continue
        record = {h: c.strip() for h, c in zip(header, cells, strict=True)}
        seq_no = _integer(record.get("seq_no", ""), at(where, "seq_no"), found)
        rolling_no = _integer(record.get("rolling_no", ""), at(where, "rolling_no"), found)
        if seq_no is not None and rolling_no is not None:
            found.add(where, "give seq_no or rolling_no, not both")
        options = {k: v for k, v in record.items() if k not in FIXED and v}
        try:
            vehicle = Vehicle(record.get("order_id", ""), record.get("model", ""), options, record.get("vin") or None)
        except ValidationError as exc:
            for p in exc.problems:
                found.problems.append(Problem(at(where, p.where), p.what))
            continue
        rows.append(SequenceRow(where, vehicle, seq_no, rolling_no))
    found.raise_if_any(f"{source}: {len(found.problems)} bad row(s); nothing was imported")
    if not rows:
        raise ValidationError(f"{source} holds no vehicle")
    return rows


def _integer(text: str, where: str, found: ProblemCollector) -> int | None:
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        found.add(where, f"{text!r} is not a whole number")
        return None
    if value < 0:
        found.add(where, f"{value} is negative")
        return None
    return value


def write_sequence_csv(path: str | Path, vehicles: list[Vehicle]) -> None:
    """Write vehicles in the format ``read_sequence_csv`` reads (option columns sorted)."""
    keys = sorted({k for v in vehicles for k in v.options})
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["order_id", "vin", "model", *keys])
        for v in vehicles:
            writer.writerow([v.order_id, v.vin or "", v.model, *(v.options.get(k, "") for k in keys)])

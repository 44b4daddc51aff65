"""SQL repositories: the ports of ``jisflow.services.unit_of_work`` on SQLAlchemy Core.

Each repository reads and writes its tables with explicit statements on the connection of its
unit of work and maps rows to and from the domain dataclasses. They keep the semantics of the
in-memory adapters, with the database doing the guarding: the unique indexes refuse a second
live vehicle on one sequence number and a second live call-off line per vehicle and family.

Loading is one SELECT per table; saving writes only what changed, in bulk (``executemany``).
"""

from __future__ import annotations

import functools
import json
import uuid
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from jisflow.adapters.db import line_versions, locking
from jisflow.adapters.db import tables as t
from jisflow.adapters.db.statements import one_of, plant_code_for, prepared, upsert
from jisflow.adapters.db.writes import Transaction
from jisflow.adapters.plant_file import parse_plant_definition
from jisflow.domain.alerts import Alert, AlertKind, Severity
from jisflow.domain.calloff import CallOff, CallOffLine, CallOffState, CallWindow, StoredCalls, SummarizedCall
from jisflow.domain.errors import NotFound, StaleAssumption
from jisflow.domain.plant import Line, Plant
from jisflow.domain.sequence import ChainEntry, ChangeKind, LineFeedState, PearlChain, SequenceChange, Vehicle, VehicleStatus
from jisflow.services import unit_of_work as ports

Connect = Transaction
"""Hands out the connection of the current transaction (``connect()``), and takes the writes
sent later (``connect.later``)."""


def _now() -> datetime:
    """Wall-clock time of a row write (the ``updated_at`` columns)."""
    return datetime.now(UTC)


def _ordered(connection: sa.Connection, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """Sort text by code point, as Python does, whatever the database's collation."""
    return column.collate("C") if connection.dialect.name == "postgresql" else column


# ------------------------------------------------------------------------------ plants
_parsed_plants: weakref.WeakKeyDictionary[sa.Engine, dict[str, tuple[str, Plant]]] = weakref.WeakKeyDictionary()
"""Plants rebuilt from their definitions, per engine and plant code, with the revision they
were built from. Plants are immutable values; a new load gets a new revision."""


_PLANT_OF_LINE = (
    sa.select(t.plants.c.code, t.plants.c.revision)
    .select_from(t.lines.join(t.plants, t.plants.c.code == t.lines.c.plant_code))
    .where(t.lines.c.code == sa.bindparam("line"))
)


_PLANT_TABLES = frozenset({t.lines.name, t.plants.name})
_line_plants: weakref.WeakKeyDictionary[sa.Engine, dict[str, tuple[str, str]]] = weakref.WeakKeyDictionary()
"""Per engine and line, the plant and revision this process last found it in."""


class SqlPlantRepository(ports.PlantRepository):
    def __init__(self, connect: Connect) -> None:
        self._connect = connect
        self._of_line: dict[str, Plant] = {}  # line -> its plant, as this unit of work found it

    def put(self, plant: Plant, definition: dict[str, Any], at: datetime) -> None:
        self._of_line.clear()
        connection = self._connect()
        _line_plants.pop(connection.engine, None)
        plant_row = {
            "code": plant.code,
            "name": plant.name,
            "timezone": plant.timezone,
            "definition": definition,
            "revision": uuid.uuid4().hex,
            "loaded_at": at,
        }
        connection.execute(upsert(connection, t.plants, ["code"], list(plant_row)), plant_row)
        for line in plant.lines:
            line_row = {"code": line.code, "plant_code": plant.code, "takt_seconds": line.takt_seconds}
            connection.execute(upsert(connection, t.lines, ["code"], list(line_row)), line_row)
        connection.execute(sa.delete(t.part_families).where(t.part_families.c.plant_code == plant.code))
        connection.execute(sa.delete(t.suppliers).where(t.suppliers.c.plant_code == plant.code))
        if plant.suppliers:
            connection.execute(
                sa.insert(t.suppliers),
                [{"plant_code": plant.code, "code": s.code, "name": s.name} for s in plant.suppliers],
            )
        if plant.families:
            connection.execute(
                sa.insert(t.part_families),
                [
                    {
                        "plant_code": plant.code,
                        "code": f.code,
                        "line_code": f.line,
                        "station": f.station,
                        "mode": f.route.mode.value,
                        "supplier_code": f.route.supplier,
                    }
                    for f in plant.families
                ],
            )

    def get(self, code: str) -> Plant:
        connection = self._connect()
        revision = connection.execute(sa.select(t.plants.c.revision).where(t.plants.c.code == code)).scalar()
        if revision is None:
            raise NotFound(f"no plant {code!r}; load its definition first")
        return self._parsed(connection, code, revision)

    def _parsed(self, connection: sa.Connection, code: str, revision: str) -> Plant:
        cache = _parsed_plants.setdefault(connection.engine, {})
        cached = cache.get(code)
        if cached is not None and cached[0] == revision:
            return cached[1]
        definition = connection.execute(sa.select(t.plants.c.definition).where(t.plants.c.code == code)).scalar_one()
        plant = parse_plant_definition(definition).plant
        cache[code] = (revision, plant)
        return plant

    def of_line(self, line_code: str) -> Plant:
        found = self._of_line.get(line_code)
        if found is not None:  # asked before in this unit of work
            return found
        engine = self._connect.engine
        known = _line_plants.setdefault(engine, {})
        last = known.get(line_code)
        parsed = _parsed_plants.get(engine, {}).get(last[0]) if last is not None else None
        if last is not None and parsed is not None and parsed[0] == last[1] and self._connect.assuming and engine.dialect.name == "postgresql":
            # as last found: checked with the transaction's next round trip
            def unchanged(rows: list[Any]) -> None:
                if [tuple(row) for row in rows] != [last]:
                    known.pop(line_code, None)
                    raise StaleAssumption(f"the plant of line {line_code} was loaded again while the command ran; nothing was applied")

            self._connect.expect(_PLANT_OF_LINE, {"line": line_code}, unchanged)
            self._of_line[line_code] = parsed[1]
            return parsed[1]
        found_rows = self._connect.rows(_PLANT_OF_LINE, {"line": line_code}, reads=_PLANT_TABLES)  # the plant and its revision in one statement
        if found_rows:
            row = found_rows[0]
            plant = self._parsed(self._connect(reads=_PLANT_TABLES), row.code, row.revision)
            if any(line.code == line_code for line in plant.lines):
                self._of_line[line_code] = plant
                known[line_code] = (row.code, row.revision)
                return plant
        raise NotFound(f"no line {line_code!r} in any loaded plant")

    def list(self) -> list[Plant]:
        codes = self._connect().execute(sa.select(t.plants.c.code).order_by(t.plants.c.code)).scalars().all()
        return [self.get(code) for code in codes]


# ------------------------------------------------------------------------------ pearl chains
_ce = t.chain_entries


def _entry_row(entry: ChainEntry, line_code: str, now: datetime) -> dict[str, Any]:
    return {
        "line_code": line_code,
        "order_id": entry.order_id,
        "seq_no": entry.seq_no,
        "status": entry.status.value,
        "model": entry.vehicle.model,
        "options": dict(entry.vehicle.options),
        "vin": entry.vehicle.vin,
        "broadcast_at": entry.broadcast_at,
        "flagged": entry.flagged,
        "updated_at": now,
    }


_ENTRY_COLUMNS = (
    _ce.c.id,
    _ce.c.order_id,
    _ce.c.seq_no,
    _ce.c.status,
    _ce.c.model,
    sa.cast(_ce.c.options, sa.Text),  # decoded by _option_items
    _ce.c.vin,
    _ce.c.broadcast_at,
    _ce.c.flagged,
)


@functools.lru_cache(maxsize=4096)
def _option_items(text: str) -> tuple[tuple[str, str], ...]:
    """The option codes of a vehicle, from their JSON text. A plant builds few distinct
    option sets, so each is decoded once, not once per vehicle and load."""
    return tuple(json.loads(text).items())


_unnumbered = (
    sa.func.unnest(
        sa.bindparam("row_ids", type_=postgresql.ARRAY(sa.Integer)),
        sa.bindparam("seq_nos", type_=postgresql.ARRAY(sa.Integer)),
    )
    .table_valued("row_id", "seq_no")
    .render_derived()
)
_RENUMBER_ALL_AT_ONCE = (
    sa.update(_ce)
    .where(_ce.c.id == _unnumbered.c.row_id)
    .values(seq_no=_unnumbered.c.seq_no, updated_at=sa.bindparam("now", type_=t.UtcDateTime))
)
"""PostgreSQL: give many entries their new numbers in one statement (one round trip)."""


def _renumber(connection: sa.Connection, entries: list[ChainEntry], now: datetime) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(
            _RENUMBER_ALL_AT_ONCE, {"row_ids": [e.id for e in entries], "seq_nos": [e.seq_no for e in entries], "now": now}
        )
    else:
        connection.execute(
            sa.update(_ce).where(_ce.c.id == sa.bindparam("row_id")),
            [{"row_id": e.id, "seq_no": e.seq_no, "updated_at": now} for e in entries],
        )


def _entry_state(entry: ChainEntry) -> tuple[Any, ...]:
    """Everything of an entry but its number, to tell a renumbering from other changes."""
    vehicle = entry.vehicle
    return (entry.status, entry.broadcast_at, entry.flagged, vehicle.model, dict(vehicle.options), vehicle.vin)


def _copy(entry: ChainEntry) -> ChainEntry:
    """An entry of its own (vehicles are shared: the chain replaces them, never changes them)."""
    new = object.__new__(ChainEntry)
    new.__dict__.update(entry.__dict__)
    return new


class _StoredChain:
    """A line's pearl chain as the database holds it under one version: entries by id (never
    handed out, only copied), the feed state, and the stored states ``save`` compares with."""

    __slots__ = ("version", "entries", "ordered", "feed", "stored", "built")

    def __init__(
        self, version: int, entries: dict[int, ChainEntry], feed: LineFeedState, stored: dict[int, tuple[int, tuple[Any, ...]]],
        ordered: list[ChainEntry] | None = None, built: PearlChain | None = None,
    ) -> None:
        self.version, self.entries, self.feed, self.stored = version, entries, feed, stored
        # as the database gives them (``ordered``: the same entries, known to be in that order)
        self.ordered = ordered if ordered is not None else sorted(entries.values(), key=lambda e: (e.seq_no, e.id))
        # the chain over the kept entries themselves, once built: handed over again while it is
        # unchanged since (a chain saved is unchanged again)
        self.built = built

    def chain(self, line: Line, copy: bool = True) -> PearlChain:
        """The chain of the kept entries: copies of them, or (``copy=False``) the entries
        themselves, in the chain built over them last time when it has no change pending."""
        built = self.built
        if not copy and built is not None and built.line is line and not (
            built.dirty or built.feed_dirty or built.changes or built.events or built.alerts
        ):
            return built
        by_order: dict[str, ChainEntry] = {}
        planned: list[ChainEntry] = []
        for entry in map(_copy, self.ordered) if copy else self.ordered:  # in sequence order, so planned ones are too
            by_order[entry.vehicle.order_id] = entry
            if entry.status is VehicleStatus.PLANNED:
                planned.append(entry)
        feed = self.feed
        chain = PearlChain.restore(line, by_order, planned, LineFeedState(feed.last_broadcast_seq_no, feed.last_broadcast_at, feed.silence_alerted, feed.issued_until))
        if not copy:
            self.built = chain
        return chain

    def view(self, line: Line) -> PearlChain:
        """The chain over the kept entries themselves, to be read only."""
        return self.chain(line, copy=False)


_ENTRY_UPDATE = sa.update(_ce).where(_ce.c.id == sa.bindparam("row_id"))
_CHAIN_TABLES = frozenset({t.lines.name, f"line_versions/{line_versions.CHAIN}", _ce.name, t.line_feeds.name})
"""What reading a chain reads (writes sent later to other tables may keep waiting)."""
_SEQUENCE_CHANGE_INSERT = sa.insert(t.sequence_changes).values(plant_code=plant_code_for("plant_of_line"))

_stored_chains: weakref.WeakKeyDictionary[sa.Engine, dict[str, _StoredChain]] = weakref.WeakKeyDictionary()
"""Per engine and line, the pearl chain this process last read or wrote, under its version
(``line_versions``): a broadcast reads and writes what changed, not the whole chain. A kept
chain is lent to one transaction at a time (taken out of here by ``get``, its entries handed
out themselves) and comes back when that transaction commits with the chain saved or
unchanged, or rolls back having only read it; otherwise it is dropped and read again."""


class SqlChainRepository(ports.ChainRepository):
    """Pearl chains.

    ``save`` writes only the entries that differ from what the database holds, and keeps the
    unique index on live sequence numbers intact after every single statement:

    1. every entry whose number changed parks on ``-id`` (free by construction);
    2. entries with other changes get their whole row, cancellations first (a cancelled
       vehicle releases its number to whoever takes it next);
    3. entries that were only renumbered get their new number;
    4. new entries are inserted, and get their ids.
    """

    def __init__(self, connect: Connect) -> None:
        self._connect = connect
        self._stored: dict[int, tuple[int, tuple[Any, ...]]] = {}  # entry id -> (seq_no, state) in the database
        self._loaded: dict[str, tuple[PearlChain, _StoredChain | None]] = {}  # line -> the chain handed out, and its base
        self._lent: dict[str, _StoredChain] = {}  # line -> the kept chain whose entries this transaction holds
        self._saved: set[str] = set()  # lines whose chain this transaction saved
        self._engine: sa.Engine | None = None

    def get(self, line: Line) -> PearlChain:
        """The line's chain, its line locked. The entries come from this process's memory when
        the line's version is still the one they were read or written under, else from the
        database."""
        version = locking.lock_line(self._connect, line.code)
        connection = self._connect()
        cache = _stored_chains.setdefault(connection.engine, {})
        base = cache.pop(line.code, None)  # lent: while this transaction runs, no one else gets its entries
        if base is not None and version is not None and base.version == version:
            chain = base.chain(line, copy=False)
            self._stored.update(base.stored)
            self._loaded[line.code] = (chain, base)
            self._lent[line.code] = base
            self._engine = connection.engine
            return chain
        return self._read(connection, line, version)

    def committed(self) -> None:
        """The transaction committed: the lent chains come back, as saved, or as they were
        when the chain was not changed."""
        if self._lent and self._engine is not None:
            cache = _stored_chains.setdefault(self._engine, {})
            for code, base in self._lent.items():
                chain, _ = self._loaded.get(code, (None, None))
                if chain is not None and not (chain.dirty or chain.feed_dirty or chain.changes):
                    cache[code] = base
        self._lent.clear()
        self._loaded.clear()  # the lines' locks are gone with the transaction
        self._saved.clear()

    def rolled_back(self) -> None:
        """The transaction rolled back: a lent chain that was only read comes back; one that
        was changed or saved is dropped (its entries changed, and the version it was saved
        under never committed): the next transaction reads it from the database."""
        if self._lent and self._engine is not None:
            cache = _stored_chains.setdefault(self._engine, {})
            for code, base in self._lent.items():
                chain, loaded_base = self._loaded.get(code, (None, None))
                if chain is not None and loaded_base is base and code not in self._saved and not (chain.dirty or chain.feed_dirty or chain.changes):
                    cache.setdefault(code, base)
        self._lent.clear()
        self._loaded.clear()
        self._saved.clear()

    def _read(self, connection: sa.Connection, line: Line, version: int | None) -> PearlChain:
        """The chain read from the database (and kept under ``version``, when there is one)."""
        cache = _stored_chains.setdefault(connection.engine, {})
        cache.pop(line.code, None)
        self._lent.pop(line.code, None)
        rows = connection.execute(
            sa.select(*_ENTRY_COLUMNS).where(_ce.c.line_code == line.code).order_by(_ce.c.seq_no, _ce.c.id)
        ).all()  # fetched at once, not row by row
        entries = [
            ChainEntry(
                vehicle=Vehicle.restore(order_id, model, dict(_option_items(options)), vin),
                seq_no=seq_no,
                status=VehicleStatus(status),
                broadcast_at=broadcast_at,
                flagged=flagged,
                id=entry_id,
            )
            for entry_id, order_id, seq_no, status, model, options, vin, broadcast_at, flagged in rows
        ]
        self._remember(entries)
        feed_row = connection.execute(sa.select(t.line_feeds).where(t.line_feeds.c.line_code == line.code)).first()
        feed = (
            LineFeedState(feed_row.last_broadcast_seq_no, feed_row.last_broadcast_at, feed_row.silence_alerted, feed_row.issued_until)
            if feed_row is not None
            else LineFeedState()
        )
        base = None
        if version is not None:
            stored = {e.id: self._stored[e.id] for e in entries if e.id is not None}
            base = _StoredChain(version, {e.id: _copy(e) for e in entries if e.id is not None}, replace(feed), stored)
            cache[line.code] = base
        chain = PearlChain(line, entries, feed)
        self._loaded[line.code] = (chain, base)
        return chain

    def view(self, line: Line) -> PearlChain:
        """The line's chain, its line locked, to be read only: while the line's version is the
        one this process kept, the kept entries themselves, not copies."""
        if line.code in self._loaded:  # this transaction locked and read it: as it sees it now
            return self._loaded[line.code][0]
        version = locking.lock_line(self._connect, line.code)
        connection = self._connect(reads=_CHAIN_TABLES)
        base = _stored_chains.get(connection.engine, {}).get(line.code)
        if base is not None and version is not None and base.version == version:
            return base.view(line)
        self._loaded.pop(line.code, None)
        return self._read(connection, line, version)

    def _remember(self, entries: Iterable[ChainEntry]) -> None:
        for entry in entries:
            if entry.id is not None:
                self._stored[entry.id] = (entry.seq_no, _entry_state(entry))

    def save(self, chain: PearlChain) -> None:
        """Writes what changed. The rows of entries that keep their ids, the feed, the
        sequence changes and the new version are sent later (nothing reads them back before
        commit); renumbering and new entries go at once, in the order above."""
        later = self._connect.later
        now = _now()
        dirty = list(chain.dirty.values())
        if not (dirty or chain.feed_dirty or chain.changes):
            return
        renumbered: list[ChainEntry] = []
        rewritten: list[ChainEntry] = []
        for entry in dirty:
            if entry.id is None:
                continue
            stored_seq_no, stored_state = self._stored.get(entry.id, (None, None))
            if stored_seq_no != entry.seq_no:
                renumbered.append(entry)
            if stored_state != _entry_state(entry):
                rewritten.append(entry)
        if renumbered:
            self._connect().execute(
                sa.update(_ce).where(_ce.c.id.in_([e.id for e in renumbered])).values(seq_no=-_ce.c.id)
            )
        if rewritten:
            rewritten.sort(key=lambda e: e.status is not VehicleStatus.CANCELLED)
            later(_ENTRY_UPDATE, [{"row_id": e.id, **_entry_row(e, chain.line_code, now)} for e in rewritten], "chain_entries")
        rewritten_ids = {e.id for e in rewritten}
        only_renumbered = [e for e in renumbered if e.id not in rewritten_ids]
        if only_renumbered:
            _renumber(self._connect(), only_renumbered, now)
        new = [e for e in dirty if e.id is None]
        if new:
            ids = self._connect().execute(
                sa.insert(_ce).returning(_ce.c.id, sort_by_parameter_order=True),
                [_entry_row(e, chain.line_code, now) for e in new],
            ).scalars()
            for entry, entry_id in zip(new, ids, strict=True):
                entry.id = entry_id
        self._remember(dirty)
        if chain.feed_dirty:
            feed_row = {
                "line_code": chain.line_code,
                "last_broadcast_seq_no": chain.feed.last_broadcast_seq_no,
                "last_broadcast_at": chain.feed.last_broadcast_at,
                "silence_alerted": chain.feed.silence_alerted,
                "issued_until": chain.feed.issued_until,
            }
            later(upsert(self._connect.connection, t.line_feeds, ["line_code"], list(feed_row)), [feed_row], "line_feeds")
        self._new_version(chain, dirty, reorder=bool(renumbered or new))
        if chain.changes:
            later(
                _SEQUENCE_CHANGE_INSERT,
                [
                    {
                        "line_code": c.line,
                        "kind": c.kind.value,
                        "order_id": c.order_id,
                        "at": c.at,
                        "old_seq_no": c.old_seq_no,
                        "new_seq_no": c.new_seq_no,
                        "in_frozen_zone": c.in_frozen_zone,
                        "overridden": c.overridden,
                        "renumbered": {order_id: list(numbers) for order_id, numbers in c.renumbered.items()},
                        "actor": c.actor,
                        "reason": c.reason,
                        "details": dict(c.details),
                        "plant_of_line": c.line,
                    }
                    for c in chain.changes
                ],
                "sequence_changes",
            )
        chain.dirty.clear()
        chain.changes.clear()
        chain.feed_dirty = False

    def _new_version(self, chain: PearlChain, dirty: list[ChainEntry], reorder: bool) -> None:
        """Give the line a new version and keep what it now holds under it: the entries it was
        read with, with the ones just written in their new state. A lent chain keeps the
        entries themselves and comes back at commit; else it is kept now (a rolled-back
        version is never found in the database, so it is never matched)."""
        code = chain.line_code
        self._saved.add(code)
        version = line_versions.bump_later(self._connect, [code], line_versions.CHAIN)[code]
        cache = _stored_chains.setdefault(self._connect.engine, {})
        loaded, base = self._loaded.get(code, (None, None))
        if loaded is not chain or base is None:
            cache.pop(code, None)  # not a chain read whole from here: read it again next time
            self._lent.pop(code, None)
            return
        lent = self._lent.get(code) is base
        entries = dict(base.entries)
        stored = dict(base.stored)
        for entry in dirty:
            assert entry.id is not None
            entries[entry.id] = entry if lent else _copy(entry)
            stored[entry.id] = self._stored[entry.id]
        feed = chain.feed if chain.feed_dirty else base.feed
        base = _StoredChain(version, entries, replace(feed), stored, None if reorder or not lent else base.ordered, chain if lent else None)
        if lent:
            self._lent[code] = base
        else:
            cache[code] = base
        self._loaded[code] = (chain, base)

    def changes(self, line_code: str, after: int = 0, limit: int | None = None) -> list[tuple[int, SequenceChange]]:
        sc = t.sequence_changes
        query = sa.select(sc).where(sc.c.line_code == line_code, sc.c.id > after).order_by(sc.c.id)
        if limit is not None:
            query = query.limit(limit)
        return [
            (
                row.id,
                SequenceChange(
                    kind=ChangeKind(row.kind), line=row.line_code, order_id=row.order_id, at=row.at,
                    old_seq_no=row.old_seq_no, new_seq_no=row.new_seq_no, in_frozen_zone=row.in_frozen_zone,
                    overridden=row.overridden, renumbered={o: (n[0], n[1]) for o, n in row.renumbered.items()},
                    actor=row.actor, reason=row.reason, details=dict(row.details),
                ),
            )
            for row in self._connect().execute(query)
        ]


# ------------------------------------------------------------------------------ call-offs
_cl = t.calloff_lines


def _line_row(line: CallOffLine) -> dict[str, Any]:
    return {
        "number": line.number,
        "supplier": line.supplier,
        "unloading_point": line.unloading_point,
        "line_code": line.line,
        "order_id": line.order_id,
        "family": line.family,
        "seq_no": line.seq_no,
        "rolling_no": line.rolling_no,
        "vin": line.vin,
        "part_number": line.part_number,
        "quantity": line.quantity,
        "station": line.station,
        "need_time": line.need_time,
        "ship_by": line.ship_by,
        "state": line.state.value,
        "amendments": line.amendments,
        "updated_at": line.updated_at,
    }


def _line_from(row: Any) -> CallOffLine:
    return CallOffLine(
        number=row.number,
        supplier=row.supplier,
        unloading_point=row.unloading_point,
        line=row.line_code,
        order_id=row.order_id,
        family=row.family,
        seq_no=row.seq_no,
        rolling_no=row.rolling_no,
        vin=row.vin,
        part_number=row.part_number,
        quantity=row.quantity,
        station=row.station,
        need_time=row.need_time,
        ship_by=row.ship_by,
        state=CallOffState(row.state),
        amendments=row.amendments,
        updated_at=row.updated_at,
        id=row.id,
    )


_CALLOFF_INSERT = sa.insert(t.calloffs)
_CALLOFF_LINE_INSERT = sa.insert(_cl).returning(_cl.c.id, sort_by_parameter_order=True)


def _live_lines_for(insert: Any, dialect: str) -> Any:
    order_ids = one_of(_cl.c.order_id, "order_ids", dialect)
    # the state as a literal, as in the live index's predicate: a prepared (generic) plan can use that index only then
    live = _cl.c.state != sa.literal_column(f"'{CallOffState.CANCELLED.value}'")
    return sa.select(_cl).where(_cl.c.line_code == sa.bindparam("line"), order_ids, live)


_CALLOFF_LINE_TABLES = frozenset({_cl.name})


class SqlCallOffRepository(ports.CallOffRepository):
    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    def add(self, calloff: CallOff) -> None:
        self.add_all([calloff])

    def add_all(self, calloffs: Sequence[CallOff]) -> None:
        """Two statements whatever the number of call-offs, sent later: the heads, then every
        line (the lines get their ids when they are sent)."""
        if not calloffs:
            return
        later = self._connect.later
        later(
            _CALLOFF_INSERT,
            [
                {"number": co.number, "supplier": co.supplier, "unloading_point": co.unloading_point, "line_code": co.line, "issued_at": co.issued_at}
                for co in calloffs
            ],
            "calloffs",
        )
        lines = [line for co in calloffs for line in co.lines]

        def numbered(ids: list[Any]) -> None:
            for line, line_id in zip(lines, ids, strict=True):
                line.id = line_id

        later(_CALLOFF_LINE_INSERT, [_line_row(line) for line in lines], "calloff_lines", returned=numbered)

    def get(self, number: str) -> CallOff:
        connection = self._connect()
        head = connection.execute(sa.select(t.calloffs).where(t.calloffs.c.number == number)).first()
        if head is None:
            raise NotFound(f"no call-off {number!r}")
        rows = connection.execute(sa.select(_cl).where(_cl.c.number == number).order_by(_cl.c.id)).all()
        return CallOff(
            number=head.number,
            supplier=head.supplier,
            unloading_point=head.unloading_point,
            line=head.line_code,
            issued_at=head.issued_at,
            lines=[_line_from(row) for row in rows],
        )

    def live_lines_for(self, line: str, order_ids: Iterable[str]) -> dict[tuple[str, str], CallOffLine]:
        read = self.live_lines_read(line, order_ids)
        return self.live_lines_from(self._connect.rows(*read, reads=_CALLOFF_LINE_TABLES)) if read is not None else {}

    def live_lines_read(self, line: str, order_ids: Iterable[str]) -> tuple[Any, dict[str, Any]] | None:
        """The statement and parameters of ``live_lines_for`` (None: nothing to read)."""
        wanted = sorted(set(order_ids))
        if not wanted:
            return None
        return prepared(self._connect.connection, "calloffs.live_lines_for", _live_lines_for), {"line": line, "order_ids": wanted}

    @staticmethod
    def live_lines_from(rows: Iterable[Any]) -> dict[tuple[str, str], CallOffLine]:
        return {(row.order_id, row.family): _line_from(row) for row in rows}

    def save_lines(self, lines: Iterable[CallOffLine]) -> None:
        lines = list(lines)
        connection = self._connect()  # lines added in this transaction get their ids
        unsaved = [f"{ln.number} {ln.order_id}/{ln.family}" for ln in lines if ln.id is None]
        if unsaved:
            raise ValueError(f"call-off lines never added cannot be saved: {', '.join(unsaved)}")
        if lines:
            connection.execute(
                sa.update(_cl).where(_cl.c.id == sa.bindparam("row_id")),
                [{"row_id": ln.id, **_line_row(ln)} for ln in lines],
            )

    def lines(self, where: ports.CallOffLineFilter) -> list[CallOffLine]:
        connection = self._connect()
        query = sa.select(_cl).order_by(
            _ordered(connection, _cl.c.line_code), _cl.c.seq_no, _ordered(connection, _cl.c.family), _cl.c.id
        )
        if where.line is not None:
            query = query.where(_cl.c.line_code == where.line)
        if where.supplier is not None:
            query = query.where(_cl.c.supplier == where.supplier)
        if where.states:
            query = query.where(_cl.c.state.in_([s.value for s in where.states]))
        if where.number is not None:
            query = query.where(_cl.c.number == where.number)
        if where.order_id is not None:
            query = query.where(_cl.c.order_id == where.order_id)
        if where.after is not None:  # a page further: keyset on the order of the listing
            keys = (_ordered(connection, _cl.c.line_code), _cl.c.seq_no, _ordered(connection, _cl.c.family), _cl.c.id)
            query = query.where(sa.tuple_(*keys) > sa.tuple_(*(sa.literal(v) for v in where.after)))
        if where.limit:
            query = query.limit(where.limit)
        return [_line_from(row) for row in connection.execute(query)]

    def count_by_supplier_and_state(self, line: str | None = None) -> dict[tuple[str, str], int]:
        query = sa.select(_cl.c.supplier, _cl.c.state, sa.func.count()).group_by(_cl.c.supplier, _cl.c.state)
        if line is not None:
            query = query.where(_cl.c.line_code == line)
        return {(supplier, state): count for supplier, state, count in self._connect().execute(query)}


# ------------------------------------------------------------------------------ summarized calls
_sc = t.summarized_calls


def _call_from(row: Any) -> SummarizedCall:
    return SummarizedCall(
        line=row.line_code,
        family=row.family,
        supplier=row.supplier,
        part_number=row.part_number,
        window_start=row.window_start,
        window_end=row.window_end,
        contributions=dict(row.contributions),
        updated_at=row.updated_at,
        delivered=row.delivered,
        id=row.id,
    )


def _call_row(call: SummarizedCall) -> dict[str, Any]:
    return {
        "line_code": call.line,
        "family": call.family,
        "supplier": call.supplier,
        "part_number": call.part_number,
        "window_start": call.window_start,
        "window_end": call.window_end,
        "contributions": dict(call.contributions),
        "quantity": call.quantity,
        "updated_at": call.updated_at,
    }


def _counts_any_of(dialect: str) -> sa.ColumnElement[bool]:
    """The summarized call counts at least one of the vehicles of parameter ``order_ids`` (a
    key of its contributions)."""
    if dialect == "postgresql":
        return sa.type_coerce(_sc.c.contributions, postgresql.JSONB).has_any(
            sa.bindparam("order_ids", type_=postgresql.ARRAY(sa.String))
        )
    keys = sa.func.json_each(_sc.c.contributions).table_valued("key")
    return sa.exists(sa.select(1).select_from(keys).where(keys.c.key.in_(sa.bindparam("order_ids", expanding=True))))


_CALL_UPDATE = sa.update(_sc).where(_sc.c.id == sa.bindparam("row_id"))
_CALL_TABLES = frozenset({_sc.name})
ISSUING_TABLES = _CALL_TABLES | {t.calloff_lines.name}
"""What the reads of issuing read: the live call-off lines and the summarized calls."""


def _numbered(thing: Any, ids: list[Any]) -> None:
    """Give ``thing`` the id the database gave its row."""
    (thing.id,) = ids


class SqlSummarizedCallRepository(ports.SummarizedCallRepository):
    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    def find(self, line: str, family: str, part_number: str, window_start: datetime) -> SummarizedCall | None:
        row = self._connect().execute(
            sa.select(_sc).where(
                _sc.c.line_code == line,
                _sc.c.family == family,
                _sc.c.part_number == part_number,
                _sc.c.window_start == window_start,
            )
        ).first()
        return _call_from(row) if row is not None else None

    def counting(self, line: str, order_ids: Iterable[str]) -> dict[str, list[SummarizedCall]]:
        """Each call comes back as one object, shared by the lists of all vehicles it counts,
        so changes made through one vehicle are seen through the others."""
        wanted = sorted(set(order_ids))
        if not wanted:
            return {}
        connection = self._connect()
        query = prepared(
            connection, "calls.counting",
            lambda insert, dialect: sa.select(_sc).where(_sc.c.line_code == sa.bindparam("line"), _counts_any_of(dialect)).order_by(_sc.c.id),
        )
        rows = connection.execute(query, {"line": line, "order_ids": wanted})
        result: dict[str, list[SummarizedCall]] = {}
        wanted_set = set(wanted)
        for row in rows:
            call = _call_from(row)
            for order_id in sorted(wanted_set & call.contributions.keys()):
                result.setdefault(order_id, []).append(call)
        return result

    def gather(self, line: str, order_ids: Iterable[str], windows: Iterable[CallWindow]) -> StoredCalls:
        """One SELECT for both; a call found both ways is one object."""
        read = self.gather_read(line, order_ids, windows)
        return self.gather_from(self._connect.rows(*read, reads=_CALL_TABLES), order_ids, windows) if read is not None else StoredCalls()

    def gather_read(self, line: str, order_ids: Iterable[str], windows: Iterable[CallWindow]) -> tuple[Any, dict[str, Any]] | None:
        """The statement and parameters of ``gather`` (None: nothing to read)."""
        wanted, asked = sorted(set(order_ids)), set(windows)
        if not wanted and not asked:
            return None
        postgres = self._connect.connection.dialect.name == "postgresql"

        def build(insert: Any, dialect: str) -> Any:
            found: list[sa.ColumnElement[bool]] = []
            if wanted:
                found.append(_counts_any_of(dialect))
            if asked:
                key = sa.tuple_(_sc.c.family, _sc.c.part_number, _sc.c.window_start)
                if dialect == "postgresql":  # the windows as three arrays: one statement text, prepared once
                    given = sa.func.unnest(
                        sa.bindparam("families", type_=postgresql.ARRAY(sa.String)),
                        sa.bindparam("parts", type_=postgresql.ARRAY(sa.String)),
                        sa.bindparam("starts", type_=postgresql.ARRAY(t.UtcDateTime())),
                    ).table_valued("family", "part_number", "window_start").render_derived(name="given")
                    found.append(key.in_(sa.select(given.c.family, given.c.part_number, given.c.window_start)))
                else:
                    found.append(key.in_(sa.bindparam("windows", expanding=True)))
            return sa.select(_sc).where(_sc.c.line_code == sa.bindparam("line"), sa.or_(*found)).order_by(_sc.c.id)

        query = prepared(self._connect.connection, ("calls.gather", bool(wanted), bool(asked)), build)
        parameters: dict[str, Any] = {"line": line}
        if wanted:
            parameters["order_ids"] = wanted
        if asked and postgres:
            families, parts, starts = zip(*sorted(asked), strict=True)
            parameters.update(families=list(families), parts=list(parts), starts=list(starts))
        elif asked:
            parameters["windows"] = sorted(asked)
        return query, parameters

    @staticmethod
    def gather_from(rows: Iterable[Any], order_ids: Iterable[str], windows: Iterable[CallWindow]) -> StoredCalls:
        stored = StoredCalls()
        wanted_set, asked = set(order_ids), set(windows)
        for row in rows:
            call = _call_from(row)
            for order_id in sorted(wanted_set & call.contributions.keys()):
                stored.counting.setdefault(order_id, []).append(call)
            if (call.family, call.part_number, call.window_start) in asked:
                stored.windows[call.family, call.part_number, call.window_start] = call
        return stored

    def save(self, calls: Iterable[SummarizedCall]) -> None:
        """Sent later: stored calls by id, new ones as an upsert on their window (they get
        their ids when it is sent)."""
        later = self._connect.later
        calls = list(calls)
        later(_CALL_UPDATE, [{"row_id": c.id, **_call_row(c)} for c in calls if c.id is not None], "summarized_calls")
        for call in calls:
            if call.id is None:  # a new call, or one more object for a stored window: it replaces it
                key = ["line_code", "family", "part_number", "window_start"]
                row = _call_row(call)
                later(upsert(self._connect.connection, _sc, key, list(row), returning=["id"]), [row], "summarized_calls",
                      returned=functools.partial(_numbered, call))

    def list(self, line: str | None = None, supplier: str | None = None) -> list[SummarizedCall]:
        connection = self._connect()
        query = sa.select(_sc).order_by(
            _ordered(connection, _sc.c.line_code),
            _sc.c.window_start,
            _ordered(connection, _sc.c.family),
            _ordered(connection, _sc.c.part_number),
        )
        if line is not None:
            query = query.where(_sc.c.line_code == line)
        if supplier is not None:
            query = query.where(_sc.c.supplier == supplier)
        return [_call_from(row) for row in connection.execute(query)]

    def deliver(self, line: str, family: str, part_number: str, window_start: datetime, quantity: int) -> SummarizedCall:
        """One statement: the count rises where the database holds it (no lost update)."""
        row = self._connect().execute(
            sa.update(_sc)
            .where(_sc.c.line_code == line, _sc.c.family == family, _sc.c.part_number == part_number, _sc.c.window_start == window_start)
            .values(delivered=_sc.c.delivered + quantity)
            .returning(*_sc.c)
        ).first()
        if row is None:
            raise NotFound(f"no summarized call of {part_number} ({family}) on line {line} for the window from {window_start.isoformat()}")
        return _call_from(row)

    def open_for(self, part_numbers: Iterable[str]) -> list[SummarizedCall]:
        wanted = sorted(set(part_numbers))
        if not wanted:
            return []
        query = (
            sa.select(_sc)
            .where(_sc.c.part_number.in_(wanted), _sc.c.quantity > _sc.c.delivered)
            .order_by(_sc.c.window_start, _sc.c.line_code, _sc.c.family, _sc.c.part_number)
        )
        return [_call_from(row) for row in self._connect().execute(query)]


# ------------------------------------------------------------------------------ alerts
_al = t.alerts


def _alert_from(row: Any) -> Alert:
    return Alert(
        kind=AlertKind(row.kind),
        line=row.line_code,
        message=row.message,
        raised_at=row.raised_at,
        order_id=row.order_id,
        seq_no=row.seq_no,
        details=dict(row.details),
        severity=Severity(row.severity),
        id=row.id,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
    )


_ALERT_INSERT = sa.insert(_al).values(plant_code=plant_code_for("line")).returning(_al.c.id)


class SqlAlertRepository(ports.AlertRepository):
    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    def add(self, alert: Alert) -> None:
        """Sent later; the alert gets its id when it is sent."""
        severity = alert.severity.value if alert.severity is not None else None
        self._connect.later(
            _ALERT_INSERT,
            [{
                "kind": alert.kind.value,
                "severity": severity,
                "line_code": alert.line,
                "line": alert.line,
                "order_id": alert.order_id,
                "seq_no": alert.seq_no,
                "message": alert.message,
                "details": dict(alert.details),
                "raised_at": alert.raised_at,
                "acknowledged_at": alert.acknowledged_at,
                "acknowledged_by": alert.acknowledged_by,
            }],
            "alerts",
            returned=functools.partial(_numbered, alert),
        )

    def list(self, where: ports.AlertFilter) -> list[Alert]:
        query = sa.select(_al).order_by(_al.c.id.desc())
        if where.line is not None:
            query = query.where(_al.c.line_code == where.line)
        if where.kinds:
            query = query.where(_al.c.kind.in_([k.value for k in where.kinds]))
        if where.open_only:
            query = query.where(_al.c.acknowledged_at.is_(None))
        if where.limit:
            query = query.limit(where.limit)
        return [_alert_from(row) for row in self._connect().execute(query)]

    def acknowledge(self, alert_id: int, by: str, at: datetime) -> Alert:
        connection = self._connect()
        connection.execute(
            sa.update(_al)
            .where(_al.c.id == alert_id, _al.c.acknowledged_at.is_(None))
            .values(acknowledged_at=at, acknowledged_by=by)
        )
        row = connection.execute(sa.select(_al).where(_al.c.id == alert_id)).first()
        if row is None:
            raise NotFound(f"no alert {alert_id}")
        return _alert_from(row)

    def count_by_kind(self, line: str | None = None) -> dict[str, int]:
        query = sa.select(_al.c.kind, sa.func.count()).group_by(_al.c.kind)
        if line is not None:
            query = query.where(_al.c.line_code == line)
        return {kind: count for kind, count in self._connect().execute(query)}


# ------------------------------------------------------------------------------ outbox, inbox
_ob = t.outbox
_INBOX_TABLES = frozenset({t.inbox.name})


_OUTBOX_INSERT = sa.insert(_ob).values(plant_code=plant_code_for("line", plant="plant"))
"""The plant of a message (its partition on PostgreSQL): named in it, or the plant of its line."""


class SqlOutbox(ports.Outbox):
    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    def add(self, topic: str, key: str, payload: dict[str, Any], at: datetime) -> None:
        self.add_all([(topic, key, payload)], at)

    def add_all(self, messages: Sequence[tuple[str, str, dict[str, Any]]], at: datetime) -> None:
        """One statement for all of them, sent later; ids follow the order given."""
        self._connect.later(
            _OUTBOX_INSERT,
            [
                {"topic": topic, "key": key, "payload": payload, "created_at": at, "published_at": None, "attempts": 0,
                 "plant": payload.get("plant"), "line": payload.get("line")}
                for topic, key, payload in messages
            ],
            "outbox",
        )

    def pending(self, limit: int = 100) -> list[ports.OutboxMessage]:
        """Claims the messages for this transaction: concurrent relays get other ones."""
        connection = self._connect()
        query = sa.select(_ob).where(_ob.c.published_at.is_(None)).order_by(_ob.c.id).limit(limit)
        return [
            ports.OutboxMessage(
                id=row.id,
                topic=row.topic,
                key=row.key,
                payload=row.payload,
                created_at=row.created_at,
                published_at=row.published_at,
                attempts=row.attempts,
            )
            for row in connection.execute(locking.claim(connection, query))
        ]

    def mark_published(self, ids: Sequence[int], at: datetime) -> None:
        if ids:
            self._connect().execute(sa.update(_ob).where(_ob.c.id.in_(list(ids))).values(published_at=at))

    def mark_failed(self, ids: Sequence[int]) -> None:
        if ids:
            self._connect().execute(sa.update(_ob).where(_ob.c.id.in_(list(ids))).values(attempts=_ob.c.attempts + 1))


class SqlInbox(ports.InboxRegistry):
    """Keys of applied inbound messages. Two transactions that apply the same message at the
    same time cannot both commit: the second ``claim`` waits on the key of the first and, once
    that commits, finds it taken (a replay); the second ``add`` fails on the primary key."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    def seen(self, key: str) -> bool:
        return self._connect().execute(sa.select(t.inbox.c.key).where(t.inbox.c.key == key)).first() is not None

    def add(self, key: str, at: datetime) -> None:
        self._connect().execute(sa.insert(t.inbox).values(key=key, received_at=at))

    def claim(self, key: str, at: datetime) -> bool:
        statement = prepared(
            self._connect.connection, "inbox.claim",
            lambda insert, _: insert(t.inbox).on_conflict_do_nothing(index_elements=[t.inbox.c.key]).returning(t.inbox.c.key),
        )
        parameters = {"key": key, "received_at": at}
        if self._connect.assuming and self._connect.connection.dialect.name == "postgresql":
            # a message is new far more often than not: assumed, and the claim travels with the
            # next round trip; a replay found then is a stale assumption (run again, it reports it)
            def new(rows: list[Any]) -> None:
                if not rows:
                    raise StaleAssumption(f"message {key} was applied before, or is being applied right now; nothing was applied")

            self._connect.expect(statement, parameters, new)
            return True
        return bool(self._connect.rows(statement, parameters, reads=_INBOX_TABLES))

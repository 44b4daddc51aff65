"""SQL inventory and purchasing repositories (SQLite and PostgreSQL).

Stock changes are written as increments computed by the database (``on_hand = on_hand +
:delta``), after ``locking.lock_items`` took the items' balance rows in item-code order; the
CHECK constraints of ``tables_inventory`` refuse negative stock or availability even from a
writer that skipped the lock, and such a refusal comes back as ``InsufficientStock``.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from jisflow.adapters.db import line_versions, locking
from jisflow.adapters.db import tables_inventory as t
from jisflow.adapters.db.statements import conflict_insert
from jisflow.adapters.db.tables import lines as lines_table
from jisflow.adapters.db.writes import Transaction
from jisflow.domain.errors import NotFound, Problem, StaleAssumption
from jisflow.domain.forecast import Commitment, ForecastLine
from jisflow.domain.forecast import Key as ForecastKey
from jisflow.domain.inventory import (
    Balance,
    InsufficientStock,
    Item,
    ItemStock,
    Location,
    LocationKind,
    LotKind,
    Movement,
    ReasonCode,
    Reservation,
)
from jisflow.domain.purchasing import BomLine, OrderState, Policy, PolicyKind, PurchaseOrder
from jisflow.services.inventory_ports import InventoryRepository, PurchasingRepository, StockRow

Connect = Transaction


def _reservation(row) -> Reservation:
    return Reservation(
        item=row.item_code, line=row.line_code, order_id=row.order_id, family=row.family, seq_no=row.seq_no,
        need_time=row.need_time, quantity=row.quantity, filled=row.filled, consumed_at=row.consumed_at, id=row.id,
    )


_r = t.reservations
_RESERVATION_COLUMNS = (_r.c.item_code, _r.c.line_code, _r.c.order_id, _r.c.family, _r.c.seq_no, _r.c.need_time, _r.c.quantity, _r.c.filled, _r.c.consumed_at, _r.c.id)
"""The columns of a reservation in the order of ``Reservation``'s fields."""

RESERVATION_ORDER = (t.reservations.c.need_time, t.reservations.c.seq_no, t.reservations.c.line_code, t.reservations.c.order_id, t.reservations.c.family)


class _StoredReservations:
    """Every reservation of a line (consumed ones too) as the database holds them under one
    version (``line_versions``), by key and in rank order; never handed out, only copied."""

    __slots__ = ("version", "by_key", "ranked")

    def __init__(self, version: int, by_key: dict[tuple[str, str, str], Reservation]) -> None:
        self.version, self.by_key = version, by_key
        self.ranked = tuple(sorted(by_key.values(), key=lambda r: r.rank))


_stored_reservations: weakref.WeakKeyDictionary[sa.Engine, dict[str, _StoredReservations]] = weakref.WeakKeyDictionary()
"""Per engine and line, the reservations this process last read or wrote, under their version:
the sync after each broadcast compares the chain with them without reading them all again."""


_ITEMS = sa.select(t.items).order_by(t.items.c.code)
# what the hot reads read: writes sent later to other tables may keep waiting
_ITEM_TABLES = frozenset({t.items.name})
_kept_items: weakref.WeakKeyDictionary[sa.Engine, tuple[list[tuple[Any, ...]], dict[str, Item]]] = weakref.WeakKeyDictionary()
"""Per engine, the item master as this process last read it (rows, and items built from them)."""
_LINE_RESERVATION_TABLES = frozenset({t.reservations.name, f"line_versions/{line_versions.RESERVATIONS}"})


_RESERVATION_DELETE = t.reservations.delete().where(
    t.reservations.c.line_code == sa.bindparam("line"),
    t.reservations.c.order_id == sa.bindparam("order_id"),
    t.reservations.c.family == sa.bindparam("family"),
)
_RESERVATION_UPDATE = t.reservations.update().where(t.reservations.c.id == sa.bindparam("row_id"))
_RESERVATION_INSERT = t.reservations.insert().returning(t.reservations.c.id, sort_by_parameter_order=True)


class SqlInventoryRepository(InventoryRepository):
    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    def add_items(self, items: Iterable[Item]) -> None:
        new = list(items)
        if not new:
            return
        c = self._connect()
        _kept_items.pop(c.engine, None)
        c.execute(t.items.insert(), [
            {"code": i.code, "description": i.description, "unit": i.unit, "coverage_threshold_minutes": i.coverage_threshold_minutes}
            for i in new
        ])
        c.execute(t.balances.insert(), [{"item_code": i.code, "on_hand": 0, "in_transit": 0, "reserved": 0} for i in new])

    def items(self) -> dict[str, Item]:
        """The item master. This process keeps what it last read: in a command the message bus
        runs (``assuming``) it is handed out again at once and checked with the transaction's
        next round trip (a change since is a lost race: the command runs again, and reads it)."""
        engine = self._connect.engine
        kept = _kept_items.get(engine)
        if kept is not None and self._connect.assuming and engine.dialect.name == "postgresql":
            rows, items = kept

            def unchanged(found: list[Any]) -> None:
                if [tuple(row) for row in found] != rows:
                    _kept_items.pop(engine, None)
                    raise StaleAssumption("the item master changed while the command ran; nothing was applied")

            self._connect.expect(_ITEMS, {}, unchanged)
            return dict(items)
        found = self._connect.rows(_ITEMS, {}, reads=_ITEM_TABLES)
        items = {r.code: Item(r.code, r.description, r.unit, r.coverage_threshold_minutes) for r in found}
        _kept_items[engine] = ([tuple(row) for row in found], items)
        return dict(items)

    def add_locations(self, locations: Iterable[Location]) -> None:
        new = list(locations)
        if new:
            self._connect().execute(t.locations.insert(), [
                {"code": loc.code, "name": loc.name, "kind": loc.kind.value, "parent_code": loc.parent} for loc in new
            ])

    def locations(self) -> dict[str, Location]:
        rows = self._connect().execute(sa.select(t.locations).order_by(t.locations.c.code))
        return {r.code: Location(r.code, LocationKind(r.kind), r.name, r.parent_code) for r in rows}

    def add_lot(self, item: str, lot: str, kind: LotKind, at: datetime) -> None:
        c = self._connect()
        c.execute(conflict_insert(c, t.lots).values(item_code=item, lot=lot, kind=kind.value, created_at=at).on_conflict_do_nothing())

    def load(self, item_codes: Iterable[str]) -> dict[str, ItemStock]:
        codes = sorted(set(item_codes))
        if not codes:
            return {}
        c = self._connect()
        locking.lock_items(c, codes)
        items = {
            r.code: Item(r.code, r.description, r.unit, r.coverage_threshold_minutes)
            for r in c.execute(sa.select(t.items).where(t.items.c.code.in_(codes)))
        }
        missing = [code for code in codes if code not in items]
        if missing:
            raise NotFound("unknown item(s)", problems=[Problem(code, "is not a registered item") for code in missing])
        balances = {r.item_code: Balance(r.item_code, r.on_hand, r.in_transit, r.reserved) for r in c.execute(sa.select(t.balances).where(t.balances.c.item_code.in_(codes)))}
        stock: dict[str, dict[tuple[str, str], int]] = {code: {} for code in codes}
        for r in c.execute(sa.select(t.stock).where(t.stock.c.item_code.in_(codes))):
            stock[r.item_code][(r.location_code, r.lot)] = r.on_hand
        reservations: dict[str, list[Reservation]] = {code: [] for code in codes}
        query = sa.select(t.reservations).where(t.reservations.c.item_code.in_(codes), t.reservations.c.consumed_at.is_(None))
        for r in c.execute(query.order_by(*RESERVATION_ORDER)):
            reservations[r.item_code].append(_reservation(r))
        serials: dict[str, set[str]] = {code: set() for code in codes}
        for r in c.execute(sa.select(t.lots.c.item_code, t.lots.c.lot).where(t.lots.c.item_code.in_(codes), t.lots.c.kind == LotKind.SERIAL.value)):
            serials[r.item_code].add(r.lot)
        kinds = {r.code: LocationKind(r.kind) for r in c.execute(sa.select(t.locations.c.code, t.locations.c.kind))}
        return {
            code: ItemStock(items[code], balances[code], stock[code], kinds, reservations[code], frozenset(serials[code]))
            for code in codes
        }

    def save(self, stocks: Iterable[ItemStock]) -> None:
        c = self._connect()
        stocks = sorted(stocks, key=lambda s: s.item.code)
        removed = [key for agg in stocks for key in agg.removed]
        written = [r for agg in stocks for r in agg.changed.values()]
        try:
            if removed:  # a demand line that moves to another item is deleted first
                c.execute(_RESERVATION_DELETE, [{"line": line, "order_id": order_id, "family": family} for line, order_id, family in removed])
            for agg in stocks:
                self._save_one(c, agg)
            if removed or written:
                self._new_versions(c, removed, written)
        except sa.exc.IntegrityError as exc:
            if "ck_inv_" not in str(exc.orig):
                raise
            raise InsufficientStock(
                "the database refused the change: stock or availability would go below zero",
                problems=[Problem(", ".join(sorted(s.item.code for s in stocks)), str(exc.orig).splitlines()[0])],
            ) from None

    def _new_versions(self, c: sa.Connection, removed: list[tuple[str, str, str]], written: list[Reservation]) -> None:
        """Give every line whose reservations changed a new version (its version row locked
        first, in line-code order), and bring what this process keeps of the line up to it when
        what it kept was the version just replaced; else forget it."""
        lines = {key[0] for key in removed} | {r.line for r in written}
        known = {code for (code,) in c.execute(sa.select(lines_table.c.code).where(lines_table.c.code.in_(sorted(lines))))}
        lines &= known  # demand lines of a line no plant defines keep no version
        if not lines:
            return
        old = line_versions.read(c, sorted(lines), line_versions.RESERVATIONS, lock=True)
        new = line_versions.bump(c, sorted(lines), line_versions.RESERVATIONS)
        cache = _stored_reservations.setdefault(c.engine, {})
        for code in lines:
            stored = cache.pop(code, None)
            if stored is None or old.get(code) != stored.version:
                continue
            by_key = dict(stored.by_key)
            for key in removed:
                if key[0] == code:
                    by_key.pop(key, None)
            for r in written:
                if r.line == code:
                    by_key[r.key] = r.copy()
            cache[code] = _StoredReservations(new[code], by_key)

    def _line_reservations(self, c: sa.Connection, line: str) -> Sequence[Reservation]:
        """Every reservation of the line in rank order, from this process's memory while the
        line's version is the one they were read or written under (the objects kept there:
        copy them before handing them out to be changed)."""
        version = line_versions.read_rows(self._connect, [line], line_versions.RESERVATIONS, reads=_LINE_RESERVATION_TABLES).get(line)
        cache = _stored_reservations.setdefault(c.engine, {})
        stored = cache.get(line)
        if stored is None or version is None or stored.version != version:
            query = sa.select(*_RESERVATION_COLUMNS).where(t.reservations.c.line_code == line)
            by_key = {}
            for row in c.execute(query).all():
                r = Reservation(*row)
                by_key[r.key] = r
            stored = _StoredReservations(version, by_key) if version is not None else None
            if stored is None:
                cache.pop(line, None)
                return sorted(by_key.values(), key=lambda r: r.rank)
            cache[line] = stored
        return stored.ranked

    def line_reservations(self, line: str) -> Sequence[Reservation]:
        return self._line_reservations(self._connect(reads=_LINE_RESERVATION_TABLES), line)

    def _save_one(self, c: sa.Connection, agg: ItemStock) -> None:
        code = agg.item.code
        if agg.movements:
            c.execute(t.movements.insert(), [
                {"item_code": m.item, "location_code": m.location, "lot": m.lot, "quantity": m.quantity, "reason": m.reason.value,
                 "actor": m.actor, "at": m.at, "reference": m.reference, "note": m.note}
                for m in agg.movements
            ])
        for (location, lot), delta in sorted(agg.stock_deltas.items()):
            if not delta:
                continue
            if delta < 0:  # the row must be there; CHECK refuses to go below zero
                where = (t.stock.c.item_code == code, t.stock.c.location_code == location, t.stock.c.lot == lot)
                if c.execute(t.stock.update().where(*where).values(on_hand=t.stock.c.on_hand + delta)).rowcount != 1:
                    raise InsufficientStock(f"no stock of {code} at {location}" + (f" lot {lot}" if lot else ""))
                continue
            insert = conflict_insert(c, t.stock).values(item_code=code, location_code=location, lot=lot, on_hand=delta)
            c.execute(insert.on_conflict_do_update(
                index_elements=[t.stock.c.item_code, t.stock.c.location_code, t.stock.c.lot],
                set_={"on_hand": t.stock.c.on_hand + insert.excluded.on_hand},
            ))
        d = agg.balance_delta
        if d.on_hand or d.in_transit or d.reserved:
            c.execute(
                t.balances.update().where(t.balances.c.item_code == code).values(
                    on_hand=t.balances.c.on_hand + d.on_hand,
                    in_transit=t.balances.c.in_transit + d.in_transit,
                    reserved=t.balances.c.reserved + d.reserved,
                )
            )
        # every changed demand line in two statements (a late line moves them all)
        updated = [
            {"row_id": r.id, "item_code": r.item, "seq_no": r.seq_no, "need_time": r.need_time, "quantity": r.quantity, "filled": r.filled, "consumed_at": r.consumed_at}
            for r in agg.changed.values() if r.id is not None
        ]
        if updated:
            c.execute(_RESERVATION_UPDATE, updated)
        new = [r for r in agg.changed.values() if r.id is None]
        if new:
            ids = c.execute(_RESERVATION_INSERT, [
                {"line_code": r.line, "order_id": r.order_id, "family": r.family, "item_code": r.item, "seq_no": r.seq_no,
                 "need_time": r.need_time, "quantity": r.quantity, "filled": r.filled, "consumed_at": r.consumed_at}
                for r in new
            ]).scalars().all()
            for r, row_id in zip(new, ids, strict=True):
                r.id = row_id
        agg.movements.clear()
        agg.stock_deltas.clear()
        agg.balance_delta = Balance(code)
        agg.changed.clear()
        agg.removed.clear()

    def balances(self, item_codes: Iterable[str] | None = None) -> dict[str, Balance]:
        query = sa.select(t.balances).order_by(t.balances.c.item_code)
        if item_codes is not None:
            query = query.where(t.balances.c.item_code.in_(list(item_codes)))
        return {r.item_code: Balance(r.item_code, r.on_hand, r.in_transit, r.reserved) for r in self._connect().execute(query)}

    def stock(self, item: str | None = None) -> list[StockRow]:
        query = sa.select(t.stock).where(t.stock.c.on_hand != 0).order_by(t.stock.c.item_code, t.stock.c.location_code, t.stock.c.lot)
        if item is not None:
            query = query.where(t.stock.c.item_code == item)
        return [StockRow(r.item_code, r.location_code, r.lot, r.on_hand) for r in self._connect().execute(query)]

    def movements(self, item: str | None = None, limit: int | None = None) -> list[Movement]:
        query = sa.select(t.movements).order_by(t.movements.c.id.desc())
        if item is not None:
            query = query.where(t.movements.c.item_code == item)
        if limit:
            query = query.limit(limit)
        rows = list(self._connect().execute(query))
        return [
            Movement(r.item_code, r.location_code, r.lot, r.quantity, ReasonCode(r.reason), r.actor, r.at, r.reference, r.note, r.id)
            for r in reversed(rows)
        ]

    def reservations(
        self, *, line: str | None = None, item: str | None = None, live_only: bool = True, order_id: str | None = None,
    ) -> list[Reservation]:
        if line is not None and item is None:
            found = self._line_reservations(self._connect(), line)
            return [r.copy() for r in found if (not live_only or r.consumed_at is None) and (order_id is None or r.order_id == order_id)]
        query = sa.select(t.reservations).order_by(*RESERVATION_ORDER)
        if order_id is not None:
            query = query.where(t.reservations.c.order_id == order_id)
        if line is not None:
            query = query.where(t.reservations.c.line_code == line)
        if item is not None:
            query = query.where(t.reservations.c.item_code == item)
        if live_only:
            query = query.where(t.reservations.c.consumed_at.is_(None))
        # positional columns: a line's reservations run into the tens of thousands
        query = query.with_only_columns(*_RESERVATION_COLUMNS)
        return [Reservation(*row) for row in self._connect().execute(query).all()]


def _order(r) -> PurchaseOrder:
    return PurchaseOrder(
        number=r.number, item=r.item_code, supplier=r.supplier, quantity=r.quantity, due_at=r.due_at, created_at=r.created_at,
        source=r.source, confirmed_at=r.confirmed_at, received=r.received, last_receipt_at=r.last_receipt_at, state=OrderState(r.state),
    )


class SqlPurchasingRepository(PurchasingRepository):
    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    def _values(self, o: PurchaseOrder) -> dict:
        return {
            "item_code": o.item, "supplier": o.supplier, "quantity": o.quantity, "due_at": o.due_at, "confirmed_at": o.confirmed_at,
            "received": o.received, "last_receipt_at": o.last_receipt_at, "state": o.state.value, "source": o.source, "created_at": o.created_at,
        }

    def add_order(self, order: PurchaseOrder) -> None:
        self._connect().execute(t.purchase_orders.insert().values(number=order.number, **self._values(order)))

    def save_order(self, order: PurchaseOrder) -> None:
        self._connect().execute(t.purchase_orders.update().where(t.purchase_orders.c.number == order.number).values(**self._values(order)))

    def get_order(self, number: str) -> PurchaseOrder:
        row = self._connect().execute(sa.select(t.purchase_orders).where(t.purchase_orders.c.number == number)).first()
        if row is None:
            raise NotFound(f"no purchase order {number!r}")
        return _order(row)

    def orders(self, *, item: str | None = None, open_only: bool = False) -> list[PurchaseOrder]:
        query = sa.select(t.purchase_orders)
        if item is not None:
            query = query.where(t.purchase_orders.c.item_code == item)
        if open_only:
            query = query.where(t.purchase_orders.c.state == OrderState.OPEN.value)
        found = [_order(r) for r in self._connect().execute(query)]
        return sorted(found, key=lambda o: (o.expected_at, o.number))

    def count_orders(self) -> int:
        return self._connect().execute(sa.select(sa.func.count()).select_from(t.purchase_orders)).scalar_one()

    def put_policy(self, policy: Policy) -> None:
        c = self._connect()
        values = {
            "kind": policy.kind.value, "supplier": policy.supplier, "lead_time_minutes": policy.lead_time_minutes,
            "reorder_point": policy.reorder_point, "order_quantity": policy.order_quantity,
            "kanban_cards": policy.kanban_cards, "container_quantity": policy.container_quantity,
        }
        insert = conflict_insert(c, t.policies).values(item_code=policy.item, **values)
        c.execute(insert.on_conflict_do_update(index_elements=[t.policies.c.item_code], set_=values))

    def policies(self) -> list[Policy]:
        rows = self._connect().execute(sa.select(t.policies).order_by(t.policies.c.item_code))
        return [
            Policy(r.item_code, PolicyKind(r.kind), r.supplier, r.lead_time_minutes, r.reorder_point, r.order_quantity, r.kanban_cards, r.container_quantity)
            for r in rows
        ]

    def put_bom(self, lines: Iterable[BomLine]) -> None:
        c = self._connect()
        for b in lines:
            insert = conflict_insert(c, t.bom).values(parent=b.parent, component=b.component, quantity=b.quantity, supplier=b.supplier)
            c.execute(insert.on_conflict_do_update(index_elements=[t.bom.c.parent, t.bom.c.component], set_={"quantity": b.quantity, "supplier": b.supplier}))

    def bom(self) -> list[BomLine]:
        rows = self._connect().execute(sa.select(t.bom).order_by(t.bom.c.parent, t.bom.c.component))
        return [BomLine(r.parent, r.component, r.quantity, r.supplier) for r in rows]

    def forecasts(self, *, supplier: str | None = None, partner: str | None = None, item: str | None = None) -> list[ForecastLine]:
        f = t.forecasts.c
        query = sa.select(t.forecasts).order_by(f.partner, f.supplier, f.item_code, f.unloading_point, f.due)
        for column, value in ((f.supplier, supplier), (f.partner, partner), (f.item_code, item)):
            if value is not None:
                query = query.where(column == value)
        return [
            ForecastLine(r.partner, r.supplier, r.item_code, r.unloading_point, r.due, r.supplier_item, r.unit, r.quantity, r.cumulative,
                         Commitment(r.commitment), r.message, r.reference, r.issued, r.interchange, r.received_at)
            for r in self._connect().execute(query)
        ]

    def replace_forecasts(self, remove: Iterable[ForecastKey], add: Iterable[ForecastLine]) -> None:
        c, f = self._connect(), t.forecasts.c
        gone = [dict(zip(("p", "s", "i", "u", "d"), key)) for key in remove]
        if gone:
            c.execute(t.forecasts.delete().where(
                f.partner == sa.bindparam("p"), f.supplier == sa.bindparam("s"), f.item_code == sa.bindparam("i"),
                f.unloading_point == sa.bindparam("u"), f.due == sa.bindparam("d"),
            ), gone)
        rows = [
            {"partner": ln.partner, "supplier": ln.supplier, "item_code": ln.item, "unloading_point": ln.unloading_point, "due": ln.due,
             "supplier_item": ln.supplier_item, "unit": ln.unit, "quantity": ln.quantity, "cumulative": ln.cumulative,
             "commitment": ln.commitment.value, "message": ln.message, "reference": ln.reference, "issued": ln.issued,
             "interchange": ln.interchange, "received_at": ln.received_at}
            for ln in add
        ]
        if rows:
            c.execute(t.forecasts.insert(), rows)

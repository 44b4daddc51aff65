"""In-memory inventory and purchasing repositories, with the semantics of the SQL ones:
copies handed out, changes staged and applied on commit as increments."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from jisflow.domain.errors import NotFound, Problem
from jisflow.domain.forecast import ForecastLine
from jisflow.domain.forecast import Key as ForecastKey
from jisflow.domain.inventory import Balance, Item, ItemStock, Location, LotKind, Movement, Reservation
from jisflow.domain.purchasing import BomLine, OrderState, Policy, PurchaseOrder
from jisflow.services.inventory_ports import InventoryRepository, PurchasingRepository, StockRow


@dataclass
class InventoryState:
    items: dict[str, Item] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    lots: dict[tuple[str, str], LotKind] = field(default_factory=dict)
    stock: dict[tuple[str, str, str], int] = field(default_factory=dict)
    balances: dict[str, Balance] = field(default_factory=dict)
    movements: list[Movement] = field(default_factory=list)
    reservations: dict[tuple[str, str, str], Reservation] = field(default_factory=dict)
    orders: dict[str, PurchaseOrder] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    bom: dict[tuple[str, str], BomLine] = field(default_factory=dict)
    forecasts: dict[ForecastKey, ForecastLine] = field(default_factory=dict)
    next_id: int = 1
    # per line, its reservations as last handed out (``line_reservations``), while unchanged
    kept_lines: dict[str, tuple[Reservation, ...]] = field(default_factory=dict)
    # the live (not consumed) reservations by line and by item, kept with ``reservations``
    live_by_line: dict[str, dict[tuple[str, str, str], Reservation]] = field(default_factory=dict)
    live_by_item: dict[str, dict[tuple[str, str, str], Reservation]] = field(default_factory=dict)

    def put_reservation(self, r: Reservation) -> None:
        self.drop_reservation(r.key)
        self.reservations[r.key] = r
        if r.consumed_at is None:
            self.live_by_line.setdefault(r.line, {})[r.key] = r
            self.live_by_item.setdefault(r.item, {})[r.key] = r
        self.kept_lines.pop(r.line, None)

    def drop_reservation(self, key: tuple[str, str, str]) -> None:
        old = self.reservations.pop(key, None)
        if old is not None:
            self.live_by_line.get(old.line, {}).pop(key, None)
            self.live_by_item.get(old.item, {}).pop(key, None)
            self.kept_lines.pop(old.line, None)


_LINES = "inventory.line_reservations"
"""Key in the transaction's pending writes: per line, the reservation keys it removed and the
reservations it wrote."""


def _rank(r: Reservation) -> tuple:
    return r.rank


class MemoryInventoryRepository(InventoryRepository):
    def __init__(self, staged) -> None:
        self._s = staged

    @property
    def _st(self) -> InventoryState:
        return self._s.store.inventory

    def add_items(self, items: Iterable[Item]) -> None:
        new = list(items)

        def apply(st) -> None:
            for item in new:
                st.inventory.items[item.code] = item
                st.inventory.balances[item.code] = Balance(item.code)

        self._s.stage(apply)

    def items(self) -> dict[str, Item]:
        return dict(self._st.items)

    def add_locations(self, locations: Iterable[Location]) -> None:
        new = list(locations)
        self._s.stage(lambda st: st.inventory.locations.update({loc.code: loc for loc in new}))

    def locations(self) -> dict[str, Location]:
        return dict(self._st.locations)

    def add_lot(self, item: str, lot: str, kind: LotKind, at: datetime) -> None:
        self._s.stage(lambda st: st.inventory.lots.setdefault((item, lot), kind))

    def load(self, item_codes: Iterable[str]) -> dict[str, ItemStock]:
        codes = sorted(set(item_codes))
        missing = [c for c in codes if c not in self._st.items]
        if missing:
            raise NotFound("unknown item(s)", problems=[Problem(c, "is not a registered item") for c in missing])
        kinds = {code: loc.kind for code, loc in self._st.locations.items()}
        return {
            code: ItemStock(
                item=self._st.items[code],
                balance=copy.copy(self._st.balances[code]),
                stock={(loc, lot): q for (i, loc, lot), q in self._st.stock.items() if i == code},
                location_kinds=kinds,
                reservations=[r.copy() for r in self._st.live_by_item.get(code, {}).values()],
                serial_lots=frozenset(lot for (i, lot), kind in self._st.lots.items() if i == code and kind is LotKind.SERIAL),
            )
            for code in codes
        }

    def save(self, stocks: Iterable[ItemStock]) -> None:
        stocks = list(stocks)
        removed = [key for agg in stocks for key in agg.removed]
        written = self._s.pending.setdefault(_LINES, {})  # line -> (keys removed, reservations written)

        def drop(st) -> None:  # first, as the SQL adapter does: a line may move to another item
            for key in removed:
                st.inventory.drop_reservation(key)

        self._s.stage(drop)
        for key in removed:
            gone, put = written.setdefault(key[0], (set(), {}))
            gone.add(key)
            put.pop(key, None)
        for agg in stocks:
            movements = list(agg.movements)
            stock_deltas = dict(agg.stock_deltas)
            delta = copy.copy(agg.balance_delta)
            changed = [r.copy() for r in agg.changed.values()]
            for r in changed:
                written.setdefault(r.line, (set(), {}))[1][r.key] = r

            def apply(st, movements=movements, stock_deltas=stock_deltas, delta=delta, changed=changed) -> None:
                inv = st.inventory
                for m in movements:
                    inv.movements.append(replace(m, id=inv.next_id))
                    inv.next_id += 1
                for (loc, lot), d in stock_deltas.items():
                    key = (delta.item, loc, lot)
                    inv.stock[key] = inv.stock.get(key, 0) + d
                b = inv.balances[delta.item]
                b.on_hand += delta.on_hand
                b.in_transit += delta.in_transit
                b.reserved += delta.reserved
                for r in changed:
                    if r.id is None:
                        r.id = inv.next_id
                        inv.next_id += 1
                    inv.put_reservation(r)

            self._s.stage(apply)
            agg.movements.clear()
            agg.stock_deltas.clear()
            agg.balance_delta = Balance(agg.item.code)
            agg.changed.clear()
            agg.removed.clear()

    def balances(self, item_codes: Iterable[str] | None = None) -> dict[str, Balance]:
        wanted = None if item_codes is None else set(item_codes)
        return {c: copy.copy(b) for c, b in sorted(self._st.balances.items()) if wanted is None or c in wanted}

    def stock(self, item: str | None = None) -> list[StockRow]:
        return [
            StockRow(i, loc, lot, q)
            for (i, loc, lot), q in sorted(self._st.stock.items())
            if q and (item is None or i == item)
        ]

    def movements(self, item: str | None = None, limit: int | None = None) -> list[Movement]:
        found = [m for m in self._st.movements if item is None or m.item == item]
        return found[-limit:] if limit else found

    def line_reservations(self, line: str) -> Sequence[Reservation]:
        """As the port allows: the reservations it keeps, the same tuple while the line's
        reservations do not change (so the reservation sync can start from its last result).
        After this transaction wrote some, the line as the transaction leaves it, kept once it
        commits."""
        inv = self._st
        written = self._s.pending.get(_LINES, {}).get(line)
        if written is None:
            kept = inv.kept_lines.get(line)
            if kept is None:
                kept = inv.kept_lines[line] = tuple(sorted((r for r in inv.reservations.values() if r.line == line), key=_rank))
            return kept
        gone, put = written
        current = {r.key: r for r in inv.reservations.values() if r.line == line and r.key not in gone}
        current.update(put)
        view = tuple(sorted(current.values(), key=_rank))
        self._s.stage(lambda st: st.inventory.kept_lines.__setitem__(line, view))  # after the writes staged so far
        return view

    def reservations(
        self, *, line: str | None = None, item: str | None = None, live_only: bool = True, order_id: str | None = None,
    ) -> list[Reservation]:
        inv = self._st
        if live_only and line is not None:
            pool: Iterable[Reservation] = inv.live_by_line.get(line, {}).values()
        elif live_only and item is not None:
            pool = inv.live_by_item.get(item, {}).values()
        else:
            pool = inv.reservations.values()
        found = [  # handed out as kept: the port's readers never change them
            r
            for r in pool
            if (line is None or r.line == line) and (item is None or r.item == item) and (not live_only or r.consumed_at is None)
            and (order_id is None or r.order_id == order_id)
        ]
        return sorted(found, key=lambda r: r.rank)


class MemoryPurchasingRepository(PurchasingRepository):
    def __init__(self, staged) -> None:
        self._s = staged

    @property
    def _st(self) -> InventoryState:
        return self._s.store.inventory

    def add_order(self, order: PurchaseOrder) -> None:
        snapshot = copy.copy(order)
        self._written()[snapshot.number] = snapshot  # seen by this transaction's own reads, as in SQL
        self._s.stage(lambda st: st.inventory.orders.__setitem__(snapshot.number, snapshot))

    save_order = add_order

    def _written(self) -> dict[str, PurchaseOrder]:
        return self._s.pending.setdefault("orders", {})

    def _all_orders(self) -> dict[str, PurchaseOrder]:
        written = self._s.pending.get("orders")
        return {**self._st.orders, **written} if written else self._st.orders

    def get_order(self, number: str) -> PurchaseOrder:
        try:
            return copy.copy(self._all_orders()[number])
        except KeyError:
            raise NotFound(f"no purchase order {number!r}") from None

    def orders(self, *, item: str | None = None, open_only: bool = False) -> list[PurchaseOrder]:
        found = [
            copy.copy(o)
            for o in self._all_orders().values()
            if (item is None or o.item == item) and (not open_only or o.state is OrderState.OPEN)
        ]
        return sorted(found, key=lambda o: (o.expected_at, o.number))

    def count_orders(self) -> int:
        return len(self._all_orders())

    def put_policy(self, policy: Policy) -> None:
        self._s.stage(lambda st: st.inventory.policies.__setitem__(policy.item, policy))

    def policies(self) -> list[Policy]:
        return [p for _, p in sorted(self._st.policies.items())]

    def put_bom(self, lines: Iterable[BomLine]) -> None:
        new = list(lines)
        self._s.stage(lambda st: st.inventory.bom.update({(b.parent, b.component): b for b in new}))

    def bom(self) -> list[BomLine]:
        return [b for _, b in sorted(self._st.bom.items())]

    def forecasts(self, *, supplier: str | None = None, partner: str | None = None, item: str | None = None) -> list[ForecastLine]:
        return [
            ln for _, ln in sorted(self._st.forecasts.items())
            if (supplier is None or ln.supplier == supplier) and (partner is None or ln.partner == partner) and (item is None or ln.item == item)
        ]

    def replace_forecasts(self, remove: Iterable[ForecastKey], add: Iterable[ForecastLine]) -> None:
        gone, new = list(remove), list(add)

        def apply(st) -> None:
            for key in gone:
                st.inventory.forecasts.pop(key, None)
            st.inventory.forecasts.update({ln.key: ln for ln in new})

        self._s.stage(apply)

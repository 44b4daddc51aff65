"""Ports of the inventory: the ledger with its reservations, and purchasing.

``InventoryRepository.load`` is the one way to get stock for a change: the SQL adapter locks
the items' balance rows first, in item-code order, so two commands on the same items run one
after the other and never wait on each other in a circle; ``save`` writes the recorded changes
as database-side increments.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from jisflow.domain.forecast import ForecastLine
from jisflow.domain.forecast import Key as ForecastKey
from jisflow.domain.inventory import Balance, Item, ItemStock, Location, LotKind, Movement, Reservation
from jisflow.domain.purchasing import BomLine, Policy, PurchaseOrder


@dataclass(frozen=True)
class StockRow:
    item: str
    location: str
    lot: str
    on_hand: int


class InventoryRepository(abc.ABC):
    @abc.abstractmethod
    def add_items(self, items: Iterable[Item]) -> None:
        """Register new items (each with a zero balance)."""

    @abc.abstractmethod
    def items(self) -> dict[str, Item]: ...

    @abc.abstractmethod
    def add_locations(self, locations: Iterable[Location]) -> None: ...

    @abc.abstractmethod
    def locations(self) -> dict[str, Location]: ...

    @abc.abstractmethod
    def add_lot(self, item: str, lot: str, kind: LotKind, at: datetime) -> None:
        """Register a lot or serial number (known lots are left as they are)."""

    @abc.abstractmethod
    def load(self, item_codes: Iterable[str]) -> dict[str, ItemStock]:
        """The stock aggregates of these items, locked for this transaction; NotFound names
        every unknown item."""

    @abc.abstractmethod
    def save(self, stocks: Iterable[ItemStock]) -> None:
        """Write the movements, stock and balance increments and reservation changes that the
        aggregates recorded."""

    @abc.abstractmethod
    def balances(self, item_codes: Iterable[str] | None = None) -> dict[str, Balance]: ...

    @abc.abstractmethod
    def stock(self, item: str | None = None) -> list[StockRow]:
        """Stock rows with a quantity, by item, location and lot."""

    @abc.abstractmethod
    def movements(self, item: str | None = None, limit: int | None = None) -> list[Movement]:
        """Movements, oldest first (the last ``limit`` ones when given)."""

    @abc.abstractmethod
    def reservations(
        self, *, line: str | None = None, item: str | None = None, live_only: bool = True, order_id: str | None = None,
    ) -> list[Reservation]:
        """Reservations in rank order (need time, sequence number); ``order_id``: of that
        vehicle only. To be read, never changed: an adapter may hand out the objects it keeps
        (``load`` gives the ones to change)."""

    def line_reservations(self, line: str) -> Sequence[Reservation]:
        """Every reservation of the line, consumed ones too, in rank order, to be read and
        never changed: an adapter may hand out the objects it keeps between transactions.
        An adapter that hands out the same sequence object twice promises that the line's
        reservations did not change in between (the reservation sync relies on it)."""
        return self.reservations(line=line, live_only=False)


class PurchasingRepository(abc.ABC):
    @abc.abstractmethod
    def add_order(self, order: PurchaseOrder) -> None: ...

    @abc.abstractmethod
    def get_order(self, number: str) -> PurchaseOrder:
        """NotFound for an unknown number."""

    @abc.abstractmethod
    def save_order(self, order: PurchaseOrder) -> None: ...

    @abc.abstractmethod
    def orders(self, *, item: str | None = None, open_only: bool = False) -> list[PurchaseOrder]: ...

    @abc.abstractmethod
    def count_orders(self) -> int: ...

    @abc.abstractmethod
    def put_policy(self, policy: Policy) -> None:
        """Store or replace the item's policy."""

    @abc.abstractmethod
    def policies(self) -> list[Policy]: ...

    @abc.abstractmethod
    def put_bom(self, lines: Iterable[BomLine]) -> None: ...

    @abc.abstractmethod
    def bom(self) -> list[BomLine]: ...

    @abc.abstractmethod
    def forecasts(self, *, supplier: str | None = None, partner: str | None = None, item: str | None = None) -> list[ForecastLine]:
        """Stored customer forecast lines, by partner, supplier, item, unloading point and date."""

    @abc.abstractmethod
    def replace_forecasts(self, remove: Iterable[ForecastKey], add: Iterable[ForecastLine]) -> None:
        """Drop the forecast lines with these keys, then store these lines."""

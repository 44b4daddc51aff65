"""A stateful property test of the ledger and the reservations: random receipts, issues,
moves, counts, new demand lines, resequences and cancellations, with the invariants checked
after every step, on the in-memory store, SQLite and PostgreSQL.

Invariants: stock never negative anywhere, availability never negative, balances equal the
sums of the movements, reservations never exceed what is on hand, the earliest need is served
first, and the store agrees with a plain model of the same steps.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from jisflow.bootstrap import bootstrap
from jisflow.domain.inventory import InsufficientStock, Item, Location, LocationKind, ReasonCode, Reservation
from jisflow.services import inventory as inv
from jisflow.services.clock import SimulatedClock

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
BINS = ("BIN-A", "BIN-B")
_items = itertools.count(1)


def machine_for(uow_factory):
    app = bootstrap(uow_factory(), clock=SimulatedClock(T0))
    app.bus.handle(inv.AddLocations(tuple(Location(code, LocationKind.BIN) for code in BINS) + (Location("ROAD", LocationKind.IN_TRANSIT),)))

    class Ledger(RuleBasedStateMachine):
        """Each run works on an item of its own, so runs share the store without meeting."""

        @initialize()
        def new_item(self) -> None:
            self.item = f"IT{next(_items):05d}"
            app.bus.handle(inv.RegisterItems((Item(self.item),)))
            self.stock = {loc: 0 for loc in (*BINS, "ROAD")}
            self.demand: dict[str, tuple[timedelta, int, int]] = {}  # order id -> (need offset, seq no, quantity)
            self.orders = itertools.count(1)

        # ------------------------------------------------------------------ ledger
        @rule(quantity=st.integers(1, 5), location=st.sampled_from((*BINS, "ROAD")))
        def receive(self, quantity: int, location: str) -> None:
            app.bus.handle(inv.ReceiveStock(self.item, location, quantity, actor="dock"))
            self.stock[location] += quantity

        @rule(quantity=st.integers(1, 5), location=st.sampled_from(BINS), reason=st.sampled_from([ReasonCode.ISSUE_TO_LINE, ReasonCode.SCRAP]))
        def issue(self, quantity: int, location: str, reason: ReasonCode) -> None:
            fits = self.stock[location] >= quantity and self.on_hand() - quantity >= self.reserved_in_model()
            try:
                app.bus.handle(inv.AdjustStock(self.item, location, -quantity, reason))
            except InsufficientStock:
                assert not fits
            else:
                assert fits
                self.stock[location] -= quantity

        @rule(quantity=st.integers(1, 5), source=st.sampled_from((*BINS, "ROAD")), into=st.sampled_from(BINS))
        def move(self, quantity: int, source: str, into: str) -> None:
            if source == into:
                return
            into_stock = source == "ROAD"
            fits = self.stock[source] >= quantity
            try:
                app.bus.handle(inv.MoveStock(self.item, source, into, quantity))
            except InsufficientStock:
                assert not fits
            else:
                assert fits or into_stock
                self.stock[source] -= quantity
                self.stock[into] += quantity

        @rule(location=st.sampled_from(BINS), counted=st.integers(0, 8))
        def count(self, location: str, counted: int) -> None:
            app.bus.handle(inv.CountStock(self.item, location, counted, actor="counter"))
            self.stock[location] = counted

        # ------------------------------------------------------------------ reservations
        def _upsert(self, order_id: str, offset: timedelta, seq_no: int, quantity: int) -> None:
            with app.uow:
                stocks = app.uow.inventory.load([self.item])
                stocks[self.item].upsert(Reservation(self.item, self.item, order_id, "F", seq_no, T0 + offset, quantity))
                app.uow.inventory.save(stocks.values())
                app.uow.commit()
            self.demand[order_id] = (offset, seq_no, quantity)

        @rule(minutes=st.integers(0, 120), quantity=st.integers(1, 3))
        def reserve(self, minutes: int, quantity: int) -> None:
            n = next(self.orders)
            self._upsert(f"V{n:03d}", timedelta(minutes=minutes), n, quantity)

        @precondition(lambda self: self.demand)
        @rule(data=st.data(), minutes=st.integers(0, 120))
        def resequence(self, data, minutes: int) -> None:
            order_id = data.draw(st.sampled_from(sorted(self.demand)))
            _, seq_no, quantity = self.demand[order_id]
            self._upsert(order_id, timedelta(minutes=minutes), seq_no, quantity)

        @precondition(lambda self: self.demand)
        @rule(data=st.data())
        def cancel(self, data) -> None:
            order_id = data.draw(st.sampled_from(sorted(self.demand)))
            with app.uow:
                stocks = app.uow.inventory.load([self.item])
                stocks[self.item].release((self.item, order_id, "F"))
                app.uow.inventory.save(stocks.values())
                app.uow.commit()
            del self.demand[order_id]

        # ------------------------------------------------------------------ model
        def on_hand(self) -> int:
            return sum(q for loc, q in self.stock.items() if loc != "ROAD")

        def reserved_in_model(self) -> int:
            return min(self.on_hand(), sum(q for _, _, q in self.demand.values()))

        # ------------------------------------------------------------------ invariants
        @invariant()
        def books_agree_with_movements_and_the_model(self) -> None:
            with app.uow:
                balance = app.uow.inventory.balances([self.item])[self.item]
                rows = app.uow.inventory.stock(self.item)
                moves = app.uow.inventory.movements(self.item)
                reservations = app.uow.inventory.reservations(item=self.item)
            by_place: dict[str, int] = {}
            for m in moves:
                by_place[m.location] = by_place.get(m.location, 0) + m.quantity
            assert all(r.on_hand > 0 for r in rows)
            assert {r.location: r.on_hand for r in rows} == {loc: q for loc, q in by_place.items() if q}
            assert {r.location: r.on_hand for r in rows} == {loc: q for loc, q in self.stock.items() if q}
            assert balance.on_hand == self.on_hand() == sum(q for loc, q in by_place.items() if loc != "ROAD")
            assert balance.in_transit == self.stock["ROAD"]
            assert 0 <= balance.reserved <= balance.on_hand
            assert balance.reserved == sum(r.filled for r in reservations) == self.reserved_in_model()
            assert {r.order_id for r in reservations} == set(self.demand)

        @invariant()
        def the_earliest_need_is_served_first(self) -> None:
            with app.uow:
                reservations = app.uow.inventory.reservations(item=self.item)
            assert [r.rank for r in reservations] == sorted(r.rank for r in reservations)
            partly_served = False
            for r in reservations:
                assert not (partly_served and r.filled), "a later need got stock while an earlier one waits"
                partly_served = partly_served or r.filled < r.quantity

    return Ledger


def test_the_ledger_and_the_reservations_keep_their_invariants_under_random_steps(uow_factory):
    run_state_machine_as_test(
        machine_for(uow_factory),
        settings=settings(max_examples=20, stateful_step_count=25, deadline=None),
    )

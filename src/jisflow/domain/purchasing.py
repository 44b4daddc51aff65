"""Purchasing and replenishment: a policy per item, purchase orders, delivery schedules,
forwarding of JIS demand to sub-suppliers, supplier performance.

Policies are a table (``PLANNERS``: policy kind -> planning function), not a chain of ifs:

- **reorder point**: when the inventory position (on hand + open orders - demand due within
  the lead time) is at or below the reorder point, order the order quantity as many times as
  it takes to rise above it;
- **kanban**: a loop of N cards of one container each; a card scan orders one container,
  and no more containers can be on order than there are cards;
- **schedule**: the supplier receives a delivery schedule derived from the pearl chain beyond
  the frozen zone, per day or per shift, with cumulative quantities (as in a forecast message),
  extended by the forecast periods, marked as planning.

The demand a policy sees (``Situation``) is the reservations of the pearl chain's vehicles and,
beyond and between them, the customers' forecasts (``net_forecast``): each forecast period's
quantity is due at the period's start, less the chain demand that falls inside the period
(never below zero), so nothing is counted twice. A forecast of a finished part is demand
of its components too, by the bill of material (``explode_forecast``).

Purchase orders carry a confirmed delivery time; open ones feed the projection.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from jisflow.domain.errors import ConflictError, Problem, ProblemCollector, ValidationError
from jisflow.domain.forecast import Commitment, ForecastPeriod
from jisflow.domain.projection import Demand, Supply


class PolicyKind(str, enum.Enum):
    REORDER_POINT = "reorder_point"
    KANBAN = "kanban"
    SCHEDULE = "schedule"


class DemandSource(str, enum.Enum):
    """Where demand comes from: the pearl chain (the planned vehicles' reservations), the
    customers' forecasts (net of the chain, and their components by the bill of material), or
    both."""

    CHAIN = "chain"
    FORECAST = "forecast"
    BOTH = "both"

    @classmethod
    def of(cls, chain: bool, forecast: bool) -> DemandSource | None:
        """The source of a demand made of chain and/or forecast entries (None: of neither)."""
        if chain and forecast:
            return cls.BOTH
        return cls.CHAIN if chain else cls.FORECAST if forecast else None


class OrderState(str, enum.Enum):
    OPEN = "open"
    RECEIVED = "received"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Policy:
    item: str
    kind: PolicyKind
    supplier: str
    lead_time_minutes: int = 0
    reorder_point: int = 0
    order_quantity: int = 0
    kanban_cards: int = 0
    container_quantity: int = 0

    @property
    def lead_time(self) -> timedelta:
        return timedelta(minutes=self.lead_time_minutes)

    def problems(self) -> list:
        found = ProblemCollector()
        where = f"policy of {self.item}"
        if not self.supplier.strip():
            found.add(where, "names no supplier")
        for name in ("lead_time_minutes", "reorder_point", "order_quantity", "kanban_cards", "container_quantity"):
            if getattr(self, name) < 0:
                found.add(f"{where}.{name}", "must not be negative")
        if self.kind is PolicyKind.REORDER_POINT and self.order_quantity <= 0:
            found.add(f"{where}.order_quantity", "a reorder-point policy needs an order quantity above zero")
        if self.kind is PolicyKind.KANBAN and (self.kanban_cards <= 0 or self.container_quantity <= 0):
            found.add(where, "a kanban loop needs at least one card and a container quantity above zero")
        return found.problems


@dataclass
class PurchaseOrder:
    number: str
    item: str
    supplier: str
    quantity: int
    due_at: datetime
    created_at: datetime
    source: str = "manual"  # manual, reorder_point, kanban, schedule
    confirmed_at: datetime | None = None
    received: int = 0
    last_receipt_at: datetime | None = None
    state: OrderState = OrderState.OPEN

    @property
    def expected_at(self) -> datetime:
        """When the goods are expected: the supplier's confirmed time, else the due time."""
        return self.confirmed_at or self.due_at

    @property
    def open_quantity(self) -> int:
        return max(self.quantity - self.received, 0) if self.state is OrderState.OPEN else 0

    def supply(self) -> Supply | None:
        if not self.open_quantity:
            return None
        return Supply(self.item, self.expected_at, self.open_quantity, self.number)

    def receive(self, quantity: int, at: datetime) -> None:
        """Book a receipt against the order; it closes once the ordered quantity is in."""
        if self.state is not OrderState.OPEN:
            raise ConflictError(f"purchase order {self.number} is {self.state.value}; it takes no receipt")
        if quantity <= 0:
            raise ValidationError(f"a receipt on {self.number} needs a quantity above zero, not {quantity}")
        self.received += quantity
        self.last_receipt_at = at
        if self.received >= self.quantity:
            self.state = OrderState.RECEIVED


@dataclass(frozen=True)
class Proposal:
    """An order the policy proposes; ``demand`` tells where the demand it answers comes from
    (None: no demand, the stock alone is at or below the point, or a kanban card)."""

    item: str
    supplier: str
    quantity: int
    due_at: datetime
    source: PolicyKind
    reason: str
    demand: DemandSource | None = None


@dataclass(frozen=True)
class PhasedDemand:
    """One entry of an item's time-phased demand: a vehicle's reservation (source chain, firm)
    or what is left of a forecast period once the chain demand inside it is taken off (source
    forecast, due at the period's start, ``until`` the period's end)."""

    item: str
    need_time: datetime
    quantity: int
    source: DemandSource
    commitment: Commitment
    until: datetime

    @classmethod
    def of_period(cls, p: ForecastPeriod) -> PhasedDemand:
        return cls(p.item, p.start, p.quantity, DemandSource.FORECAST, p.commitment, p.end)


@dataclass(frozen=True)
class Situation:
    """What a policy looks at for one item: the chain's demand and, beyond it, the forecast's
    (already net of the chain)."""

    on_hand: int
    open_orders: tuple[PurchaseOrder, ...]
    demands: tuple[Demand, ...]  # in rank order
    forecast: tuple[PhasedDemand, ...] = ()  # by need time


def _reorder_point(policy: Policy, s: Situation, now: datetime) -> list[Proposal]:
    horizon = now + policy.lead_time
    chain = sum(d.quantity for d in s.demands if d.need_time <= horizon)
    forecast = sum(f.quantity for f in s.forecast if f.need_time <= horizon)
    position = s.on_hand + sum(o.open_quantity for o in s.open_orders) - chain - forecast
    if position > policy.reorder_point:
        return []
    times = (policy.reorder_point - position) // policy.order_quantity + 1
    source = DemandSource.of(chain > 0, forecast > 0)
    reason = f"position {position} at or below reorder point {policy.reorder_point}"
    if source is not None:
        reason += f"; demand within the lead time: {chain} from the chain, {forecast} from the forecast"
    return [Proposal(policy.item, policy.supplier, times * policy.order_quantity, horizon, PolicyKind.REORDER_POINT, reason, source)]


def _kanban(policy: Policy, s: Situation, now: datetime) -> list[Proposal]:
    """Kanban orders come from card scans, not from planning: nothing to propose."""
    return []


def _schedule(policy: Policy, s: Situation, now: datetime) -> list[Proposal]:
    """A scheduled supplier delivers to the schedule it receives: no orders to propose."""
    return []


PLANNERS: dict[PolicyKind, Callable[[Policy, Situation, datetime], list[Proposal]]] = {
    PolicyKind.REORDER_POINT: _reorder_point,
    PolicyKind.KANBAN: _kanban,
    PolicyKind.SCHEDULE: _schedule,
}


def plan(policies: Iterable[Policy], situations: Mapping[str, Situation], now: datetime) -> list[Proposal]:
    """Every order the items' policies propose now."""
    empty = Situation(0, (), ())
    proposals: list[Proposal] = []
    for policy in sorted(policies, key=lambda p: p.item):
        proposals.extend(PLANNERS[policy.kind](policy, situations.get(policy.item, empty), now))
    return proposals


def _period_order(p: ForecastPeriod) -> tuple:
    return (p.item, p.start, p.end, p.partner)


def net_forecast(chain: Iterable[Demand], periods: Iterable[ForecastPeriod], now: datetime) -> list[ForecastPeriod]:
    """The forecast periods not over by ``now``, each less the chain demand of its part that
    falls inside it (``start <= need < end``), never below zero; the periods left with nothing
    are dropped.

    For one customer's periods of a part (which do not overlap) this is, per period,
    ``max(0, forecast - chain inside)``. Where periods of several customers of a part overlap,
    a chain demand is taken off the period that starts first (then the shorter, then by
    customer) and only what is left of it off the next one, so no chain demand is taken off
    twice."""
    live = sorted((p for p in periods if p.end > now), key=_period_order)
    left = [p.quantity for p in live]
    of_item: dict[str, list[int]] = {}
    for n, p in enumerate(live):
        of_item.setdefault(p.item, []).append(n)
    for d in sorted(chain, key=lambda d: d.rank):
        rest = d.quantity
        for n in of_item.get(d.item, ()):
            if rest <= 0:
                break
            p = live[n]
            if p.start <= d.need_time < p.end and left[n] > 0:
                taken = min(rest, left[n])
                left[n] -= taken
                rest -= taken
    return [replace(p, quantity=left[n]) for n, p in enumerate(live) if left[n] > 0]


def explode_forecast(periods: Iterable[ForecastPeriod], bom: Iterable[BomLine]) -> tuple[list[ForecastPeriod], list[Problem]]:
    """The forecast periods of the components of the forecast parts by the bill of material,
    level by level: a component's period is its part's period times the component quantity,
    due at the same start. A component that names vehicle options (``COVER-{trim}``) cannot be
    told from a forecast, which names no vehicle: it is left out and reported as a problem, once.
    A bill of material that runs in a circle is refused (ValidationError naming the circle)."""
    by_parent: dict[str, list[BomLine]] = {}
    for b in bom:
        by_parent.setdefault(b.parent, []).append(b)
    unresolved: dict[tuple[str, str], Problem] = {}
    out: list[ForecastPeriod] = []
    todo = [(p, (p.item,)) for p in periods]
    while todo:
        period, path = todo.pop()
        for b in by_parent.get(period.item, ()):
            fields = b.fields()
            if fields:
                unresolved.setdefault((b.parent, b.component), Problem(
                    f"bill of material of {b.parent}", f"component {b.component} names vehicle option(s) {', '.join(fields)}, which a forecast does not give"))
                continue
            if b.component in path:
                raise ValidationError(f"the bill of material runs in a circle: {' > '.join((*path, b.component))}")
            child = ForecastPeriod(b.component, period.start, period.end, period.quantity * b.quantity, period.commitment, period.partner)
            out.append(child)
            todo.append((child, (*path, b.component)))
    return sorted(out, key=_period_order), [unresolved[k] for k in sorted(unresolved)]


def scan_card(policy: Policy, open_orders: Iterable[PurchaseOrder], now: datetime) -> Proposal:
    """An empty container's card was scanned: order one container, unless every card of the
    loop is already on order."""
    if policy.kind is not PolicyKind.KANBAN:
        raise ConflictError(f"{policy.item} is not replenished by kanban (its policy is {policy.kind.value})")
    out = sum(1 for o in open_orders if o.source == PolicyKind.KANBAN.value and o.state is OrderState.OPEN)
    if out >= policy.kanban_cards:
        raise ConflictError(f"every one of the {policy.kanban_cards} kanban cards of {policy.item} is already on order")
    return Proposal(policy.item, policy.supplier, policy.container_quantity, now + policy.lead_time, PolicyKind.KANBAN, "card scanned")


@dataclass(frozen=True)
class ScheduleLine:
    """One bucket of a delivery schedule: the quantity due in [start, end) and the cumulative
    quantity since the schedule's start; ``planning`` is the part of the quantity that comes
    from forecasts (a bucket with any of it is planning, not firm)."""

    item: str
    start: datetime
    end: datetime
    quantity: int
    cumulative: int
    planning: int = 0

    @property
    def commitment(self) -> Commitment:
        return Commitment.PLANNING if self.planning else Commitment.FIRM


def delivery_schedule(item: str, demands: Iterable[Demand], after: datetime, bucket: timedelta, lead_time: timedelta = timedelta(0),
                      forecast: Iterable[PhasedDemand] = ()) -> list[ScheduleLine]:
    """Gross demand of ``item`` needed after ``after`` (the end of the frozen zone), due
    ``lead_time`` before the need, in buckets of ``bucket`` (a day, a shift) aligned to
    midnight UTC; empty buckets between two busy ones are kept so the cumulative line reads
    without holes.

    ``forecast`` (net of the chain, see ``net_forecast``) extends the schedule past the chain:
    each entry is due at its period's start, or at ``after`` when the period is already running
    then; its quantity is planning."""
    if bucket <= timedelta(0):
        raise ValidationError(f"a schedule bucket must be longer than zero, not {bucket}")
    counts: dict[datetime, list[int]] = {}

    def add(need: datetime, quantity: int, planning: int) -> None:
        due = need - lead_time
        midnight = due.replace(hour=0, minute=0, second=0, microsecond=0)
        tally = counts.setdefault(midnight + bucket * ((due - midnight) // bucket), [0, 0])
        tally[0] += quantity
        tally[1] += planning

    for d in demands:
        if d.item == item and d.need_time > after:
            add(d.need_time, d.quantity, 0)
    for f in forecast:
        if f.item == item and f.until > after:
            add(max(f.need_time, after), f.quantity, f.quantity if f.source is not DemandSource.CHAIN else 0)
    if not counts:
        return []
    lines, cumulative, start, last = [], 0, min(counts), max(counts)
    while start <= last:
        quantity, planning = counts.get(start, (0, 0))
        cumulative += quantity
        lines.append(ScheduleLine(item, start, start + bucket, quantity, cumulative, planning))
        start += bucket
    return lines


@dataclass(frozen=True)
class BomLine:
    """A component of a JIS part: ``component`` may name vehicle options, as in
    ``COVER-{trim}-{colour}``."""

    parent: str
    component: str
    quantity: int
    supplier: str

    def fields(self) -> list[str]:
        return [name for _, name, _, _ in string.Formatter().parse(self.component) if name]


@dataclass(frozen=True)
class ForwardedDemand:
    component: str
    supplier: str
    quantity: int
    need_time: datetime
    line: str
    order_id: str
    seq_no: int
    parent: str


def forward(demands: Iterable[tuple[Demand, Mapping[str, str]]], bom: Iterable[BomLine], lead_time: timedelta = timedelta(0)) -> list[ForwardedDemand]:
    """The component demand of each (demand line, vehicle options), due ``lead_time`` before
    the part's need: what a JIS supplier forwards to its own sub-suppliers. Every vehicle whose
    options do not name a component is reported at once."""
    by_parent: dict[str, list[BomLine]] = {}
    for b in bom:
        by_parent.setdefault(b.parent, []).append(b)
    found = ProblemCollector()
    result: list[ForwardedDemand] = []
    for demand, options in demands:
        for b in by_parent.get(demand.item, ()):
            missing = [f for f in b.fields() if f not in options]
            if missing:
                found.add(f"vehicle {demand.order_id}", f"component {b.component} of {b.parent} needs option(s) {', '.join(missing)}")
                continue
            result.append(
                ForwardedDemand(b.component.format_map(dict(options)), b.supplier, b.quantity * demand.quantity,
                                demand.need_time - lead_time, demand.line, demand.order_id, demand.seq_no, b.parent)
            )
    found.raise_if_any(f"{len(found.problems)} component(s) cannot be determined")
    return result


@dataclass(frozen=True)
class SupplierPerformance:
    supplier: str
    orders: int  # orders fully received
    on_time: int  # ... by their confirmed (or due) time
    exact: int  # ... with exactly the ordered quantity

    @property
    def on_time_rate(self) -> Decimal | None:
        return Decimal(self.on_time) / self.orders if self.orders else None

    @property
    def quantity_accuracy(self) -> Decimal | None:
        return Decimal(self.exact) / self.orders if self.orders else None


def supplier_performance(orders: Iterable[PurchaseOrder]) -> dict[str, SupplierPerformance]:
    """On-time rate and quantity accuracy per supplier, over the orders fully received."""
    tally: dict[str, list[int]] = {}
    for o in orders:
        if o.state is not OrderState.RECEIVED or o.last_receipt_at is None:
            continue
        t = tally.setdefault(o.supplier, [0, 0, 0])
        t[0] += 1
        t[1] += o.last_receipt_at <= o.expected_at
        t[2] += o.received == o.quantity
    return {s: SupplierPerformance(s, *t) for s, t in sorted(tally.items())}

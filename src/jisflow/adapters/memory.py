"""In-memory implementations of every port: for service tests and fast simulation.

They keep the semantics of the SQL adapters: repositories hand out copies, changes are staged
and applied to the shared store only on commit, so a command that fails changes nothing.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from jisflow.domain.alerts import Alert
from jisflow.domain.calloff import CallOff, CallOffLine, SummarizedCall
from jisflow.domain.errors import NotFound
from jisflow.domain.plant import Line, Plant
from jisflow.domain.sequence import ChainEntry, LineFeedState, PearlChain, SequenceChange, VehicleStatus
from jisflow.adapters.memory_execution import ExecutionState, MemoryExecutionRepository
from jisflow.adapters.memory_inventory import InventoryState, MemoryInventoryRepository, MemoryPurchasingRepository
from jisflow.services import unit_of_work as ports
from jisflow.services.audit import AuditEntry, AuditLog, AuditPage


@dataclass
class MemoryStore:
    """The committed state shared by all in-memory units of work."""

    plants: dict[str, tuple[Plant, dict[str, Any]]] = field(default_factory=dict)
    entries: dict[str, dict[str, ChainEntry]] = field(default_factory=dict)  # line -> order id -> entry
    unsettled: dict[str, set[str]] = field(default_factory=dict)  # line -> order ids of entries not broadcast
    feeds: dict[str, LineFeedState] = field(default_factory=dict)
    changes: list[SequenceChange] = field(default_factory=list)
    calloffs: dict[str, CallOff] = field(default_factory=dict)
    calloffs_of_vehicle: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (line, order) -> numbers
    lines_in_state: dict[Any, dict[int, CallOffLine]] = field(default_factory=dict)  # state -> line id -> line
    calls: dict[tuple, SummarizedCall] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    outbox: list[ports.OutboxMessage] = field(default_factory=list)
    outbox_unpublished: dict[int, int] = field(default_factory=dict)  # message id -> index in outbox, oldest first
    inbox: dict[str, datetime] = field(default_factory=dict)
    inventory: InventoryState = field(default_factory=InventoryState)
    execution: ExecutionState = field(default_factory=ExecutionState)
    audit: list[AuditEntry] = field(default_factory=list)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))


class _Staged:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.ops: list = []
        self.pending: dict[str, dict] = {}  # what the transaction wrote that its own reads must see

    def stage(self, op) -> None:
        self.ops.append(op)

    def clear(self) -> None:
        self.ops.clear()
        self.pending.clear()


class MemoryPlantRepository(ports.PlantRepository):
    def __init__(self, staged: _Staged) -> None:
        self._s = staged

    def put(self, plant: Plant, definition: dict[str, Any], at: datetime) -> None:
        self._s.stage(lambda st: st.plants.__setitem__(plant.code, (plant, copy.deepcopy(definition))))

    def get(self, code: str) -> Plant:
        try:
            return self._s.store.plants[code][0]
        except KeyError:
            raise NotFound(f"no plant {code!r}; load its definition first") from None

    def of_line(self, line_code: str) -> Plant:
        for plant, _ in self._s.store.plants.values():
            if any(line.code == line_code for line in plant.lines):
                return plant
        raise NotFound(f"no line {line_code!r} in any loaded plant")

    def list(self) -> list[Plant]:
        return [p for p, _ in sorted(self._s.store.plants.values(), key=lambda pd: pd[0].code)]


def _copy_entry(entry: ChainEntry) -> ChainEntry:
    """A private copy of a chain entry (much cheaper than deepcopy on a hot path). The vehicle
    is shared: a vehicle is never changed in place (a spec change makes a new one)."""
    new = object.__new__(ChainEntry)
    new.__dict__.update(entry.__dict__)
    return new


class MemoryChainRepository(ports.ChainRepository):
    def __init__(self, staged: _Staged) -> None:
        self._s = staged

    def get(self, line: Line) -> PearlChain:
        # A broadcast entry is history: the chain changes only planned entries (and the one it
        # broadcasts), so broadcast entries are handed out as they are stored, the rest copied.
        saved = self._s.pending.get("chains", {}).get(line.code)
        if saved is not None:  # saved in this transaction: as the transaction sees it
            return saved
        store = self._s.store
        by_order = dict(store.entries.get(line.code, {}))
        for order_id in store.unsettled.get(line.code, ()):
            by_order[order_id] = _copy_entry(by_order[order_id])
        planned = sorted((by_order[o] for o in store.unsettled.get(line.code, ()) if by_order[o].status is VehicleStatus.PLANNED), key=lambda e: e.seq_no)
        feed = replace(store.feeds.get(line.code, LineFeedState()))
        return PearlChain.restore(line, by_order, planned, feed)

    def save(self, chain: PearlChain) -> None:
        dirty = [_copy_entry(e) for e in chain.dirty.values()]
        feed = replace(chain.feed)
        changes = list(chain.changes)

        def apply(st: MemoryStore) -> None:
            line_entries = st.entries.setdefault(chain.line_code, {})
            unsettled = st.unsettled.setdefault(chain.line_code, set())
            for entry in dirty:
                if entry.id is None:
                    entry.id = next(st.ids)
                line_entries[entry.order_id] = entry
                if entry.status is VehicleStatus.BROADCAST:
                    unsettled.discard(entry.order_id)
                else:
                    unsettled.add(entry.order_id)
            st.feeds[chain.line_code] = feed
            st.changes.extend(changes)

        self._s.stage(apply)
        self._s.pending.setdefault("chains", {})[chain.line_code] = chain
        chain.dirty.clear()
        chain.changes.clear()
        chain.feed_dirty = False

    def changes(self, line_code: str, after: int = 0, limit: int | None = None) -> list[tuple[int, SequenceChange]]:
        found = [(i, ch) for i, ch in enumerate(self._s.store.changes, start=1) if i > after and ch.line == line_code]
        return found if limit is None else found[:limit]


def _copy_line(line: CallOffLine) -> CallOffLine:
    """A private copy of a call-off line: every field but the event list is immutable, so a
    shallow copy of its fields with a new event list will do (no ``__init__`` on a hot path)."""
    new = object.__new__(CallOffLine)
    new.__dict__.update(line.__dict__)
    new.events = []
    return new


class MemoryCallOffRepository(ports.CallOffRepository):
    def __init__(self, staged: _Staged) -> None:
        self._s = staged

    def add(self, calloff: CallOff) -> None:
        snapshot = copy.deepcopy(calloff)

        def apply(st: MemoryStore) -> None:
            for old in st.calloffs[snapshot.number].lines if snapshot.number in st.calloffs else ():
                st.lines_in_state.get(old.state, {}).pop(old.id, None)  # type: ignore[arg-type]
            for line in snapshot.lines:
                line.id = next(st.ids)
                line.events = []
                st.calloffs_of_vehicle.setdefault((line.line, line.order_id), set()).add(snapshot.number)
                st.lines_in_state.setdefault(line.state, {})[line.id] = line
            st.calloffs[snapshot.number] = snapshot

        self._s.stage(apply)

    def get(self, number: str) -> CallOff:
        try:
            calloff = self._s.store.calloffs[number]
        except KeyError:
            raise NotFound(f"no call-off {number!r}") from None
        return replace(calloff, lines=[_copy_line(ln) for ln in calloff.lines])

    def _all_lines(self) -> Iterable[CallOffLine]:
        for calloff in self._s.store.calloffs.values():
            yield from calloff.lines

    def live_lines_for(self, line: str, order_ids: Iterable[str]) -> dict[tuple[str, str], CallOffLine]:
        store = self._s.store
        wanted = set(order_ids)
        numbers = set().union(*(store.calloffs_of_vehicle.get((line, o), ()) for o in wanted)) if wanted else set()
        return {
            (ln.order_id, ln.family): _copy_line(ln)
            for number in numbers
            for ln in store.calloffs[number].lines
            if ln.line == line and ln.order_id in wanted and ln.live
        }

    def save_lines(self, lines: Iterable[CallOffLine]) -> None:
        snapshot = [_copy_line(ln) for ln in lines]

        def apply(st: MemoryStore) -> None:
            for new in snapshot:
                calloff = st.calloffs[new.number]
                for old in calloff.lines:
                    if old.id == new.id:
                        st.lines_in_state.get(old.state, {}).pop(old.id, None)
                st.lines_in_state.setdefault(new.state, {})[new.id] = new  # type: ignore[index]
                calloff.lines = [new if old.id == new.id else old for old in calloff.lines]

        self._s.stage(apply)

    def lines(self, where: ports.CallOffLineFilter) -> list[CallOffLine]:
        if where.states:  # only the lines in those states, from the index
            index = self._s.store.lines_in_state
            candidates: Iterable[CallOffLine] = [ln for state in dict.fromkeys(where.states) for ln in index.get(state, {}).values()]
        else:
            candidates = self._all_lines()
        found = [
            _copy_line(ln)
            for ln in candidates
            if (where.line is None or ln.line == where.line)
            and (where.supplier is None or ln.supplier == where.supplier)
            and (not where.states or ln.state in where.states)
            and (where.number is None or ln.number == where.number)
            and (where.order_id is None or ln.order_id == where.order_id)
            and (where.after is None or (ln.line, ln.seq_no, ln.family, ln.id or 0) > where.after)
        ]
        found.sort(key=lambda ln: (ln.line, ln.seq_no, ln.family, ln.id or 0))
        return found[: where.limit] if where.limit else found

    def count_by_supplier_and_state(self, line: str | None = None) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for ln in self._all_lines():
            if line is None or ln.line == line:
                key = (ln.supplier, ln.state.value)
                counts[key] = counts.get(key, 0) + 1
        return counts


class MemorySummarizedCallRepository(ports.SummarizedCallRepository):
    def __init__(self, staged: _Staged) -> None:
        self._s = staged

    def find(self, line: str, family: str, part_number: str, window_start: datetime) -> SummarizedCall | None:
        call = self._s.store.calls.get((line, family, part_number, window_start))
        return copy.deepcopy(call) if call is not None else None

    def counting(self, line: str, order_ids: Iterable[str]) -> dict[str, list[SummarizedCall]]:
        wanted = set(order_ids)
        result: dict[str, list[SummarizedCall]] = {}
        for call in self._s.store.calls.values():
            if call.line != line:
                continue
            for order_id in wanted & call.contributions.keys():
                result.setdefault(order_id, []).append(copy.deepcopy(call))
        return result

    def save(self, calls: Iterable[SummarizedCall]) -> None:
        snapshot = [replace(copy.deepcopy(c), events=[]) for c in calls]

        def apply(st: MemoryStore) -> None:
            for call in snapshot:
                if call.id is None:
                    call.id = next(st.ids)
                st.calls[call.key] = call

        self._s.stage(apply)

    def list(self, line: str | None = None, supplier: str | None = None) -> list[SummarizedCall]:
        calls = [
            copy.deepcopy(c)
            for c in self._s.store.calls.values()
            if (line is None or c.line == line) and (supplier is None or c.supplier == supplier)
        ]
        return sorted(calls, key=lambda c: (c.line, c.window_start, c.family, c.part_number))

    def deliver(self, line: str, family: str, part_number: str, window_start: datetime, quantity: int) -> SummarizedCall:
        key = (line, family, part_number, window_start)
        call = self._s.store.calls.get(key)
        if call is None:
            raise NotFound(f"no summarized call of {part_number} ({family}) on line {line} for the window from {window_start.isoformat()}")
        self._s.stage(lambda st: setattr(st.calls[key], "delivered", st.calls[key].delivered + quantity))
        return replace(copy.deepcopy(call), delivered=call.delivered + quantity, events=[])

    def open_for(self, part_numbers: Iterable[str]) -> list[SummarizedCall]:
        wanted = set(part_numbers)
        found = [copy.deepcopy(c) for c in self._s.store.calls.values() if c.part_number in wanted and c.open_quantity > 0]
        return sorted(found, key=lambda c: (c.window_start, c.line, c.family, c.part_number))


class MemoryAlertRepository(ports.AlertRepository):
    def __init__(self, staged: _Staged) -> None:
        self._s = staged

    def add(self, alert: Alert) -> None:
        snapshot = copy.deepcopy(alert)

        def apply(st: MemoryStore) -> None:
            snapshot.id = next(st.ids)
            alert.id = snapshot.id
            st.alerts.append(snapshot)

        self._s.stage(apply)

    def list(self, where: ports.AlertFilter) -> list[Alert]:
        found = [
            copy.deepcopy(a)
            for a in reversed(self._s.store.alerts)
            if (where.line is None or a.line == where.line)
            and (not where.kinds or a.kind in where.kinds)
            and (not where.open_only or a.acknowledged_at is None)
        ]
        return found[: where.limit] if where.limit else found

    def acknowledge(self, alert_id: int, by: str, at: datetime) -> Alert:
        for alert in self._s.store.alerts:
            if alert.id == alert_id:
                result = copy.deepcopy(alert)
                if result.acknowledged_at is None:
                    result.acknowledged_at, result.acknowledged_by = at, by

                    def apply(st: MemoryStore, target=alert) -> None:
                        target.acknowledged_at, target.acknowledged_by = at, by

                    self._s.stage(apply)
                return result
        raise NotFound(f"no alert {alert_id}")

    def count_by_kind(self, line: str | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        for a in self._s.store.alerts:
            if line is None or a.line == line:
                counts[a.kind.value] = counts.get(a.kind.value, 0) + 1
        return counts


class MemoryOutbox(ports.Outbox):
    def __init__(self, staged: _Staged) -> None:
        self._s = staged

    def add(self, topic: str, key: str, payload: dict[str, Any], at: datetime) -> None:
        body = copy.deepcopy(payload)

        def apply(st: MemoryStore) -> None:
            message = ports.OutboxMessage(next(st.ids), topic, key, body, at)
            st.outbox_unpublished[message.id] = len(st.outbox)
            st.outbox.append(message)

        self._s.stage(apply)

    def pending(self, limit: int = 100) -> list[ports.OutboxMessage]:
        st = self._s.store
        return [st.outbox[i] for i in itertools.islice(st.outbox_unpublished.values(), limit)]

    def mark_published(self, ids: Sequence[int], at: datetime) -> None:
        wanted = list(ids)

        def apply(st: MemoryStore) -> None:
            for message_id in wanted:
                i = st.outbox_unpublished.pop(message_id, None)
                if i is not None:
                    st.outbox[i] = replace(st.outbox[i], published_at=at)

        self._s.stage(apply)

    def mark_failed(self, ids: Sequence[int]) -> None:
        wanted = list(ids)

        def apply(st: MemoryStore) -> None:
            for message_id in wanted:
                i = st.outbox_unpublished.get(message_id)
                if i is not None:
                    st.outbox[i] = replace(st.outbox[i], attempts=st.outbox[i].attempts + 1)

        self._s.stage(apply)


class MemoryInbox(ports.InboxRegistry):
    def __init__(self, staged: _Staged) -> None:
        self._s = staged
        self._pending: set[str] = set()

    def seen(self, key: str) -> bool:
        return key in self._s.store.inbox or key in self._pending

    def add(self, key: str, at: datetime) -> None:
        self._pending.add(key)
        self._s.stage(lambda st: st.inbox.__setitem__(key, at))

    def claim(self, key: str, at: datetime) -> bool:
        if self.seen(key):
            return False
        self.add(key, at)
        return True


class MemoryAuditLog(AuditLog):
    def __init__(self, staged: _Staged) -> None:
        self._s = staged

    def append(self, entries: Iterable[AuditEntry]) -> None:
        entries = list(entries)

        def apply(st: MemoryStore) -> None:
            st.audit.extend(replace(e, id=len(st.audit) + i + 1) for i, e in enumerate(entries))

        self._s.stage(apply)

    def read(self, after_id: int = 0, limit: int = 100, actor: str | None = None, subject: str | None = None) -> AuditPage:
        found = [
            e for e in self._s.store.audit[after_id:]
            if (actor is None or e.actor == actor) and (subject is None or e.subject.startswith(subject))
        ]
        page = found[:limit]
        return AuditPage(page, page[-1].id if len(found) > limit else None)


class MemoryUnitOfWork(ports.AbstractUnitOfWork):
    def __init__(self, store: MemoryStore | None = None) -> None:
        super().__init__()
        self.store = store or MemoryStore()
        self.committed = 0
        self._begin()

    def _begin(self) -> None:
        self._staged = _Staged(self.store)
        self.plants = MemoryPlantRepository(self._staged)
        self.chains = MemoryChainRepository(self._staged)
        self.calloffs = MemoryCallOffRepository(self._staged)
        self.jit_calls = MemorySummarizedCallRepository(self._staged)
        self.alerts = MemoryAlertRepository(self._staged)
        self.outbox = MemoryOutbox(self._staged)
        self.inbox = MemoryInbox(self._staged)
        self.inventory = MemoryInventoryRepository(self._staged)
        self.purchasing = MemoryPurchasingRepository(self._staged)
        self.execution = MemoryExecutionRepository(self._staged)
        self.audit = MemoryAuditLog(self._staged)

    def __enter__(self) -> MemoryUnitOfWork:
        super().__enter__()
        self._begin()
        return self

    def _commit(self) -> None:
        for op in self._staged.ops:
            op(self.store)
        self._staged.clear()
        self.committed += 1

    def _rollback(self) -> None:
        self._staged.clear()

"""Ports of the service layer: the unit of work and the repositories it hands out.

One command runs in one unit of work (one transaction). Handlers hand the events they want
announced to ``uow.publish``: they are written to the outbox inside the same transaction and
delivered to the in-process handlers after commit. A *reaction* (``uow.reactions``) is the
other kind of handler: it runs inside the transaction that published the event, right before
it commits, so what it changes commits or rolls back with the event (the reservations follow
the pearl chain this way); what must wait for the commit it hands to ``on_commit``, and
commands to run after it to ``follow_ups``. Two implementations exist: the in-memory one
(``jisflow.adapters.memory``: tests and fast simulation) and the SQL one
(``jisflow.adapters.db.uow``: SQLite and PostgreSQL).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jisflow.domain.alerts import Alert, AlertKind
from jisflow.domain.calloff import CallOff, CallOffLine, CallOffState, CallWindow, StoredCalls, SummarizedCall
from jisflow.domain.events import Event
from jisflow.domain.plant import Line, Plant
from jisflow.domain.sequence import PearlChain, SequenceChange
from jisflow.services.audit import SYSTEM, AuditLog, entry_for
from jisflow.services.execution_ports import ExecutionRepository
from jisflow.services.inventory_ports import InventoryRepository, PurchasingRepository


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    topic: str
    key: str
    payload: dict[str, Any]
    created_at: datetime
    published_at: datetime | None = None
    attempts: int = 0


class PlantRepository(abc.ABC):
    @abc.abstractmethod
    def put(self, plant: Plant, definition: dict[str, Any], at: datetime) -> None:
        """Store (or replace) a plant with the validated definition it was built from."""

    @abc.abstractmethod
    def get(self, code: str) -> Plant:
        """The plant with this code; NotFound otherwise."""

    @abc.abstractmethod
    def of_line(self, line_code: str) -> Plant:
        """The plant that owns this line; NotFound otherwise."""

    @abc.abstractmethod
    def list(self) -> list[Plant]: ...


class ChainRepository(abc.ABC):
    @abc.abstractmethod
    def get(self, line: Line) -> PearlChain:
        """The pearl chain of the line with its feed state (empty when nothing was imported)."""

    def view(self, line: Line) -> PearlChain:
        """The line's chain as ``get`` gives it, to be read and never changed or saved: an
        adapter may hand out the objects it keeps between transactions."""
        return self.get(line)

    @abc.abstractmethod
    def save(self, chain: PearlChain) -> None:
        """Write back the chain's dirty entries, its feed state and its recorded changes."""

    @abc.abstractmethod
    def changes(self, line_code: str, after: int = 0, limit: int | None = None) -> list[tuple[int, SequenceChange]]:
        """The line's change log in the order of recording: (position, change) for the changes
        after position ``after``, at most ``limit`` of them."""


@dataclass(frozen=True)
class CallOffLineFilter:
    line: str | None = None
    supplier: str | None = None
    states: tuple[CallOffState, ...] = ()
    number: str | None = None
    order_id: str | None = None
    limit: int | None = None
    after: tuple[str, int, str, int] | None = None  # only lines after this (line, seq_no, family, id), in that order


class CallOffRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, calloff: CallOff) -> None: ...

    def add_all(self, calloffs: Sequence[CallOff]) -> None:
        """Add several call-offs; a store may write them at once."""
        for calloff in calloffs:
            self.add(calloff)

    @abc.abstractmethod
    def get(self, number: str) -> CallOff:
        """A call-off with all its lines; NotFound otherwise."""

    @abc.abstractmethod
    def live_lines_for(self, line: str, order_ids: Iterable[str]) -> dict[tuple[str, str], CallOffLine]:
        """The live (not cancelled) lines of these vehicles, by (order id, family)."""

    @abc.abstractmethod
    def save_lines(self, lines: Iterable[CallOffLine]) -> None: ...

    @abc.abstractmethod
    def lines(self, where: CallOffLineFilter) -> list[CallOffLine]:
        """Lines matching the filter, in (line, seq_no, family) order."""

    @abc.abstractmethod
    def count_by_supplier_and_state(self, line: str | None = None) -> dict[tuple[str, str], int]: ...


class SummarizedCallRepository(abc.ABC):
    @abc.abstractmethod
    def find(self, line: str, family: str, part_number: str, window_start: datetime) -> SummarizedCall | None: ...

    @abc.abstractmethod
    def counting(self, line: str, order_ids: Iterable[str]) -> dict[str, list[SummarizedCall]]:
        """For each vehicle, the summarized calls its quantity is counted in."""

    def gather(self, line: str, order_ids: Iterable[str], windows: Iterable[CallWindow]) -> StoredCalls:
        """What ``counting`` gives for these vehicles, and the stored call of each of these
        windows of the line (as ``find``); a store may read both at once."""
        found: dict[CallWindow, SummarizedCall] = {}
        for window in set(windows):
            call = self.find(line, *window)
            if call is not None:
                found[window] = call
        return StoredCalls(self.counting(line, order_ids), found)

    @abc.abstractmethod
    def save(self, calls: Iterable[SummarizedCall]) -> None: ...

    @abc.abstractmethod
    def list(self, line: str | None = None, supplier: str | None = None) -> list[SummarizedCall]: ...

    @abc.abstractmethod
    def deliver(self, line: str, family: str, part_number: str, window_start: datetime, quantity: int) -> SummarizedCall:
        """Count ``quantity`` more pieces received against the call (NotFound when there is no
        such call); the call as it then stands."""

    @abc.abstractmethod
    def open_for(self, part_numbers: Iterable[str]) -> list[SummarizedCall]:
        """The calls of these parts with pieces still to come, by window start."""


@dataclass(frozen=True)
class AlertFilter:
    line: str | None = None
    kinds: tuple[AlertKind, ...] = ()
    open_only: bool = False
    limit: int | None = None


class AlertRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, alert: Alert) -> None: ...

    @abc.abstractmethod
    def list(self, where: AlertFilter) -> list[Alert]:
        """Newest first."""

    @abc.abstractmethod
    def acknowledge(self, alert_id: int, by: str, at: datetime) -> Alert:
        """NotFound for an unknown id; acknowledging twice keeps the first acknowledgement."""

    @abc.abstractmethod
    def count_by_kind(self, line: str | None = None) -> dict[str, int]: ...


class Outbox(abc.ABC):
    @abc.abstractmethod
    def add(self, topic: str, key: str, payload: dict[str, Any], at: datetime) -> None: ...

    def add_all(self, messages: Sequence[tuple[str, str, dict[str, Any]]], at: datetime) -> None:
        """Add (topic, key, payload) messages in their order; a store may write them at once."""
        for topic, key, payload in messages:
            self.add(topic, key, payload, at)

    @abc.abstractmethod
    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        """Unpublished messages, oldest first."""

    @abc.abstractmethod
    def mark_published(self, ids: Sequence[int], at: datetime) -> None: ...

    @abc.abstractmethod
    def mark_failed(self, ids: Sequence[int]) -> None:
        """Count one more failed attempt for each message."""


class InboxRegistry(abc.ABC):
    """Keys of inbound messages already applied (idempotency)."""

    @abc.abstractmethod
    def seen(self, key: str) -> bool: ...

    @abc.abstractmethod
    def add(self, key: str, at: datetime) -> None: ...

    @abc.abstractmethod
    def claim(self, key: str, at: datetime) -> bool:
        """Register the key in one step: True when it is new (apply the message), False when it
        was registered before (a replay). Of two transactions claiming one key at the same
        time, the second waits for the first and gets False if the first commits."""


class AbstractUnitOfWork(abc.ABC):
    plants: PlantRepository
    chains: ChainRepository
    calloffs: CallOffRepository
    jit_calls: SummarizedCallRepository
    alerts: AlertRepository
    outbox: Outbox
    inbox: InboxRegistry
    inventory: InventoryRepository
    purchasing: PurchasingRepository
    execution: ExecutionRepository
    audit: AuditLog

    def __init__(self) -> None:
        self._published: list[Event] = []
        self._committed: list[Event] = []
        # event type -> reaction(events of the transaction, uow), run before each commit
        self.reactions: dict[type[Event], list[Reaction]] = {}
        self._on_commit: list[Callable[[], None]] = []
        self._follow_ups: list[Any] = []
        self.actor: str = SYSTEM  # who the changes are made for: recorded in the audit log
        self.tenant: str | None = None  # the one supplier whose rows the database shows (None: all)
        # the work may assume what its process kept in memory (checked before the commit; when
        # stale, ``StaleAssumption``): whoever runs it must then run it again, not assuming (the
        # message bus does, for a command's first run)
        self.assume_kept = False
        self.commits = 0  # transactions committed so far (the bus retries a command only before its first)

    def __enter__(self) -> AbstractUnitOfWork:
        self._published = []
        self._on_commit = []
        return self

    def __exit__(self, *args: object) -> None:
        self.rollback()

    def companion(self) -> AbstractUnitOfWork | None:
        """Another unit of work on the same store that may run transactions at the same time as
        this one (from another thread), or None when the store takes one at a time."""
        return None

    def issuing_state(self, line: str, order_ids: list[str], windows: set[CallWindow]) -> tuple[dict[tuple[str, str], CallOffLine], StoredCalls]:
        """What issuing for these vehicles starts from: their live call-off lines, and the
        summarized calls that count them or fall in ``windows`` (an adapter may read both in
        one go)."""
        return self.calloffs.live_lines_for(line, order_ids), self.jit_calls.gather(line, order_ids, windows)

    def publish(self, events: Iterable[Event], at: datetime) -> None:
        """Record events: into the outbox and the audit log now (same transaction), to the bus
        after commit."""
        entries, messages = [], []
        for event in events:
            payload = event.to_payload()
            messages.append((event.topic, _event_key(payload), payload))
            entries.append(entry_for(event.topic, payload, self.actor, at))
            self._published.append(event)
        if entries:
            self.outbox.add_all(messages, at)
            self.audit.append(entries)

    def collect_new_events(self) -> list[Event]:
        """Events of committed transactions not yet handed to the bus."""
        events, self._committed = self._committed, []
        return events

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the current transaction committed (never if it rolls back)."""
        self._on_commit.append(callback)

    def follow_up(self, command: Any) -> None:
        """Have the bus handle ``command`` once the current transaction committed."""
        self._on_commit.append(lambda: self._follow_ups.append(command))

    def collect_follow_ups(self) -> list[Any]:
        """Commands of committed transactions not yet handed to the bus."""
        commands, self._follow_ups = self._follow_ups, []
        return commands

    def _react(self) -> None:
        """Run the reactions to the events published in this transaction (and to those the
        reactions publish), each reaction once with all its events."""
        if not self.reactions:
            return
        done = 0
        while done < len(self._published):
            batch = self._published[done:]
            done = len(self._published)
            for event_type, reactions in self.reactions.items():
                events = [e for e in batch if isinstance(e, event_type)]
                for reaction in reactions if events else ():
                    reaction(events, self)

    def commit(self) -> None:
        self._react()
        self._commit()
        self.commits += 1
        self._committed.extend(self._published)
        self._published = []
        callbacks, self._on_commit = self._on_commit, []
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        """Undo everything since the last commit (a no-op after a commit)."""
        self._published = []
        self._on_commit = []
        self._rollback()

    @abc.abstractmethod
    def _commit(self) -> None: ...

    @abc.abstractmethod
    def _rollback(self) -> None: ...


Reaction = Callable[[list[Event], "AbstractUnitOfWork"], None]


def _event_key(payload: dict[str, Any]) -> str:
    """The ordering key of an event: its line (so order holds per line), else its plant."""
    return str(payload.get("line") or payload.get("plant") or "")

"""The one place where adapters are wired to the services."""

from __future__ import annotations

from dataclasses import dataclass

from jisflow.services import edi, execution, handlers, inventory, planning
from jisflow.services.clock import Clock, SystemClock
from jisflow.services.messagebus import MessageBus
from jisflow.services.outbox import MemoryPublisher, Publisher, RelayReport, relay_all
from jisflow.services.unit_of_work import AbstractUnitOfWork


# Every module of command handlers; each exports COMMAND_HANDLERS (command type -> handler).
HANDLER_MODULES = (handlers, edi, inventory, planning, execution)


def command_handlers() -> dict:
    registry: dict = {}
    for module in HANDLER_MODULES:
        clash = registry.keys() & module.COMMAND_HANDLERS.keys()
        if clash:
            raise RuntimeError(f"commands handled twice: {sorted(c.__name__ for c in clash)}")
        registry.update(module.COMMAND_HANDLERS)
    return registry


@dataclass
class App:
    """A wired jisflow: the bus for commands, the unit of work for queries, the relay."""

    bus: MessageBus
    uow: AbstractUnitOfWork
    clock: Clock
    publisher: Publisher
    batch_size: int = 100

    def relay(self) -> RelayReport:
        return relay_all(self.uow, self.publisher, self.clock, self.batch_size)

    def companions(self, count: int) -> list[App]:
        """This app and up to ``count - 1`` more, wired alike on the same store, clock and
        publisher, each with a unit of work of its own, so that as many threads can run
        commands and queries at once. A store that takes one transaction at a time (SQLite,
        memory) gives this app alone."""
        apps = [self]
        while len(apps) < count and (uow := self.uow.companion()) is not None:
            apps.append(bootstrap(uow, clock=self.clock, publisher=self.publisher, batch_size=self.batch_size))
        return apps


def bootstrap(
    uow: AbstractUnitOfWork | None = None,
    *,
    database_url: str | None = None,
    clock: Clock | None = None,
    publisher: Publisher | None = None,
    migrate: bool = False,
    batch_size: int = 100,
) -> App:
    """Wire jisflow. Without a unit of work, one on ``database_url`` (default: the settings'
    database) is made; ``migrate`` upgrades its schema first."""
    if uow is None:
        from jisflow.adapters.db.engine import make_engine
        from jisflow.adapters.db.uow import SqlUnitOfWork
        from jisflow.config import get_settings

        url = database_url or get_settings().database_url
        if migrate:
            from jisflow.adapters.db.migrate import upgrade

            upgrade(url)
        uow = SqlUnitOfWork(make_engine(url))
    clock = clock or SystemClock()
    publisher = publisher or MemoryPublisher()
    bus = MessageBus(uow, clock, command_handlers=command_handlers())
    # A module may also export EVENT_HANDLERS (event type -> handler(event, bus)), run after
    # commit, and REACTIONS (event type -> reaction(events, uow, clock)), run in the
    # transaction that publishes the events, before it commits.
    for module in HANDLER_MODULES:
        for event_type, handler in getattr(module, "EVENT_HANDLERS", {}).items():
            bus.subscribe(event_type, lambda event, handler=handler: handler(event, bus))
        for event_type, reaction in getattr(module, "REACTIONS", {}).items():
            uow.reactions.setdefault(event_type, []).append(lambda events, uow, reaction=reaction: reaction(events, uow, clock))
    return App(bus=bus, uow=uow, clock=clock, publisher=publisher, batch_size=batch_size)

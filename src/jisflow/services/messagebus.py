"""The message bus: runs a command's handler, then delivers the events its unit of work
committed to the in-process event handlers (after commit, never before)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from jisflow.domain.events import Event
from jisflow.services.clock import Clock
from jisflow.services.commands import Command
from jisflow.services.handlers import COMMAND_HANDLERS, Outcome

CommandHandler = Callable[..., Outcome]
from jisflow.services.unit_of_work import AbstractUnitOfWork

log = logging.getLogger(__name__)

EventHandler = Callable[[Event], Any]


class MessageBus:
    def __init__(
        self,
        uow: AbstractUnitOfWork,
        clock: Clock,
        event_handlers: dict[type[Event], list[EventHandler]] | None = None,
        command_handlers: dict[type[Command], CommandHandler] | None = None,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.command_handlers: dict[type[Command], CommandHandler] = dict(COMMAND_HANDLERS if command_handlers is None else command_handlers)
        self.event_handlers: dict[type[Event], list[EventHandler]] = {k: list(v) for k, v in (event_handlers or {}).items()}

    def subscribe(self, event_type: type[Event], handler: EventHandler) -> None:
        """Also call ``handler`` for every committed event of this type (and its subclasses)."""
        self.event_handlers.setdefault(event_type, []).append(handler)

    def handle(self, command: Command) -> Outcome:
        try:
            handler = self.command_handlers[type(command)]
        except KeyError:
            raise TypeError(f"no handler for command {type(command).__name__}") from None
        outcome = handler(command, self.uow, self.clock)
        self._deliver(self.uow.collect_new_events())
        return outcome

    def _deliver(self, events: list[Event]) -> None:
        for event in events:
            for event_type, handlers in self.event_handlers.items():
                if isinstance(event, event_type):
                    for handler in handlers:
                        try:
                            handler(event)
                        except Exception:  # an event handler must not undo a committed command
                            log.exception("event handler %r failed on %s", handler, type(event).__name__)

"""The message bus: runs a command's handler, then delivers the events its unit of work
committed to the in-process event handlers (after commit, never before), then handles the
follow-up commands the transaction's reactions asked for.

A command whose transaction lost a race with concurrent ones (``Contention``: serialization
failure, deadlock, lock timeout) was rolled back whole; the bus runs it again, after a
bounded, exponentially growing back-off with full jitter (``RetryPolicy``). This is the one
place where lost races are retried. A command is retried only while none of its transactions
committed; when the attempts run out, ``Contention`` reaches the caller (the API answers 503
with ``Retry-After``)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jisflow.domain.errors import Contention, StaleAssumption
from jisflow.domain.events import Event
from jisflow.services.clock import Clock
from jisflow.services.commands import Command
from jisflow.services.handlers import COMMAND_HANDLERS, Outcome

CommandHandler = Callable[..., Outcome]
from jisflow.services.unit_of_work import AbstractUnitOfWork

log = logging.getLogger(__name__)

EventHandler = Callable[[Event], Any]


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` runs of a command; before run n+1 a pause drawn uniformly from
    0 to ``min(cap, base * 2**n)`` seconds (full jitter, so racing workers spread out)."""

    attempts: int = 6
    base: float = 0.01
    cap: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[float, float], float] = random.uniform

    def pause(self, attempt: int) -> float:
        return self.jitter(0.0, min(self.cap, self.base * 2**attempt))


class MessageBus:
    def __init__(
        self,
        uow: AbstractUnitOfWork,
        clock: Clock,
        event_handlers: dict[type[Event], list[EventHandler]] | None = None,
        command_handlers: dict[type[Command], CommandHandler] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.command_handlers: dict[type[Command], CommandHandler] = dict(COMMAND_HANDLERS if command_handlers is None else command_handlers)
        self.event_handlers: dict[type[Event], list[EventHandler]] = {k: list(v) for k, v in (event_handlers or {}).items()}
        self.retry = retry or RetryPolicy()
        self.retried = 0  # runs of commands that lost a race and were run again
        self.reread = 0  # runs of commands that assumed stale state and were run again, reading

    def subscribe(self, event_type: type[Event], handler: EventHandler) -> None:
        """Also call ``handler`` for every committed event of this type (and its subclasses)."""
        self.event_handlers.setdefault(event_type, []).append(handler)

    def handle(self, command: Command) -> Outcome:
        try:
            handler = self.command_handlers[type(command)]
        except KeyError:
            raise TypeError(f"no handler for command {type(command).__name__}") from None
        assume = self.uow.assume_kept
        try:
            outcome = self._run(handler, command)
        finally:
            self.uow.assume_kept = assume
        self._deliver(self.uow.collect_new_events())
        for follow_up in self.uow.collect_follow_ups():
            try:
                self.handle(follow_up)
            except Exception:  # a follow-up must not undo the committed command
                log.exception("follow-up %s of %s failed", type(follow_up).__name__, type(command).__name__)
        return outcome

    def _run(self, handler: CommandHandler, command: Command) -> Outcome:
        """Run the command's handler, again while it loses races (with back-off) or finds an
        assumption stale (at once, then reading what it had assumed)."""
        attempt = 0
        while True:
            commits = self.uow.commits
            self.uow.assume_kept = attempt == 0
            try:
                return handler(command, self.uow, self.clock)
            except Contention as lost:
                attempt += 1
                if self.uow.commits != commits:  # part of it is in: running it again would apply that twice
                    raise
                if attempt >= self.retry.attempts:
                    raise Contention(
                        f"{type(command).__name__} lost {attempt} race(s) in a row with concurrent commands; nothing was applied, try again",
                        retry_after=lost.retry_after, problems=lost.problems,
                    ) from lost
                if isinstance(lost, StaleAssumption):
                    log.debug("%s assumed stale state (%s); running it again, reading", type(command).__name__, lost.message)
                    self.reread += 1
                    continue
                log.info("%s lost a race (%s); running it again, attempt %d", type(command).__name__, lost.message, attempt + 1)
                self.retried += 1
                self.retry.sleep(self.retry.pause(attempt - 1))

    def _deliver(self, events: list[Event]) -> None:
        for event in events:
            for event_type, handlers in self.event_handlers.items():
                if isinstance(event, event_type):
                    for handler in handlers:
                        try:
                            handler(event)
                        except Exception:  # an event handler must not undo a committed command
                            log.exception("event handler %r failed on %s", handler, type(event).__name__)

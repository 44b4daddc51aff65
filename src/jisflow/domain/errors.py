"""The one hierarchy of typed errors that jisflow raises for bad input or illegal requests.

Every error says what went wrong and where. A batch check collects every problem first and
raises one error that carries them all (``problems``), so a user fixes a file in one pass.

::

    JisflowError
    ├── ValidationError            bad input (a file, a row, a field); carries problems
    │   └── InvalidVin
    ├── NotFound                   an id that does not exist (plant, line, vehicle, call-off...)
    ├── ConflictError              the request clashes with what is there
    │   ├── DuplicateVehicle
    │   └── FrozenZoneViolation    a change inside the frozen zone without an override
    ├── CalendarError              a calendar with no working time where some is needed
    ├── ExplosionError             no variant rule or several rules match a vehicle
    ├── IllegalTransition          a call-off line state change the state machine forbids
    └── Contention                 the database could not serialize the command against
                                   concurrent ones (serialization failure, deadlock, lock
                                   timeout) even after retries; nothing was applied, try again
        └── StaleAssumption        what the process kept in memory had changed in the database;
                                   the message bus runs the command again at once, reading it
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what is wrong."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}" if self.where else self.what


class JisflowError(Exception):
    """Base of every error jisflow raises on purpose."""

    code = "jisflow_error"

    def __init__(self, message: str, *, problems: list[Problem] | None = None) -> None:
        self.message = message
        self.problems: list[Problem] = list(problems or [])
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class ValidationError(JisflowError, ValueError):
    code = "validation_error"


class InvalidVin(ValidationError):
    code = "invalid_vin"


class NotFound(JisflowError, LookupError):
    code = "not_found"


class ConflictError(JisflowError):
    code = "conflict"


class DuplicateVehicle(ConflictError):
    code = "duplicate_vehicle"


class FrozenZoneViolation(ConflictError):
    code = "frozen_zone_violation"


class CalendarError(JisflowError, ValueError):
    code = "calendar_error"


class ExplosionError(JisflowError):
    code = "explosion_error"


class IllegalTransition(JisflowError):
    code = "illegal_transition"


class Contention(JisflowError):
    """A transaction lost a race with concurrent ones and was rolled back: nothing of it was
    applied, and running it again may well succeed (``retry_after`` seconds from now)."""

    code = "contention"

    def __init__(self, message: str, *, retry_after: int = 1, problems: list[Problem] | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, problems=problems)


class StaleAssumption(Contention):
    """A transaction assumed what its process kept in memory (a plant, the item master, that a
    message is new) and the database, asked before the commit, said otherwise: nothing of it
    was applied; run it again without assuming (it then reads)."""

    code = "stale_assumption"


@dataclass
class ProblemCollector:
    """Collects problems during a batch check, then raises one error carrying them all."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.problems.append(Problem(where, what))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self, message: str, error: type[JisflowError] = ValidationError) -> None:
        if self.problems:
            raise error(message, problems=self.problems)


_ROW = re.compile(r"\brow \d+$")


def at(where: str, field: str) -> str:
    """The place of ``field`` inside ``where``: ``"day.csv, row 7"`` + ``vin`` gives
    ``"day.csv, row 7, column vin"``; ``"rows[3]"`` + ``vin`` gives ``"rows[3].vin"``."""
    if not where:
        return field
    return f"{where}, column {field}" if _ROW.search(where) else f"{where}.{field}"

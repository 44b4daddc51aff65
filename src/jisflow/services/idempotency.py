"""Idempotency of requests: a request sent again with the same ``Idempotency-Key`` gets the
first answer again instead of being applied twice.

A key belongs to its caller; it remembers a fingerprint of the request (method, path, body),
so the same key on a different request is refused rather than answered with an unrelated reply.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status_code: int
    body: Any


class IdempotencyStore(abc.ABC):
    @abc.abstractmethod
    def get(self, scope: str) -> StoredResponse | None: ...

    @abc.abstractmethod
    def put(self, scope: str, response: StoredResponse, at: datetime) -> None: ...

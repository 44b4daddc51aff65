"""Sends webhook requests over HTTP (httpx)."""

from __future__ import annotations

import httpx


class HttpSender:
    def __init__(self, timeout: float = 10.0) -> None:
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, url: str, headers: dict[str, str], body: bytes) -> int:
        return self._client.post(url, headers=headers, content=body).status_code

"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import pytest

from jisflow.entrypoints.cli import common


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps and truncates at 80 columns when not on a terminal; tables stay readable wider."""
    monkeypatch.setattr(common.console, "width", 250)
    monkeypatch.setattr(common.err_console, "width", 250)

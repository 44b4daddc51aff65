"""Shared pieces of the CLI: the wired app, typed errors printed plainly, time parsing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

import typer
from rich.console import Console

from jisflow.domain.errors import JisflowError

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(fn: F) -> F:
    """Print a typed error (what and where) in red and exit with status 1, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except JisflowError as exc:
            err_console.print(f"[bold red]error[/] ({exc.code}): {exc.message}", highlight=False)
            for problem in exc.problems:
                err_console.print(f"  - {problem}", highlight=False, markup=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def app_for(database_url: str | None):
    from jisflow.bootstrap import bootstrap

    return bootstrap(database_url=database_url)


def parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time (e.g. 2026-12-07T06:00:00+01:00)") from None
    if t.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no time zone: add Z or an offset such as +01:00")
    return t.astimezone(timezone.utc)


DbOption = typer.Option(None, "--db", envvar="JISFLOW_DATABASE_URL", help="Database URL (default: the settings' database_url, sqlite:///jisflow.db).")

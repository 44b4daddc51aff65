"""Running the command line in the end-to-end tests."""

from __future__ import annotations

from typer.testing import CliRunner

from jisflow.entrypoints.cli.main import app

runner = CliRunner()


def run(*args: str, exit_code: int = 0):
    """``jisflow ARGS`` in this process; its result, once its exit code is the one expected."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == exit_code, f"jisflow {' '.join(args)} -> {result.exit_code}\n{result.output}"
    return result

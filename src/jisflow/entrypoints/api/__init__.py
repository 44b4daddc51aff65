"""The HTTP API: ``create_app(app=None, settings=None)`` gives the FastAPI application."""

from jisflow.entrypoints.api.app import ApiSettings, create_app

__all__ = ["ApiSettings", "create_app"]

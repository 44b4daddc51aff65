"""The one typed settings object of jisflow, read from ``JISFLOW_*`` environment variables.

Nothing is read at import time: the entry point calls :func:`get_settings` once at start-up and
hands the values to the pieces it wires together.

=============================  ==========================  ==========================================
variable                       default                     meaning
=============================  ==========================  ==========================================
``JISFLOW_DATABASE_URL``       ``sqlite:///jisflow.db``    the system of record (SQLite or PostgreSQL)
``JISFLOW_LOG_LEVEL``          ``INFO``                    DEBUG, INFO, WARNING, ERROR or CRITICAL
``JISFLOW_DEMO_SPEED``         ``600``                     simulated seconds per real second (demo)
``JISFLOW_OUTBOX_BATCH_SIZE``  ``100``                     messages the outbox relay takes at a time
``JISFLOW_WEB_SECRET``         (random per process)        signs the control tower's session cookie
``JISFLOW_API_CONCURRENCY``    ``4``                       requests the API serves at once (PostgreSQL)
=============================  ==========================  ==========================================
"""

from __future__ import annotations

from typing import Literal

from pydantic import PositiveInt, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """Validated settings; a bad value fails at start-up with the variable's name."""

    model_config = SettingsConfigDict(env_prefix="JISFLOW_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///jisflow.db"
    log_level: LogLevel = "INFO"
    demo_speed: PositiveInt = 600
    outbox_batch_size: PositiveInt = 100
    web_secret: str | None = None
    api_concurrency: PositiveInt = 4

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


def get_settings() -> Settings:
    """Read the settings from the environment now."""
    return Settings()

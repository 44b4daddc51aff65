"""Process-wide settings of the long-running entrypoints (``jisflow serve``, ``jisflow worker``)."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Put every object alive now (modules, the wired application, what the start-up loaded)
    out of the garbage collector's reach, so that its full collections scan only what the
    process allocates from here on.

    A broadcast allocates tens of thousands of short-lived objects (the pearl chain, the
    reservations of its line); without this, the full collections they trigger walk the
    whole heap and stop the process for tens of milliseconds, several times a second under
    load (``benchmarks/ingest.py`` measures the broadcast path of a worker)."""
    gc.collect()
    gc.freeze()

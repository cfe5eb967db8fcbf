"""A one-line progress bar on stderr, shown only when stderr is a terminal.

Piped or redirected output (cron, tests, ``crm export > file``) stays clean.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

#: ``update(done, total)``: how far along, in the bar's unit.
Update = Callable[[int, int], None]


def terminal_bar(label: str, unit: str = "events", scale: int = 1) -> Update | None:
    """An updater drawing at most five times a second, or None off a terminal.
    Counts are shown divided by ``scale`` (bytes as MB: ``unit="MB", scale=10**6``)."""
    if not sys.stderr.isatty():
        return None
    started = time.perf_counter()
    last_drawn = 0.0
    ended = False

    def update(done: int, total: int) -> None:
        nonlocal last_drawn, ended
        now = time.perf_counter()
        finished = total > 0 and done >= total
        if ended or (not finished and now - last_drawn < 0.2):
            return
        last_drawn, ended = now, finished
        done, total = done // scale, total // scale
        elapsed = now - started
        rate = done / elapsed if elapsed > 0 else 0.0
        width = 30
        filled = min(width, int(width * done / total)) if total else width
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(f"\r{label} [{bar}] {done:,}/{total:,} {unit}, {rate:,.0f} {unit}/s")
        if finished:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return update

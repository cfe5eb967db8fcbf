"""The automation worker's clock: the wall clock, or in tests a file's.

Business hours, ``chat.waiting`` and ``window.closing`` depend on "now", so tests of a
running server need to move it. ``CRM_TEST_CLOCK_FILE`` names a file holding epoch
seconds; the worker reads it at each look. It cannot be switched on by accident in a
deployment: a server with it set refuses to start unless its Graph API is on the
loopback interface (the sandbox or a test's fake Graph server), never Meta's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from crm.config import Settings

#: Epoch seconds now.
Clock = Callable[[], float]
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class UnsafeTestClock(Exception):
    """``CRM_TEST_CLOCK_FILE`` is set on a server that talks to Meta."""


class FileClock:
    """Now, as a test wrote it into a file (the last good reading if it is mid-write)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last = time.time()

    def __call__(self) -> float:
        with contextlib.suppress(OSError, ValueError):
            self._last = float(self.path.read_text().strip())
        return self._last


def clock_for(settings: Settings) -> Clock:
    path = settings.test_clock_file
    if path is None:
        return time.time
    host = urlparse(settings.whatsapp_graph_url).hostname
    if host not in LOOPBACK:
        raise UnsafeTestClock(
            "CRM_TEST_CLOCK_FILE is for tests against a local Graph API only; unset it "
            f"(WHATSAPP_GRAPH_URL is {host})")
    return FileClock(path)

"""How long to wait before attempt ``n + 1``: the sender's and the media worker's retries."""

from __future__ import annotations

import random


def backoff(attempt: int, base: float, cap: float, *, jitter: bool = True) -> float:
    """``base`` doubled after each failed attempt, up to ``cap``. With jitter (half fixed,
    half random) retries of many messages spread out instead of arriving together."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2) if jitter else delay

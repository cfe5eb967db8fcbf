"""How fast one campaign queues: a token bucket at its rate, slowed by Meta's 130429.

In memory only: after a restart a campaign starts again at its rate, and the first
130429 slows it again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

#: After a 130429 the campaign waits this long (doubling per throttle in a row, up to
#: ``MAX_PAUSE``) and continues at half its rate, recovering 10 % a second.
FIRST_PAUSE = 0.5
MAX_PAUSE = 30.0


@dataclass
class Pace:
    rate: float
    tokens: float = 0.0
    factor: float = 1.0
    throttled: int = 0
    streak: int = 0
    resume_at: float = 0.0
    at: float = field(default_factory=time.monotonic)

    def observe(self, throttled: int, now: float) -> None:
        """The campaign's count of 130429s so far: a new one slows it down."""
        if throttled > self.throttled:
            self.throttled = throttled
            self.streak += 1
            self.factor = max(0.05, self.factor / 2)
            self.resume_at = now + min(MAX_PAUSE, FIRST_PAUSE * 2 ** (self.streak - 1))
            self.tokens = 0.0

    def take(self, now: float, most: int) -> int:
        """How many may be queued now (at most ``most``)."""
        elapsed = max(0.0, now - self.at)
        self.at = now
        if now < self.resume_at:
            return 0
        if self.factor < 1.0:
            self.factor = min(1.0, self.factor * 1.1 ** elapsed)
            if self.factor == 1.0:
                self.streak = 0
        rate = self.rate * self.factor
        self.tokens = min(max(1.0, rate / 4), self.tokens + rate * elapsed)
        granted = min(most, int(self.tokens))
        self.tokens -= granted
        return granted

    @property
    def effective_rate(self) -> float:
        return self.rate * self.factor

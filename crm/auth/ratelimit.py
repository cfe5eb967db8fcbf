"""At most ``LIMIT`` failed sign-ins per ``WINDOW`` seconds per name and per address.

Kept in the database so every worker process counts together. An attempt takes its
place in the count *before* the password is checked (inside one write transaction),
so concurrent guesses cannot slip past the limit; a successful attempt gives its
place back.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from crm.events import immediate

LIMIT = 10
WINDOW = 60.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS login_failures (
    key TEXT NOT NULL,
    at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_by_key ON login_failures(key, at);
"""


@dataclass(frozen=True)
class Attempt:
    """Either admitted (``ids`` of its places in the count) or refused for
    ``retry_after`` seconds."""

    ids: tuple[int, ...] = ()
    retry_after: float = 0.0

    @property
    def refused(self) -> bool:
        return not self.ids


def create_schema(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)


def keys_for(name: str, address: str | None) -> list[str]:
    return [f"name:{name[:64]}", f"address:{address or 'unknown'}"]


def begin_attempt(db: sqlite3.Connection, keys: list[str], now: float,
                  limit: int = LIMIT, window: float = WINDOW) -> Attempt:
    since = now - window
    with immediate(db):
        db.execute("DELETE FROM login_failures WHERE at <= ?", (since,))
        retry_after = 0.0
        for key in keys:
            count, oldest = db.execute(
                "SELECT count(*), min(at) FROM login_failures WHERE key = ? AND at > ?",
                (key, since),
            ).fetchone()
            if count >= limit:
                # Refused until enough of the failures in the window have aged out.
                nth = db.execute(
                    "SELECT at FROM login_failures WHERE key = ? AND at > ? "
                    "ORDER BY at DESC LIMIT 1 OFFSET ?",
                    (key, since, limit - 1),
                ).fetchone()
                retry_after = max(retry_after, (nth[0] if nth else oldest) + window - now)
        if retry_after > 0:
            return Attempt(retry_after=retry_after)
        ids = []
        for key in keys:
            cursor = db.execute("INSERT INTO login_failures (key, at) VALUES (?, ?)", (key, now))
            ids.append(int(cursor.lastrowid or 0))
    return Attempt(ids=tuple(ids))


def succeeded(db: sqlite3.Connection, attempt: Attempt) -> None:
    """The password was right: this attempt does not count as a failure."""
    if attempt.ids:
        marks = ",".join("?" * len(attempt.ids))
        db.execute(f"DELETE FROM login_failures WHERE rowid IN ({marks})", attempt.ids)

"""Failed sign-ins, counted per (name, address), per address and per name.

Kept in the database so every worker process counts together. An attempt takes its
place in the counts *before* the password is checked (inside one write transaction),
so concurrent guesses cannot slip past the limit; a successful attempt gives its
places back.

Refusals are aimed at the address that failed, so an attacker cannot lock anyone else
out: at most ``LIMIT`` failures per ``WINDOW`` for one name from one address, and at
most ``LIMIT`` for any names from one address. A name attacked from many addresses is
not refused to an address that has not failed for it (the right password from there
still signs in); those attempts are slowed down instead, the longer the more failures
the name has (``backoff``), which keeps a spread-out guessing campaign slow.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.events import Connection, immediate

LIMIT = 10
WINDOW = 60.0
#: The longest delay a name under attack adds to an attempt from a clean address.
BACKOFF_MAX = 8.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS login_failures (
    key TEXT NOT NULL,
    at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_by_key ON login_failures(key, at);
"""


@dataclass(frozen=True)
class Keys:
    """The three counts one attempt belongs to."""

    pair: str
    address: str
    name: str

    def all(self) -> tuple[str, str, str]:
        return (self.pair, self.address, self.name)


@dataclass(frozen=True)
class Attempt:
    """Either admitted (``ids`` of its places in the counts, to be checked after
    ``delay`` seconds) or refused for ``retry_after`` seconds."""

    ids: tuple[int, ...] = ()
    retry_after: float = 0.0
    delay: float = 0.0

    @property
    def refused(self) -> bool:
        return not self.ids


def create_schema(db: Connection) -> None:
    db.executescript(SCHEMA)


def keys_for(name: str, address: str | None) -> Keys:
    name, address = name[:64], address or "unknown"
    return Keys(pair=f"pair:{address}|{name}", address=f"address:{address}",
                name=f"name:{name}")


def backoff(failures: int, limit: int = LIMIT) -> float:
    """Seconds an attempt on a name with ``failures`` recent failures waits: nothing
    below the limit, then 1 s doubling with each failure, up to ``BACKOFF_MAX``."""
    if failures < limit:
        return 0.0
    return min(BACKOFF_MAX, 2.0 ** min(failures - limit, 16))


def _count(db: Connection, key: str, since: float) -> int:
    row = db.execute("SELECT count(*) FROM login_failures WHERE key = ? AND at > ?",
                     (key, since)).fetchone()
    return int(row[0])


def _free_at(db: Connection, key: str, since: float, limit: int, window: float) -> float:
    """When the count of ``key`` drops below ``limit`` again (its limit-th newest
    failure ages out)."""
    nth = db.execute(
        "SELECT at FROM login_failures WHERE key = ? AND at > ? "
        "ORDER BY at DESC LIMIT 1 OFFSET ?", (key, since, limit - 1)).fetchone()
    return float(nth[0]) + window if nth else since + window


def begin_attempt(db: Connection, keys: Keys, now: float,
                  limit: int = LIMIT, window: float = WINDOW) -> Attempt:
    since = now - window
    with immediate(db):
        db.execute("DELETE FROM login_failures WHERE at <= ?", (since,))
        pair, address, name = (_count(db, key, since) for key in keys.all())
        free_at = 0.0
        if pair >= limit:
            free_at = max(free_at, _free_at(db, keys.pair, since, limit, window))
        if address >= limit:
            free_at = max(free_at, _free_at(db, keys.address, since, limit, window))
        if name >= limit and pair > 0:
            # This address has failed for this name while the name is under attack.
            free_at = max(free_at, _free_at(db, keys.name, since, limit, window))
        if free_at > now:
            return Attempt(retry_after=free_at - now)
        ids = []
        for key in keys.all():
            cursor = db.execute("INSERT INTO login_failures (key, at) VALUES (?, ?)",
                                (key, now))
            ids.append(int(cursor.lastrowid or 0))
    return Attempt(ids=tuple(ids), delay=backoff(name, limit))


def succeeded(db: Connection, attempt: Attempt) -> None:
    """The password was right: this attempt does not count as a failure."""
    if attempt.ids:
        marks = ",".join("?" * len(attempt.ids))
        db.execute(f"DELETE FROM login_failures WHERE rowid IN ({marks})", attempt.ids)

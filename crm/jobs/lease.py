"""A named lease and checkpoint for continuous work: exactly one process does it (the
sender's sending, the media worker's fetching), and it knows where to start.

Several server workers share one SQLite file; each runs a ``Sender`` (and a media
worker) but only the holder of the lease does the work. The tables keep their first
user's name (``sender_lease``). The lease row is taken and renewed with ``BEGIN
IMMEDIATE`` (two processes can never both win), on the process's writer thread. A
holder that stops renewing loses the lease when it expires; one
known to be dead (same host, its process gone) loses it at once, so a restart after
a crash does not wait out the expiry.

The checkpoint is the holder's own (not the projections' ``checkpoints`` table, which
replay rewrites): every request at or before it is resolved.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from crm.events import Database, immediate

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS sender_lease (
    name    TEXT PRIMARY KEY,
    holder  TEXT NOT NULL,
    host    TEXT NOT NULL,
    pid     INTEGER NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sender_checkpoint (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
"""

TTL = 10.0
#: A holder renews this often; it stops sending once its lease is this close to expiry.
RENEW_EVERY = 2.0
MARGIN = 3.0
#: An idle holder's lease: renewed only when half of it is gone, so an idle server writes
#: (and fsyncs) once every few minutes, not every two seconds. Takeover stays quick where
#: it matters: a holder gives the lease up when it stops, and one whose process is gone
#: (same host) loses it at once; only a holder hung while idle keeps it this long.
IDLE_TTL = 600.0


def _alive(pid: int) -> bool:
    """Whether a process of this host still runs. A killed worker its parent has not
    reaped yet is a zombie: signal 0 still reaches it, yet it will never renew."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (not Linux), or it went away meanwhile
        return True
    state = stat.rsplit(")", 1)[-1].split()[:1]
    return state not in (["Z"], ["X"])


def try_acquire(conn: sqlite3.Connection, name: str, holder: str, host: str, pid: int,
                now: float, ttl: float = TTL) -> bool:
    """Take or renew the lease; False while another live holder's lease is valid."""
    with immediate(conn):
        row = conn.execute("SELECT holder, host, pid, expires FROM sender_lease WHERE name = ?",
                           (name,)).fetchone()
        if row is not None and row[0] != holder and row[3] > now:
            # Same host and our own pid (a container restarted) or no such process.
            dead = row[1] == host and (row[2] == pid or not _alive(row[2]))
            if not dead:
                return False
        conn.execute(
            "INSERT INTO sender_lease (name, holder, host, pid, expires) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, host = excluded.host, "
            "pid = excluded.pid, expires = excluded.expires",
            (name, holder, host, pid, now + ttl))
        return True


def renew(conn: sqlite3.Connection, name: str, holder: str, now: float,
          checkpoint: int | None, ttl: float = TTL) -> bool:
    """Extend our lease (and save the checkpoint with it); False if it is no longer ours."""
    with immediate(conn):
        held = conn.execute(
            "UPDATE sender_lease SET expires = ? WHERE name = ? AND holder = ?",
            (now + ttl, name, holder)).rowcount == 1
        if held and checkpoint is not None:
            conn.execute(
                "INSERT INTO sender_checkpoint (name, position) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET position = excluded.position",
                (name, checkpoint))
        return held


def create_schema(conn: sqlite3.Connection) -> None:
    """Statement by statement: ``executescript`` would commit the writer's transaction."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def checkpoint(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT position FROM sender_checkpoint WHERE name = ?",
                       (name,)).fetchone()
    return row[0] if row else 0


class Lease:
    """One process's view of the lease; its writes go through the process's writer."""

    def __init__(self, db: Database, name: str = "sender") -> None:
        self.name = name
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.holder = f"{self.host}:{self.pid}:{secrets.token_hex(6)}"
        self._db = db
        self._schema = False
        self._valid_until = 0.0
        self._resting = False

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        if not self._schema:
            await self._db.write(create_schema)
            self._schema = True
        return await self._db.write(fn, *args)

    def valid(self) -> bool:
        """Held, and far enough from expiry to start a request to Meta."""
        return time.monotonic() < self._valid_until

    async def acquire(self) -> bool:
        started = time.monotonic()
        won = await self._write(try_acquire, self.name, self.holder, self.host, self.pid,
                              time.time())
        self._valid_until = started + TTL - MARGIN if won else 0.0
        self._resting = False
        return won

    async def renew(self, position: int | None, *, idle: bool = False) -> bool:
        """Extend the lease: by ``TTL`` while there is work, by ``IDLE_TTL`` when
        ``idle`` (and then only once half of it is gone: no write at all meanwhile)."""
        started = time.monotonic()
        if idle and self._resting and started < self._valid_until - IDLE_TTL / 2:
            return True
        ttl = IDLE_TTL if idle else TTL
        held = await self._write(renew, self.name, self.holder, time.time(), position, ttl)
        self._valid_until = started + ttl - MARGIN if held else 0.0
        self._resting = idle and held
        return held

    async def checkpoint(self) -> int:
        return await self._write(checkpoint, self.name)

    async def release(self, position: int | None = None) -> None:
        """Save the checkpoint and give the lease up, so another process need not wait."""
        def _release(conn: sqlite3.Connection) -> None:
            if renew(conn, self.name, self.holder, time.time(), position, ttl=-1.0):
                conn.execute("DELETE FROM sender_lease WHERE name = ? AND holder = ?",
                             (self.name, self.holder))
        self._valid_until = 0.0
        self._resting = False
        await self._write(_release)

    def close(self) -> None:
        """Nothing of its own to close: the writer belongs to the process."""

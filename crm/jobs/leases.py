"""Deciding which server process does a job, through the shared database.

``--workers N`` runs N processes over one SQLite file. Two mechanisms, both a single
``BEGIN IMMEDIATE`` transaction, so two processes can never both win:

* a *lease* for continuous work (the media worker): held by one process, renewed
  while it lives, taken over by another once it has expired;
* a *tick* for periodic work (the customer sheet sync): whoever claims a due tick
  does the job and sets the next due time, whichever process that is.

Times are the wall clock of the one machine the processes share.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from collections.abc import Callable

SCHEMA = """
CREATE TABLE IF NOT EXISTS job_leases (
    name     TEXT PRIMARY KEY,
    holder   TEXT NOT NULL,
    expires  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS job_ticks (
    name     TEXT PRIMARY KEY,
    due      REAL NOT NULL
);
"""


def create_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def _immediate(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")


def dead_on_this_host(holder: str) -> bool:
    """Whether ``holder`` (``host:pid``) is a process of this machine that has exited:
    its lease need not run out before a restarted server takes over."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def acquire(conn: sqlite3.Connection, name: str, holder: str, ttl: float,
            now: float | None = None, dead: Callable[[str], bool] | None = None) -> bool:
    """Take or renew the lease ``name`` for ``ttl`` seconds; False while another
    holder's lease is still valid (unless ``dead(holder)`` says it has gone)."""
    now = time.time() if now is None else now
    _immediate(conn)
    try:
        row = conn.execute("SELECT holder, expires FROM job_leases WHERE name = ?",
                           (name,)).fetchone()
        if (row is not None and row[0] != holder and row[1] > now
                and not (dead is not None and dead(row[0]))):
            conn.execute("COMMIT")
            return False
        conn.execute(
            "INSERT INTO job_leases (name, holder, expires) VALUES (?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, "
            "expires = excluded.expires", (name, holder, now + ttl))
        conn.execute("COMMIT")
        return True
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def release(conn: sqlite3.Connection, name: str, holder: str) -> None:
    """Give the lease up at once (a clean shutdown), so another process need not wait."""
    conn.execute("DELETE FROM job_leases WHERE name = ? AND holder = ?", (name, holder))


def claim_tick(conn: sqlite3.Connection, name: str, interval: float,
               now: float | None = None) -> bool:
    """True for exactly one caller per ``interval``: the first to find the tick due."""
    now = time.time() if now is None else now
    _immediate(conn)
    try:
        row = conn.execute("SELECT due FROM job_ticks WHERE name = ?", (name,)).fetchone()
        # A due time beyond one interval away was set under a longer interval: due now.
        if row is not None and now < row[0] <= now + interval:
            conn.execute("COMMIT")
            return False
        conn.execute(
            "INSERT INTO job_ticks (name, due) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET due = excluded.due", (name, now + interval))
        conn.execute("COMMIT")
        return True
    except BaseException:
        conn.execute("ROLLBACK")
        raise

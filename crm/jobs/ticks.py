"""Deciding which server process does a periodic job, through the shared database.

``--workers N`` runs N processes over one SQLite file. For periodic work (the
customer sheet sync) each process checks a *tick*: whoever claims a due tick, in one
``BEGIN IMMEDIATE`` transaction, does the job and sets the next due time. So the job
runs once per interval for the deployment, a dead process never leaves it undone, and
there is no holder to take over from. (Continuous work, such as sending or fetching
media, uses the lease of ``crm.jobs.lease`` instead.)

Times are the wall clock of the one machine the processes share.
"""

from __future__ import annotations

import sqlite3
import time

from crm.events import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS job_ticks (
    name     TEXT PRIMARY KEY,
    due      REAL NOT NULL
);
"""


def create_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def claim_tick(conn: sqlite3.Connection, name: str, interval: float,
               now: float | None = None) -> bool:
    """True for exactly one caller per ``interval``: the first to find the tick due."""
    now = time.time() if now is None else now
    with immediate(conn):
        row = conn.execute("SELECT due FROM job_ticks WHERE name = ?", (name,)).fetchone()
        # A due time beyond one interval away was set under a longer interval: due now.
        if row is not None and now < row[0] <= now + interval:
            return False
        conn.execute(
            "INSERT INTO job_ticks (name, due) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET due = excluded.due", (name, now + interval))
        return True

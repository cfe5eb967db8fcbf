"""The ``checkpoints`` table: per projection, how far it has folded the log, with which
version of its code, and on how many events its handlers failed.

The version and the failures sit on the checkpoint row so that they change in the same
transaction as the rows they describe: a rebuild that records a new version has
rebuilt the tables, and a failure is counted exactly when the event it failed on is
folded (a rolled-back append counts nothing).
"""

from __future__ import annotations

import sqlite3
from typing import TypedDict

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    version  INTEGER NOT NULL DEFAULT 1,
    failures INTEGER NOT NULL DEFAULT 0
);
"""

#: Columns added since the first release, with what an existing row gets. The rows of
#: a database written before versions existed were written by version 1 of every
#: projection; the failures they met before counting began are not known (0).
_ADDED = (("version", "INTEGER NOT NULL DEFAULT 1"), ("failures", "INTEGER NOT NULL DEFAULT 0"))

COUNT_FAILURE = "UPDATE checkpoints SET failures = failures + 1 WHERE name = ?"


class Status(TypedDict):
    checkpoint: int
    version: int
    failures: int


def create(conn: sqlite3.Connection) -> None:
    """Create the table, or bring an older one up to date (outside a transaction)."""
    conn.executescript(SCHEMA)
    have = _columns(conn, "main")
    for column, declaration in _ADDED:
        if column not in have:
            conn.execute(f"ALTER TABLE checkpoints ADD COLUMN {column} {declaration}")


def _columns(conn: sqlite3.Connection, schema: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA {schema}.table_info(checkpoints)")}


def read(conn: sqlite3.Connection, schema: str = "main") -> dict[str, Status]:
    """Every checkpoint row, by projection name. A table not migrated yet (a database
    attached read-only) reads as version 1 with no failures counted."""
    have = _columns(conn, schema)
    version = "version" if "version" in have else "1"
    failures = "failures" if "failures" in have else "0"
    rows = conn.execute(
        f"SELECT name, position, {version}, {failures} FROM {schema}.checkpoints ORDER BY name"
    ).fetchall()
    return {name: Status(checkpoint=position, version=v, failures=f)
            for name, position, v, f in rows}


def projection_status(conn: sqlite3.Connection) -> dict[str, Status]:
    """``{name: {"checkpoint", "version", "failures"}}`` for ``/healthz``."""
    return read(conn)

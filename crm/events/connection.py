"""SQLite connections for the log, and the mapping of SQLite's errors to ours.

``synchronous=FULL``: an acknowledged event survives a power cut, not just a crash.
Readers are ``query_only``: the design is one writer per process, and a reader that
tried to write would be a bug, so it fails loudly instead of taking the write lock.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from crm.events.errors import (
    CorruptStoreError,
    DuplicateEventError,
    EventStoreError,
    ImmutableEventError,
    StoreUnavailableError,
)
from crm.events.schema import EVENTS_SCHEMA

BUSY_TIMEOUT_MS = 30_000

#: What the rest of crm sees of a database connection: the type, never the module.
Connection = sqlite3.Connection


def open_connection(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the pragmas every part of crm relies on."""
    try:
        if readonly:
            uri = f"file:{Path(path).resolve()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        else:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous=FULL")
    except sqlite3.Error as exc:
        raise translate(exc) from exc
    return conn


def open_reader(path: str | Path) -> sqlite3.Connection:
    """A read-write-capable file opened for reading only (``query_only``).

    Not ``mode=ro``: a read-only connection cannot create the WAL's shared memory file
    when it is the first to open the database after a restart.
    """
    conn = open_connection(path)
    conn.execute("PRAGMA query_only=1")
    return conn


def ensure_schema(conn: sqlite3.Connection) -> None:
    with translating():
        conn.executescript(EVENTS_SCHEMA)


def translate(exc: BaseException) -> BaseException:
    """SQLite's exception as one of ours; anything else unchanged."""
    if isinstance(exc, EventStoreError) or not isinstance(exc, sqlite3.Error):
        return exc
    text = str(exc)
    if isinstance(exc, sqlite3.IntegrityError):
        if "immutable" in text:
            return ImmutableEventError(text)
        if "UNIQUE" in text:
            return DuplicateEventError(text)
        return EventStoreError(text)
    if isinstance(exc, sqlite3.OperationalError):
        lowered = text.lower()
        if any(word in lowered for word in ("locked", "busy", "unable to open", "readonly",
                                             "read-only", "disk i/o", "attempt to write")):
            return StoreUnavailableError(text)
        return EventStoreError(text)
    if isinstance(exc, sqlite3.DatabaseError) and (
            "malformed" in text or "not a database" in text or "corrupt" in text):
        return CorruptStoreError(text)
    return EventStoreError(text)


@contextlib.contextmanager
def translating() -> Iterator[None]:
    """Re-raise SQLite's errors as the log's own classes."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc) from exc


@contextlib.contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction, unless one is open already (``Database.write`` opens one).

    Lets a function that must be atomic run both on the writer thread, inside the
    writer's transaction, and on a connection of its own (the CLI, a test).
    """
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")

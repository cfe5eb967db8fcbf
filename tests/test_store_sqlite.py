"""The SQLite backend (``EventStore``) against the store contract, plus what only a
file-backed store has (a path that cannot be opened)."""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm.events import EventStore, StoreUnavailableError
from crm.events.connection import translating
from tests.store_contract import RecorderContract, note

#: A repeated pattern, not random bytes: a damaged file fails the same way every run.
GARBAGE = b"\xde\xad\xbe\xef not a page of a database " * 512


class TestSqliteRecorder(RecorderContract):
    driver_errors = (sqlite3.Error,)

    def make_store(self, tmp_path: Path) -> EventStore:
        return EventStore(tmp_path / "crm.db")

    def open_another(self, store: EventStore) -> EventStore:  # type: ignore[override]
        return EventStore(store.path)

    def impatient(self, store: EventStore) -> EventStore:  # type: ignore[override]
        waiting = EventStore(store.path)
        waiting.conn.execute("PRAGMA busy_timeout=100")
        return waiting

    @contextlib.contextmanager
    def hold_write_lock(self, store: EventStore) -> Iterator[None]:  # type: ignore[override]
        holder = sqlite3.connect(store.path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
            holder.execute("ROLLBACK")
        finally:
            holder.close()

    def _raw(self, store: EventStore, sql: str) -> None:
        # A connection of its own, without crm's pragmas: the file itself refuses.
        raw = sqlite3.connect(store.path, isolation_level=None)
        try:
            with translating():
                raw.execute(sql)
        finally:
            raw.close()

    def tamper_update(self, store: EventStore) -> None:  # type: ignore[override]
        self._raw(store, "UPDATE events SET data = '{}' WHERE position = 1")

    def tamper_delete(self, store: EventStore) -> None:  # type: ignore[override]
        self._raw(store, "DELETE FROM events")

    def open_corrupt(self, tmp_path: Path, damage: str) -> EventStore:
        path = tmp_path / "crm.db"
        if damage == "garbage":
            path.write_bytes(GARBAGE)
            return EventStore(path)
        store = EventStore(path)
        store.record([note("x" * 200, i=i) for i in range(300)])
        page_size = store.conn.execute("PRAGMA page_size").fetchone()[0]
        store.close()  # the last connection: the WAL is folded into the file
        size = path.stat().st_size
        assert size > 4 * page_size and not Path(f"{path}-wal").exists()
        with path.open("r+b") as file:  # keep page 1 (the schema), ruin the rest
            file.seek(page_size)
            file.write((GARBAGE * (size // len(GARBAGE) + 1))[:size - page_size])
        return EventStore(path)

    def appender_command(self, store: EventStore, tag: str,  # type: ignore[override]
                         batches: int) -> list[str]:
        return [sys.executable, "-m", "tests.store_appender", "sqlite", str(store.path), tag,
                str(batches)]


def test_a_path_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError) as caught:
        EventStore(tmp_path / "no such folder" / "crm.db")
    assert not isinstance(caught.value, sqlite3.Error)
    with pytest.raises(StoreUnavailableError):
        EventStore(tmp_path)  # a folder, not a file

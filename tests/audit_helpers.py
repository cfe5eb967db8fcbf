"""A small but varied log for the audit tests, and the real ``crm`` CLI as a process."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from crm.events import EventStore, NewEvent
from crm.projections import default_projector
from tests.conftest import crm_env
from tests.factories import BASE_TIME, failed, queued, read, received, sent, status

ALICE = "85291234567"
BOB = "4915112345678"

#: Texts a spreadsheet would take for formulas, one inbound message each.
RISKY_TEXTS = ("=HYPERLINK(\"http://evil.example\",\"x\")", "+31 6 1234", "-2+3",
               "@SUM(A1:A2)", "\tcmd")


def open_store(db: Path) -> EventStore:
    projector = default_projector()
    store = EventStore(db, projector)
    projector.create_schema(store.conn)
    return store


def seed(db: Path) -> int:
    """Two conversations with every kind of message event; returns the last position."""
    store = open_store(db)
    try:
        store.record([received(ALICE, "hello 😀", wamid="w.a1", name="Zoë Ünal")])
        store.record([received(ALICE, text, wamid=f"w.risk{i}",
                               at=BASE_TIME + timedelta(minutes=i + 1))
                      for i, text in enumerate(RISKY_TEXTS)])
        store.record([received(ALICE, wamid="w.img", kind="image", caption="the invoice",
                               media={"id": "MEDIA1", "mime_type": "image/jpeg"},
                               at=BASE_TIME + timedelta(hours=1))])
        store.record([queued("m1", ALICE, text="thanks, on it"), sent("m1", "w.out1", ALICE),
                      status("w.out1", "delivered", ALICE), status("w.out1", "read", ALICE)])
        store.record([received(ALICE, wamid="w.react", kind="reaction",
                               reaction={"message_id": "w.out1", "emoji": "👍"})])
        store.record([received(BOB, "hallo", wamid="w.b1", name="Bob",
                               at=BASE_TIME + timedelta(days=1))])
        store.record([queued("m2", BOB, text="=cmd|' /C calc'!A0", agent="ben"),
                      failed("m2", BOB), read(ALICE)])
        # A type this version does not know, with values JSON makes hard to keep exact.
        store.record([NewEvent(type="custom.note", stream="misc",
                               data={"f": 1.5, "small": 1e-7, "big": 10 ** 20,
                                     "s": "ü\u2028\"\\", "nested": {"b": [1, None, True]}},
                               occurred_at=BASE_TIME + timedelta(days=2))])
        store.record([received(BOB, "later", wamid="w.b2", at=BASE_TIME + timedelta(days=3))])
        return store.last_position()
    finally:
        store.close()


def crm(data_dir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the real ``crm`` command on a data folder."""
    return subprocess.run([sys.executable, "-m", "crm.cli", *args], env=crm_env(data_dir),
                          cwd=str(data_dir.parent), capture_output=True, text=True,
                          timeout=timeout)


def events_rows(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT * FROM events ORDER BY position").fetchall()
    finally:
        conn.close()


def head_hash(db: Path) -> str:
    return events_rows(db)[-1][-1]


def jsonl(path: Path) -> list[dict]:
    """The events of a JSONL export; any Unicode line break inside is escaped, so
    ``splitlines`` is safe (a test of that as much as a helper)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

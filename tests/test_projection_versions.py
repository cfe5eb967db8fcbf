"""Projections as units: a new version is rebuilt from the log before serving, a
handler's failures are counted (and shown to agents in /healthz, and recomputed by
replay), and a handler cannot end the transaction it runs in."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crm.events import EventStore, NewEvent
from crm.events.customers import CustomerUpdated, customer_stream
from crm.projections import (
    PROJECTIONS,
    Projection,
    Projector,
    Transaction,
    chats,
    default_projector,
)
from crm.projections.chats import get_chat
from crm.projections.checkpoints import projection_status
from crm.projections.replay import check, rebuild
from crm.projections.transaction import StatementRefused
from tests.conftest import LiveServer, admin_headers, start_server
from tests.factories import queued, read, received

PHONE = "85291234567"
CHATS_VERSION = chats.PROJECTION.version


def customer(phone: str, name: str) -> NewEvent:
    return CustomerUpdated(phone=phone, name=name, source="csv:test.csv").new(
        customer_stream(phone))


def seed(db: Path, projector: Projector | None = None) -> int:
    """A database as a running release leaves it; returns the last position."""
    projector = projector or default_projector()
    store = EventStore(db, projector)
    try:
        projector.create_schema(store.conn)
        store.record([customer(PHONE, "Ana Sheet"), received(PHONE, "one", name="Ana WA")])
        store.record([received(PHONE, "two"), queued("m1"), customer(PHONE, "Ana Renamed")])
        store.record([received("20001", "other")])
        return store.last_position()
    finally:
        store.close()


def start(db: Path, projector: Projector) -> int:
    """What ``prepare_database`` does with a projector on start."""
    store = EventStore(db)
    try:
        projector.create_schema(store.conn)
        return projector.catch_up(store.conn)
    finally:
        store.close()


def as_first_release(db: Path) -> None:
    """The checkpoints table as the release before versions wrote it."""
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE checkpoints DROP COLUMN version")
    conn.execute("ALTER TABLE checkpoints DROP COLUMN failures")
    conn.commit()
    conn.close()


def bumped(name: str, version: int = 2) -> Projector:
    """The registered projections as the first release had them (version 1), but
    ``name`` at ``version``: what a release bumping only ``name`` would run."""
    return Projector([dataclasses.replace(p, version=version if p.name == name else 1)
                      for p in PROJECTIONS])


# -- a new version is rebuilt on start -----------------------------------------------


def test_a_new_version_is_rebuilt_with_its_group_on_start(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    head = seed(db)
    as_first_release(db)
    conn = sqlite3.connect(db, isolation_level=None)
    # Rows the old version left that its successor would not write: they must go.
    conn.execute("UPDATE chats SET unread = 99, customer_name = 'stale'")
    conn.execute("UPDATE customers SET name = 'stale customer'")  # chats' group-mate
    conn.execute("UPDATE messages SET text = 'same group' WHERE text = 'one'")
    conn.execute("INSERT INTO webhook_counts (type, count) VALUES ('other group', 7)")
    conn.close()

    projector = bumped("chats", CHATS_VERSION + 1)
    assert start(db, projector) == head
    conn = sqlite3.connect(db)
    chat = get_chat(conn, PHONE)
    assert chat["unread"] == 2 and chat["customer_name"] == "Ana Renamed"
    assert conn.execute("SELECT name FROM customers").fetchall() == [("Ana Renamed",)]
    # Messages and identities share chats' replay group (chats reads them): rebuilt too.
    assert conn.execute("SELECT count(*) FROM messages WHERE text = 'same group'"
                        ).fetchone()[0] == 0
    # The webhooks projection is in another replay group: not rebuilt, left as it was.
    assert conn.execute("SELECT count FROM webhook_counts WHERE type = 'other group'"
                        ).fetchone() == (7,)
    status = projection_status(conn)
    conn.close()
    assert status["chats"] == {"checkpoint": head, "version": CHATS_VERSION + 1,
                               "failures": 0}
    # A release before versions stored none: each projection now has the running code's.
    assert {n: s["version"] for n, s in status.items() if n != "chats"} == {
        p.name: p.version for p in projector.projections if p.name != "chats"}
    assert {s["checkpoint"] for s in status.values()} == {head}

    # The next start finds the version stored and folds nothing again.
    assert start(db, projector) == 0


COUNTS_V1 = """
CREATE TABLE IF NOT EXISTS counts (type TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""
COUNTS_V2 = """
CREATE TABLE IF NOT EXISTS counts (
    type TEXT PRIMARY KEY, n INTEGER NOT NULL, last INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS counts_by_last ON counts(last);
CREATE TABLE IF NOT EXISTS counted (one INTEGER PRIMARY KEY CHECK (one = 1), n INTEGER);
"""


def count_v1(event, tx: Transaction) -> None:
    tx.execute("INSERT INTO counts (type, n) VALUES (?, 1) "
               "ON CONFLICT(type) DO UPDATE SET n = n + 1", (event.type,))


def count_v2(event, tx: Transaction) -> None:
    tx.execute("INSERT INTO counts (type, n, last) VALUES (?, 1, ?) "
               "ON CONFLICT(type) DO UPDATE SET n = n + 1, last = excluded.last",
               (event.type, event.position))
    tx.execute("INSERT INTO counted (one, n) VALUES (1, 1) "
               "ON CONFLICT(one) DO UPDATE SET n = n + 1")


def counts(version: int) -> Projector:
    handler, schema = (count_v1, COUNTS_V1) if version == 1 else (count_v2, COUNTS_V2)
    tables = ("counts",) if version == 1 else ("counts", "counted")
    projection = Projection(
        name="counts", version=version, schema=schema, tables=tables, replay_group=5,
        handlers={"message.received": handler, "customer.updated": handler})
    return Projector([*PROJECTIONS, projection])


def test_a_changed_table_is_recreated_on_start(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    head = seed(db, counts(1))
    start(db, counts(2))
    conn = sqlite3.connect(db)
    assert dict(conn.execute("SELECT type, n FROM counts")) == {
        "message.received": 3, "customer.updated": 2}
    assert conn.execute("SELECT last FROM counts WHERE type = 'customer.updated'"
                        ).fetchone() == (5,)
    assert conn.execute("SELECT n FROM counted").fetchone() == (5,)
    assert projection_status(conn)["counts"] == {"checkpoint": head, "version": 2,
                                                 "failures": 0}
    conn.close()
    assert check(db, counts(2)).identical


def test_replay_rebuilds_a_new_version_and_records_it(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    head = seed(db, counts(1))
    assert not check(db, counts(2)).identical  # the stored version is not the code's
    assert rebuild(db, counts(2)) == head
    conn = sqlite3.connect(db)
    assert projection_status(conn)["counts"]["version"] == 2
    assert conn.execute("SELECT n, last FROM counts WHERE type = 'message.received'"
                        ).fetchone() == (3, 6)
    # The new version's index, not the old table's (which had none).
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                        "AND tbl_name = 'counts' AND name LIKE 'counts_by_last%'"
                        ).fetchone() == (1,)
    conn.close()
    assert check(db, counts(2)).identical


def test_a_real_server_rebuilds_a_stale_projection_before_serving(data_dir: Path) -> None:
    db = data_dir / "crm.db"
    head = seed(db)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE checkpoints SET version = 0 WHERE name = 'chats'")
    conn.execute("UPDATE chats SET unread = 99")
    conn.commit()
    conn.close()
    live = start_server(data_dir)
    try:
        with live.client(headers=admin_headers(live)) as http:
            chat = http.get(f"/api/chats/{PHONE}").json()["chat"]
            status = http.get("/healthz").json()["projections"]
    finally:
        live.stop()
    assert chat["unread"] == 2
    assert status["chats"]["version"] == CHATS_VERSION
    assert status["chats"]["checkpoint"] >= head


# -- failures are counted -------------------------------------------------------------


def test_failures_show_in_healthz_for_agents_and_replay_recounts_them(
        server: LiveServer) -> None:
    agent = admin_headers(server)  # (its token is an event too: made before the count)
    store = EventStore(server.db_path, default_projector())
    try:
        # chat.read without a phone: the chats handler raises (KeyError) on it.
        store.record([NewEvent(type="chat.read", stream=f"chat:{PHONE}", data={})])
        store.record([received(PHONE, "after"), read(PHONE)])
        head = store.last_position()
    finally:
        store.close()

    with server.client() as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}  # up, and no more
    with server.client(headers={"Authorization": "Bearer not-a-token"}) as stranger:
        assert stranger.get("/healthz").json() == {"status": "ok"}

    def agent_view() -> dict:
        with server.client(headers=agent) as http:
            return http.get("/healthz").json()["projections"]

    status = agent_view()
    assert {n: s["checkpoint"] for n, s in status.items()} == {p.name: head for p in PROJECTIONS}
    assert status["chats"] == {"checkpoint": head, "version": CHATS_VERSION, "failures": 1}
    assert {n: s["failures"] for n, s in status.items() if n != "chats"} == dict.fromkeys(
        (p.name for p in PROJECTIONS if p.name != "chats"), 0)

    run = [sys.executable, "-m", "crm.cli", "replay"]
    checked = subprocess.run([*run, "--check"], env=server.env, capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout
    # A count that drifted (say, restored from elsewhere) is found, and replay recounts.
    conn = sqlite3.connect(server.db_path)
    conn.execute("UPDATE checkpoints SET failures = 7 WHERE name = 'chats'")
    conn.commit()
    conn.close()
    drifted = subprocess.run([*run, "--check"], env=server.env, capture_output=True,
                             text=True, timeout=60)
    assert drifted.returncode == 1 and "chats counted 7 failed events" in drifted.stdout
    replayed = subprocess.run(run, env=server.env, capture_output=True, text=True, timeout=60)
    assert replayed.returncode == 0, replayed.stderr
    assert agent_view()["chats"] == {"checkpoint": head, "version": CHATS_VERSION, "failures": 1}
    assert subprocess.run([*run, "--check"], env=server.env, capture_output=True,
                          timeout=60).returncode == 0


def test_parallel_replay_counts_the_same_failures(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    seed(db)
    store = EventStore(db, default_projector())
    store.record([NewEvent(type="chat.read", stream=f"chat:{PHONE}", data={}),
                  NewEvent(type="message.sent", stream=f"chat:{PHONE}", data={})])
    store.close()
    conn = sqlite3.connect(db)
    before = projection_status(conn)
    conn.close()
    assert before["chats"]["failures"] == 1 and before["messages"]["failures"] == 1
    rebuild(db, default_projector(), parallel_from=0)
    conn = sqlite3.connect(db)
    assert projection_status(conn) == before
    conn.close()


# -- a handler cannot end the transaction ---------------------------------------------


@pytest.mark.parametrize("sql", [
    "COMMIT", "rollback", "  BEGIN IMMEDIATE", "END", "SAVEPOINT s", "RELEASE s",
    "-- a comment\nCOMMIT", "/* hidden */ ROLLBACK", "PRAGMA journal_mode=DELETE",
    "ATTACH DATABASE ':memory:' AS x", "DROP TABLE chats", "VACUUM",
])
def test_the_transaction_refuses_transaction_control(tmp_path: Path, sql: str) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    conn.execute("CREATE TABLE t (a)")
    conn.execute("BEGIN")
    tx = Transaction(conn)
    tx.execute("INSERT INTO t VALUES (1)")
    for method in (tx.execute, tx.fetchone, tx.fetchall, tx.fetchval):
        with pytest.raises(StatementRefused):
            method(sql)
    with pytest.raises(StatementRefused):
        tx.executemany(sql, [()])
    assert conn.in_transaction
    assert tx.fetchval("WITH x AS (SELECT a FROM t) SELECT count(*) FROM x") == 1
    for name in ("commit", "rollback", "executescript", "cursor", "connection", "conn"):
        assert not hasattr(tx, name)
    with pytest.raises(AttributeError):
        tx.conn = conn  # type: ignore[attr-defined]
    conn.close()


def test_a_handler_that_tries_to_commit_fails_alone(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    seen: list[int] = []

    def sneaky(event, tx: Transaction) -> None:
        tx.execute("INSERT INTO sneaky (position) VALUES (?)", (event.position,))
        try:
            tx.execute("COMMIT")
        finally:
            other = sqlite3.connect(db)  # nothing of the append may be visible yet
            seen.append(other.execute("SELECT count(*) FROM events").fetchone()[0])
            other.close()

    projector = Projector([*PROJECTIONS, Projection(
        name="sneaky", schema="CREATE TABLE IF NOT EXISTS sneaky (position INTEGER);",
        tables=("sneaky",), handlers={"message.received": sneaky})])
    store = EventStore(db, projector)
    projector.create_schema(store.conn)
    store.record([received(PHONE, "one"), received(PHONE, "two")])
    assert seen == [0, 0]
    status = projection_status(store.conn)
    assert status["sneaky"] == {"checkpoint": 2, "version": 1, "failures": 2}
    # The failure is the handler's alone: the append and the other projections stand.
    assert get_chat(store.conn, PHONE)["unread"] == 2
    assert store.conn.execute("SELECT count(*) FROM sneaky").fetchone() == (2,)
    store.close()

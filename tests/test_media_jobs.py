"""The media worker's jobs are one per received message, not per media id: Meta reuses
media ids, and a job per media id left the second message waiting forever. A database
written by the older version (jobs and outcomes keyed by media id) is moved on start."""

from __future__ import annotations

from pathlib import Path

from crm.events import EventStore
from crm.events.media import MediaStored, media_key
from crm.events.messages import chat_stream
from crm.media import jobs
from crm.projections import default_projector
from crm.projections.media import file_for_media_id
from crm.projections.messages import get_message
from crm.projections.replay import check
from tests.factories import received

PHONE = "85291234567"
SHA = "cd" * 32

#: The older version's table: one job per media id.
OLD_SCHEMA = """
CREATE TABLE media_checkpoint (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
CREATE TABLE media_jobs (
    media_id TEXT PRIMARY KEY, message_id TEXT NOT NULL, phone TEXT NOT NULL,
    kind TEXT NOT NULL, media TEXT NOT NULL, expires REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, due REAL NOT NULL, last_error TEXT,
    position INTEGER NOT NULL);
CREATE INDEX media_jobs_due ON media_jobs(due);
"""


def sticker(media_id: str):
    return received(PHONE, kind="sticker", media={"id": media_id, "mime_type": "image/webp"})


def test_two_messages_of_one_media_id_are_two_jobs(tmp_path: Path) -> None:
    projector = default_projector()
    store = EventStore(tmp_path / "crm.db", projector)
    projector.create_schema(store.conn)
    jobs.create_schema(store.conn)
    first, second = sticker("M1"), sticker("M1")
    store.record([first, second])
    assert jobs.scan(store.conn, 0.0) == 2
    assert sorted(j.message_id for j in jobs.due_jobs(store.conn, 1.0, 10)) == sorted(
        [first.id, second.id])
    store.close()


def test_an_old_database_is_moved_and_its_stuck_second_message_gets_a_job(
        tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    projector = default_projector()
    store = EventStore(db, projector)
    projector.create_schema(store.conn)
    store.conn.executescript(OLD_SCHEMA)
    first, second, pending = sticker("M1"), sticker("M1"), sticker("M2")
    store.record([first, second, pending])
    head = store.head().position
    # What the older worker left: the first message's outcome keyed by the media id,
    # the second never given a job, the checkpoint past both, one job still due.
    store.record([MediaStored(message_id=first.id, phone=PHONE, media_id="M1", sha256=SHA,
                              mime_type="image/webp", size=10,
                              store={"backend": "local", "ref": SHA}).new(
        chat_stream(PHONE), idempotency_key=media_key("M1"))])
    store.conn.execute("INSERT INTO media_checkpoint VALUES ('inbound', ?)", (head,))
    store.conn.execute(
        "INSERT INTO media_jobs (media_id, message_id, phone, kind, media, expires, attempts, "
        "due, position) VALUES ('M2', ?, ?, 'sticker', '{}', 1e12, 1, 0, 3)",
        (pending.id, PHONE))

    jobs.create_schema(store.conn)
    assert jobs.scan(store.conn, 0.0) == 1  # the second message; the first has its file
    due = {j.message_id: j for j in jobs.due_jobs(store.conn, 1.0, 10)}
    assert set(due) == {second.id, pending.id}
    assert due[pending.id].attempts == 1 and due[second.id].media_id == "M1"
    # The old outcome still marks its message, and names the file the second reuses.
    media = get_message(store.conn, first.id)["media"]
    assert media["url"] == f"/media/{SHA}"
    assert get_message(store.conn, second.id)["media"] == {"id": "M1",
                                                           "mime_type": "image/webp"}
    assert file_for_media_id(store.conn, "M1")["ref"] == SHA
    jobs.create_schema(store.conn)  # again: nothing to move, nothing lost
    assert len(jobs.due_jobs(store.conn, 1.0, 10)) == 2
    store.close()
    assert check(db, projector).identical

"""The ``media_files`` projection: where each kept file is, by its SHA-256.

``/media/<sha256>`` serves local files straight from ``CRM_DATA_DIR/media``; a file
kept on Google Drive is found here (its Drive file id) from its ``media.stored``.

``media_ids`` maps Meta's media id to the file stored for it: Meta reuses a media id
(forwarded stickers, files sent again), and the media worker gives the next message
naming it the file already kept instead of downloading it again.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crm.events import RecordedEvent
from crm.projections.base import Projection
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS media_files (
    sha256     TEXT PRIMARY KEY,
    backend    TEXT NOT NULL,
    ref        TEXT NOT NULL,
    mime_type  TEXT NOT NULL,
    filename   TEXT,
    size       INTEGER NOT NULL,
    link       TEXT,
    position   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS media_ids (
    media_id   TEXT PRIMARY KEY,
    sha256     TEXT NOT NULL,
    position   INTEGER NOT NULL
);
"""


def on_stored(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    store = data.get("store") or {}
    tx.execute(
        "INSERT INTO media_files (sha256, backend, ref, mime_type, filename, size, link, "
        "position) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET "
        "backend = excluded.backend, ref = excluded.ref, mime_type = excluded.mime_type, "
        "filename = coalesce(filename, excluded.filename), size = excluded.size, "
        "link = excluded.link, position = excluded.position",
        (data["sha256"], store.get("backend", "local"), store.get("ref", data["sha256"]),
         data["mime_type"], data.get("filename"), data["size"], store.get("link"),
         event.position),
    )
    if data.get("media_id"):
        tx.execute("INSERT OR REPLACE INTO media_ids (media_id, sha256, position) "
                   "VALUES (?, ?, ?)", (data["media_id"], data["sha256"], event.position))


PROJECTION = Projection(
    name="media", version=2,
    schema=SCHEMA,
    tables=("media_files", "media_ids"),
    handlers={"media.stored": on_stored},
)


def get_file(db: sqlite3.Connection, sha256: str) -> dict[str, Any] | None:
    row = db.execute("SELECT backend, ref, mime_type, filename, size, link FROM media_files "
                     "WHERE sha256 = ?", (sha256,)).fetchone()
    if row is None:
        return None
    backend, ref, mime_type, filename, size, link = row
    return {"sha256": sha256, "backend": backend, "ref": ref, "mime_type": mime_type,
            "filename": filename, "size": size, "link": link}


def file_for_media_id(db: sqlite3.Connection, media_id: str) -> dict[str, Any] | None:
    """The file last stored for Meta's media id, as ``get_file`` gives it, if any."""
    row = db.execute("SELECT sha256 FROM media_ids WHERE media_id = ?", (media_id,)).fetchone()
    return get_file(db, row[0]) if row else None

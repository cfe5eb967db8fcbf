"""Server-sent-event frames: each event is encoded once, to bytes, and shared.

A thousand open inboxes receive the same bytes object; encoding per client would
multiply the JSON work by the number of clients (the limits notes measured that as
the difference between meeting the latency target and missing it).
"""

from __future__ import annotations

import json
import sqlite3

from crm.auth.redact import visible_event
from crm.events.model import RecordedEvent
from crm.events.store import read_after
from crm.stream.viewers import ChatOwners, Mark, mark_of

#: A frame is the event's position, its encoded bytes, and its mark (None for nearly
#: every event: see ``crm.stream.viewers``).
Frame = tuple[int, bytes, Mark | None]

#: Browsers wait this long (ms) before reconnecting after the stream ends.
RETRY_MS = 2000
RETRY = f"retry: {RETRY_MS}\n\n".encode()
HEARTBEAT = b": heartbeat\n\n"


def _one_line(text: str) -> str:
    """``id``/``event`` fields end at a line break: strip any so a frame cannot split."""
    return text.replace("\r", " ").replace("\n", " ")


def encode(event: RecordedEvent) -> bytes:
    """``id: <position>``, ``event: <type>``, ``data: <the /api/events JSON>``.

    JSON escapes CR and LF inside strings, so the data is always a single line. The same
    bytes go to every agent, admins included, so secrets (password hashes) are left out
    for everyone: no browser needs them, and admins can read them in /api/events.
    """
    payload = visible_event(event.as_json(), None)
    try:
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate in customer text: escape everything
        data = json.dumps(payload, separators=(",", ":")).encode()
    head = f"id: {event.position}\nevent: {_one_line(event.type)}\ndata: ".encode()
    return head + data + b"\n\n"


def read_frames(conn: sqlite3.Connection, after: int, limit: int,
                owners: ChatOwners | None = None, apply: bool = False) -> list[Frame]:
    """The next ``limit`` events after ``after``, encoded (runs on a reader thread)."""
    return [(e.position, encode(e), mark_of(e, owners, apply))
            for e in read_after(conn, after, limit)]


def presence_frame(data: dict[str, object]) -> bytes:
    """``event: presence`` with no ``id``: not in the log, so the client's last event id
    (what it resumes from) stays the log's position. Older clients do not listen for it."""
    return b"event: presence\ndata: " + json.dumps(
        data, ensure_ascii=True, separators=(",", ":")).encode() + b"\n\n"

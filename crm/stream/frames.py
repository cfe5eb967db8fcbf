"""Server-sent-event frames: each event is encoded once, to bytes, and shared.

A thousand open inboxes receive the same bytes object; encoding per client would
multiply the JSON work by the number of clients (the limits notes measured that as
the difference between meeting the latency target and missing it).

A frame of an event that changes a chat also carries the chat row and the message row
(``crm.projections.live_rows``), so pages apply it without a request; it leaves out
Meta's ``raw`` object, which only ``/api/events`` serves. ``rows=False``
(``CRM_STREAM_FRAMES=hints``) sends the events alone, as before, for comparison.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from crm.auth.redact import visible_event
from crm.events.model import RecordedEvent
from crm.events.store import read_after
from crm.projections.live_rows import rows_for
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


def encode(event: RecordedEvent, rows: dict[str, Any] | None = None) -> bytes:
    """``id: <position>``, ``event: <type>``, ``data: <the /api/events JSON>``, plus
    ``chat`` and ``message`` when ``rows`` has them (and then without ``data.raw``).

    JSON escapes CR and LF inside strings, so the data is always a single line. The same
    bytes go to every agent, admins included, so secrets (password hashes) are left out
    for everyone: no browser needs them, and admins can read them in /api/events.
    """
    payload = visible_event(event.as_json(), None)
    if rows is not None:
        data = payload.get("data")
        if isinstance(data, dict) and "raw" in data:
            payload["data"] = {k: v for k, v in data.items() if k != "raw"}
        payload.update(rows)
    try:
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate in customer text: escape everything
        data = json.dumps(payload, separators=(",", ":")).encode()
    head = f"id: {event.position}\nevent: {_one_line(event.type)}\ndata: ".encode()
    return head + data + b"\n\n"


def read_frames(conn: sqlite3.Connection, after: int, limit: int,
                owners: ChatOwners | None = None, apply: bool = False,
                rows: bool = True) -> list[Frame]:
    """The next ``limit`` events after ``after``, encoded with the rows they changed
    (runs on the tailer's or a reader's thread)."""
    return [(e.position, encode(e, _rows(conn, e, owners) if rows else None),
             mark_of(e, owners, apply))
            for e in read_after(conn, after, limit)]


def _rows(conn: sqlite3.Connection, event: RecordedEvent,
          owners: ChatOwners | None) -> dict[str, Any]:
    """The rows to carry. A reassignment under ``CRM_VISIBILITY=assigned`` carries none:
    its frame also goes to the previous assignee, who may no longer see the chat (their
    page asks the read API, which answers 404)."""
    if owners is not None and event.type == "chat.assigned":
        return {}
    return rows_for(conn, event)


def presence_frame(data: dict[str, object]) -> bytes:
    """``event: presence`` with no ``id``: not in the log, so the client's last event id
    (what it resumes from) stays the log's position. Older clients do not listen for it."""
    return b"event: presence\ndata: " + json.dumps(
        data, ensure_ascii=True, separators=(",", ":")).encode() + b"\n\n"

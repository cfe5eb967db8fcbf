"""Exporting the log: JSONL (every event, as ``GET /api/events`` shows it) or CSV
(one row per message, for people who open it in a spreadsheet).

An export reads the log page by page in position order, so memory stays the same
whatever the size of the log, and it stops at the position that was the head when it
started: a log that grows meanwhile still gives a well-defined file. Each page is a
plain function of a connection, so the CLI calls it in a loop and the API awaits it
on a reader thread between chunks of a streamed response.

CSV rows come from the log's ``message.received``, ``message.queued`` and
``message.echoed`` events (the ones that create a message), in position order, each
joined to its row in the ``messages`` projection (current status, agent, media) and
its chat (the customer's name). Statuses, sends and failures are therefore folded into
the ``status`` column; reactions, edits and revocations are not rows of their own (the
JSONL has them all).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

from crm.audit.filters import Filters
from crm.events import EventStore
from crm.events.store import last_position
from crm.progress import Update

FORMATS = ("jsonl", "csv")
PAGE = 2000

#: ``chat`` is the conversation's key; ``phone`` and ``user_id`` are the customer's
#: newest phone and business-scoped id (either may be unknown), so a username customer
#: is found by both (issue #21: columns are only ever added at the end).
CSV_HEADER = ("time", "chat", "name", "direction", "type", "text", "media", "status", "agent",
              "phone", "user_id")

#: Leading characters a spreadsheet may take for a formula (OWASP's list, plus LF).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")

#: Where a piece of a cell after ``;`` or a line break starts like a formula.
_PIECE_FORMULA = re.compile(r"(?<=[;\r\n])(?=[^\S\r\n]*[=+\-@])")

#: JSON string encoding without \\u escapes, the C version ``json.dumps`` itself uses.
_quote = json.encoder.encode_basestring

_LINE_BREAKS = (("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\x85", "\\u0085"))

#: The events that create a message: each is one CSV row.
_CREATING = ("message.received", "message.queued", "message.echoed")

_CSV_MESSAGES = (
    "SELECT m.id, m.timestamp, m.phone, coalesce(c.customer_name, c.profile_name), "
    "m.direction, m.type, m.text, m.caption, m.media, m.status, m.agent, "
    "(SELECT identifier FROM identities WHERE chat = m.phone AND kind = 'wa_id' "
    " ORDER BY position DESC LIMIT 1), "
    "(SELECT identifier FROM identities WHERE chat = m.phone AND kind = 'user_id' "
    " ORDER BY position DESC LIMIT 1) "
    "FROM messages m LEFT JOIN chats c ON c.phone = m.phone WHERE m.id IN "
)


class ExportError(ValueError):
    """An export that cannot be made as asked (unknown format)."""


@dataclass(frozen=True)
class ExportSpec:
    """One export: its format, its filters and the last position it includes."""

    format: str
    filters: Filters
    upto: int


@dataclass(frozen=True)
class Page:
    text: str
    #: The last position this page looked at (the next page starts after it).
    last: int
    rows: int
    done: bool


def begin(conn: sqlite3.Connection, format: str, filters: Filters) -> ExportSpec:
    """Fix what the export covers: everything up to the current head of the log."""
    if format not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    return ExportSpec(format=format, filters=filters, upto=last_position(conn))


def header(spec: ExportSpec) -> str:
    """What comes before the first page: nothing for JSONL; for CSV a byte-order mark
    (so spreadsheets read UTF-8) and the column names."""
    if spec.format == "jsonl":
        return ""
    return "\ufeff" + _csv_text([CSV_HEADER], csv.QUOTE_MINIMAL)  # our own names


def jsonl_line(row: tuple[Any, ...]) -> str:
    """One event as a JSONL line, from a row selected with ``EVENT_COLUMNS``.

    Byte for byte ``json.dumps(event.as_json(), separators=(",", ":"),
    ensure_ascii=False)`` plus a newline, built without decoding ``data``: the stored
    text already is its canonical JSON, and skipping the decode triples the speed.
    (Pages then go through ``escape_line_breaks``.)
    """
    position, id_, type_, stream, occurred, recorded, actor, key, data, prev, digest = row
    return (
        f'{{"position":{position},"id":{_quote(id_)},"type":{_quote(type_)},'
        f'"stream":{_quote(stream)},"occurred_at":{_quote(occurred)},'
        f'"recorded_at":{_quote(recorded)},"actor":{_quote(actor)},'
        f'"idempotency_key":{"null" if key is None else _quote(key)},"data":{data},'
        f'"prev_hash":{_quote(prev)},"hash":{_quote(digest)}}}\n'
    )


def escape_line_breaks(text: str) -> str:
    """Escape U+2028, U+2029 and U+0085 inside JSON strings (the only place they can
    be): valid JSON either way, but tools that split lines on any Unicode line break
    (Python's ``str.splitlines``, some editors) would otherwise cut an event in two."""
    for char, escaped in _LINE_BREAKS:
        if char in text:
            text = text.replace(char, escaped)
    return text


def neutralise(value: Any) -> str:
    """A cell a spreadsheet shows as text: one that starts with ``=``, ``+``, ``-``,
    ``@``, tab or line break, even after spaces, gets a single quote in front, so it is
    never run as a formula. So does each piece after a ``;`` or a line break inside the
    cell: a spreadsheet set to split on ``;`` (many locales) or that misreads a line
    break starts a new cell there, whatever the quotes say."""
    if value is None:
        return ""
    text = str(value)
    if text.lstrip().startswith(FORMULA_START) or text.startswith(FORMULA_START):
        text = "'" + text
    return _PIECE_FORMULA.sub("'", text)


def media_reference(media_json: str | None) -> str:
    """Meta's media id (or a link) of a message's attachment, if it has one."""
    if not media_json:
        return ""
    try:
        media = json.loads(media_json)
    except ValueError:
        return media_json
    if not isinstance(media, dict):
        return str(media)
    for key in ("id", "link", "url", "filename"):
        if media.get(key):
            return str(media[key])
    return ""


def _message_rows(conn: sqlite3.Connection,
                  events: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Each message-creating event's row in ``messages`` (and its chat's name), in log
    order, led by the event's position; an event whose message is not projected is
    left out."""
    ids = [(row[0], json.loads(row[8]).get("message_id") if row[2] == "message.queued"
            else row[1]) for row in events]
    found: dict[str, tuple[Any, ...]] = {}
    wanted = [message_id for _, message_id in ids if isinstance(message_id, str)]
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for row in conn.execute(_CSV_MESSAGES + f"({','.join('?' * len(chunk))})", chunk):
            found[row[0]] = row
    return [(position, *found[message_id][1:]) for position, message_id in ids
            if message_id in found]


def fetch_page(conn: sqlite3.Connection, spec: ExportSpec, after: int,
               page: int = PAGE) -> Page:
    """The export's text for the positions after ``after`` (at most ``page`` rows)."""
    selection = spec.filters.selection()
    if spec.format == "csv":
        asked = selection.pop("types", _CREATING)
        selection["types"] = tuple(t for t in asked if t in _CREATING)
    store = EventStore.over(conn)
    events = store.rows(after, spec.upto, page, **selection) if selection.get(
        "types", True) else []
    done = len(events) < page
    last = spec.upto if done else events[-1][0]
    rows = events if spec.format == "jsonl" else _message_rows(conn, events)
    in_period = spec.filters.in_period
    timed = spec.filters.since is not None or spec.filters.until is not None
    if spec.format == "jsonl":
        kept = [r for r in rows if in_period(r[4])] if timed else rows
        text = escape_line_breaks("".join(map(jsonl_line, kept)))
    else:
        kept = [r for r in rows if in_period(r[1])] if timed else rows
        text = _csv_text(_csv_row(r) for r in kept)
    return Page(text=text, last=last, rows=len(kept), done=done)


def write_export(conn: sqlite3.Connection, spec: ExportSpec, out: BinaryIO,
                 progress: Update | None = None) -> tuple[int, int]:
    """Write the whole export to a binary stream as UTF-8, one page at a time;
    returns the rows and the bytes written."""
    rows = written = 0
    first = header(spec)
    if first:
        written += out.write(first.encode("utf-8"))
    after = 0
    while True:
        page = fetch_page(conn, spec, after)
        if page.text:
            written += out.write(page.text.encode("utf-8"))
            rows += page.rows
        if progress is not None:
            progress(page.last, spec.upto)
        if page.done:
            return rows, written
        after = page.last


def _csv_row(row: tuple[Any, ...]) -> list[str]:
    (_position, timestamp, phone, name, direction, kind, text, caption, media, status,
     agent, wa_id, user_id) = row
    body = text if text is not None else caption
    return [neutralise(v) for v in (timestamp, phone, name, direction, kind, body,
                                    media_reference(media), status, agent, wa_id, user_id)]


def _csv_text(rows: Any, quoting: Literal[0, 1, 2, 3] = csv.QUOTE_ALL) -> str:
    buffer = io.StringIO()
    # Every cell quoted: a separator or line break inside one never ends it early.
    csv.writer(buffer, quoting=quoting).writerows(rows)
    return buffer.getvalue()

"""What the sender still owes, read from the log: pure reads over a connection.

A *request* is a ``message.queued`` or ``message.retry`` event. Its later events say
where it stands: ``message.dispatching`` (an attempt left for Meta), then either
``message.retrying`` (that attempt failed, try again), or an outcome (``sent``,
``failed``, ``unknown``). A request whose last attempt is dispatching with nothing
after it was in flight when its process died.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.events import Connection, EventStore, RecordedEvent
from crm.events.sending import OUTCOMES, REQUESTS, MessageDispatching, MessageRetrying
from crm.projections import channel

#: Every event type the sender reads.
WATCHED = (*REQUESTS, MessageDispatching.type, MessageRetrying.type, *OUTCOMES)


@dataclass
class Request:
    position: int
    message_id: str
    phone: str
    actor: str
    data: dict[str, Any]
    #: Attempts already made (dispatched or failed before dispatch).
    attempts: int = 0
    in_flight: bool = False

    @classmethod
    def of(cls, event: RecordedEvent) -> Request:
        return cls(event.position, event.data["message_id"], event.data["phone"],
                   event.actor, event.data)


def _select(conn: Connection, types: tuple[str, ...], after: int, upto: int,
            limit: int) -> list[RecordedEvent]:
    return EventStore.over(conn).read_after(after, limit, types=types, upto=upto)


def head(conn: Connection) -> int:
    return EventStore.over(conn).last_position()


def scan(conn: Connection, after: int) -> tuple[list[Request], list[Request], int]:
    """Unresolved requests after ``after``: (to send, in flight when a process died,
    the last position looked at). Both lists are in log order."""
    upto = head(conn)
    open_: dict[str, Request] = {}
    position = after
    while True:
        events = _select(conn, WATCHED, position, upto, 5000)
        for event in events:
            fold(open_, event)
        if len(events) < 5000:
            break
        position = events[-1].position
    requests = sorted(open_.values(), key=lambda r: r.position)
    return ([r for r in requests if not r.in_flight], [r for r in requests if r.in_flight],
            upto)


def fold(open_: dict[str, Request], event: RecordedEvent) -> None:
    """Apply one watched event to the open requests (keyed by message id)."""
    message_id = event.data.get("message_id")
    if not isinstance(message_id, str):
        return
    if event.type in REQUESTS:
        open_[message_id] = Request.of(event)
        return
    request = open_.get(message_id)
    if request is None:
        return
    if event.type in OUTCOMES:
        del open_[message_id]
    elif event.data.get("request") == request.position:
        request.attempts = max(request.attempts, int(event.data.get("attempt") or 0))
        request.in_flight = event.type == MessageDispatching.type


def new_requests(conn: Connection, after: int,
                 limit: int = 1000) -> tuple[list[Request], int, bool]:
    """Requests recorded after ``after``, the position read up to (the tail), and
    whether the channel is projected healthy."""
    upto = head(conn)
    events = _select(conn, REQUESTS, after, upto, limit)
    if len(events) == limit:
        upto = events[-1].position
    return [Request.of(e) for e in events], upto, channel.health(conn)["ok"]


def wamid_of(conn: Connection, message_id: str) -> str | None:
    row = conn.execute("SELECT wamid FROM messages WHERE id = ?", (message_id,)).fetchone()
    return row[0] if row else None

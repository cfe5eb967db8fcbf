"""Who is watching a stream, and which events end or hide from which watchers.

A stream outlives the request that opened it, so the credential it was opened with
can end while it is open: a revoked token, a disabled agent, a changed password (for
browser sessions), a sign-out. Each of those is an event in the log, and every
process's tailer reads every event, so each process ends its own streams when the
event arrives: no polling, no per-stream work for ordinary events. The tailer marks
the rare frames that matter (``Mark``); ordinary frames carry None.

Sign-out deletes a session row, which no other process sees; so ``POST /logout`` also
records ``session.closed`` with the SHA-256 the sessions table keys the session by
(the id itself is never recorded), and that event ends the session's streams in
every worker.

Events of the ``agent:`` streams (admin flags, token labels and digests) are marked
``admin_only``: the frame is still encoded once, and each non-admin subscriber skips
it when taking its queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crm.events.model import RecordedEvent

#: What a credential is known by: ("agent", name), ("token", token id),
#: ("session", session sha256), ("password", name) (sessions end on a new password).
Key = tuple[str, str]

AGENT_STREAMS = "agent:"


@dataclass(frozen=True, slots=True)
class Mark:
    """What a frame means beyond its bytes: hidden from non-admins, or the end of
    the streams opened with any of ``ends``."""

    admin_only: bool = False
    ends: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class Viewer:
    """The agent behind one stream: what they may see, and what ends their stream.

    ``owner`` is what ``CRM_STREAMS_PER_AGENT`` counts against (the token for API
    clients, the agent for browser sessions). The default viewer (internal uses,
    tests) sees everything and is never ended.
    """

    admin: bool = True
    keys: frozenset[Key] = field(default_factory=frozenset)
    owner: Key | None = None

    @classmethod
    def of(cls, name: str, admin: bool, *, token_id: str | None = None,
           session: str | None = None) -> Viewer:
        keys: set[Key] = {("agent", name)}
        if token_id is not None:
            keys.add(("token", token_id))
        if session is not None:
            keys |= {("session", session), ("password", name)}
        owner: Key = ("token", token_id) if token_id is not None else ("agent", name)
        return cls(admin=admin, keys=frozenset(keys), owner=owner)

    def ended_by(self, mark: Mark | None) -> bool:
        return mark is not None and any(key in self.keys for key in mark.ends)


def mark_of(event: RecordedEvent) -> Mark | None:
    """The mark of an event's frame (None for all but the ``agent:`` streams)."""
    if not event.stream.startswith(AGENT_STREAMS):
        return None
    data = event.data
    ends: tuple[Key, ...] = ()
    if event.type == "agent.disabled":
        ends = (("agent", str(data.get("name"))),)
    elif event.type == "agent.password_changed":
        ends = (("password", str(data.get("name"))),)
    elif event.type == "token.revoked":
        ends = (("token", str(data.get("token_id"))),)
    elif event.type == "session.closed":
        ends = (("session", str(data.get("session_sha256"))),)
    return Mark(admin_only=True, ends=ends)

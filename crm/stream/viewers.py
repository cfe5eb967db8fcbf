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

With ``CRM_VISIBILITY=assigned`` the frames of a chat assigned to someone carry the
names that may see them (``owners``: the assignee, and for an assignment also the
previous one, so their page learns the chat left them); a restricted viewer skips
the others. That is one set lookup per frame: the tailer knows each chat's assignee
(``ChatOwners``), the subscriber its own name.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from crm.events.model import RecordedEvent

#: What a credential is known by: ("agent", name), ("token", token id),
#: ("session", session sha256), ("password", name) (sessions end on a new password).
Key = tuple[str, str]

AGENT_STREAMS = "agent:"
CHAT_STREAMS = "chat:"
ASSIGNED = "chat.assigned"


@dataclass(frozen=True, slots=True)
class Mark:
    """What a frame means beyond its bytes: hidden from non-admins, or the end of
    the streams opened with any of ``ends``."""

    admin_only: bool = False
    ends: tuple[Key, ...] = ()
    #: Who may see the frame under ``CRM_VISIBILITY=assigned`` (empty: everyone).
    owners: frozenset[str] = frozenset()


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
    #: ``CRM_VISIBILITY=assigned`` and not an admin: only chats of ``name`` or nobody.
    restricted: bool = False
    name: str | None = None

    @classmethod
    def of(cls, name: str, admin: bool, *, token_id: str | None = None,
           session: str | None = None, restricted: bool = False) -> Viewer:
        keys: set[Key] = {("agent", name)}
        if token_id is not None:
            keys.add(("token", token_id))
        if session is not None:
            keys |= {("session", session), ("password", name)}
        owner: Key = ("token", token_id) if token_id is not None else ("agent", name)
        return cls(admin=admin, keys=frozenset(keys), owner=owner,
                   restricted=restricted and not admin, name=name)

    def sees(self, mark: Mark | None) -> bool:
        if mark is None:
            return True
        if mark.admin_only and not self.admin:
            return False
        return not (mark.owners and self.restricted and self.name not in mark.owners)

    def sees_chat(self, assignee: str | None) -> bool:
        return not self.restricted or assignee is None or assignee == self.name

    def ended_by(self, mark: Mark | None) -> bool:
        return mark is not None and any(key in self.keys for key in mark.ends)


class ChatOwners:
    """Each chat's assignee as the stream has reached it (``CRM_VISIBILITY=assigned``).

    Loaded once from the workflow projection when the tailer opens, then kept by the
    tailer from the ``chat.assigned`` events it reads, in log order: no per-frame query.
    Catch-up reads from the log only look it up (the current assignee), never change it.
    """

    def __init__(self) -> None:
        self.assignees: dict[str, str] = {}
        self._marks: dict[frozenset[str], Mark] = {}

    def load(self, conn: sqlite3.Connection) -> None:
        rows = []
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                        "AND name = 'chat_state'").fetchone():  # the workflow projection
            rows = conn.execute("SELECT phone, assignee FROM chat_state "
                                "WHERE assignee IS NOT NULL").fetchall()
        self.assignees = {phone: agent for phone, agent in rows}

    def get(self, phone: str) -> str | None:
        return self.assignees.get(phone)

    def mark(self, phone: str, event: RecordedEvent, apply: bool) -> Mark | None:
        before = self.assignees.get(phone)
        if event.type == ASSIGNED:
            after = event.data.get("agent")
            after = after if isinstance(after, str) and after else None
            if apply:
                if after is None:
                    self.assignees.pop(phone, None)
                else:
                    self.assignees[phone] = after
            if after is None:
                return None  # unassigned now: everyone may see it
            return self._mark(frozenset(n for n in (before, after) if n))
        return None if before is None else self._mark(frozenset((before,)))

    def _mark(self, names: frozenset[str]) -> Mark:
        mark = self._marks.get(names)
        if mark is None:
            mark = self._marks[names] = Mark(owners=names)
        return mark


def mark_of(event: RecordedEvent, owners: ChatOwners | None = None,
            apply: bool = False) -> Mark | None:
    """The mark of an event's frame: None for nearly all, but the ``agent:`` streams
    and, when ``owners`` is kept (``CRM_VISIBILITY=assigned``), the chats assigned to
    someone. ``apply``: the tailer, reading in log order, also updates ``owners``."""
    if not event.stream.startswith(AGENT_STREAMS):
        if owners is None or not event.stream.startswith(CHAT_STREAMS):
            return None
        return owners.mark(event.stream[len(CHAT_STREAMS):], event, apply)
    data = event.data
    ends: tuple[Key, ...] = ()
    if event.type in ("agent.disabled", "agent.admin_changed"):
        # A changed admin flag changes what the agent's streams may carry: they end and
        # reconnect as the agent now is (a demoted admin stops getting admin frames).
        ends = (("agent", str(data.get("name"))),)
    elif event.type == "agent.password_changed":
        ends = (("password", str(data.get("name"))),)
    elif event.type == "token.revoked":
        ends = (("token", str(data.get("token_id"))),)
    elif event.type == "session.closed":
        ends = (("session", str(data.get("session_sha256"))),)
    return Mark(admin_only=True, ends=ends)

"""Browser sessions, kept on the server so signing out really ends them.

The cookie carries a random session id (signed with the secret key); the table keeps
only the id's SHA-256, so a copy of the database cannot be used to sign in. A session
ends when it is idle longer than ``CRM_SESSION_IDLE_HOURS``, when the agent signs out
or is disabled, or when the agent's password changes (the session remembers a
fingerprint of the password hash it was opened with).

This is server state, not history: it lives beside the projections, is never
replayed, and losing it only signs everyone out.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass

from crm.auth.identity import Agent
from crm.events import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id_sha256    TEXT PRIMARY KEY,
    agent        TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    password_fp  TEXT NOT NULL,
    created_at   REAL NOT NULL,
    seen_at      REAL NOT NULL,
    address      TEXT
);
CREATE INDEX IF NOT EXISTS sessions_by_agent ON sessions(agent);
"""

#: ``seen_at`` is written at most this often per session (and at least four times per
#: idle period), so browsing does not turn every request into a database write.
MAX_REFRESH_SECONDS = 60.0


@dataclass(frozen=True)
class Policy:
    idle_seconds: float

    @classmethod
    def from_hours(cls, hours: float) -> Policy:
        return cls(idle_seconds=hours * 3600.0)

    @property
    def refresh_seconds(self) -> float:
        return min(MAX_REFRESH_SECONDS, self.idle_seconds / 4)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def session_key(session_id: str) -> str:
    """What the table knows a session by (and ``session.closed`` records): its SHA-256."""
    return _digest(session_id)


def password_fingerprint(password_hash: str) -> str:
    return _digest(password_hash)[:32]


def create_schema(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)


def open_session(db: sqlite3.Connection, agent: str, password_hash: str, now: float,
                 policy: Policy, address: str | None = None) -> tuple[str, str]:
    """A new session for ``agent``; returns ``(session id, csrf token)``.
    Also forgets sessions that have been idle too long."""
    session_id = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    with immediate(db):
        db.execute("DELETE FROM sessions WHERE seen_at < ?", (now - policy.idle_seconds,))
        db.execute(
            "INSERT INTO sessions (id_sha256, agent, csrf_token, password_fp, created_at, "
            "seen_at, address) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (_digest(session_id), agent, csrf_token, password_fingerprint(password_hash),
             now, now, address),
        )
    return session_id, csrf_token


@dataclass(frozen=True)
class Check:
    """What a read of a session found, and what (if anything) to write about it."""

    agent: Agent | None
    key: str
    forget: bool = False
    touch: bool = False


def resume(db: sqlite3.Connection, session_id: str, now: float,
           policy: Policy) -> Agent | None:
    """The agent of a live session, or None; marks the session as used. For one
    connection (the CLI, tests); the server splits it into ``check`` and ``record``."""
    found = check(db, session_id, now, policy)
    with immediate(db):
        record(db, found, now)
    return found.agent


def record(db: sqlite3.Connection, found: Check, now: float) -> None:
    """Write what ``check`` decided: forget a dead session, or note its use."""
    if found.forget:
        db.execute("DELETE FROM sessions WHERE id_sha256 = ?", (found.key,))
    elif found.touch:
        db.execute("UPDATE sessions SET seen_at = max(seen_at, ?) WHERE id_sha256 = ?",
                   (now, found.key))


def check(db: sqlite3.Connection, session_id: str, now: float, policy: Policy) -> Check:
    """The agent of a live session, or None (unknown, idle too long, signed out, agent
    disabled, password changed). Reads only: the caller writes with ``record`` when
    ``forget`` or ``touch`` says so (rarely: once per ``refresh_seconds``)."""
    key = _digest(session_id)
    row = db.execute(
        "SELECT s.agent, s.csrf_token, s.password_fp, s.seen_at, a.admin, a.disabled, "
        "a.password_hash FROM sessions s JOIN agents a ON a.name = s.agent "
        "WHERE s.id_sha256 = ?",
        (key,),
    ).fetchone()
    if row is None:
        return Check(None, key)
    name, csrf_token, fingerprint, seen_at, admin, disabled, password_hash = row
    if (disabled or now - seen_at > policy.idle_seconds
            or not secrets.compare_digest(fingerprint, password_fingerprint(password_hash))):
        return Check(None, key, forget=True)
    return Check(Agent(name=name, admin=bool(admin), via="session", csrf_token=csrf_token),
                 key, touch=now - seen_at >= policy.refresh_seconds)


def close_session(db: sqlite3.Connection, session_id: str) -> None:
    db.execute("DELETE FROM sessions WHERE id_sha256 = ?", (_digest(session_id),))


def seen_at(db: sqlite3.Connection, session_id: str) -> float | None:
    row = db.execute("SELECT seen_at FROM sessions WHERE id_sha256 = ?",
                     (_digest(session_id),)).fetchone()
    return row[0] if row else None

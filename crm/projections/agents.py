"""The ``agents`` projection: who can sign in, and which API tokens are live.

Times are the events' ``occurred_at`` so a replay rebuilds the same rows. Sessions and
sign-in failures are not here: they are short-lived server state, not history (see
``crm.auth.sessions``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crm.events import RecordedEvent
from crm.projections.base import Projection
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS agents (
    name                TEXT PRIMARY KEY,
    admin               INTEGER NOT NULL,
    disabled            INTEGER NOT NULL DEFAULT 0,
    password_hash       TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    password_changed_at TEXT,
    disabled_at         TEXT,
    disabled_by         TEXT
);
CREATE TABLE IF NOT EXISTS tokens (
    id          TEXT PRIMARY KEY,
    agent       TEXT NOT NULL,
    sha256      TEXT NOT NULL UNIQUE,
    label       TEXT,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    revoked_at  TEXT,
    revoked_by  TEXT,
    expires_at  TEXT
);
CREATE INDEX IF NOT EXISTS tokens_by_agent ON tokens(agent);
"""


def on_created(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    tx.execute(
        "INSERT OR IGNORE INTO agents (name, admin, password_hash, created_at, created_by) "
        "VALUES (?, ?, ?, ?, ?)",
        (data["name"], int(bool(data.get("admin"))), data["password_hash"],
         event.occurred_at, event.actor),
    )


def on_disabled(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute(
        "UPDATE agents SET disabled = 1, disabled_at = ?, disabled_by = ? "
        "WHERE name = ? AND disabled = 0",
        (event.occurred_at, event.actor, event.data["name"]),
    )


def on_admin_changed(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute("UPDATE agents SET admin = ? WHERE name = ?",
               (int(bool(event.data["admin"])), event.data["name"]))


def on_password_changed(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute(
        "UPDATE agents SET password_hash = ?, password_changed_at = ? WHERE name = ?",
        (event.data["password_hash"], event.occurred_at, event.data["name"]),
    )


def on_token_created(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    tx.execute(
        "INSERT OR IGNORE INTO tokens (id, agent, sha256, label, created_at, created_by, "
        "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (data["token_id"], data["agent"], data["sha256"], data.get("label"),
         event.occurred_at, event.actor, data.get("expires_at")),
    )


def on_token_revoked(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute(
        "UPDATE tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
        (event.occurred_at, event.actor, event.data["token_id"]),
    )


PROJECTION = Projection(
    name="agents", version=3,
    schema=SCHEMA,
    tables=("agents", "tokens"),
    handlers={
        "agent.created": on_created,
        "agent.disabled": on_disabled,
        "agent.admin_changed": on_admin_changed,
        "agent.password_changed": on_password_changed,
        "token.created": on_token_created,
        "token.revoked": on_token_revoked,
    },
)

# -- reading --------------------------------------------------------------------------

_AGENT_COLUMNS = "name, admin, disabled, created_at, created_by, password_changed_at, disabled_at"
_TOKEN_COLUMNS = ("id, agent, label, created_at, created_by, revoked_at, revoked_by, "
                  "expires_at")


def _agent(row: tuple) -> dict[str, Any]:
    name, admin, disabled, created_at, created_by, changed_at, disabled_at = row
    return {
        "name": name,
        "admin": bool(admin),
        "disabled": bool(disabled),
        "created_at": created_at,
        "created_by": created_by,
        "password_changed_at": changed_at,
        "disabled_at": disabled_at,
    }


def _token(row: tuple) -> dict[str, Any]:
    token_id, agent, label, created_at, created_by, revoked_at, revoked_by, expires = row
    return {
        "id": token_id,
        "agent": agent,
        "label": label,
        "created_at": created_at,
        "created_by": created_by,
        "revoked_at": revoked_at,
        "revoked_by": revoked_by,
        "expires_at": expires,
    }


def list_agents(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute(f"SELECT {_AGENT_COLUMNS} FROM agents ORDER BY name").fetchall()
    return [_agent(r) for r in rows]


def get_agent(db: sqlite3.Connection, name: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {_AGENT_COLUMNS} FROM agents WHERE name = ?", (name,)).fetchone()
    return _agent(row) if row else None


def count_agents(db: sqlite3.Connection) -> int:
    return db.execute("SELECT count(*) FROM agents").fetchone()[0]


def count_enabled_admins(db: sqlite3.Connection) -> int:
    return db.execute("SELECT count(*) FROM agents WHERE admin = 1 AND disabled = 0"
                      ).fetchone()[0]


def password_hash(db: sqlite3.Connection, name: str) -> tuple[str, bool, bool] | None:
    """``(hash, admin, disabled)`` of an agent, for signing in."""
    row = db.execute(
        "SELECT password_hash, admin, disabled FROM agents WHERE name = ?", (name,)
    ).fetchone()
    return (row[0], bool(row[1]), bool(row[2])) if row else None


def list_tokens(db: sqlite3.Connection, *, include_revoked: bool = True) -> list[dict[str, Any]]:
    where = "" if include_revoked else " WHERE revoked_at IS NULL"
    rows = db.execute(
        f"SELECT {_TOKEN_COLUMNS} FROM tokens{where} ORDER BY created_at, id"
    ).fetchall()
    return [_token(r) for r in rows]


def get_token(db: sqlite3.Connection, token_id: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {_TOKEN_COLUMNS} FROM tokens WHERE id = ?", (token_id,)).fetchone()
    return _token(row) if row else None


def agent_by_token(db: sqlite3.Connection, sha256: str,
                   now: str) -> tuple[str, bool, str] | None:
    """``(name, admin, token id)`` for a live token of an enabled agent, else None.
    ``now`` (``crm.auth.tokens.now_text``): a token that expired by then is not live."""
    row = db.execute(
        "SELECT a.name, a.admin, t.id FROM tokens t JOIN agents a ON a.name = t.agent "
        "WHERE t.sha256 = ? AND t.revoked_at IS NULL AND a.disabled = 0 "
        "AND (t.expires_at IS NULL OR t.expires_at > ?)",
        (sha256, now),
    ).fetchone()
    return (row[0], bool(row[1]), row[2]) if row else None

"""Managing agents and tokens: checks against the current state, then the event.

Each ``plan_*`` function reads the ``agents`` projection through ``db`` and returns the
event to append, or raises an ``AuthError``. Where the check must still hold when the
event is committed (the last admin), the API runs it with ``Database.decide`` and the CLI
inside one ``immediate`` transaction. The CLI appends it through the
synchronous ``EventStore``, the API through the async ``Database``; both then check
the append's result because a concurrent writer may have won a race (names and token ids
are made unique by idempotency keys, so the loser's event is simply not recorded).
Password hashing is slow and done by the caller beforehand.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta

from crm.auth.errors import (
    AgentDisabledError,
    AgentExists,
    BadName,
    LastAdmin,
    TokenAlreadyRevoked,
    UnknownAgent,
    UnknownToken,
)
from crm.auth.tokens import expiry, new_token, new_token_id, token_digest
from crm.events import NewEvent
from crm.events.agents import (
    AgentAdminChanged,
    AgentCreated,
    AgentDisabled,
    AgentPasswordChanged,
    TokenCreated,
    TokenRevoked,
    agent_stream,
)
from crm.projections import agents as view

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
MAX_LABEL = 200


def normalise_name(name: str) -> str:
    """Names are case-insensitive: stored lowercase, 1-32 of ``a-z 0-9 . _ -``."""
    cleaned = (name or "").strip().lower()
    if not NAME.fullmatch(cleaned):
        raise BadName("a name is 1 to 32 characters: letters, digits, '.', '_' or '-', "
                      "starting with a letter or digit")
    return cleaned


def _require_agent(db: sqlite3.Connection, name: str) -> dict:
    agent = view.get_agent(db, name)
    if agent is None:
        raise UnknownAgent(f"no agent named {name!r}")
    return agent


def plan_add_agent(db: sqlite3.Connection, name: str, password_hash: str, admin: bool,
                   actor: str) -> NewEvent:
    name = normalise_name(name)
    if view.get_agent(db, name) is not None:
        raise AgentExists(f"an agent named {name!r} already exists")
    return AgentCreated(name=name, password_hash=password_hash, admin=admin).new(
        agent_stream(name), actor=actor, idempotency_key=f"agent.created:{name}")


def plan_disable(db: sqlite3.Connection, name: str, actor: str) -> NewEvent:
    name = normalise_name(name)
    if _require_agent(db, name)["disabled"]:
        raise AgentDisabledError(f"{name!r} is already disabled")
    return AgentDisabled(name=name).new(agent_stream(name), actor=actor)


def plan_admin(db: sqlite3.Connection, name: str, admin: bool,
               actor: str) -> NewEvent | None:
    """The change of ``name``'s admin flag, or None when it already is so. The last
    enabled admin stays one: otherwise nobody could manage agents from the page."""
    name = normalise_name(name)
    agent = _require_agent(db, name)
    if agent["admin"] == admin:
        return None
    if admin and agent["disabled"]:
        raise AgentDisabledError(f"{name!r} is disabled")
    if not admin and not agent["disabled"] and view.count_enabled_admins(db) <= 1:
        raise LastAdmin(f"{name!r} is the last admin: make another agent admin first")
    return AgentAdminChanged(name=name, admin=admin).new(agent_stream(name), actor=actor)


def admin_batch(db: sqlite3.Connection, name: str, admin: bool, actor: str) -> list[NewEvent]:
    """``plan_admin`` as a batch for ``Database.decide`` (empty when nothing changes)."""
    event = plan_admin(db, name, admin, actor)
    return [event] if event is not None else []


def disable_batch(db: sqlite3.Connection, name: str, actor: str) -> list[NewEvent]:
    """``plan_disable`` as a batch for ``Database.decide``."""
    return [plan_disable(db, name, actor)]


def plan_password(db: sqlite3.Connection, name: str, password_hash: str,
                  actor: str) -> NewEvent:
    name = normalise_name(name)
    _require_agent(db, name)
    return AgentPasswordChanged(name=name, password_hash=password_hash).new(
        agent_stream(name), actor=actor)


def plan_token(db: sqlite3.Connection, agent: str, label: str | None,
               actor: str, lifetime: timedelta | None = None) -> tuple[NewEvent, str, str]:
    """``(event, token, token id)``: the token itself exists only in this return value.
    With a ``lifetime`` the token expires that long from now."""
    agent = normalise_name(agent)
    if _require_agent(db, agent)["disabled"]:
        raise AgentDisabledError(f"{agent!r} is disabled")
    label = (label or "").strip()[:MAX_LABEL] or None
    token, token_id = new_token(), new_token_id()
    event = TokenCreated(token_id=token_id, agent=agent, sha256=token_digest(token),
                         label=label, expires_at=expiry(lifetime)).new(
        agent_stream(agent), actor=actor, idempotency_key=f"token.created:{token_id}")
    return event, token, token_id


def plan_revoke(db: sqlite3.Connection, token_id: str, actor: str) -> NewEvent:
    token = view.get_token(db, (token_id or "").strip())
    if token is None:
        raise UnknownToken(f"no token with id {token_id!r}")
    if token["revoked_at"]:
        raise TokenAlreadyRevoked(f"token {token_id!r} is already revoked")
    return TokenRevoked(token_id=token["id"], agent=token["agent"]).new(
        agent_stream(token["agent"]), actor=actor)


def plan_first_admin(db: sqlite3.Connection, password_hash: str) -> NewEvent | None:
    """``admin`` when there are no agents at all, else None."""
    if view.count_agents(db):
        return None
    return AgentCreated(name="admin", password_hash=password_hash, admin=True).new(
        agent_stream("admin"), actor="system", idempotency_key="agent.created:admin")

"""The vocabulary of staff: agents, their passwords and their API tokens.

Secrets never enter the log: a password is recorded as its argon2 hash, an API token
as the SHA-256 of the token. Every event of an agent, tokens included, is on the
stream ``agent:<name>``, so one read of that stream is the agent's whole history.
"""

from __future__ import annotations

from crm.events.model import Event


def agent_stream(name: str) -> str:
    return f"agent:{name}"


def agent_actor(name: str) -> str:
    """The ``actor`` of an event caused by this agent (the same text as its stream)."""
    return f"agent:{name}"


class AgentCreated(Event):
    """A new agent who can sign in; ``admin`` agents also manage agents and tokens."""

    type = "agent.created"
    name: str
    password_hash: str
    admin: bool = False


class AgentDisabled(Event):
    """The agent can no longer sign in; their sessions and tokens stop working."""

    type = "agent.disabled"
    name: str


class AgentAdminChanged(Event):
    """The agent becomes an admin (``admin: true``) or an ordinary agent again."""

    type = "agent.admin_changed"
    name: str
    admin: bool


class AgentPasswordChanged(Event):
    """A new password; sessions signed in with the old one end."""

    type = "agent.password_changed"
    name: str
    password_hash: str


class TokenCreated(Event):
    """An API token for ``agent``, known to us only by its SHA-256 (hex); it stops
    working at ``expires_at`` (UTC, ``YYYY-MM-DDTHH:MM:SSZ``), or never without one."""

    type = "token.created"
    token_id: str
    agent: str
    sha256: str
    label: str | None = None
    expires_at: str | None = None


class TokenRevoked(Event):
    type = "token.revoked"
    token_id: str
    agent: str


class SessionClosed(Event):
    """The agent signed out of one browser session (known by the SHA-256 the sessions
    table keeps, never its id). Sessions are server state, not history; this is in the
    log so every worker ends that session's open streams."""

    type = "session.closed"
    agent: str
    session_sha256: str


class AgentPermissions(Event):
    """The agent's permissions beyond an ordinary agent's (today: ``campaigns``)."""

    type = "agent.permissions"
    name: str
    permissions: list[str]

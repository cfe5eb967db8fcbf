"""What the log shows over HTTP: everything but password hashes.

``agent.created`` and ``agent.password_changed`` carry an argon2 hash; a weak password
can be guessed offline from it. ``/api/events`` and the stream send every reader (admins
too: the stream encodes each event once for everyone, and both must show the same shape)
the event with ``password_hash`` replaced by ``REDACTED``; its ``hash`` then no longer
verifies, which only audits need, and they use the admin-only export, which keeps all.
``visible_event`` still takes the agent so a route could show admins more.
"""

from __future__ import annotations

from typing import Any

from crm.auth.identity import Agent

REDACTED = "[redacted]"
SECRET_FIELDS = ("password_hash",)


def visible_event(event: dict[str, Any], agent: Agent | None) -> dict[str, Any]:
    """``event`` in the ``as_json`` shape, as ``agent`` may see it."""
    if agent is not None and agent.admin:
        return event
    data = event.get("data")
    if not isinstance(data, dict) or not any(f in data for f in SECRET_FIELDS):
        return event
    hidden = {k: (REDACTED if k in SECRET_FIELDS else v) for k, v in data.items()}
    return {**event, "data": hidden}

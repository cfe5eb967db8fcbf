"""What an agent may see of the log: admins everything, others no password hashes.

``agent.created`` and ``agent.password_changed`` carry an argon2 hash; a weak password
can be guessed offline from it, so only admins (who may export the log anyway) see
it. Everyone else gets the event with ``password_hash`` replaced by ``REDACTED`` (its
``hash`` no longer verifies for them, which only admins' audits need). Routes that
show events (``/api/events``, the stream) pass each event through ``visible_event``.
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

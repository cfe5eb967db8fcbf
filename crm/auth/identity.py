"""The agent behind a request, and how they proved it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from crm.events.agents import agent_actor


@dataclass(frozen=True)
class Agent:
    name: str
    admin: bool
    #: ``session`` (browser cookie: state changes need the CSRF token) or ``token``.
    via: Literal["session", "token"]
    token_id: str | None = None
    csrf_token: str | None = field(default=None, repr=False)

    @property
    def actor(self) -> str:
        """What events caused by this agent record as their ``actor``: ``agent:<name>``."""
        return agent_actor(self.name)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "admin": self.admin, "actor": self.actor, "via": self.via}

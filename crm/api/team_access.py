"""Who may see and answer which chat: ``CRM_VISIBILITY`` and ``CRM_REPLY_POLICY``.

With ``CRM_VISIBILITY=assigned`` an agent who is not an admin sees only the chats
assigned to them or to nobody: any other chat answers 404 ``unknown_chat``, exactly
as a chat that does not exist (its existence is not for them to learn).
"""

from __future__ import annotations

from typing import Any

from crm.api.errors import NotFound
from crm.api.guard import current_agent
from crm.api.services import services
from crm.auth.identity import Agent
from crm.projections import team_view
from crm.projections.team_view import Scope


def scope_of(agent: Agent) -> Scope:
    restricted = services().settings.visibility == "assigned" and not agent.admin
    return Scope(agent=agent.name, restricted=restricted)


def scope() -> Scope:
    return scope_of(current_agent())


def unknown_chat(phone: str) -> NotFound:
    return NotFound(f"no chat with {phone}", code="unknown_chat")


async def visible_chat(phone: str) -> dict[str, Any]:
    """The chat with its team fields, or 404 when there is none the agent may see."""
    chat = await services().db.read(team_view.visible_chat, phone, scope())
    if chat is None:
        raise unknown_chat(phone)
    return chat

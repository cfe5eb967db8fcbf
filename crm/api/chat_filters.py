"""The query of ``GET /api/chats``: the team's filters and the order, checked.

``status`` (one or a comma list), ``assignee`` (``me``, ``none`` or a name), ``label``,
``unread=true``, ``waiting=true``, all combinable; ``sort=waiting`` orders by the
longest wait instead of the newest activity.
"""

from __future__ import annotations

from quart import request

from crm.api.errors import BadRequest
from crm.events.team import STATUSES
from crm.projections.team_view import ChatFilter

SORTS = ("activity", "waiting")


def _flag(name: str) -> bool:
    raw = (request.args.get(name) or "").strip().lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    raise BadRequest(f"{name} must be true or false", code="bad_parameter")


def chat_filter() -> ChatFilter:
    args = request.args
    statuses = tuple(dict.fromkeys(
        part.strip() for part in (args.get("status") or "").split(",") if part.strip()))
    for status in statuses:
        if status not in STATUSES:
            raise BadRequest(f"status must be one or more of {', '.join(STATUSES)}",
                             code="bad_status")
    assignee = (args.get("assignee") or "").strip() or None
    label = (args.get("label") or "").strip() or None
    return ChatFilter(statuses=statuses, assignee=assignee, label=label,
                      unread=_flag("unread"), waiting=_flag("waiting"))


def sort() -> str:
    value = (request.args.get("sort") or "activity").strip()
    if value not in SORTS:
        raise BadRequest(f"sort must be one of {', '.join(SORTS)}", code="bad_parameter")
    return value

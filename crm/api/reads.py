"""The read API: chats, threads and the raw log. Shapes are a contract: only add."""

from __future__ import annotations

import re

from quart import Blueprint, request

from crm.api import chat_filters, params
from crm.api.errors import BadRequest, NotFound
from crm.api.guard import current_agent
from crm.api.services import services
from crm.api.team_access import scope, visible_chat
from crm.auth.redact import visible_event
from crm.events.store import read_after
from crm.projections import notes, team_view, thread_around
from crm.stream.viewers import AGENT_STREAMS

blueprint = Blueprint("reads", __name__)

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


def page_limit() -> int:
    """``limit`` is 1 to 200, default 50; larger values are clamped, never refused."""
    raw = request.args.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest("limit must be an integer", code="bad_parameter") from None
    return max(1, min(MAX_LIMIT, value))


def int_arg(name: str, default: int = 0) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    return params.integer(raw, name, minimum=0)


def _cursor(name: str, pattern: str) -> str | None:
    raw = request.args.get(name) or None
    if raw is None:
        return None
    if not re.fullmatch(pattern, raw, re.ASCII):
        raise BadRequest(f"{name} is not a cursor this API gave out", code="bad_parameter")
    return params.cursor(raw, name)


@blueprint.get("/api/chats")
async def list_chats() -> dict:
    limit = page_limit()
    q = (request.args.get("q") or "").strip() or None
    wanted, order, who = chat_filters.chat_filter(), chat_filters.sort(), scope()
    db = services().db
    if order == "waiting":
        if q is not None:
            raise BadRequest("sort=waiting does not combine with q", code="bad_parameter")
        before = _cursor("before", r"w[0-9.e+]+:\d+")
        if before is not None:
            params.number(before[1:].split(":", 1)[0], "before")
        rows, cursor = await db.read(team_view.list_by_waiting, limit, before, wanted, who)
    else:
        before = _cursor("before", r"\d+")
        rows, cursor = await db.read(team_view.list_team_chats, limit, before, q, wanted,
                                     who)
    return {"chats": rows, "next": cursor}


@blueprint.get("/api/chats/<phone>")
async def get_chat(phone: str) -> dict:
    return {"chat": await visible_chat(phone)}


@blueprint.get("/api/messages")
async def list_messages() -> dict:
    phone = request.args.get("phone")
    if not phone:
        raise BadRequest("phone is required", code="bad_parameter")
    limit = page_limit()
    before = _cursor("before", r"-?\d+:\d+")
    after = _cursor("after", r"-?\d+:\d+")
    around = request.args.get("around") or None
    await visible_chat(phone)  # 404 for no chat, or one this agent may not see
    db = services().db
    newer: str | None = None
    if around is not None:
        page = await db.read(thread_around.around, phone, around, limit)
        if page is None:
            raise NotFound(f"no message {around} in this chat", code="unknown_message")
        rows, cursor, newer = page
    elif after is not None:
        rows, newer = await db.read(thread_around.newer, phone, after, limit)
        cursor = None
    else:
        rows, cursor = await db.read(notes.thread, phone, limit, before)
    # ``newer``: the cursor for ``after`` when newer items than the page exist.
    return {"messages": rows, "next": cursor, "newer": newer}


@blueprint.get("/api/events")
async def list_events() -> dict:
    after = int_arg("after")
    limit = page_limit()
    events = await services().db.read(read_after, after, limit + 1)
    more = len(events) > limit
    events = events[:limit]
    # ``next`` is the last position read, shown or not: a page of a non-admin may be
    # short (or empty) where it held agents' and tokens' events, which only admins see,
    # as in the stream.
    following = events[-1].position if more else None
    if not current_agent().admin:
        events = [e for e in events if not e.stream.startswith(AGENT_STREAMS)]
    # Password hashes are left out for everyone, as in the stream (the same shape);
    # the admin-only export keeps them for audits.
    return {
        "events": [visible_event(e.as_json(), None) for e in events],
        "next": following,
    }

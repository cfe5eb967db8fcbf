"""``GET /api/stream``: the log as server-sent events, resumable with ``Last-Event-ID``.

Authentication is the global guard's job (``crm.api.guard``), as for every route; the
stream then authenticates once more, after fixing the log position it checks from
(``checked``): a credential ended before that position is refused here, one ended
after it ends the open stream (``crm.stream.viewers``). Non-admins never see the
``agent:`` streams' events, and with ``CRM_VISIBILITY=assigned`` nor those of chats
assigned to someone else (presence frames included).
"""

from __future__ import annotations

import sqlite3
from typing import Any, cast

from quart import Blueprint, Response, make_response, request

from crm.api import cookies, params
from crm.api.errors import ServiceUnavailable, Unauthorized
from crm.api.guard import authenticate
from crm.api.services import Services, services
from crm.auth.identity import Agent
from crm.auth.sessions import session_key
from crm.stream import LiveStream, Viewer

blueprint = Blueprint("stream", __name__)

HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx: pass each event on at once
    # No Transfer-Encoding or Connection header: both are illegal on HTTP/2.
}


def stream_facts(live: LiveStream | None, conn: sqlite3.Connection) -> dict[str, Any]:
    """``/healthz``: open streams and overflows (fallbacks to the log) of the worker
    that answered."""
    if live is None:
        return {}
    return {"open_streams": len(live.hub), "stream_overflows": live.hub.overflows}


def live_stream() -> LiveStream:
    live = services().stream
    if live is None:
        raise ServiceUnavailable("the live stream is not running", code="not_started")
    return live


def resume_position() -> int | None:
    """``Last-Event-ID`` (what browsers send on reconnect) wins over ``?after=``."""
    for source, raw in (("Last-Event-ID", request.headers.get("Last-Event-ID")),
                        ("after", request.args.get("after"))):
        if raw is None or raw.strip() == "":
            continue
        return params.integer(raw, source, minimum=0)
    return None


def viewer_of(agent: Agent) -> Viewer:
    session = None
    if agent.via == "session":
        session_id = cookies.session_id()
        session = session_key(session_id) if session_id is not None else None
    restricted = services().settings.visibility == "assigned"
    return Viewer.of(agent.name, agent.admin, token_id=agent.token_id, session=session,
                     restricted=restricted)


@blueprint.get("/api/stream")
async def stream() -> Response:
    live = live_stream()
    after = resume_position()
    checked = await live.end()
    agent = await authenticate()
    if agent is None:
        raise Unauthorized("sign in or send an API token")
    if after is None:
        after = checked
    body = live.follow(after, viewer_of(agent), checked)
    team = services().team
    if team is not None:  # an open stream is what "online" means (crm.team.presence)
        body = team.presence.counted(agent.name, body)
    # A generator body makes the app's Response (the hint also allows werkzeug's).
    response = cast(Response, await make_response(body, 200, HEADERS))
    response.timeout = None  # Quart would otherwise cut the stream after 60 s, silently
    return response


async def start(crm: Services) -> LiveStream:
    """Called from the app's ``before_serving``, once the database is open."""
    settings = crm.settings
    live = LiveStream(crm.db, heartbeat=settings.stream_heartbeat, poll=settings.stream_poll,
                      queue=settings.stream_queue, max_age=settings.stream_max_age or None,
                      per_owner=settings.streams_per_agent,
                      restricted=settings.visibility == "assigned",
                      rows=settings.stream_frames == "rows")
    await live.start(crm.stopping)
    return live


async def stop(live: LiveStream) -> None:
    """Called from ``after_serving``, before the database closes."""
    await live.stop()

"""Locked by default: every route needs an authenticated agent unless it opts out.

The check lives here, once, as a ``before_request`` hook on the whole app, so a route
added later is protected without anyone remembering a decorator. Public routes say so
with ``@public`` (the webhook, the sign-in page, the health check, static files).

An agent proves who they are with ``Authorization: Bearer <token>`` (API clients) or
the session cookie (browsers). Anonymous requests get 401 JSON under ``/api/`` and a
redirect to ``/login`` elsewhere. Cookie-authenticated requests that change state
must also carry the session's CSRF token: header ``X-CSRF-Token`` or form field
``csrf_token``; and no state-changing request may come from another site's page
(``refuse_cross_site``), whatever it carries. Views call ``current_agent()`` for
the agent (``.actor`` is what their events record) and ``require_admin()`` for
admin-only work.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import TypeVar, cast
from urllib.parse import quote, urlsplit

from quart import Quart, Response, current_app, g, redirect, request

from crm.api import cookies
from crm.api.errors import Forbidden, Unauthorized
from crm.api.services import services
from crm.auth import sessions
from crm.auth.identity import Agent
from crm.auth.tokens import now_text, token_digest
from crm.projections.agents import agent_by_token

F = TypeVar("F", bound=Callable[..., object])

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def public(view: F) -> F:
    """Mark a view as reachable without signing in (webhook, login, health)."""
    view._crm_public = True  # type: ignore[attr-defined]
    return view


def is_public(endpoint: str | None) -> bool:
    if endpoint is None:
        return False
    if endpoint == "static" or endpoint.endswith(".static"):
        return True
    view = current_app.view_functions.get(endpoint)
    return bool(getattr(view, "_crm_public", False))


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def current_agent() -> Agent:
    """The signed-in agent of this request (``Unauthorized`` on a public route)."""
    agent = g.get("crm_agent")
    if agent is None:
        raise Unauthorized("sign in or send an API token")
    return agent


def require_admin() -> Agent:
    """The current agent if an admin; otherwise 403 ``{"error": {"code": "forbidden"}}``."""
    agent = current_agent()
    if not agent.admin:
        raise Forbidden("only an admin may do this")
    return agent


def session_policy() -> sessions.Policy:
    return sessions.Policy.from_hours(services().settings.session_idle_hours)


async def authenticate() -> Agent | None:
    """The agent of the request's bearer token or session cookie, or None.
    A bearer token that is not live is refused outright (never falls back)."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("use 'Authorization: Bearer <token>'")
        found = await services().db.read(agent_by_token, token_digest(token), now_text())
        if found is None:
            raise Unauthorized("this API token is unknown, revoked, expired, or its agent "
                               "disabled")
        name, admin, token_id = found
        return Agent(name=name, admin=admin, via="token", token_id=token_id)
    session_id = cookies.session_id()
    if session_id is None:
        return None
    db, now = services().db, time.time()
    checked = await db.read(sessions.check, session_id, now, session_policy())
    if checked.forget or checked.touch:
        await db.write(sessions.record, checked, now)
    return checked.agent


async def check_csrf(agent: Agent) -> None:
    sent = request.headers.get("X-CSRF-Token")
    if not sent and request.mimetype in FORM_TYPES:
        sent = (await request.form).get("csrf_token")
    if not sent or not agent.csrf_token or not secrets.compare_digest(sent, agent.csrf_token):
        raise Forbidden("this request needs the CSRF token of your session "
                        "(header X-CSRF-Token or form field csrf_token)", code="csrf")


def refuse() -> Response:
    """401 JSON for the API and the stream; a redirect to the sign-in page otherwise."""
    if is_api(request.path):
        raise Unauthorized("sign in or send an API token")
    target = request.full_path if request.query_string else request.path
    status = 302 if request.method in SAFE_METHODS else 303
    # In a request, quart.redirect builds the app's Response (its hint says werkzeug's).
    response = cast(Response, redirect("/login?next=" + quote(target, safe="/"), status))
    if request.cookies.get(cookies.SESSION_COOKIE):
        cookies.clear_session(response)
    return response


async def refuse_cross_site() -> None:
    """A state-changing request a browser sent for another site's page is refused, CSRF
    token or not: ``Sec-Fetch-Site: cross-site``, or an ``Origin`` that is not ours
    (its host name against the request's ``Host``, ports aside since a proxy may drop
    them; ``null`` is never ours). Scripts and API clients send neither header, so
    Bearer requests are not affected."""
    if request.headers.get("Sec-Fetch-Site", "").strip().lower() == "cross-site":
        await _drain()
        raise Forbidden("a request from another site may not change anything",
                        code="cross_site")
    origin = request.headers.get("Origin")
    if origin is None:
        return
    try:
        theirs = urlsplit(origin.strip()).hostname if "://" in origin else None
        ours = urlsplit("//" + request.host).hostname
    except ValueError:  # an unreadable Origin or Host is nobody's
        theirs = ours = None
    if not theirs or theirs != ours:
        await _drain()
        raise Forbidden("a request from another origin may not change anything",
                        code="cross_site")


async def _drain() -> None:
    """Read the refused request's body (at most ``MAX_CONTENT_LENGTH``) before answering,
    so the connection can carry the client's next request instead of being dropped."""
    await request.get_data(cache=False)


def install(app: Quart) -> None:
    @app.before_request
    async def _require_agent() -> Response | None:
        if request.method not in SAFE_METHODS:
            await refuse_cross_site()
        if request.method == "OPTIONS" or is_public(request.endpoint):
            return None
        agent = await authenticate()
        if agent is None:
            return refuse()
        g.crm_agent = agent
        if agent.via == "session" and request.method not in SAFE_METHODS:
            await check_csrf(agent)
        return None

"""Signing in and out: ``GET /login``, ``POST /login``, ``POST /logout``.

The form posts ``username``, ``password`` and a hidden ``csrf_token`` that must match
the ``crm_login`` cookie set with the page (so another site cannot sign a browser in
to an account of its choosing). JSON clients may post ``{"username", "password"}``
instead (a cross-site page cannot send JSON without CORS) and get the session's CSRF
token in the answer. Failed attempts are logged (naming only known agents) and limited
per name and address, per address and per name (``crm.auth.ratelimit``), the
address being the client's behind a trusted proxy (``crm.proxies``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from typing import cast
from urllib.parse import quote, urlsplit

from quart import Blueprint, Response, jsonify, redirect, render_template, request

from crm.api import cookies
from crm.api.client import client_address
from crm.api.errors import TooManyRequests, Unauthorized
from crm.api.guard import authenticate, current_agent, public, session_policy
from crm.api.json_body import json_body
from crm.api.services import services
from crm.auth import passwords, ratelimit, sessions
from crm.events.agents import SessionClosed, agent_stream
from crm.projections.agents import password_hash

log = logging.getLogger("crm.auth")

blueprint = Blueprint("login", __name__)

WRONG = "Wrong name or password."


#: What the WHATWG URL parser strips from both ends (C0 controls and space) and
#: removes everywhere (ASCII tab and newlines) before it reads a URL.
_ENDS = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, or ``/``.

    Read as a browser reads a ``Location`` (ends stripped, tabs and newlines dropped,
    ``\\`` taken for ``/``), the target must have no scheme and no host: never
    ``//evil.example``, ``/\\evil.example``, ``/<tab>/evil.example`` or ``https://...``.
    What is returned is the cleaned path, percent-encoded outside printable ASCII.
    """
    if not target:
        return "/"
    text = target.strip(_ENDS).translate(_TAB_OR_NEWLINE).replace("\\", "/")
    if not text.startswith("/") or text.startswith("//"):
        return "/"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        return "/"
    parts = urlsplit(text)
    if parts.scheme or parts.netloc:
        return "/"
    return "".join(char if 0x20 < ord(char) < 0x7F else quote(char, safe="")
                   for char in text)


async def _page(error: str | None = None, status: int = 200, username: str = "",
                next_url: str = "/") -> Response:
    # Reuse the browser's token: a second tab or a redirected background request
    # (a favicon) must not expire the form already on screen.
    existing = request.cookies.get(cookies.LOGIN_COOKIE, "")
    token = existing if 32 <= len(existing) <= 128 else secrets.token_urlsafe(32)
    body = await render_template("login.html", csrf_token=token, error=error,
                                 username=username, next_url=next_url)
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    cookies.set_login_token(response, token)
    return response


@blueprint.get("/login")
@public
async def login_page() -> Response:
    next_url = safe_next(request.args.get("next"))
    try:
        if await authenticate() is not None:
            # In a request, quart.redirect builds the app's Response (its hint: werkzeug's).
            return cast(Response, redirect(next_url))
    except Unauthorized:
        pass
    return await _page(next_url=next_url)


@blueprint.post("/login")
@public
async def login() -> Response:
    as_json = request.is_json
    if as_json:
        body = await json_body() or {}
        if not isinstance(body, dict):
            body = {}
    else:
        body = await request.form
        sent, expected = body.get("csrf_token", ""), request.cookies.get(cookies.LOGIN_COOKIE)
        if not sent or not expected or not secrets.compare_digest(sent, expected):
            return await _page("The sign-in form expired; please try again.", 403)
    username = str(body.get("username") or "").strip().lower()[:64]
    password = str(body.get("password") or "")
    next_url = safe_next(str(body.get("next") or ""))
    address = client_address()
    db = services().db
    now = time.time()
    attempt = await db.write(ratelimit.begin_attempt, ratelimit.keys_for(username, address), now)
    if attempt.refused:
        wait = max(1, math.ceil(attempt.retry_after))
        log.warning("sign-in refused (too many failures) for %s from %s",
                    await _who(username), address)
        if as_json:
            raise TooManyRequests(f"too many failed sign-ins; try again in {wait} s",
                                  retry_after=wait)
        response = await _page(f"Too many failed sign-ins. Try again in {wait} seconds.",
                               429, username, next_url)
        response.headers["Retry-After"] = str(wait)
        return response
    if attempt.delay:
        await asyncio.sleep(attempt.delay)  # the name is under attack from elsewhere
    found = await db.read(password_hash, username)
    stored, admin, disabled = found if found else (None, False, False)
    matches = await asyncio.to_thread(passwords.verify_password, stored, password)
    if not matches or disabled:
        reason = "disabled agent" if matches else "wrong name or password"
        # Only a known agent's name is logged: a password typed into the name field
        # must not end up in the server's log.
        who = repr(username) if found else "an unknown name"
        log.warning("failed sign-in for %s from %s: %s", who, address, reason)
        if as_json:
            raise Unauthorized(WRONG.rstrip("."), code="unauthorized")
        return await _page(WRONG, 401, username, next_url)
    await db.write(ratelimit.succeeded, attempt)
    session_id, csrf_token = await db.write(
        sessions.open_session, username, stored, now, session_policy(), address)
    log.info("%r signed in from %s", username, address)
    if as_json:
        response = jsonify({"agent": {"name": username, "admin": admin},
                            "csrf_token": csrf_token})
    else:
        response = cast(Response, redirect(next_url, 303))
    cookies.set_session(response, session_id)
    return response


async def _who(username: str) -> str:
    known = await services().db.read(password_hash, username)
    return repr(username) if known else "an unknown name"


@blueprint.post("/logout")
async def logout() -> Response:
    agent = current_agent()
    session_id = cookies.session_id()
    if session_id is not None:
        db = services().db
        await db.write(sessions.close_session, session_id)
        # Recorded so every worker ends this session's open streams (crm.stream.viewers).
        await db.record([SessionClosed(
            agent=agent.name, session_sha256=sessions.session_key(session_id)).new(
                agent_stream(agent.name), actor=agent.actor)])
    log.info("%r signed out", agent.name)
    response = cast(Response, redirect("/login", 303))
    cookies.clear_session(response)
    return response

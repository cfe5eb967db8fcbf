"""``/``: until the inbox page lands, who is signed in and a sign-out button."""

from __future__ import annotations

from quart import Blueprint, Response, render_template

from crm.api.guard import current_agent

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
async def home() -> Response:
    agent = current_agent()
    csrf = agent.csrf_token or ""
    body = await render_template("home.html", agent=agent, csrf_token=csrf, session_csrf=csrf)
    response = Response(body, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response

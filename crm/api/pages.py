"""``/``: the inbox page, ``/agents``: the team page for admins, and ``/static/...``: its
CSS and JavaScript, served by crm itself.

The page is a server-rendered shell; the browser fills it from the read API and keeps it
live from the stream. The shell carries the log position it was rendered at, so the
page's stream resumes from there and nothing committed between the render and the
stream's start is missed (a repeated event is harmless: the page refetches, never adds).

Static files are public (the guard lets any ``*.static`` endpoint through: they hold no
customer data). They are revalidated on each load (``no-cache``), and the entry points
carry a version made from the files' sizes and times, so an upgrade is never half-seen.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from quart import Blueprint, Response, redirect, render_template, request

from crm.api.guard import current_agent
from crm.api.services import services
from crm.events.store import last_position

WEB = Path(__file__).resolve().parents[2] / "web"
STATIC = WEB / "static"

blueprint = Blueprint("web", __name__, static_folder=str(STATIC), static_url_path="/static")


def asset_version(root: Path = STATIC) -> str:
    """A short digest of every static file's name, size and mtime."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "input.css" not in path.name:
            stat = path.stat()
            digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:12]


@blueprint.get("/")
async def inbox() -> Response:
    agent = current_agent()
    position = await services().db.read(last_position)
    csrf = agent.csrf_token or ""
    body = await render_template(
        "inbox.html", agent=agent, csrf_token=csrf, session_csrf=csrf, position=position,
        sla_minutes=services().settings.sla_minutes)
    return _page(body)


@blueprint.get("/agents")
async def agents_page() -> Response:
    """The team's agents and tokens, for admins (other agents go back to the inbox)."""
    agent = current_agent()
    if not agent.admin:
        return redirect("/")  # type: ignore[return-value]
    csrf = agent.csrf_token or ""
    body = await render_template("agents.html", agent=agent, csrf_token=csrf,
                                 session_csrf=csrf)
    return _page(body)


def _page(body: str) -> Response:
    response = Response(body, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


#: Each page's own module: not preloaded by the others.
ENTRY_POINTS = ("app.js", "agents_page.js", "automations_page.js", "contacts_page.js",
                "theme.js", "shell.js", "campaigns_page.js", "funnel.js")


def modules(root: Path = STATIC / "js") -> list[str]:
    """The page's ES modules but the entry point, preloaded together (no import waterfall)."""
    return sorted(p.name for p in root.glob("*.js")
                  if p.name not in ENTRY_POINTS)


@blueprint.app_context_processor
def _asset_version() -> dict[str, object]:
    """Every page's ``{{ version }}``: appended to the stylesheet and the entry module."""
    return {"version": asset_version(), "modules": modules()}


@blueprint.after_app_request
async def _revalidate_static(response: Response) -> Response:
    if request.endpoint == "web.static":
        response.headers["Cache-Control"] = "no-cache"
    return response

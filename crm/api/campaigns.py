"""Campaign routes: create, start, pause, resume, cancel, read, and the CSV upload.

``POST /api/campaigns`` (admins and agents with the ``campaigns`` permission) creates
a draft (or a scheduled campaign) with its audience resolved and frozen: 201 with its
``id`` and ``audience`` size; a template that is not APPROVED is 409. The actions
record ``campaign.*`` events; the sending is the campaign worker's
(``crm.campaigns.worker``). ``POST /api/campaigns/csv`` stores an uploaded CSV and
answers its id, size and phones, to be named in ``audience.csv``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint, Response, render_template, request

from crm.api.errors import BadRequest, Conflict, Forbidden, NotFound
from crm.api.guard import current_agent
from crm.api.json_body import json_body
from crm.api.services import services
from crm.auth.identity import Agent
from crm.campaigns import audience as audiences
from crm.campaigns import draft as drafts
from crm.campaigns.worker import start_key
from crm.events import NewEvent
from crm.events.campaigns import (
    CampaignCancelled,
    CampaignPaused,
    CampaignResumed,
    CampaignStarted,
    campaign_stream,
)
from crm.events.store import last_position
from crm.media.local import LocalMediaStore
from crm.projections import campaigns as view
from crm.projections import templates
from crm.projections.permissions import has_permission

blueprint = Blueprint("campaigns", __name__)

PERMISSION = "campaigns"
MAX_CSV_BYTES = 4 * 1024 * 1024


async def require_campaigns() -> Agent:
    """Admins, and agents an admin gave the ``campaigns`` permission."""
    agent = current_agent()
    if agent.admin or await services().db.read(has_permission, agent.name, PERMISSION):
        return agent
    raise Forbidden("only admins and agents with the campaigns permission may do this")


def public(campaign: dict[str, Any]) -> dict[str, Any]:
    """The contract's shape (plus what the page shows)."""
    return {"id": campaign["id"], "name": campaign["name"], "state": campaign["state"],
            "counts": campaign["counts"], "failures": campaign["failures"],
            "skipped": campaign["skipped_reasons"], "started_at": campaign["started_at"],
            "finished_at": campaign["finished_at"], "created_at": campaign["created_at"],
            "schedule_at": campaign["schedule_at"], "rate": campaign["rate"],
            "template": campaign["template"], "category": campaign["category"],
            "variables": campaign["variables"], "audience": campaign["audience_spec"],
            "agent": campaign["agent"]}


async def _campaign(campaign_id: str) -> dict[str, Any]:
    found = await services().db.read(view.get_campaign, campaign_id)
    if found is None:
        raise NotFound(f"no campaign {campaign_id}", code="unknown_campaign")
    return found


def _store() -> LocalMediaStore:
    return LocalMediaStore.for_data_dir(services().settings.data_dir)


async def _csv_audience(csv_id: str | None) -> audiences.Audience | None:
    if csv_id is None:
        return None
    settings = services().settings
    try:
        content = await asyncio.to_thread(_store().read, csv_id)
    except (FileNotFoundError, ValueError, OSError):
        raise BadRequest(f"no uploaded CSV {csv_id}", code="unknown_csv") from None
    return audiences.csv_phones(content, settings.customers_phone_column,
                                settings.default_country_code)


@blueprint.get("/campaigns")
async def page() -> Response:
    """The Campaigns page: everyone sees the campaigns; managing them needs the right."""
    agent = current_agent()
    db = services().db
    manage = agent.admin or await db.read(has_permission, agent.name, PERMISSION)
    csrf = agent.csrf_token or ""
    body = await render_template("campaigns.html", agent=agent, csrf_token=csrf,
                                 session_csrf=csrf, position=await db.read(last_position),
                                 manage=manage)
    response = Response(body, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/api/campaigns/csv")
async def upload_csv() -> tuple[dict, int]:
    await require_campaigns()
    upload = None
    if request.mimetype == "multipart/form-data":
        upload = (await request.files).get("file")
        content = upload.read() if upload is not None else b""
    else:
        content = await request.get_data(cache=True, as_text=False, parse_form_data=False)
    if not content:
        raise BadRequest("send the CSV as a file field or as the body", code="no_file")
    if len(content) > MAX_CSV_BYTES:
        raise BadRequest("the CSV is larger than 4 MB", code="too_large")
    settings = services().settings
    try:
        found = audiences.csv_phones(content, settings.customers_phone_column,
                                     settings.default_country_code)
    except audiences.BadAudience as exc:
        raise BadRequest(str(exc), code="bad_csv") from None
    stored = await asyncio.to_thread(_store().put, content, "text/csv",
                                     getattr(upload, "filename", None) or "audience.csv")
    return {"id": stored.id, "bytes": len(content), "phones": len(found.phones),
            "rejected": found.rejected[:20]}, 201


@blueprint.post("/api/campaigns")
async def create() -> tuple[dict, int]:
    agent = await require_campaigns()
    crm = services()
    try:
        draft = drafts.parse(await json_body(force=True))
    except drafts.BadDraft as exc:
        raise BadRequest(str(exc), code="bad_campaign") from None
    known = await crm.db.read(templates.list_templates, False)
    try:
        template = drafts.approved(known, draft.template)
    except drafts.TemplateNotApproved as exc:
        raise Conflict(str(exc), code="template_not_approved") from None
    try:
        found = await crm.db.read(audiences.resolve, draft.audience,
                                  await _csv_audience(draft.audience.get("csv")),
                                  crm.settings.default_country_code)
    except audiences.BadAudience as exc:
        raise BadRequest(str(exc), code="bad_audience") from None
    if not found.phones:
        raise BadRequest("the audience is empty", code="empty_audience",
                         rejected=found.rejected[:20])
    cid, events = drafts.events(draft, template.get("category"), found.phones, agent.actor,
                                agent.name)
    await crm.db.record(events)
    campaign = await _campaign(cid)
    return {"id": cid, "audience": len(found.phones), "rejected": found.rejected[:20],
            "campaign": public(campaign)}, 201


@blueprint.get("/api/campaigns")
async def list_all() -> dict:
    return {"campaigns": [public(c) for c in await services().db.read(view.list_campaigns)]}


@blueprint.get("/api/campaigns/<campaign_id>")
async def show(campaign_id: str) -> dict:
    return {"campaign": public(await _campaign(campaign_id))}


@blueprint.get("/api/campaigns/<campaign_id>/recipients")
async def recipients(campaign_id: str) -> dict:
    await _campaign(campaign_id)
    status = request.args.get("status") or None
    try:
        limit = max(1, min(1000, int(request.args.get("limit", 100))))
        after = int(request.args.get("after", -1))
    except ValueError:
        raise BadRequest("limit and after must be numbers", code="bad_parameter") from None
    found = await services().db.read(view.recipients, campaign_id, status, limit, after)
    return {"recipients": found, "next": found[-1]["seq"] if len(found) == limit else None}


async def _act(campaign_id: str, allowed: tuple[str, ...], done: tuple[str, ...],
               event: Any, key: str | None = None) -> dict:
    agent = await require_campaigns()
    campaign = await _campaign(campaign_id)
    if campaign["state"] in allowed:
        made: NewEvent = event.new(campaign_stream(campaign_id), actor=agent.actor,
                                   idempotency_key=key)
        await services().db.record([made])
    elif campaign["state"] not in done:
        raise Conflict(f"the campaign is {campaign['state']}", code="bad_state",
                       state=campaign["state"])
    return {"campaign": public(await _campaign(campaign_id))}


@blueprint.post("/api/campaigns/<campaign_id>/start")
async def start(campaign_id: str) -> dict:
    return await _act(campaign_id, ("draft", "scheduled"), ("running", "paused"),
                      CampaignStarted(campaign_id=campaign_id), start_key(campaign_id))


@blueprint.post("/api/campaigns/<campaign_id>/pause")
async def pause(campaign_id: str) -> dict:
    return await _act(campaign_id, ("running",), ("paused",),
                      CampaignPaused(campaign_id=campaign_id))


@blueprint.post("/api/campaigns/<campaign_id>/resume")
async def resume(campaign_id: str) -> dict:
    return await _act(campaign_id, ("paused",), ("running",),
                      CampaignResumed(campaign_id=campaign_id))


@blueprint.post("/api/campaigns/<campaign_id>/cancel")
async def cancel(campaign_id: str) -> dict:
    return await _act(campaign_id, ("draft", "scheduled", "running", "paused"),
                      ("cancelled",), CampaignCancelled(campaign_id=campaign_id))

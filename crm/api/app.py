"""The Quart app: one place that wires blueprints, the guard and the services.

Every part is wired here, explicitly: the workers are started and kept in typed
fields of ``Services``, and so are the facts ``/healthz`` adds up and the places the
webhook's secret may come from. No module registers itself on import.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from quart import Quart

from crm.api import (
    agents,
    automations,
    campaigns,
    contacts,
    contacts_page,
    errors,
    guard,
    health,
    labels,
    login,
    notes,
    notifications,
    openapi,
    optouts,
    pages,
    presence,
    pwa,
    quick_replies,
    read_chat,
    reads,
    search,
    security,
    send,
    stream,
    team,
    templates,
    webhook,
)
from crm.api import channel as channel_api
from crm.api import customers as customers_api
from crm.api import export as export_api
from crm.api import media as media_api
from crm.api.services import HealthFact, Services
from crm.automation import worker as automation
from crm.campaigns import worker as campaign_worker
from crm.config import Settings
from crm.customers import interval as customers_sync
from crm.events import Database
from crm.media import worker as media_worker
from crm.prepare import prepare_database
from crm.projections import default_projector
from crm.sandbox.launcher import webhook_secret_source
from crm.sender import service as sending
from crm.team import service as team_service

log = logging.getLogger("crm")

BLUEPRINTS = (health.blueprint, reads.blueprint, webhook.blueprint, stream.blueprint,
              login.blueprint,
              pages.blueprint, agents.blueprint, customers_api.blueprint,
              export_api.blueprint,
              send.blueprint, media_api.blueprint, templates.blueprint, read_chat.blueprint,
              channel_api.blueprint, openapi.blueprint,
              team.blueprint, notes.blueprint, labels.blueprint, quick_replies.blueprint,
              notifications.blueprint, presence.blueprint, automations.blueprint,
              pwa.blueprint, contacts.blueprint, contacts_page.blueprint, search.blueprint,
              campaigns.blueprint, optouts.blueprint)

#: Jinja templates of the server-rendered pages (sign-in, ...).
TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


def health_facts(crm: Services) -> tuple[HealthFact, ...]:
    """What ``/healthz`` says beyond the log's position and the checkpoints."""
    return (webhook.unparsed_fact, partial(sending.channel_fact, crm.sending),
            partial(stream.stream_facts, crm.stream), media_worker.media_fact)


def create_app(settings: Settings) -> Quart:
    app = Quart(__name__, static_folder=None, template_folder=str(TEMPLATES))
    app.config["MAX_CONTENT_LENGTH"] = 4 * 1024 * 1024
    projector = default_projector(settings)
    errors.install(app)
    guard.install(app)
    security.install(app)
    send.install(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)

    @app.before_serving
    async def _open() -> None:
        prepare_database(settings)
        db = Database(settings.db_path, projector)
        db.start()
        # Where the webhook's secret may come from when WHATSAPP_APP_SECRET is unset.
        crm = Services(settings=settings, projector=projector, db=db,
                       secret_sources=(webhook_secret_source,))
        app.extensions["crm"] = crm
        crm.stream = await stream.start(crm)
        crm.team = await team_service.start(settings, db, crm.stopping)
        crm.customers_sync = await customers_sync.start(settings, db, crm.stopping)
        crm.sending = await sending.start(settings, db, crm.stopping)
        crm.media_worker = await media_worker.start(settings, db, crm.stopping,
                                                    crm.sending.graph)
        crm.automation = await automation.start(settings, db, crm.stopping)
        crm.campaigns = await campaign_worker.start(settings, db, crm.stopping)
        crm.health_facts = health_facts(crm)

    @app.after_serving
    async def _close() -> None:
        crm: Services | None = app.extensions.pop("crm", None)
        if crm is not None:
            if crm.automation is not None:
                await automation.stop(crm.automation)
            if crm.campaigns is not None:
                await campaign_worker.stop(crm.campaigns)
            if crm.media_worker is not None:
                await media_worker.stop(crm.media_worker, crm.stopping)
            if crm.sending is not None:
                await sending.stop(crm.sending)
            if crm.customers_sync is not None:
                await customers_sync.stop(crm.customers_sync)
            if crm.team is not None:
                await team_service.stop(crm.team)
            if crm.stream is not None:
                await stream.stop(crm.stream)
            crm.db.close()

    return app

"""The Quart app: one place that wires blueprints, the guard and the services."""

from __future__ import annotations

import logging
from pathlib import Path

from quart import Quart

from crm.api import (
    agents,
    errors,
    guard,
    health,
    login,
    pages,
    read_chat,
    reads,
    security,
    send,
    stream,
    templates,
    webhook,
)
from crm.api import customers as customers_api
from crm.api import export as export_api
from crm.api import media as media_api
from crm.api.services import Services
from crm.auth import local as auth_local
from crm.config import Settings
from crm.customers import interval as customers_sync
from crm.events import Database
from crm.events.store import EventStore
from crm.media import worker as media_worker
from crm.projections import default_projector
from crm.sender import service as sending

log = logging.getLogger("crm")

BLUEPRINTS = (health.blueprint, reads.blueprint, webhook.blueprint, stream.blueprint,
              login.blueprint,
              pages.blueprint, agents.blueprint, customers_api.blueprint,
              export_api.blueprint,
              send.blueprint, media_api.blueprint, templates.blueprint, read_chat.blueprint)

#: Jinja templates of the server-rendered pages (sign-in, ...).
TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


def prepare_database(settings: Settings) -> None:
    """Create the schema and bring projections up to the log before serving."""
    settings.ensure_data_dir()
    projector = default_projector()
    store = EventStore(settings.db_path)
    try:
        projector.create_schema(store.conn)
        projector.catch_up(store.conn)
        auth_local.create_schema(store.conn)
    finally:
        store.close()


def create_app(settings: Settings) -> Quart:
    app = Quart(__name__, static_folder=None, template_folder=str(TEMPLATES))
    app.config["MAX_CONTENT_LENGTH"] = 4 * 1024 * 1024
    projector = default_projector()
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
        app.extensions["crm"] = Services(settings=settings, projector=projector, db=db)
        await stream.start(app.extensions["crm"])
        await customers_sync.start(app.extensions["crm"])
        await sending.start(app.extensions["crm"])
        await media_worker.start(app.extensions["crm"])

    @app.after_serving
    async def _close() -> None:
        crm = app.extensions.pop("crm", None)
        if crm is not None:
            await media_worker.stop(crm)
            await sending.stop(crm)
            await customers_sync.stop(crm)
            await stream.stop(crm)
            crm.db.close()

    return app

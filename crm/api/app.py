"""The Quart app: one place that wires blueprints, the guard and the services."""

from __future__ import annotations

import logging

from quart import Quart

from crm.api import errors, guard, health, reads, webhook
from crm.api.services import Services
from crm.config import Settings
from crm.events import Database
from crm.events.store import EventStore
from crm.projections import default_projector

log = logging.getLogger("crm")

BLUEPRINTS = (health.blueprint, reads.blueprint, webhook.blueprint)


def prepare_database(settings: Settings) -> None:
    """Create the schema and bring projections up to the log before serving."""
    settings.ensure_data_dir()
    projector = default_projector()
    store = EventStore(settings.db_path)
    try:
        projector.create_schema(store.conn)
        projector.catch_up(store.conn)
    finally:
        store.close()


def create_app(settings: Settings) -> Quart:
    app = Quart(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 4 * 1024 * 1024
    projector = default_projector()
    errors.install(app)
    guard.install(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)

    @app.before_serving
    async def _open() -> None:
        prepare_database(settings)
        db = Database(settings.db_path, projector)
        db.start()
        app.extensions["crm"] = Services(settings=settings, projector=projector, db=db)

    @app.after_serving
    async def _close() -> None:
        crm = app.extensions.pop("crm", None)
        if crm is not None:
            crm.db.close()

    return app

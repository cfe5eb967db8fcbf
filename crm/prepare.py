"""Bringing the database file up to date before it is used: by ``crm serve`` and by the
commands that read or write it (``crm replay``, ``crm users``, ``crm customers``).

Here rather than in ``crm.api`` so that a command opens the database without
importing the web app.
"""

from __future__ import annotations

from crm.auth import local as auth_local
from crm.config import Settings
from crm.events.store import EventStore
from crm.private import tighten
from crm.projections import default_projector


def prepare_database(settings: Settings) -> None:
    """Create the schema and bring projections up to the log."""
    settings.ensure_data_dir()
    projector = default_projector(settings)
    store = EventStore(settings.db_path)
    try:
        projector.create_schema(store.conn)
        projector.catch_up(store.conn)
        auth_local.create_schema(store.conn)
    finally:
        store.close()
    for suffix in ("", "-wal", "-shm"):  # SQLite gives -wal and -shm the file's mode
        tighten(settings.db_path.with_name(settings.db_path.name + suffix))

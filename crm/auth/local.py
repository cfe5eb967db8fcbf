"""Running agent commands in-process: the CLI, the first start, and tests' fixtures.

The database must already be prepared (``crm.prepare.prepare_database``). Appends go
through a synchronous ``EventStore`` with the default projector; other processes,
a running server included, may append at the same time.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from crm.auth import passwords, ratelimit, sessions
from crm.auth.commands import plan_first_admin, plan_token
from crm.auth.errors import AgentExists, WeakPassword
from crm.config import ConfigError, Settings
from crm.events import EventStore, NewEvent
from crm.private import write_private
from crm.projections import default_projector
from crm.projections.agents import count_agents


def create_schema(db: sqlite3.Connection) -> None:
    """Tables of server state that are not projections (sessions, sign-in failures)."""
    sessions.create_schema(db)
    ratelimit.create_schema(db)


@contextmanager
def open_store(settings: Settings) -> Iterator[EventStore]:
    store = EventStore(settings.db_path, default_projector(settings))
    try:
        yield store
    finally:
        store.close()


def append_one(store: EventStore, plan: Callable[[sqlite3.Connection], NewEvent]) -> int:
    """Plan against the current state, append, and check that our event was recorded."""
    event = plan(store.conn)
    result = store.record([event])
    if not result.new[0]:
        raise AgentExists("someone else made the same change at the same time")
    return result[0]


def create_token(settings: Settings, agent: str, label: str | None = None,
                 actor: str = "system") -> tuple[str, str]:
    """A new API token for ``agent``; returns ``(token, token id)``."""
    with open_store(settings) as store:
        event, token, token_id = plan_token(store.conn, agent, label, actor)
        store.record([event])
    return token, token_id


#: Where the first admin's random password is left, in the data folder.
PASSWORD_FILE = "first_admin_password"


def ensure_first_admin(settings: Settings, out: TextIO = sys.stderr) -> bool:
    """With no agents at all, create ``admin`` (``CRM_ADMIN_PASSWORD`` or a random
    password written to a 0600 file of the data folder, whose path is printed to
    ``out``). Returns whether it did."""
    with open_store(settings) as store:
        if count_agents(store.conn):
            return False
        given = settings.admin_password.get_secret_value() if settings.admin_password else ""
        password = given or passwords.random_password()
        try:
            password_hash = passwords.hash_password(password)
        except WeakPassword as exc:
            raise ConfigError(f"CRM_ADMIN_PASSWORD: {exc}") from None
        event = plan_first_admin(store.conn, password_hash)
        if event is None:
            return False
        if not store.record([event]).new[0]:
            return False  # another process created it first and told its own story
    if given:
        print("crm: created the admin agent 'admin' with the password in CRM_ADMIN_PASSWORD",
              file=out, flush=True)
    else:
        # Not on standard error: under systemd that is the journal, kept and readable
        # by more people than the data folder.
        path = settings.data_dir / PASSWORD_FILE
        path.unlink(missing_ok=True)
        write_private(path, (password + "\n").encode())
        print(f"crm: created the admin agent 'admin'; its password is in {path} (mode 600)"
              "\ncrm: sign in, change it (crm users passwd admin) and delete that file",
              file=out, flush=True)
    return True

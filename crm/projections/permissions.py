"""The ``permissions`` projection: what an agent may do beyond an ordinary agent.

Admins may do everything; an ordinary agent gets a permission from an admin
(``agent.permissions`` replaces the whole list). Today there is one: ``campaigns``
(create, start, pause and cancel campaigns).
"""

from __future__ import annotations

import json
import sqlite3

from crm.events import RecordedEvent
from crm.projections.base import Projection
from crm.projections.transaction import Transaction

#: Every permission an admin may grant.
KNOWN = ("campaigns",)

SCHEMA = """
CREATE TABLE IF NOT EXISTS agent_permissions (
    name        TEXT PRIMARY KEY,
    permissions TEXT NOT NULL
);
"""


def on_permissions(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute("INSERT INTO agent_permissions (name, permissions) VALUES (?, ?) "
               "ON CONFLICT(name) DO UPDATE SET permissions = excluded.permissions",
               (event.data["name"], json.dumps(sorted(set(event.data["permissions"])))))


PROJECTION = Projection(
    name="permissions", version=1, schema=SCHEMA, tables=("agent_permissions",),
    handlers={"agent.permissions": on_permissions},
)


def permissions_of(conn: sqlite3.Connection, name: str) -> list[str]:
    row = conn.execute("SELECT permissions FROM agent_permissions WHERE name = ?",
                       (name,)).fetchone()
    return json.loads(row[0]) if row else []


def has_permission(conn: sqlite3.Connection, name: str, permission: str) -> bool:
    return permission in permissions_of(conn, name)

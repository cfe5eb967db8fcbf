"""The ``templates`` projection: the account's message templates, as last fetched.

Each ``templates.fetched`` replaces the whole list: Meta's answer is the truth about
which templates exist, so a template deleted at Meta disappears here too.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from crm.events import RecordedEvent
from crm.projections.base import Projection
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS templates (
    name       TEXT NOT NULL,
    language   TEXT NOT NULL,
    category   TEXT,
    status     TEXT,
    components TEXT NOT NULL,
    extra      TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (name, language)
);
CREATE TABLE IF NOT EXISTS templates_fetched (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    at  TEXT NOT NULL
);
"""

_CORE = frozenset({"name", "language", "category", "status", "components"})


def on_fetched(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute("DELETE FROM templates")
    tx.execute("INSERT OR REPLACE INTO templates_fetched (one, at) VALUES (1, ?)",
               (event.occurred_at,))
    rows = []
    for template in event.data.get("templates") or []:
        if not isinstance(template, dict):
            continue
        name, language = template.get("name"), template.get("language")
        if not isinstance(name, str) or not isinstance(language, str):
            continue
        components = template.get("components")
        extra = {k: v for k, v in template.items() if k not in _CORE}
        rows.append((name, language, template.get("category"), template.get("status"),
                     json.dumps(components if isinstance(components, list) else [],
                                sort_keys=True),
                     json.dumps(extra, sort_keys=True), event.occurred_at))
    tx.executemany(
        "INSERT OR REPLACE INTO templates (name, language, category, status, components, "
        "extra, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows,
    )


PROJECTION = Projection(
    name="templates", version=2, schema=SCHEMA, tables=("templates", "templates_fetched"),
    handlers={"templates.fetched": on_fetched},
)


def list_templates(db: sqlite3.Connection, approved_only: bool = True) -> list[dict[str, Any]]:
    sql = "SELECT name, language, category, status, components, extra FROM templates"
    if approved_only:
        sql += " WHERE upper(status) = 'APPROVED'"
    rows = db.execute(sql + " ORDER BY name, language").fetchall()
    found = []
    for name, language, category, status, components, extra in rows:
        template = json.loads(extra)
        template.update(name=name, language=language, category=category, status=status,
                        components=json.loads(components))
        found.append(template)
    return found


def fetched_at(db: sqlite3.Connection) -> str | None:
    """When the list was last fetched (None: never, so it should be)."""
    row = db.execute("SELECT at FROM templates_fetched WHERE one = 1").fetchone()
    return row[0] if row else None


def get_template(db: sqlite3.Connection, name: str, language: str) -> dict[str, Any] | None:
    """One template as last fetched (any status), or None."""
    row = db.execute("SELECT name, language, category, status, components, extra FROM "
                     "templates WHERE name = ? AND language = ?", (name, language)).fetchone()
    if row is None:
        return None
    template = json.loads(row[5])
    template.update(name=row[0], language=row[1], category=row[2], status=row[3],
                    components=json.loads(row[4]))
    return template

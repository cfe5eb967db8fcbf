"""The ``automations`` projection: the rules as last saved, and the holidays.

A rule row holds the whole rule (its trigger, conditions and actions as JSON), its
version and the position of the event that saved that version: the worker applies a
rule only to what happened after it (``saved_pos``), so enabling a rule never answers
yesterday's messages.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import Any

from crm.events import RecordedEvent
from crm.projections.base import Projection
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS automation_rules (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    enabled     INTEGER NOT NULL,
    rule_when   TEXT NOT NULL,
    conditions  TEXT NOT NULL,
    actions     TEXT NOT NULL,
    builtin     TEXT,
    version     INTEGER NOT NULL,
    saved_pos   INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS automation_versions (
    id       TEXT PRIMARY KEY,
    version  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS holidays (
    date  TEXT PRIMARY KEY,
    name  TEXT
);
"""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def on_saved(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    tx.execute(
        "INSERT INTO automation_rules (id, name, enabled, rule_when, conditions, actions, "
        "builtin, version, saved_pos, updated_at, updated_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
        "name = excluded.name, enabled = excluded.enabled, rule_when = excluded.rule_when, "
        "conditions = excluded.conditions, actions = excluded.actions, "
        "builtin = excluded.builtin, version = excluded.version, "
        "saved_pos = excluded.saved_pos, updated_at = excluded.updated_at, "
        "updated_by = excluded.updated_by",
        (data["rule_id"], data["name"], int(bool(data["enabled"])), _dumps(data["when"]),
         _dumps(data.get("conditions") or []), _dumps(data.get("actions") or []),
         data.get("builtin"), data["version"], event.position, event.occurred_at,
         event.actor))
    _version(tx, data["rule_id"], data["version"])


def on_deleted(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute("DELETE FROM automation_rules WHERE id = ?", (event.data["rule_id"],))
    _version(tx, event.data["rule_id"], event.data["version"])


def _version(tx: Transaction, rule_id: str, version: int) -> None:
    """The newest version a rule id reached, kept after a delete (ids are not reused)."""
    tx.execute("INSERT INTO automation_versions (id, version) VALUES (?, ?) "
               "ON CONFLICT(id) DO UPDATE SET version = max(version, excluded.version)",
               (rule_id, version))


def on_holiday(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute("INSERT INTO holidays (date, name) VALUES (?, ?) ON CONFLICT(date) "
               "DO UPDATE SET name = excluded.name",
               (event.data["date"], event.data.get("name")))


def on_holiday_removed(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute("DELETE FROM holidays WHERE date = ?", (event.data["date"],))


PROJECTION = Projection(
    name="automations", version=1,
    schema=SCHEMA,
    tables=("automation_rules", "automation_versions", "holidays"),
    handlers={"automation.rule_saved": on_saved, "automation.rule_deleted": on_deleted,
              "holiday.added": on_holiday, "holiday.removed": on_holiday_removed},
)

# -- reading --------------------------------------------------------------------------

_COLUMNS = ("id, name, enabled, rule_when, conditions, actions, builtin, version, "
            "saved_pos, updated_at, updated_by")


def _rule(row: tuple) -> dict[str, Any]:
    (id_, name, enabled, when, conditions, actions, builtin, version, saved_pos,
     updated_at, updated_by) = row
    return {"id": id_, "name": name, "enabled": bool(enabled), "when": json.loads(when),
            "if": json.loads(conditions), "then": json.loads(actions), "builtin": builtin,
            "version": version, "saved_pos": saved_pos, "updated_at": updated_at,
            "updated_by": updated_by}


def list_rules(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute(f"SELECT {_COLUMNS} FROM automation_rules ORDER BY saved_pos").fetchall()
    return [_rule(r) for r in rows]


def enabled_rules(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute(f"SELECT {_COLUMNS} FROM automation_rules WHERE enabled = 1 "
                      "ORDER BY saved_pos").fetchall()
    return [_rule(r) for r in rows]


def get_rule(db: sqlite3.Connection, rule_id: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM automation_rules WHERE id = ?",
                     (rule_id,)).fetchone()
    return _rule(row) if row else None


def last_version(db: sqlite3.Connection, rule_id: str) -> int:
    row = db.execute("SELECT version FROM automation_versions WHERE id = ?",
                     (rule_id,)).fetchone()
    return row[0] if row else 0


def list_holidays(db: sqlite3.Connection) -> list[dict[str, Any]]:
    return [{"date": d, "name": n} for d, n in
            db.execute("SELECT date, name FROM holidays ORDER BY date").fetchall()]


def holiday_dates(db: sqlite3.Connection) -> list[date]:
    return [date.fromisoformat(d) for (d,) in db.execute("SELECT date FROM holidays")]

"""The ``webhook_counts`` projection: how many webhook-level events of each kind.

``/healthz`` reports the number of bodies we kept but could not read
(``unparsed_webhooks``); counting them here keeps that answer one row away instead
of a scan of the log.
"""

from __future__ import annotations

import sqlite3

from crm.events import RecordedEvent
from crm.projections.base import Projection
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_counts (
    type  TEXT PRIMARY KEY,
    count INTEGER NOT NULL
);
"""

COUNTED = ("webhook.unparsed", "webhook.change", "webhook.error")


def on_webhook(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute(
        "INSERT INTO webhook_counts (type, count) VALUES (?, 1) "
        "ON CONFLICT(type) DO UPDATE SET count = count + 1",
        (event.type,),
    )


PROJECTION = Projection(
    name="webhooks", version=1,
    schema=SCHEMA,
    tables=("webhook_counts",),
    handlers={name: on_webhook for name in COUNTED},
)


def count(db: sqlite3.Connection, type_name: str) -> int:
    row = db.execute("SELECT count FROM webhook_counts WHERE type = ?", (type_name,)).fetchone()
    return row[0] if row else 0

"""The server's periodic sheet sync (``CRM_CUSTOMERS_SYNC_INTERVAL`` seconds).

Every server process runs this loop, but a sync happens once per interval for the
whole deployment: the process that claims the due tick in the database does it
(``crm.jobs.ticks.claim_tick``), so a dead process never leaves the list stale and
no coordination beyond one row is needed. A failed read is logged and tried again at
the next tick; the sheet is read on a thread, since gspread blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from crm.config import Settings
from crm.customers.sources import SourceError, read_sheet
from crm.customers.sync import BATCH, Report, parse, plan, report_for
from crm.events import Database
from crm.events.store import open_connection
from crm.jobs import ticks
from crm.projections.customers import current_rows

log = logging.getLogger("crm.customers")

TICK = "customers.sync"
#: How often a process checks whether the tick is due (at most the interval).
CHECK_EVERY = 5.0


async def sync_once(settings: Settings, db: Database) -> Report:
    rows = await asyncio.to_thread(read_sheet, settings)
    table = parse(rows, settings)
    events = plan(table, rows.source, await db.read(current_rows))
    for start in range(0, len(events), BATCH):
        await db.record(events[start:start + BATCH])
    return report_for(rows, table, events)


async def _loop(settings: Settings, db: Database, stopping: asyncio.Event,
                interval: float) -> None:
    check = min(interval, CHECK_EVERY)
    while not stopping.is_set():
        try:
            if await db.write(ticks.claim_tick, TICK, interval):
                report = await sync_once(settings, db)
                for line in report.lines():
                    log.info("customer sync: %s", line)
        except SourceError as exc:
            log.warning("customer sync failed: %s", exc)
        except Exception:
            log.exception("customer sync failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), check)


async def start(settings: Settings, db: Database,
                stopping: asyncio.Event) -> asyncio.Task[None] | None:
    """Called from ``before_serving``; does nothing unless an interval is set."""
    interval = settings.customers_sync_interval
    if not interval:
        return None
    conn = open_connection(settings.db_path)
    try:
        ticks.create_schema(conn)
    finally:
        conn.close()
    return asyncio.create_task(_loop(settings, db, stopping, interval))


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

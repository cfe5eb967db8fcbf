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
from typing import TYPE_CHECKING

from crm.customers.sources import SourceError, read_sheet
from crm.customers.sync import BATCH, Report, parse, plan, report_for
from crm.events.store import open_connection
from crm.jobs import ticks
from crm.projections.customers import current_rows

if TYPE_CHECKING:
    from crm.api.services import Services

log = logging.getLogger("crm.customers")

TICK = "customers.sync"
#: How often a process checks whether the tick is due (at most the interval).
CHECK_EVERY = 5.0


async def sync_once(crm: Services) -> Report:
    settings = crm.settings
    rows = await asyncio.to_thread(read_sheet, settings)
    table = parse(rows, settings)
    events = plan(table, rows.source, await crm.db.read(current_rows))
    for start in range(0, len(events), BATCH):
        await crm.db.append(events[start:start + BATCH])
    return report_for(rows, table, events)


async def _loop(crm: Services, interval: float) -> None:
    check = min(interval, CHECK_EVERY)
    while not crm.stopping.is_set():
        try:
            if await crm.db.read(ticks.claim_tick, TICK, interval):
                report = await sync_once(crm)
                for line in report.lines():
                    log.info("customer sync: %s", line)
        except SourceError as exc:
            log.warning("customer sync failed: %s", exc)
        except Exception:
            log.exception("customer sync failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(crm.stopping.wait(), check)


async def start(crm: Services) -> None:
    """Called from ``before_serving``; does nothing unless an interval is set."""
    interval = crm.settings.customers_sync_interval
    if not interval:
        return
    conn = open_connection(crm.settings.db_path)
    try:
        ticks.create_schema(conn)
    finally:
        conn.close()
    crm.extras["customers_sync"] = asyncio.create_task(_loop(crm, interval))


async def stop(crm: Services) -> None:
    task = crm.extras.pop("customers_sync", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

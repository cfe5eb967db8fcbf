"""The campaign worker: queues each running campaign's recipients at its rate.

A worker, not a projection: it never runs in replay, and it holds its own lease
(``campaigns``), so of several server processes one queues. It does not send: it
records ``message.queued`` (keyed by campaign and recipient, so a recipient is queued
at most once whatever happens) and the sender takes them to Meta like any reply,
serving agents' sends first. Its progress is the log itself: a recipient still
``pending`` in the ``campaigns`` projection has neither a queued message nor a skip,
so after a crash the next holder simply continues.

It keeps at most ``window`` messages of a campaign queued but unresolved, so a pause
or a cancel stops the sending within a fraction of a second, and agents' replies
never wait behind a long queue. It also starts scheduled campaigns at ``schedule_at``
(also after a restart) and finishes a campaign once nothing is pending or in flight.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

from crm.campaigns import audience, batch
from crm.campaigns.pacing import Pace
from crm.config import Settings
from crm.events import Connection, Database, parse_time, utcnow
from crm.events.campaigns import CampaignFinished, CampaignStarted, campaign_stream
from crm.jobs.lease import RENEW_EVERY, Lease
from crm.projections import campaigns as projection
from crm.projections import optouts

log = logging.getLogger("crm.campaigns")

TICK = 0.02
IDLE_TICK = 0.5
TAKEOVER_EVERY = 2.0
#: Recipients prepared per read of the log, at most.
BATCH = 500


def start_key(campaign_id: str) -> str:
    """One ``campaign.started`` per campaign: a double start records nothing more."""
    return f"campaign-start:{campaign_id}"


def _in_flight(conn: Connection, campaign_id: str) -> int:
    return conn.execute("SELECT count(*) FROM campaign_recipients WHERE campaign_id = ? "
                        "AND status = 'queued'", (campaign_id,)).fetchone()[0]


def _remaining(conn: Connection, campaign_id: str) -> int:
    return conn.execute("SELECT count(*) FROM campaign_recipients WHERE campaign_id = ? "
                        "AND status IN ('pending', 'queued')", (campaign_id,)).fetchone()[0]


def _prepare(conn: Connection, campaign: dict[str, Any],
             limit: int) -> tuple[list[str], dict[str, dict[str, Any]], set[str]]:
    phones = projection.next_pending(conn, campaign["id"], limit)
    return (phones, audience.customers_of(conn, phones),
            optouts.opted_out_among(conn, phones) if batch.is_marketing(campaign) else set())


class CampaignWorker:
    def __init__(self, settings: Settings, db: Database, lease: Lease) -> None:
        self.settings = settings
        self.db = db
        self.lease = lease
        self.closing = asyncio.Event()
        self._paces: dict[str, Pace] = {}
        self.leading = False
        self.task: asyncio.Task[None] | None = None

    def window(self, rate: float) -> int:
        """Messages of one campaign queued but not yet resolved, at most: about half a
        second of sending, and never fewer than the sender's concurrency."""
        return max(self.settings.send_concurrency, min(2000, int(rate / 2)))

    async def run(self, stopping: asyncio.Event) -> None:
        while not (stopping.is_set() or self.closing.is_set()):
            try:
                if await self.lease.acquire():
                    await self._lead(stopping)
            except Exception:
                log.exception("the campaign worker failed; it starts again")
            finally:
                if self.leading:
                    self.leading = False
                    try:
                        await self.lease.release()
                    except Exception:
                        log.exception("could not release the campaigns lease")
            await _wait(stopping, self.closing, TAKEOVER_EVERY)

    async def _lead(self, stopping: asyncio.Event) -> None:
        self.leading = True
        self._paces.clear()
        renew_at = time.monotonic() + RENEW_EVERY
        busy = True
        while not (stopping.is_set() or self.closing.is_set()):
            await _wait(stopping, self.closing, TICK if busy else IDLE_TICK)
            if time.monotonic() >= renew_at:
                if not await self.lease.renew(None, idle=not busy):
                    log.warning("the campaign worker lost its lease")
                    return
                renew_at = time.monotonic() + RENEW_EVERY
            if not self.lease.valid():
                return
            busy = await self.tick()

    async def tick(self, now: datetime | None = None) -> bool:
        """One round over the active campaigns; True while any is running."""
        busy = False
        campaigns = await self.db.read(projection.active)
        for campaign in campaigns:
            if campaign["state"] == "scheduled":
                due = campaign["schedule_at"] and parse_time(campaign["schedule_at"]) <= (
                    now or utcnow())
                if due:
                    await self.db.record([CampaignStarted(
                        campaign_id=campaign["id"], by="schedule").new(
                        campaign_stream(campaign["id"]), actor=batch.ACTOR,
                        idempotency_key=start_key(campaign["id"]))])
                    busy = True
                continue
            busy = True
            await self._pump(campaign)
        running = {c["id"] for c in campaigns}
        for cid in [c for c in self._paces if c not in running]:
            del self._paces[cid]
        return busy

    async def _pump(self, campaign: dict[str, Any]) -> None:
        cid = campaign["id"]
        rate = float(campaign.get("rate") or self.settings.send_rate)
        pace = self._paces.get(cid)
        if pace is None:
            pace = self._paces[cid] = Pace(rate, throttled=campaign["throttled"])
        now = time.monotonic()
        pace.observe(campaign["throttled"], now)
        room = self.window(pace.effective_rate) - await self.db.read(_in_flight, cid)
        if room <= 0:
            return
        wanted = pace.take(now, min(room, BATCH))
        if wanted <= 0:
            return
        phones, customers, opted_out = await self.db.read(_prepare, campaign, wanted)
        if not phones:
            pace.tokens += wanted
            if await self.db.read(_remaining, cid) == 0:
                await self.db.record([CampaignFinished(campaign_id=cid).new(
                    campaign_stream(cid), actor=batch.ACTOR,
                    idempotency_key=f"campaign-finish:{cid}")])
                log.info("campaign %s finished", cid)
            return
        if await self.db.read(projection.state_of, cid) != "running":
            return  # paused or cancelled meanwhile
        await self.db.record(batch.build(campaign, phones, customers, opted_out))


async def _wait(a: asyncio.Event, b: asyncio.Event, timeout: float) -> None:
    if a.is_set() or b.is_set():
        return
    waiters = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def start(settings: Settings, db: Database, stopping: asyncio.Event) -> CampaignWorker:
    worker = CampaignWorker(settings, db, Lease(db, "campaigns"))
    worker.task = asyncio.create_task(worker.run(stopping), name="crm-campaigns")
    return worker


async def stop(worker: CampaignWorker) -> None:
    worker.closing.set()
    if worker.task is None:
        return
    try:
        await asyncio.wait_for(worker.task, timeout=5)
    except (TimeoutError, asyncio.CancelledError):
        worker.task.cancel()
